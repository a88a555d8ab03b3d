/* @file bench_util.h
 * @brief Small helpers the bench programs share: fatal errors, counts from the command line,
 * the monotonic clock, whole writes, int64 ordering for qsort. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The program's name in messages ("spawn_bench", ...); set it first thing in main(). */
extern const char* bench_name;

/* "NAME: WHAT: strerror(errno)" on stderr, exit 2. */
void die(const char* what) __attribute__((noreturn));
/* A decimal count in [0, 100000000], or a message naming `opt` and exit 2. */
long parse_count(const char* s, const char* opt);
int64_t now_ns(void);
/* write(2) until all of it is written (EINTR retried), or die. */
void write_all(int fd, const void* data, size_t len);
int cmp_i64(const void* a, const void* b);

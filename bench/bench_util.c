/* @file bench_util.c
 * @brief Helpers shared by the bench programs (see bench_util.h). */
#include "bench_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char* bench_name = "bench";

void die(const char* what) {
  fprintf(stderr, "%s: %s: %s\n", bench_name, what, strerror(errno));
  exit(2);
}

long parse_count(const char* s, const char* opt) {
  char* end = NULL;
  errno = 0;
  const long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 100000000) {
    fprintf(stderr, "%s: %s wants a count, got '%s'\n", bench_name, opt, s);
    exit(2);
  }
  return v;
}

int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void write_all(int fd, const void* data, size_t len) {
  const char* p = data;
  while (len > 0) {
    const ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += w;
    len -= (size_t)w;
  }
}

int cmp_i64(const void* a, const void* b) {
  const int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
  return (x > y) - (x < y);
}

/* @file fd_closefrom.c
 * @brief Issue #10 section 1's program: spawn, closefrom(3), open a data file (it gets
 * descriptor 3), write a line, spawn (posix_spawn, then fork+exec), write a second line, read
 * the file back. Under a library that keeps or re-creates a descriptor at a low number (Debian's
 * libunwind 1.6.2 re-creating its validation pipe), the second write fails with EBADF.
 *
 * Usage: fg_helper_fd_closefrom DATA_FILE [BIG_MIB]
 * BIG_MIB: a private mapping of that many MiB (fenced by read-only pages, so no neighbour merges
 * into it), which a slim fork leaves out of its child.
 * Prints "closefrom: kept" and exits 0 when the file holds exactly the two lines; prints
 * "closefrom: lost (...)" and exits 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helper_util.h"

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: %s DATA_FILE [BIG_MIB]\n", argv[0]);
    return 2;
  }
  const size_t big = argc == 3 ? (size_t)atol(argv[2]) << 20 : 0;
  if (big > 0) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char* m = mmap(NULL, big + 2 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m + page, big, PROT_READ | PROT_WRITE) != 0) return 2;
  }
  int ok = fg_spawn_true() == 0;
  fflush(stdout);
  close_range(3, ~0U, 0); /* what ssh, daemons and many legacy programs do */
  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
  const char one[] = "line 1\n", two[] = "line 2\n";
  const int first = fd >= 0 && write(fd, one, sizeof one - 1) == (ssize_t)(sizeof one - 1);
  ok &= fg_spawn_true() == 0;
  ok &= fg_fork_exec_true() == 0;
  const ssize_t w2 = write(fd, two, sizeof two - 1);
  const int second_errno = w2 < 0 ? errno : 0;
  char buf[64] = {0};
  const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  const int kept = fd == 3 && first && w2 == (ssize_t)(sizeof two - 1) && n == (ssize_t)(sizeof one + sizeof two - 2) &&
                   memcmp(buf, "line 1\nline 2\n", (size_t)n) == 0;
  if (kept && ok) {
    printf("closefrom: kept\n");
    return 0;
  }
  printf("closefrom: lost (fd %d, second write %zd %s, read back %zd bytes, children %s)\n", fd, w2,
         second_errno ? strerror(second_errno) : "ok", n, ok ? "ok" : "FAILED");
  return 1;
}

/* @file partly_written.c
 * @brief A process whose fork the kernel refuses (overcommit mode 0) because of one mapping larger
 * than RAM + swap that it wrote only the first 64 MiB of: the rest was never written, so a slim
 * fork leaves that run out and keeps the written part. Forks once (the record's advice), then with
 * "hold" prints "ready" and waits to be examined by `forkguard check`.
 *
 * Usage: fg_helper_partly_written [hold]
 * Exit status: 0 the fork was refused (or, unexpectedly, worked: "forked" is printed), 77 where
 * the setup is impossible (not mode 0, ulimit -v, no room), 1 on another failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "helper_util.h"

static long long meminfo_kb(const char* key) {
  FILE* f = fopen("/proc/meminfo", "re");
  if (f == NULL) return -1;
  char line[256];
  long long v = -1;
  size_t klen = strlen(key);
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
      v = strtoll(line + klen + 1, NULL, 10);
      break;
    }
  }
  fclose(f);
  return v;
}

int main(int argc, char** argv) {
  const int hold = argc > 1 && strcmp(argv[1], "hold") == 0;
  struct rlimit as;
  if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    puts("SKIP: ulimit -v is set");
    return 77;
  }
  FILE* f = fopen("/proc/sys/vm/overcommit_memory", "re");
  int mode = -1;
  if (f == NULL || fscanf(f, "%d", &mode) != 1) mode = -1;
  if (f != NULL) fclose(f);
  const long long ram_swap = meminfo_kb("MemTotal") + meminfo_kb("SwapTotal");
  if (mode != 0 || ram_swap <= 0) {
    printf("SKIP: overcommit mode %d: only mode 0 refuses one mapping larger than RAM + swap\n", mode);
    return 77;
  }
  /* One mapping larger than RAM + swap, grown in place in steps below it (mode 0 checks each). */
  size_t step = (size_t)(ram_swap / 2 + 1) * 1024, len = step;
  char* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    printf("SKIP: mmap: %s\n", strerror(errno));
    return 77;
  }
  while (len / 1024 <= (size_t)ram_swap) {
    char* q = mremap(p, len, len + step, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) {
      printf("SKIP: mremap: %s\n", strerror(errno));
      return 77;
    }
    p = q;
    len += step;
  }
  madvise(p, len, MADV_NOHUGEPAGE); /* page by page, whatever THP is set to */
  memset(p, 7, 64 << 20);           /* the first 64 MiB written, the rest never */
  printf("mapping %p %zu kB, 64 MiB written\n", (void*)p, len / 1024);
  fflush(stdout);
  const int code = fg_fork_exec_true();
  if (code < 0) {
    printf("fork: %s\n", strerror(errno));
  } else {
    printf("forked: child exited %d\n", code);
  }
  if (hold) {
    puts("ready");
    fflush(stdout);
    pause();
  }
  return p[0] == 7 ? 0 : 1;
}

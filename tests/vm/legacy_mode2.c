/* @file legacy_mode2.c
 * @brief The user's scenario on a strict-accounting kernel (vm.overcommit_memory=2): a
 * legacy-style program that holds a large, mostly untouched private mapping (a cache, a heap
 * reserved up front) and runs helpers the three old ways: fork()+execl(), system(), popen().
 *
 * Usage: fg_vm_legacy_mode2 [big|roomy|guarded]
 *   big     (default) the mapping is 3/4 of the commit headroom (CommitLimit - Committed_AS)
 *           at start: it fits once, so mmap succeeds, but not twice, so a fork is refused;
 *   roomy   the mapping is 8 MiB: every fork fits. This is the reference output;
 *   guarded as big, with one PROT_NONE page above the mapping so that it cannot merge with the
 *           anonymous mapping above it (on Linux 6.1 that is ld.so's TLS/TCB block): a
 *           diagnostic variant, not what a legacy program does.
 * stdout carries only what the program and its helpers print, identical in both sizes when
 * every call succeeds; the size goes to stderr.
 * Exit status: 0 when all three helpers ran, 1 when any call failed, 2 when setup failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

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

static int wait_child(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char** argv) {
  const int roomy = argc > 1 && strcmp(argv[1], "roomy") == 0;
  const int guarded = argc > 1 && strcmp(argv[1], "guarded") == 0;
  long long limit = meminfo_kb("CommitLimit"), committed = meminfo_kb("Committed_AS");
  if (limit <= 0 || committed < 0) {
    fprintf(stderr, "legacy: /proc/meminfo unreadable\n");
    return 2;
  }
  long long headroom = limit - committed;
  size_t len = roomy ? (size_t)8 << 20 : (size_t)(headroom * 3 / 4) * 1024;
  const size_t page = (size_t)sysconf(_SC_PAGESIZE); /* 4 KiB, or 16/64 KiB on some arm64 kernels */
  len = (len + page - 1) & ~(page - 1);
  char* cache = mmap(NULL, len + (guarded ? page : 0), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (cache != MAP_FAILED && guarded) mprotect(cache + len, page, PROT_NONE);
  if (cache == MAP_FAILED) {
    fprintf(stderr, "legacy: cannot map the cache: %s\n", strerror(errno));
    return 2;
  }
  for (size_t off = 0; off < ((size_t)1 << 20) && off < len; off += page) cache[off] = 1; /* 1 MiB touched */
  fprintf(stderr, "legacy: cache of %zu KiB mapped (headroom was %lld KiB)\n", len >> 10, headroom);

  int failures = 0;
  printf("legacy: starting helpers\n");
  fflush(stdout);

  /* 1. fork() + execl(), the oldest way. */
  pid_t pid = fork();
  if (pid < 0) {
    printf("legacy: fork() failed: %s\n", strerror(errno));
    ++failures;
  } else if (pid == 0) {
    execl("/bin/sh", "sh", "-c", "echo fork+exec helper: hello", (char*)NULL);
    _exit(127);
  } else {
    int st = wait_child(pid);
    printf("legacy: fork+exec helper exited %d\n", st);
    if (st != 0) ++failures;
  }
  fflush(stdout);

  /* 2. system(). */
  int rc = system("echo system helper: hello");
  if (rc == -1) {
    printf("legacy: system() failed: %s\n", strerror(errno));
    ++failures;
  } else {
    printf("legacy: system() returned %d\n", WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc));
    if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) ++failures;
  }
  fflush(stdout);

  /* 3. popen(): read the helper's output through the pipe. */
  FILE* p = popen("echo popen helper: hello", "r");
  if (p == NULL) {
    printf("legacy: popen() failed: %s\n", strerror(errno));
    ++failures;
  } else {
    char line[128];
    while (fgets(line, sizeof line, p) != NULL) printf("legacy: read from popen: %s", line);
    int st = pclose(p);
    printf("legacy: pclose() returned %d\n", st == -1 ? -1 : (WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st)));
    if (st != 0) ++failures;
  }

  cache[len - 1] = 2; /* the parent's whole cache is still its own */
  printf("legacy: done, %d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}

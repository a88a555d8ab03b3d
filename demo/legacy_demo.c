/* @file legacy_demo.c
 * @brief A legacy-style program whose fork()+exec() the kernel really refuses on an ordinary
 * machine: it reserves a large, untouched private writable buffer (as a big cache or a JVM heap
 * would), then runs a helper the old way, with fork() and execl().
 *
 * Under overcommit mode 0 the kernel refuses to fork a process that has one accountable
 * mapping larger than RAM + swap; mmap checks each request separately, so the mapping is grown
 * in place with mremap in steps below that limit. Mode 2 refuses as soon as the charge exceeds
 * the commit headroom, which the same buffer does. Mode 1 never refuses: the demo says so.
 *
 * Usage: forkguard-demo [COMMAND]   (default: "echo helper ran: pid $$")
 * Exit status: 0 when the helper ran, 1 when the fork failed, 2 when the setup is impossible.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
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

static int overcommit_mode(void) {
  FILE* f = fopen("/proc/sys/vm/overcommit_memory", "re");
  int m = -1;
  if (f != NULL) {
    if (fscanf(f, "%d", &m) != 1) m = -1;
    fclose(f);
  }
  return m;
}

/* Reserves one private writable mapping of more than `target_kb`, never touching it. */
static void* reserve_untouched(unsigned long long target_kb, unsigned long long step_kb, size_t* out_len) {
  size_t len = (size_t)step_kb * 1024;
  void* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  while ((unsigned long long)len / 1024 <= target_kb) {
    size_t next = len + (size_t)step_kb * 1024;
    void* q = mremap(p, len, next, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) {
      munmap(p, len);
      return NULL;
    }
    p = q;
    len = next;
  }
  *out_len = len;
  return p;
}

int main(int argc, char** argv) {
  const char* command = argc > 1 ? argv[1] : "echo helper ran: pid $$";
  struct rlimit as;
  if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    fprintf(stderr, "demo: ulimit -v is set; the demo needs an unlimited address space\n");
    return 2;
  }
  int mode = overcommit_mode();
  long long ram = meminfo_kb("MemTotal"), swap = meminfo_kb("SwapTotal");
  long long limit = meminfo_kb("CommitLimit"), committed = meminfo_kb("Committed_AS");
  if (ram <= 0 || swap < 0 || limit <= 0 || committed < 0) {
    fprintf(stderr, "demo: /proc/meminfo is unreadable\n");
    return 2;
  }
  unsigned long long target_kb, step_kb;
  if (mode == 0) {
    target_kb = (unsigned long long)(ram + swap); /* one VMA larger than RAM + swap */
    step_kb = target_kb / 2 + 1;                  /* each request below RAM + swap */
  } else if (mode == 2) {
    long long headroom = limit - committed;
    if (headroom <= 0) headroom = 1;
    target_kb = (unsigned long long)headroom * 3 / 4; /* fits once, not twice */
    step_kb = target_kb + 1;
  } else {
    fprintf(stderr, "demo: vm.overcommit_memory is %d: this kernel never refuses a fork, nothing to show\n", mode);
    return 2;
  }
  size_t len = 0;
  char* cache = reserve_untouched(target_kb, step_kb, &len);
  if (cache == NULL) {
    fprintf(stderr, "demo: cannot reserve the buffer: %s\n", strerror(errno));
    return 2;
  }
  printf("demo: pid %d reserved an untouched %zu MiB cache (RAM %lld MiB, swap %lld MiB, overcommit mode %d)\n",
         (int)getpid(), len >> 20, ram >> 10, swap >> 10, mode);
  fflush(stdout);

  pid_t pid = fork(); /* the legacy way: fork() then exec() */
  if (pid < 0) {
    printf("demo: fork() failed: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command, (char*)NULL);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  cache[0] = 1; /* the parent's memory is still its own after the fork */
  printf("demo: helper exited with status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

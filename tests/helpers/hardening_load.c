/* @file hardening_load.c
 * @brief Load: THREADS threads each make ITERS child-creating calls, mixed per thread
 * (fork+exec, system, popen+pclose, posix_spawn, in turn, each thread starting at another kind),
 * all of /bin/true. Checks, inside the process: every call succeeded and its child exited 0,
 * the open descriptors after equal those before (same numbers, same targets), and no child is
 * left (waitpid(-1, WNOHANG) fails with ECHILD: no zombie, nothing running).
 * One warm-up call of each kind comes first: the shim opens its log file on its first record,
 * and that descriptor is not a leak.
 * Usage: fg_helper_hardening_load [THREADS [ITERS]]   (default 16 1000)
 * Prints "calls: fork=N system=N popen=N pclose=N posix_spawn=N total=N" and the wall time and
 * calls/s on stderr (figures, never asserted). Exit 0 when everything holds, 1 otherwise.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

enum { kFork, kSystem, kPopen, kSpawn, kKinds };

static int g_iters = 1000;
static long g_calls[kKinds]; /* __atomic builtins */
static long g_failures;

/* Names the first few failures (a systematic one would otherwise print thousands of lines). */
static void failed_how(const char* what, const char* how) {
  if (__atomic_add_fetch(&g_failures, 1, __ATOMIC_RELAXED) <= 5) fprintf(stderr, "load: %s: %s\n", what, how);
}

static void failed(const char* what, int err) { failed_how(what, strerror(err)); }

static int exited_zero(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

static void bad_status(const char* what, int status) {
  char how[64];
  if (WIFSIGNALED(status)) {
    snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
  } else {
    snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
  }
  failed_how(what, how);
}

static void wait_child(pid_t pid, const char* what) {
  int status = 0;
  pid_t r;
  while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  if (r != pid) return failed(what, errno);
  if (!exited_zero(status)) bad_status(what, status);
}

static void one_call(int kind) {
  __atomic_add_fetch(&g_calls[kind], 1, __ATOMIC_RELAXED);
  char* const argv[] = {"true", NULL};
  if (kind == kFork) {
    pid_t pid = fork();
    if (pid == 0) {
      execve("/bin/true", argv, environ);
      _exit(127);
    }
    if (pid < 0) return failed("fork", errno);
    wait_child(pid, "fork child");
  } else if (kind == kSystem) {
    int status = system("/bin/true");
    if (status == -1) return failed("system", errno);
    if (!exited_zero(status)) bad_status("system", status);
  } else if (kind == kPopen) {
    FILE* f = popen("/bin/true", "r");
    if (f == NULL) return failed("popen", errno);
    char buf[64];
    while (fread(buf, 1, sizeof buf, f) > 0) {
    }
    int status = pclose(f);
    if (status == -1) return failed("pclose", errno);
    if (!exited_zero(status)) bad_status("pclose", status);
  } else {
    pid_t pid = -1;
    int rc = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
    if (rc != 0) return failed("posix_spawn", rc);
    wait_child(pid, "posix_spawn child");
  }
}

static void* worker(void* arg) {
  const int first = (int)(long)arg;
  for (int i = 0; i < g_iters; ++i) one_call((first + i) % kKinds);
  return NULL;
}

/* The open descriptors as "N -> target" lines, sorted by number (readdir order is not). */
struct FdList {
  int n;
  int fds[1024];
  char targets[1024][128];
};

static int snapshot(struct FdList* out) {
  DIR* d = opendir("/proc/self/fd");
  if (d == NULL) return -1;
  out->n = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL && out->n < 1024) {
    if (e->d_name[0] == '.') continue;
    const int fd = atoi(e->d_name);
    if (fd == dirfd(d)) continue;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t len = readlink(link, out->targets[out->n], sizeof out->targets[0] - 1);
    out->targets[out->n][len > 0 ? len : 0] = '\0';
    out->fds[out->n++] = fd;
  }
  closedir(d);
  for (int i = 1; i < out->n; ++i) { /* insertion sort: a few dozen entries */
    for (int j = i; j > 0 && out->fds[j - 1] > out->fds[j]; --j) {
      int t = out->fds[j];
      out->fds[j] = out->fds[j - 1];
      out->fds[j - 1] = t;
      char tmp[128];
      memcpy(tmp, out->targets[j], sizeof tmp);
      memcpy(out->targets[j], out->targets[j - 1], sizeof tmp);
      memcpy(out->targets[j - 1], tmp, sizeof tmp);
    }
  }
  return 0;
}

static int same_fds(const struct FdList* a, const struct FdList* b) {
  int same = a->n == b->n;
  for (int i = 0; same && i < a->n; ++i) same = a->fds[i] == b->fds[i] && strcmp(a->targets[i], b->targets[i]) == 0;
  if (!same) {
    fprintf(stderr, "load: descriptors before:");
    for (int i = 0; i < a->n; ++i) fprintf(stderr, " %d->%s", a->fds[i], a->targets[i]);
    fprintf(stderr, "\nload: descriptors after: ");
    for (int i = 0; i < b->n; ++i) fprintf(stderr, " %d->%s", b->fds[i], b->targets[i]);
    fprintf(stderr, "\n");
  }
  return same;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 16;
  g_iters = argc > 2 ? atoi(argv[2]) : 1000;
  if (threads < 1 || threads > 64 || g_iters < 1) {
    fprintf(stderr, "usage: %s [THREADS [ITERS]]\n", argv[0]);
    return 2;
  }
  for (int k = 0; k < kKinds; ++k) one_call(k); /* warm-up: the shim's log descriptor opens here */
  static struct FdList before, after;
  if (snapshot(&before) != 0) {
    perror("load: /proc/self/fd");
    return 1;
  }
  const double t0 = now_s();
  pthread_t tids[64];
  for (int t = 0; t < threads; ++t) {
    if (pthread_create(&tids[t], NULL, worker, (void*)(long)(t % kKinds)) != 0) {
      fprintf(stderr, "load: pthread_create failed\n");
      return 1;
    }
  }
  for (int t = 0; t < threads; ++t) pthread_join(tids[t], NULL);
  const double wall = now_s() - t0;

  const int fds_same = snapshot(&after) == 0 && same_fds(&before, &after);
  int status;
  const pid_t left = waitpid(-1, &status, WNOHANG);
  const int no_child = left == -1 && errno == ECHILD; /* 0: one running, > 0: a zombie was reaped */
  if (!no_child) fprintf(stderr, "load: a child was left behind (waitpid(-1, WNOHANG) = %d)\n", (int)left);
  const long failures = __atomic_load_n(&g_failures, __ATOMIC_RELAXED);
  const int ok = fds_same && no_child && failures == 0;
  long total = 0;
  for (int k = 0; k < kKinds; ++k) total += g_calls[k];
  printf("calls: fork=%ld system=%ld popen=%ld pclose=%ld posix_spawn=%ld total=%ld\n", g_calls[kFork],
         g_calls[kSystem], g_calls[kPopen], g_calls[kPopen], g_calls[kSpawn], total + g_calls[kPopen]);
  printf("load: %d threads x %d calls, %ld failures, descriptors %s, children left: %s\n", threads, g_iters, failures,
         fds_same ? "unchanged" : "LEAKED", no_child ? "none" : "SOME");
  fprintf(stderr, "load: wall %.2f s, %.0f calls/s (%d threads x %d)\n", wall, (double)(threads * g_iters) / wall,
          threads, g_iters);
  return ok ? 0 : 1;
}

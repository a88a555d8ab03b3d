/* @file hardening_malloc_threads.c
 * @brief fork() while other threads hold malloc's locks (issue 6 item 2b). The child must not
 * deadlock: after the fork it allocates, forks a grandchild itself (the shim's locks, inherited
 * from threads that do not exist in the child, must be taken over) and exits.
 *
 * Usage: fg_helper_hardening_malloc_threads MODE N
 *   contention N  4 threads loop malloc/free of mixed sizes, 2 of them also fork+_exit children;
 *                 the main thread makes N forks meanwhile.
 *   held N        a thread loops malloc/free; before each of the main thread's N forks it is
 *                 stopped by SIGUSR2, whose handler blocks on a pipe (inside malloc, it holds its
 *                 arena's lock); a watchdog thread releases it 100 ms later (glibc's fork waits
 *                 for the lock meanwhile, with or without a shim).
 * Every child must finish within 10 s (then it is killed and counted as deadlocked).
 * Prints "MODE: forks=N children_ok=N deadlocked=0 thread_forks=K" (and on stderr how often the
 * holder was caught inside malloc); exit 0 when every child was ok. Fork calls: 2N + K.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void __libc_free(void*);

static __thread volatile int t_in_malloc; /* this thread is inside malloc/free */
static volatile int g_stop;
static volatile int g_held_in_malloc; /* SIGUSR2 found the holder inside malloc */
static int g_thread_forks;            /* forks made by the churning threads */
static int g_pipe[2];

void* malloc(size_t n) {
  ++t_in_malloc;
  void* p = __libc_malloc(n);
  --t_in_malloc;
  return p;
}

void free(void* p) {
  ++t_in_malloc;
  __libc_free(p);
  --t_in_malloc;
}

static void hold(int sig) {
  (void)sig;
  const int saved = errno;
  if (t_in_malloc) __atomic_add_fetch(&g_held_in_malloc, 1, __ATOMIC_RELAXED);
  char c;
  while (read(g_pipe[0], &c, 1) < 0 && errno == EINTR) {
  }
  errno = saved;
}

static void* churn(void* arg) {
  const int forks_too = (int)(long)arg;
  void* keep[32] = {0};
  for (unsigned i = 0; !__atomic_load_n(&g_stop, __ATOMIC_RELAXED); ++i) {
    const unsigned slot = i % 32;
    free(keep[slot]);
    keep[slot] = malloc(16 + (i * 7919u) % (i % 7 == 0 ? 300000 : 2000));
    if (forks_too && i % 500 == 0) {
      const pid_t pid = fork();
      if (pid == 0) _exit(0);
      if (pid > 0) {
        __atomic_add_fetch(&g_thread_forks, 1, __ATOMIC_RELAXED);
        waitpid(pid, NULL, 0);
      }
    }
  }
  for (int i = 0; i < 32; ++i) free(keep[i]);
  return NULL;
}

static void* release_later(void* arg) {
  (void)arg;
  struct timespec ts = {0, 100 * 1000 * 1000};
  nanosleep(&ts, NULL);
  if (write(g_pipe[1], "x", 1) != 1) abort();
  return NULL;
}

/* The child: allocates, forks a grandchild through whatever wraps fork, exits. */
static void child(void) {
  char* p = malloc(1000);
  if (p == NULL) _exit(4);
  memset(p, 1, 1000);
  free(p);
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) _exit(5);
  _exit(0);
}

/* Waits at most 10 s; a child still running then is deadlocked: killed and reported. */
static int reap(pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 1 : 0;
    if (r < 0 && errno != EINTR) return 0;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return -1;
}

int main(int argc, char** argv) {
  const char* mode = argc > 2 ? argv[1] : "";
  const int n = argc > 2 ? atoi(argv[2]) : 0;
  const int held = strcmp(mode, "held") == 0;
  if (n <= 0 || (!held && strcmp(mode, "contention") != 0)) {
    fprintf(stderr, "usage: %s contention|held N\n", argv[0]);
    return 2;
  }
  if (pipe(g_pipe) != 0) return 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = hold;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR2, &sa, NULL);

  pthread_t threads[4];
  const int nthreads = held ? 1 : 4;
  for (int t = 0; t < nthreads; ++t) pthread_create(&threads[t], NULL, churn, (void*)(long)(!held && t < 2));
  int ok = 0, deadlocked = 0;
  for (int i = 0; i < n; ++i) {
    pthread_t releaser;
    if (held) {
      struct timespec ts = {0, 2 * 1000 * 1000};
      nanosleep(&ts, NULL);  /* let it get back into its loop */
      pthread_kill(threads[0], SIGUSR2);
      pthread_create(&releaser, NULL, release_later, NULL);
    }
    const pid_t pid = fork();
    if (pid == 0) child();
    if (held) pthread_join(releaser, NULL);
    if (pid < 0) continue;
    const int r = reap(pid);
    if (r > 0) ++ok;
    if (r < 0) ++deadlocked;
  }
  __atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
  for (int t = 0; t < nthreads; ++t) pthread_join(threads[t], NULL);
  printf("%s: forks=%d children_ok=%d deadlocked=%d thread_forks=%d\n", mode, n, ok, deadlocked, g_thread_forks);
  if (held) fprintf(stderr, "%s: the holder was inside malloc %d of %d times\n", mode, g_held_in_malloc, n);
  return ok == n ? 0 : 1;
}

/* @file slim_thread_churn.c
 * @brief A known race of the slim fork, reproduced (not in CI: it still fails): one thread
 * creates and joins threads with stacks of varying sizes (fresh mappings, not glibc's stack
 * cache, which frees them again), while the main thread forks children that only _exit(0).
 * Under FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always with FORKGUARD_SLIM_MIN below the stack
 * size, a stack mapped or written between the slim fork's never-written check and the fork may
 * lose its struct pthread in the child, and glibc's fork child, writing every listed thread's
 * descriptor before any handler of the library runs, dies with SIGSEGV.
 * Usage: fg_helper_slim_thread_churn [FORKS]   (default 1000)
 * Prints "children: N of FORKS died" on stdout; exit 0 when none died, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int g_stop; /* __atomic builtins */

static void* quick(void* arg) { return arg; }

static void* creator(void* arg) {
  (void)arg;
  for (unsigned i = 0; !__atomic_load_n(&g_stop, __ATOMIC_RELAXED); ++i) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* 8 MiB to 39.5 MiB: a size the cache rarely holds, so most stacks are new mappings */
    pthread_attr_setstacksize(&attr, ((size_t)8 << 20) + (size_t)(i % 64) * (512 << 10));
    pthread_t t;
    if (pthread_create(&t, &attr, quick, NULL) == 0) pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
  }
  return NULL;
}

int main(int argc, char** argv) {
  const int forks = argc > 1 ? atoi(argv[1]) : 1000;
  pthread_t c;
  if (forks < 1 || pthread_create(&c, NULL, creator, NULL) != 0) return 2;
  int died = 0;
  for (int i = 0; i < forks; ++i) {
    const pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid < 0) {
      perror("fork");
      break;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++died;
      fprintf(stderr, "churn: child %d of %d: %s %d\n", i + 1, forks, WIFSIGNALED(status) ? "signal" : "exit status",
              WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
  }
  __atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
  pthread_join(c, NULL);
  printf("children: %d of %d died\n", died, forks);
  return died == 0 ? 0 : 1;
}

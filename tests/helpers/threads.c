/* @file threads.c
 * @brief Multithreaded helper: THREADS threads each create ITERS children and wait for them.
 * Usage: fg_helper_threads [THREADS [ITERS [fork|spawn-long]]]   (default 8 200 fork)
 *   fork:       fork() + exec(/bin/true) + waitpid, in every thread at once;
 *   spawn-long: posix_spawn(/bin/true) with a 6 KiB argument, so each record must be cut to PIPE_BUF.
 * Exit 0 when every child exited 0. Records under the shim: fork (or posix_spawn) = THREADS*ITERS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static int g_iters = 200;
static int g_spawn = 0;
static char g_long_arg[6000]; /* more than PIPE_BUF: the record must be cut */
static int g_failures = 0; /* updated with __atomic builtins */

static void* worker(void* arg) {
  (void)arg;
  for (int i = 0; i < g_iters; ++i) {
    pid_t pid = -1;
    if (g_spawn) {
      char* const argv[] = {"true", g_long_arg, NULL};
      if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0) pid = -1;
    } else {
      pid = fork();
      if (pid == 0) {
        char* const argv[] = {"true", NULL};
        execve("/bin/true", argv, environ);
        _exit(127);
      }
    }
    if (pid < 0) {
      __atomic_add_fetch(&g_failures, 1, __ATOMIC_RELAXED);
      continue;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) __atomic_add_fetch(&g_failures, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 8;
  g_iters = argc > 2 ? atoi(argv[2]) : 200;
  g_spawn = argc > 3 && strcmp(argv[3], "spawn-long") == 0;
  if (threads < 1 || threads > 64 || g_iters < 1) {
    fprintf(stderr, "usage: %s [THREADS [ITERS [fork|spawn-long]]]\n", argv[0]);
    return 2;
  }
  memset(g_long_arg, 'x', sizeof g_long_arg - 1);
  pthread_t tids[64];
  for (int t = 0; t < threads; ++t) {
    if (pthread_create(&tids[t], NULL, worker, NULL) != 0) {
      fprintf(stderr, "threads: pthread_create failed\n");
      return 1;
    }
  }
  for (int t = 0; t < threads; ++t) pthread_join(tids[t], NULL);
  const int failures = __atomic_load_n(&g_failures, __ATOMIC_RELAXED);
  printf("threads: %d x %d %s children, %d failures\n", threads, g_iters, g_spawn ? "posix_spawn" : "fork+exec",
         failures);
  return failures == 0 ? 0 : 1;
}

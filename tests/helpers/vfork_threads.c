/* @file vfork_threads.c
 * @brief THREADS threads each fork()+execl(/bin/true)+waitpid FORKS times after a common
 * barrier (issue #10 section 3's program), built at -O2 and at -O0. With --sole the main thread
 * calls pthread_exit() once they are started, so that a non-main thread may be the only one
 * alive (then forkguard may give it the vfork substitute); with --user-stack each thread runs on
 * a stack the program mapped itself (glibc puts the thread's TLS and descriptor at its top too).
 * Prints "children OK of WANT" and exits 0 when every child exited 0.
 * Usage: fg_helper_vfork_threads[_O0] [--sole] [--user-stack] THREADS FORKS
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_util.h"

static pthread_barrier_t g_start;
static int g_threads, g_forks;
static atomic_int g_ok, g_done;

static void finish_process(void) {
  const int want = g_threads * g_forks;
  printf("children %d of %d\n", atomic_load(&g_ok), want);
  fflush(stdout);
  exit(atomic_load(&g_ok) == want ? 0 : 1);
}

static void* forker(void* arg) {
  const int sole = arg != NULL;
  pthread_barrier_wait(&g_start);
  if (sole) fg_wait_main_thread_gone();
  int ok = 0;
  for (int i = 0; i < g_forks; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/true", "true", (char*)NULL);
      _exit(127);
    }
    if (pid < 0) {
      perror("fork");
      continue;
    }
    if (fg_wait_code(pid) == 0) ok++;
  }
  atomic_fetch_add(&g_ok, ok);
  /* With --sole nobody joins: the last thread to finish ends the process. */
  if (sole && atomic_fetch_add(&g_done, 1) + 1 == g_threads) finish_process();
  return NULL;
}

int main(int argc, char** argv) {
  int sole = 0, user_stack = 0, a = 1;
  for (; a < argc && argv[a][0] == '-'; a++) {
    if (strcmp(argv[a], "--sole") == 0) {
      sole = 1;
    } else if (strcmp(argv[a], "--user-stack") == 0) {
      user_stack = 1;
    } else {
      break;
    }
  }
  if (argc - a != 2) {
    fprintf(stderr, "usage: %s [--sole] [--user-stack] THREADS FORKS\n", argv[0]);
    return 2;
  }
  g_threads = atoi(argv[a]);
  g_forks = atoi(argv[a + 1]);
  if (g_threads < 1 || g_threads > 64 || g_forks < 0) return 2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_barrier_init(&g_start, NULL, (unsigned)g_threads);
  pthread_t tids[64];
  for (int i = 0; i < g_threads; i++) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (user_stack) {
      const size_t size = 1 << 20;
      void* stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
      if (stack == MAP_FAILED || pthread_attr_setstack(&attr, stack, size) != 0) return 2;
    }
    if (pthread_create(&tids[i], &attr, forker, sole ? (void*)1 : NULL) != 0) return 2;
    pthread_attr_destroy(&attr);
  }
  if (sole) pthread_exit(NULL);
  for (int i = 0; i < g_threads; i++) pthread_join(tids[i], NULL);
  finish_process();
  return 0;
}

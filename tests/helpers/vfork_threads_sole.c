/* @file vfork_threads_sole.c
 * @brief Runs another helper's main() (compiled as fg_case_main) in a non-main thread that is
 * the only one alive: the main thread starts it and calls pthread_exit(). So the vfork substitute
 * may be used there (no other thread can store into its stack), and its tests run in a thread
 * whose stack block also holds its TLS and descriptor (glibc puts them at the top).
 *   glibc - the thread's stack is glibc's; user - the program maps it (pthread_attr_setstack).
 * The case's exit code ends the process. Usage: fg_helper_sole_CASE glibc|user CASE-ARGS...
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "helper_util.h"

int fg_case_main(int argc, char** argv);

static int g_argc;
static char** g_argv;

static void* run_case(void* arg) {
  (void)arg;
  fg_wait_main_thread_gone();
  exit(fg_case_main(g_argc, g_argv)); /* exit(): atexit handlers and stdio as from main */
}

int main(int argc, char** argv) {
  if (argc < 2 || (strcmp(argv[1], "glibc") != 0 && strcmp(argv[1], "user") != 0)) {
    fprintf(stderr, "usage: %s glibc|user CASE-ARGS...\n", argv[0]);
    return 2;
  }
  g_argc = argc - 1; /* the case sees "glibc"/"user" as its argv[0] */
  g_argv = argv + 1;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  if (strcmp(argv[1], "user") == 0) {
    const size_t size = 1 << 20;
    void* stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED || pthread_attr_setstack(&attr, stack, size) != 0) return 2;
  }
  pthread_t t;
  if (pthread_create(&t, &attr, run_case, NULL) != 0) return 2;
  pthread_exit(NULL);
}

/* @file fork_chain.c
 * @brief mitigate mode's fallback chain: the parent holds 256 MiB of private memory, 1 MiB of it
 * written (a slim fork excludes the rest), then fork() or _Fork() + execve(/bin/echo) + wait. Under
 * the seccomp injector the kernel refuses every copying clone, the slim fork's too, so only the
 * vfork substitute can make the child. With --thread a second thread is alive across the fork
 * (then the substitute declines). Prints what the parent saw; exits 0 when the child exited 0.
 * Usage: fg_helper_fork_chain [--thread] fork|_Fork
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helper_util.h"

static int g_hold[2];

static void* idle(void* arg) {
  (void)arg;
  char c;
  while (read(g_hold[0], &c, 1) < 0 && errno == EINTR) {
  }
  return NULL;
}

/* One function for both entry points, so that a learned site is this call whatever the mode. */
static pid_t make_child(int use_fork_underscore) {
  pid_t pid = use_fork_underscore ? _Fork() : fork();
  if (pid == 0) {
    char* const argv[] = {"echo", "child: exec'd", NULL};
    execve("/bin/echo", argv, environ);
    _exit(127);
  }
  return pid;
}

int main(int argc, char** argv) {
  int a = 1, thread = 0;
  if (a < argc && strcmp(argv[a], "--thread") == 0) {
    thread = 1;
    a++;
  }
  if (a >= argc || (strcmp(argv[a], "fork") != 0 && strcmp(argv[a], "_Fork") != 0)) {
    fprintf(stderr, "usage: %s [--thread] fork|_Fork\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  const size_t len = (size_t)256 << 20;
  char* big = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (big == MAP_FAILED) return 2;
  memset(big, 1, 1 << 20);
  pthread_t t;
  if (pipe(g_hold) != 0) return 2;
  if (thread && pthread_create(&t, NULL, idle, NULL) != 0) return 2;
  fflush(stdout);
  errno = 0;
  pid_t pid = make_child(strcmp(argv[a], "_Fork") == 0);
  int after = errno;
  if (pid < 0) {
    printf("parent: %s failed: %s\n", argv[a], strerror(after));
  } else {
    printf("parent: child exited %d, errno %d\n", fg_wait_code(pid), after);
  }
  big[len - 1] = 2; /* the excluded part is the parent's, intact and writable */
  printf("parent: buffer %d %d\n", big[0], big[len - 1]);
  if (thread) {
    close(g_hold[1]);
    pthread_join(t, NULL);
  }
  return pid > 0 ? 0 : 1;
}

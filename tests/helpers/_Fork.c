/* @file _Fork.c
 * @brief Entry-point helper: _Fork() (glibc 2.34) + execve + wait, and a _Fork() child that
 * _exit()s. Exit 0 when both children ended as expected. Records under the shim: _Fork=2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_util.h"

int main(void) {
  int ok = 1;
  fflush(stdout);
  pid_t pid = _Fork();
  if (pid < 0) {
    printf("_Fork: failed: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    /* Only async-signal-safe calls after _Fork: execve and _exit. */
    char* const argv[] = {"echo", "_Fork: exec'd child says hello", NULL};
    execve("/bin/echo", argv, environ);
    _exit(127);
  }
  int st = fg_wait_code(pid);
  printf("_Fork: exec child exited %d\n", st);
  ok &= st == 0;

  fflush(stdout);
  pid = _Fork();
  if (pid < 0) {
    printf("_Fork: failed: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) _exit(6);
  st = fg_wait_code(pid);
  printf("_Fork: plain child exited %d\n", st);
  ok &= st == 6;
  return ok ? 0 : 1;
}

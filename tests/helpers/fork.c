/* @file fork.c
 * @brief Entry-point helper: fork() + exec + wait, and fork() of a child that only _exit()s.
 * Deterministic stdout; exit 0 when both children ended as expected, 1 otherwise.
 * Records expected under the shim: fork=2, both from this module.
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
  fflush(stdout); /* nothing buffered may be duplicated into the child */
  pid_t pid = fork();
  if (pid < 0) {
    printf("fork: failed: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    execl("/bin/echo", "echo", "fork: exec'd child says hello", (char*)NULL);
    _exit(127);
  }
  int st = fg_wait_code(pid);
  printf("fork: exec child exited %d\n", st);
  ok &= st == 0;

  fflush(stdout);
  pid = fork();
  if (pid < 0) {
    printf("fork: failed: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) _exit(5);
  st = fg_wait_code(pid);
  printf("fork: plain child exited %d\n", st);
  ok &= st == 5;
  return ok ? 0 : 1;
}

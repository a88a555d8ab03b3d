/* @file vfork.c
 * @brief Entry-point helper: vfork() + exec + wait, and a vfork() child that writes a local of
 * its caller's frame and _exit()s. The parent prints what it sees afterwards: with glibc's vfork
 * the child's store is visible (shared memory), and the shim in observe mode must not change
 * that, nor the parent's other locals, errno or return path. Records under the shim: vfork=2.
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
  volatile int marker = 1111;    /* written by the second child */
  volatile int untouched = 4242; /* written by nobody: must survive both vforks */
  fflush(stdout);
  pid_t pid = vfork();
  if (pid < 0) {
    printf("vfork: failed: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    execl("/bin/echo", "echo", "vfork: exec'd child says hello", (char*)NULL);
    _exit(127);
  }
  int st = fg_wait_code(pid);
  printf("vfork: exec child exited %d\n", st);
  ok &= st == 0;

  fflush(stdout);
  pid = vfork();
  if (pid < 0) {
    printf("vfork: failed: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    marker = 2222;
    _exit(7);
  }
  st = fg_wait_code(pid);
  printf("vfork: local-writing child exited %d; parent sees marker %d, untouched %d\n", st, marker, untouched);
  ok &= st == 7 && untouched == 4242;
  return ok ? 0 : 1;
}

/* @file system.c
 * @brief Entry-point helper: system("echo ..."), system(NULL) and a command exiting 3.
 * Exit 0 when every return value is as glibc documents. Records under the shim: system=3.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

int main(void) {
  int ok = 1;
  fflush(stdout);
  int st = system("echo 'system: the shell says hello'");
  printf("system(echo): exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  ok &= st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;

  fflush(stdout);
  st = system(NULL);
  printf("system(NULL): %s\n", st != 0 ? "a shell is available" : "no shell");
  ok &= st != 0;

  fflush(stdout);
  st = system("exit 3");
  printf("system(exit 3): exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  ok &= st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 3;
  return ok ? 0 : 1;
}

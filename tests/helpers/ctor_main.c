/* @file ctor_main.c
 * @brief The program linked against libfg_helper_ctor.so: after the library's constructor ran
 * (fork + system), main does one fork + exec and one system() of its own.
 * Exit 0 when the constructor and main both saw what they expected.
 * Records under the shim: fork=2, system=2 (one of each from the library's constructor).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern int fg_helper_ctor_result; /* referencing it keeps the DT_NEEDED entry */

int main(void) {
  printf("main: the constructor %s\n", fg_helper_ctor_result == 1 ? "succeeded" : "failed");
  int ok = fg_helper_ctor_result == 1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    printf("main: fork failed: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    execl("/bin/echo", "echo", "main: fork child says hello", (char*)NULL);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  printf("main: fork child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
  fflush(stdout);
  int st = system("echo 'main: system says hello'");
  printf("main: system exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  ok &= st == 0;
  return ok ? 0 : 1;
}

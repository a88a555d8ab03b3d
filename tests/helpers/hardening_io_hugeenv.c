/* @file hardening_io_hugeenv.c
 * @brief The program around hardening_io_hugeenv_lib.c: its DT_NEEDED library set 1 MiB
 * FORKGUARD_* values and forked from its constructor; main reports the child's exit and forks
 * once more. Prints "hugeenv: constructor child exited 5", "hugeenv: main child exited 6".
 * Exit 0 when both children exited as expected.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int fg_hugeenv_result(void);

int main(void) {
  const int first = fg_hugeenv_result();
  printf("hugeenv: constructor child exited %d\n", first);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) _exit(6);
  int status = 0;
  while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int second = pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  printf("hugeenv: main child exited %d\n", second);
  return first == 5 && second == 6 ? 0 : 1;
}

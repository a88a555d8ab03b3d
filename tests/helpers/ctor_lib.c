/* @file ctor_lib.c
 * @brief A shared library (DT_NEEDED of fg_helper_ctor) whose constructor calls fork()+wait and
 * system() before the preloaded shim's own constructor has run: ld.so initialises a program's
 * dependencies before the preloaded objects. The shim must still record both calls, and must
 * not change what they do. Records from here: fork=1, system=1, site in libfg_helper_ctor.so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int fg_helper_ctor_result = -1;

__attribute__((constructor)) static void fg_helper_ctor_init(void) {
  int ok = 1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    printf("ctor: fork failed: %s\n", strerror(errno));
    fg_helper_ctor_result = 0;
    return;
  }
  if (pid == 0) {
    execl("/bin/echo", "echo", "ctor: fork child says hello", (char*)NULL);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  printf("ctor: fork child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;

  fflush(stdout);
  int st = system("echo 'ctor: system says hello'");
  printf("ctor: system exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  ok &= st == 0;
  fg_helper_ctor_result = ok;
}

/* @file hardening_io_hugeenv_lib.c
 * @brief FORKGUARD_* values of 1 MiB, which no exec can pass (MAX_ARG_STRLEN is 128 KiB): this
 * library's constructor, which runs before a preloaded library's, gives each variable named in
 * FG_HUGE_VARS (comma-separated) 1 MiB of 'x' with setenv(), then forks. Under the shim that
 * fork is the first call it sees, so it reads its settings then, through the real getenv().
 * fg_hugeenv_result() tells the program what the child exited with (-1: the fork failed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int g_result = -2;

int fg_hugeenv_result(void) { return g_result; }

__attribute__((constructor)) static void set_huge_and_fork(void) {
  const char* list = getenv("FG_HUGE_VARS");
  if (list == NULL) return;
  const size_t n = 1024 * 1024;
  char* value = malloc(n + 1);
  char* names = strdup(list);
  if (value == NULL || names == NULL) return;
  memset(value, 'x', n);
  value[n] = '\0';
  for (char* save = NULL, *v = strtok_r(names, ",", &save); v != NULL; v = strtok_r(NULL, ",", &save)) setenv(v, value, 1);
  free(names);
  free(value);
  pid_t pid = fork();
  if (pid == 0) _exit(5);
  int status = 0;
  while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_result = pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* @file hardening_deepbind_lib.c
 * @brief A plugin a host loads with dlopen(RTLD_DEEPBIND) (issue 6 item 2e): it makes a child
 * with fork(), system(), popen()+pclose() and posix_spawn(); each call's outcome on stdout.
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static int ok_status(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

__attribute__((visibility("default"))) int plugin_spawn(const char* who) {
  int failures = 0;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  failures += pid < 0 || waitpid(pid, &status, 0) != pid || !ok_status(status);
  failures += !ok_status(system("/bin/true"));
  FILE* f = popen("echo popen-output", "r");
  char line[64] = "";
  if (f == NULL || fgets(line, sizeof line, f) == NULL) ++failures;
  if (f != NULL) failures += !ok_status(pclose(f));
  char* argv[] = {"true", NULL};
  failures += posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0 || waitpid(pid, &status, 0) != pid ||
              !ok_status(status);
  printf("%s: fork, system, popen (%s), posix_spawn: %d failures\n", who, line[0] ? "read a line" : "no line",
         failures);
  return failures;
}

/* @file hardening_other_preload.c
 * @brief A second preload library that also wraps fork() (issue 6 item 2d), as another tool
 * would: it writes "other: fork before" and, in the parent, "other: fork after <pid>" on
 * stderr around the next fork in the lookup order (dlsym RTLD_NEXT), and returns its result.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

__attribute__((visibility("default"))) pid_t fork(void) {
  static pid_t (*next)(void);
  if (next == NULL) next = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
  static const char before[] = "other: fork before\n";
  if (write(STDERR_FILENO, before, sizeof before - 1) < 0) return -1;
  const pid_t pid = next != NULL ? next() : -1;
  if (pid != 0) {  /* the parent (or a failure) */
    const int saved = errno;
    char line[64];
    const int n = snprintf(line, sizeof line, "other: fork after %s\n", pid > 0 ? "pid" : "failure");
    if (write(STDERR_FILENO, line, (size_t)n) < 0) return -1;
    errno = saved;
  }
  return pid;
}

/* @file spawn.c
 * @brief Entry-point helper: posix_spawn and posix_spawnp, each in both glibc versions
 * (GLIBC_2.15 default, GLIBC_2.2.5 compat), and a posix_spawn of a nonexistent path, which
 * returns an error number (ENOENT) rather than setting errno. Exit 0 when all is as expected.
 * Records under the shim: posix_spawn=3 (one failed, errno ENOENT), posix_spawnp=2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_util.h"

typedef int spawn_fn(pid_t*, const char*, const posix_spawn_file_actions_t*, const posix_spawnattr_t*, char* const[],
                     char* const[]);
/* The compat versions, as a binary linked against glibc before 2.15 calls them. */
spawn_fn fg_posix_spawn_2_2_5, fg_posix_spawnp_2_2_5;
__asm__(".symver fg_posix_spawn_2_2_5, posix_spawn@GLIBC_2.2.5");
__asm__(".symver fg_posix_spawnp_2_2_5, posix_spawnp@GLIBC_2.2.5");

static int run(const char* label, spawn_fn* fn, const char* path, const char* text) {
  char* const argv[] = {"echo", (char*)text, NULL};
  pid_t pid = -1;
  fflush(stdout);
  int rc = fn(&pid, path, NULL, NULL, argv, environ);
  if (rc != 0) {
    printf("%s: returned %s\n", label, strerror(rc));
    return 0;
  }
  int st = fg_wait_code(pid);
  printf("%s: child exited %d\n", label, st);
  return st == 0;
}

int main(void) {
  int ok = 1;
  ok &= run("posix_spawn", posix_spawn, "/bin/echo", "posix_spawn: hello");
  ok &= run("posix_spawnp", posix_spawnp, "echo", "posix_spawnp: hello");
  ok &= run("posix_spawn@GLIBC_2.2.5", fg_posix_spawn_2_2_5, "/bin/echo", "posix_spawn compat: hello");
  ok &= run("posix_spawnp@GLIBC_2.2.5", fg_posix_spawnp_2_2_5, "echo", "posix_spawnp compat: hello");

  char* const argv[] = {"fg-no-such-program", NULL};
  pid_t pid = 12345;
  errno = 0;
  int rc = posix_spawn(&pid, "/nonexistent/fg-no-such-program", NULL, NULL, argv, environ);
  printf("posix_spawn(nonexistent): returned %s, errno %s\n", rc == ENOENT ? "ENOENT" : strerror(rc),
         errno == 0 ? "untouched" : "set");
  ok &= rc == ENOENT;
  return ok ? 0 : 1;
}

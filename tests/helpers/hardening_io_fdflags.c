/* @file hardening_io_fdflags.c
 * @brief Reports how the shim's log descriptor is open, as the kernel sees it: forks once (the
 * shim opens its log), finds the descriptor whose /proc/self/fd link names LOG, writes its
 * O_APPEND and O_CLOEXEC flags from /proc/self/fdinfo to OUT, then runs `ls -l /proc/self/fd/`
 * through posix_spawn with stdout on OUT.child, so the test sees whether an exec'd child
 * inherited the descriptor. Usage: fg_hardening_io_fdflags LOG OUT. Exit 0 when it ran.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_util.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s LOG OUT\n", argv[0]);
    return 2;
  }
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  FILE* out = fopen(argv[2], "we");
  if (out == NULL) return 2;
  const int fd = fg_find_fd_of(argv[1]);
  unsigned long flags = 0;
  if (fd >= 0) {
    char info[64];
    snprintf(info, sizeof info, "/proc/self/fdinfo/%d", fd);
    FILE* f = fopen(info, "re");
    char line[128];
    while (f != NULL && fgets(line, sizeof line, f) != NULL) sscanf(line, "flags: %lo", &flags);
    if (f != NULL) fclose(f);
  }
  fprintf(out, "log fd found %s append %d cloexec %d\n", fd >= 0 ? "yes" : "no", (flags & O_APPEND) != 0,
          (flags & O_CLOEXEC) != 0);
  fclose(out);

  char child_out[PATH_MAX];
  snprintf(child_out, sizeof child_out, "%s.child", argv[2]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, child_out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char* const ls[] = {"ls", "-l", "/proc/self/fd/", NULL};
  if (posix_spawn(&pid, "/bin/ls", &fa, NULL, ls, environ) != 0) return 1;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/* @file closefds.c
 * @brief A program that closes every descriptor >= 3 between spawns (as daemons and
 * sandboxes do), then opens a file of its own (argv[1]), which reuses the low numbers, and
 * spawns again. It checks its file holds exactly what it wrote: the shim must neither write
 * into the program's descriptors nor stop logging.
 * Records under the shim: fork=2, system=1, posix_spawn=1 (three of them after the close).
 * Exit 0 when children and the file are as expected; 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_util.h"

static void close_all_from_3(void) {
  if (close_range(3, ~0U, 0) == 0) return;
  long max = sysconf(_SC_OPEN_MAX);
  for (long fd = 3; fd < (max > 0 ? max : 65536); ++fd) close((int)fd);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OWN_FILE\n", argv[0]);
    return 2;
  }
  int ok = 1;
  ok &= fg_fork_exec_true() == 0;
  printf("closefds: first child done, closing every fd >= 3\n");
  close_all_from_3();

  int own = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644); /* gets fd 3: not close-on-exec */
  const char first[] = "own line 1\n", second[] = "own line 2\n";
  ok &= own >= 3 && write(own, first, sizeof first - 1) == (ssize_t)(sizeof first - 1);

  ok &= fg_fork_exec_true() == 0;
  fflush(stdout);
  ok &= system("true") == 0;
  pid_t pid = -1;
  char* const sargv[] = {"true", NULL};
  if (posix_spawn(&pid, "/bin/true", NULL, NULL, sargv, environ) == 0) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
  } else {
    ok = 0;
  }
  ok &= write(own, second, sizeof second - 1) == (ssize_t)(sizeof second - 1);
  close(own);

  char buf[4096];
  int fd = open(argv[1], O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0) close(fd);
  const int intact = n == (ssize_t)(sizeof first + sizeof second - 2) && memcmp(buf, first, sizeof first - 1) == 0 &&
                     memcmp(buf + sizeof first - 1, second, sizeof second - 1) == 0;
  printf("closefds: own file %s\n", intact ? "holds exactly what the program wrote" : "was written by someone else");
  ok &= intact;
  printf("closefds: %s\n", ok ? "all children exited 0" : "FAILED");
  return ok ? 0 : 1;
}

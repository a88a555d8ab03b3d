/* @file hardening_io_faults.c
 * @brief A program that spawns (fork+exec), then does something to the shim's output, then
 * spawns four ways (fork+exec, system, posix_spawn, popen) and reports the children's results.
 * It behaves the same with or without the shim; the test compares its stdout and status.
 * Usage: fg_hardening_io_faults ACTION LOG OWN
 *   none           nothing happens between the two phases
 *   delete         unlink(LOG) (ENOENT without the shim is ignored)
 *   close          close the descriptor whose /proc/self/fd link names LOG
 *   reuse          close it, then open OWN and move it to that very number (F_DUPFD): the program
 *                  now owns the number the shim used; OWN must hold exactly what it wrote
 *   broken-stderr  stderr becomes a pipe whose reader is gone (the program never writes there)
 * LOG is the log file's canonical path (or anything, for actions that do not use it). Without
 * the shim no log descriptor exists: close/reuse then use number 900, so both runs do the same.
 * Also: fg_hardening_io_faults bind-dgram PATH leaves a datagram socket file at PATH that nobody
 * listens on (a syslog daemon that died), then exits 0.
 * Records under the shim: fork=2, system=1, posix_spawn=1, popen=1, pclose=1 (five after ACTION).
 * Exit 0 when every child exited 0 and OWN is intact; 1 otherwise.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_util.h"

static int popen_read(void) {
  fflush(stdout);
  FILE* p = popen("echo popen-child", "r");
  if (p == NULL) return -1;
  char line[64] = {0};
  int ok = fgets(line, sizeof line, p) != NULL && strcmp(line, "popen-child\n") == 0;
  int st = pclose(p);
  return ok && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int bind_dgram(const char* path) {
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  return s >= 0 && bind(s, (struct sockaddr*)&a, sizeof a) == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "bind-dgram") == 0) return bind_dgram(argv[2]);
  if (argc != 4) {
    fprintf(stderr, "usage: %s none|delete|close|reuse|broken-stderr LOG OWN\n", argv[0]);
    return 2;
  }
  const char *action = argv[1], *log = argv[2], *own_path = argv[3];
  int ok = fg_fork_exec_true() == 0; /* the shim opens its log here */
  printf("faults: first child done; %s\n", action);
  int own = -1;
  const char line1[] = "own 1\n", line2[] = "own 2\n";
  if (strcmp(action, "delete") == 0) {
    if (unlink(log) != 0 && errno != ENOENT) ok = 0;
  } else if (strcmp(action, "close") == 0 || strcmp(action, "reuse") == 0) {
    int fd = fg_find_fd_of(log);
    if (fd < 0) fd = 900;
    close(fd);
    if (strcmp(action, "reuse") == 0) {
      int o = open(own_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      own = o >= 0 ? fcntl(o, F_DUPFD, fd) : -1; /* the lowest free number >= fd: fd itself */
      if (o >= 0) close(o);
      ok &= own == fd && write(own, line1, sizeof line1 - 1) == (ssize_t)(sizeof line1 - 1);
    }
  } else if (strcmp(action, "broken-stderr") == 0) {
    int p[2];
    ok &= pipe(p) == 0 && dup2(p[1], STDERR_FILENO) == STDERR_FILENO;
    close(p[0]);
    close(p[1]);
  } else if (strcmp(action, "none") != 0) {
    return 2;
  }
  ok &= fg_fork_exec_true() == 0;
  fflush(stdout);
  ok &= system("true") == 0;
  ok &= fg_spawn_true() == 0;
  ok &= popen_read() == 0;
  if (own >= 0) {
    ok &= write(own, line2, sizeof line2 - 1) == (ssize_t)(sizeof line2 - 1);
    close(own);
    char buf[64];
    int fd = open(own_path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
    if (fd >= 0) close(fd);
    int intact = n == (ssize_t)(sizeof line1 + sizeof line2 - 2) && memcmp(buf, line1, sizeof line1 - 1) == 0 &&
                 memcmp(buf + sizeof line1 - 1, line2, sizeof line2 - 1) == 0;
    printf("faults: own file %s\n", intact ? "holds exactly what the program wrote" : "was written by someone else");
    ok &= intact;
  }
  printf("faults: %s\n", ok ? "all children exited 0" : "FAILED");
  return ok ? 0 : 1;
}

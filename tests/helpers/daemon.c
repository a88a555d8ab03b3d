/* @file daemon.c
 * @brief Entry-point helper: daemon(1, 1). The original process exits 0 inside daemon(); the
 * daemon writes one line to the file named by argv[1] (the test waits for it) and exits.
 * Records under the shim: daemon=1, written by the daemon (the process daemon() returns in).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  printf("daemon: about to daemonize\n");
  fflush(stdout); /* the daemon keeps our stdout (noclose=1): nothing may be buffered twice */
  if (daemon(1, 1) != 0) {
    printf("daemon: failed: %s\n", strerror(errno));
    return 1;
  }
  /* In the daemon now: a session leader whose parent has exited. */
  char line[128];
  int n = snprintf(line, sizeof line, "daemon: running, session leader %s\n", getsid(0) == getpid() ? "yes" : "no");
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) _exit(3);
  ssize_t w = write(fd, line, (size_t)n);
  close(fd);
  _exit(w == n ? 0 : 4);
}

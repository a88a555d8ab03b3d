/* @file syslog_listener.c
 * @brief Stands in for journald/rsyslog in the syslog test: binds an AF_UNIX datagram socket at
 * SOCKET (normally /dev/log inside a private mount namespace), creates READY once bound, and
 * appends every datagram it receives to OUT as one line (newlines in a message become "\n").
 * It stops at a datagram "STOP" or after TIMEOUT seconds.
 * Usage: syslog_listener SOCKET OUT READY TIMEOUT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: syslog_listener SOCKET OUT READY TIMEOUT\n");
    return 2;
  }
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
  unlink(argv[1]);
  if (s < 0 || bind(s, (struct sockaddr*)&a, sizeof a) != 0) {
    perror("syslog_listener: bind");
    return 2;
  }
  FILE* out = fopen(argv[2], "a");
  if (out == NULL) {
    perror("syslog_listener: open OUT");
    return 2;
  }
  int r = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (r < 0) {
    perror("syslog_listener: READY");
    return 2;
  }
  close(r);
  const time_t deadline = time(NULL) + atoi(argv[4]);
  struct timeval tv = {1, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  static char buf[65536];
  while (time(NULL) < deadline) {
    ssize_t n = recv(s, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      perror("syslog_listener: recv");
      return 2;
    }
    if (n == 4 && memcmp(buf, "STOP", 4) == 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n')
        fputs("\\n", out);
      else
        fputc(buf[i], out);
    }
    fputc('\n', out);
    fflush(out);
  }
  fclose(out);
  unlink(argv[1]);
  return 0;
}

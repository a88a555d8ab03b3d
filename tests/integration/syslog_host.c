/* @file syslog_host.c
 * @brief A host program with its own syslog identity, for the syslog sink's test: openlog("hostapp",
 * LOG_PID, LOG_DAEMON), a message, fork #1, then it replaces every descriptor from 100 up with a
 * file of its own (argv[1]; RLIMIT_NOFILE is lowered to 256 first so the sink's high descriptor is
 * among them), fork #2, and a last message. Under the shim with FORKGUARD_LOG=syslog the listener
 * must get: hostapp's message, two forkguard records, hostapp's message, and argv[1] must stay empty.
 * Exit 0 when both children ran.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

static int fork_and_wait(void) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) _exit(0);
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  struct rlimit rl = {256, 256};
  setrlimit(RLIMIT_NOFILE, &rl);
  openlog("hostapp", LOG_PID, LOG_DAEMON);
  syslog(LOG_NOTICE, "hostapp before");
  int ok = fork_and_wait() == 0;
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 2;
  for (int i = 100; i < 256; ++i)
    if (i != fd) dup2(fd, i);  /* the program owns these numbers now: the shim must not write them */
  ok = fork_and_wait() == 0 && ok;
  syslog(LOG_NOTICE, "hostapp after");
  closelog();
  return ok ? 0 : 1;
}

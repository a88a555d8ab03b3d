/* @file mitigate_signals.c
 * @brief fork() children that signal themselves, for the vfork substitute's signal tests. The
 * substitute's child shares the parent's memory and TCB: a signal it raises must reach the child
 * alone, the parent must live on, and no handler may run in the child (it would run on the
 * parent's memory). Every case prints what the parent saw; run it with and without the shim.
 *   abort        - the child calls abort(): killed by SIGABRT;
 *   abort-caught - the same with a SIGABRT handler in the parent: the handler must never run on
 *                  the parent's memory (`handler_runs` stays 0 in the parent);
 *   raise-exit   - raise(SIGTERM), then _exit(0): killed by SIGTERM;
 *   raise-exec   - raise(SIGTERM), then execl /bin/true: killed by SIGTERM;
 *   kill-exit    - kill(getpid(), SIGTERM), then exit(0): killed by SIGTERM;
 *   raise-masked - SIGUSR1 blocked by the program, raise(SIGUSR1), then _exit(3): exits 3.
 * Usage: fg_helper_mitigate_signals CASE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t handler_runs; /* written by a handler: shared with a substitute child */

static void on_signal(int sig) {
  (void)sig;
  ++handler_runs;
}

static void child(const char* c) {
  if (strcmp(c, "abort") == 0 || strcmp(c, "abort-caught") == 0) abort();
  if (strcmp(c, "raise-exit") == 0) {
    raise(SIGTERM);
    _exit(0);
  }
  if (strcmp(c, "raise-exec") == 0) {
    raise(SIGTERM);
    execl("/bin/true", "true", (char*)NULL);
    _exit(127);
  }
  if (strcmp(c, "kill-exit") == 0) {
    kill(getpid(), SIGTERM);
    exit(0);
  }
  if (strcmp(c, "raise-masked") == 0) {
    raise(SIGUSR1);
    _exit(3);
  }
  _exit(126);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CASE\n", argv[0]);
    return 2;
  }
  const char* c = argv[1];
  const struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core); /* abort() must not leave core files behind */
  if (strcmp(c, "abort-caught") == 0) signal(SIGABRT, on_signal);
  if (strcmp(c, "raise-masked") == 0) {
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
  }
  fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) {
    printf("parent: fork failed: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) child(c);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) printf("parent: child exited %d\n", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) printf("parent: child killed by signal %s\n", sigabbrev_np(WTERMSIG(status)));
  sigset_t pending;
  sigpending(&pending);
  printf("parent: alive, handler_runs=%d, SIGTERM pending=%d, SIGABRT pending=%d\n", (int)handler_runs,
         sigismember(&pending, SIGTERM), sigismember(&pending, SIGABRT));
  return 0;
}

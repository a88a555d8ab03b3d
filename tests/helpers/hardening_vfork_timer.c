/* @file hardening_vfork_timer.c
 * @brief vfork() from a signal handler while the main thread is inside vfork() itself (issue 6
 * item 2): the main thread makes N vfork()+_exit children while a 200 us interval timer's
 * SIGALRM handler makes one more each time it fires, so handlers land in every part of the
 * wrapper, the record's writing included. Prints "vfork-timer: main=N handler=H"; exit 0 when
 * every child exited 0 (a shim that lost its return address or r12 crashes or exits 2).
 * Usage: fg_helper_hardening_vfork_timer N
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "helper_util.h"

static volatile sig_atomic_t g_handler_vforks;
static volatile sig_atomic_t g_bad;

static void on_alarm(int sig) {
  (void)sig;
  const int saved = errno;
  pid_t pid = vfork();
  if (pid == 0) _exit(0);
  if (pid < 0 || fg_wait_code(pid) != 0) g_bad = 1;
  ++g_handler_vforks;
  errno = saved;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 5000;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval every = {{0, 200}, {0, 200}};
  setitimer(ITIMER_REAL, &every, NULL);
  volatile int main_ok = 0; /* volatile: vfork() returns twice into this frame */
  for (volatile int i = 0; i < n; ++i) {
    pid_t pid = vfork();
    if (pid == 0) _exit(0);
    if (pid > 0 && fg_wait_code(pid) == 0) ++main_ok;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  printf("vfork-timer: main=%d handler=%d\n", main_ok, (int)g_handler_vforks);
  return main_ok == n && !g_bad ? 0 : 2;
}

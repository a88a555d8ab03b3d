/* @file vfork_sub_daemon.c
 * @brief A fork child that becomes something with memory of its own: daemon() (the child's own
 * fork, its parent side _exit()ing inside daemon) or a second fork(). Under the vfork substitute
 * the first child shares the parent's memory and thread-local storage, so:
 *   - the parent: nothing the child counted (the library's call depth, left at one by a daemon()
 *     that never returns in the child) may stay counted: the parent's later fork, posix_spawn and
 *     system are recorded as outer calls, the fork substituted again;
 *   - the grandchild (the daemon, or the second fork's child) is an ordinary process: the
 *     program's signal mask and handlers, and exit() runs atexit handlers and flushes stdio.
 * Before that the child calls system(), a call of its own with a record (a log named by its own
 * pid, %p): the parent's descriptor table afterwards is the one it had before the fork (the
 * library's log, opened by an earlier posix_spawn's record, is not reopened and leaked).
 * The grandchild reports through a pipe with stdio (unflushed: only exit() writes it), the parent
 * prints the report, then makes its later calls. Exits 0 when everything matched.
 * Usage: fg_helper_vfork_sub_daemon daemon|fork
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_util.h"

static volatile sig_atomic_t g_usr1;
static FILE* g_report;

static void on_usr1(int sig) {
  (void)sig;
  g_usr1 = 1;
}

/* The descriptor table as "number=target ..." (the directory's own descriptor and the library's
 * kept pagemap left out). */
static void describe_fds(char* out, size_t cap) {
  DIR* d = opendir("/proc/self/fd");
  size_t used = 0;
  out[0] = '\0';
  if (d == NULL) return;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
    char link[300], target[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    /* The library's own pagemap, kept open (high, close-on-exec) from its first slim fork on. */
    char own_pagemap[64];
    snprintf(own_pagemap, sizeof own_pagemap, "/proc/%d/pagemap", (int)getpid());
    if (strcmp(target, own_pagemap) == 0 && atoi(e->d_name) >= 100) continue;
    int w = snprintf(out + used, cap - used, "%s=%s ", e->d_name, target);
    if (w < 0 || (size_t)w >= cap - used) break;
    used += (size_t)w;
  }
  closedir(d);
}

/* Registered by the grandchild only: it runs when exit() really is exit(). */
static void report_atexit(void) { fprintf(g_report, "grandchild: atexit ran\n"); }

/* In the grandchild: what it holds of the program's signal state, reported with stdio. */
static void grandchild(int wfd) {
  g_report = fdopen(wfd, "w");
  if (g_report == NULL) _exit(5);
  atexit(report_atexit);
  sigset_t mask;
  sigprocmask(SIG_SETMASK, NULL, &mask);
  struct sigaction sa;
  sigaction(SIGUSR1, NULL, &sa);
  fprintf(g_report, "grandchild: SIGUSR2 blocked %d, SIGTERM blocked %d, SIGUSR1 handler kept %d\n",
          sigismember(&mask, SIGUSR2), sigismember(&mask, SIGTERM), sa.sa_handler == on_usr1);
  raise(SIGUSR1); /* the program's handler, in the grandchild's own memory */
  fprintf(g_report, "grandchild: handler ran %d\n", (int)g_usr1);
  exit(0); /* flushes g_report: a substitute's _exit() would lose every line */
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "daemon") != 0 && strcmp(mode, "fork") != 0) {
    fprintf(stderr, "usage: %s daemon|fork\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  sigprocmask(SIG_BLOCK, &usr2, NULL); /* the program's mask: the grandchild keeps it */
  int early = fg_spawn_true(); /* a record before the fork: the library's log is open */
  static char fds_before[8192], fds_after[8192];
  describe_fds(fds_before, sizeof fds_before);
  int p[2];
  if (pipe(p) != 0) return 2;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    close(p[0]);
    if (system("exit 0") != 0) _exit(3);
    if (mode[0] == 'd') {
      if (daemon(1, 1) != 0) _exit(4); /* the child _exit(0)s inside: only the daemon returns */
      grandchild(p[1]);
    }
    pid_t g = fork();
    if (g < 0) _exit(4);
    if (g == 0) grandchild(p[1]);
    _exit(fg_wait_code(g) == 0 ? 0 : 6);
  }
  close(p[1]);
  int code = fg_wait_code(pid);
  printf("parent: first child exited %d\n", code);
  char line[256];
  FILE* in = fdopen(p[0], "r");
  if (in == NULL) return 2;
  int lines = 0;
  while (fgets(line, sizeof line, in) != NULL) { /* EOF once the grandchild is gone */
    fputs(line, stdout);
    lines++;
  }
  fclose(in);
  describe_fds(fds_after, sizeof fds_after);
  int same_fds = strcmp(fds_before, fds_after) == 0;
  printf("parent: descriptors %s\n", same_fds ? "as before the fork" : "CHANGED");
  if (!same_fds) fprintf(stderr, "before: %s\nafter:  %s\n", fds_before, fds_after);
  /* Later calls of the parent: each an outer call for the library. */
  int fork_code = fg_fork_exec_true();
  int spawn_code = fg_spawn_true();
  int system_code = system("exit 3");
  printf("parent: fork+exec %d, posix_spawn %d, system %d\n", fork_code, spawn_code,
         WIFEXITED(system_code) ? WEXITSTATUS(system_code) : -1);
  int ok = early == 0 && same_fds && code == 0 && lines == 3 && fork_code == 0 && spawn_code == 0 && WIFEXITED(system_code) &&
           WEXITSTATUS(system_code) == 3;
  return ok ? 0 : 1;
}

/* @file helper_util.h
 * @brief What the test helper programs share: waiting for a child, spawning /bin/true two ways,
 * and finding a descriptor by its target. Header-only (static inline): each helper is one source.
 */
#ifndef FORKGUARD_TEST_HELPER_UTIL_H
#define FORKGUARD_TEST_HELPER_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

/* Waits for PID (EINTR retried): its exit code, 128 + the signal that ended it, or -1 when
 * waitpid fails. */
static inline int fg_wait_code(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Waits (10 s at most) until the main thread has finished pthread_exit(): it then stays a zombie
 * task while the process lives. Before that a non-main thread is not yet the only one, and on a
 * loaded machine its first fork could come that early (seen in CI). */
static inline void fg_wait_main_thread_gone(void) {
  char path[64], stat[512];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)getpid());
  for (int i = 0; i < 10000; ++i) {
    FILE* f = fopen(path, "re");
    if (f == NULL) return;
    const size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char* state = strrchr(stat, ')'); /* the name may hold spaces and parentheses */
    if (state != NULL && (state[2] == 'Z' || state[2] == 'X')) return;
    usleep(1000);
  }
}

/* fork() + execve(/bin/true) + wait: the child's code as fg_wait_code, -1 when fork fails. */
static inline int fg_fork_exec_true(void) {
  fflush(stdout); /* nothing buffered may be duplicated into the child */
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    char* const argv[] = {"true", NULL};
    execve("/bin/true", argv, environ);
    _exit(127);
  }
  return fg_wait_code(pid);
}

/* posix_spawn(/bin/true) + wait: the child's code as fg_wait_code, -1 when the spawn fails. */
static inline int fg_spawn_true(void) {
  pid_t pid = -1;
  char* const argv[] = {"true", NULL};
  if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0) return -1;
  return fg_wait_code(pid);
}

/* The descriptor whose /proc/self/fd link names PATH, or -1 (how a test finds the shim's log). */
static inline int fg_find_fd_of(const char* path) {
  DIR* d = opendir("/proc/self/fd");
  if (d == NULL) return -1;
  int found = -1;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char link[300], target[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    if (strcmp(target, path) == 0) found = atoi(e->d_name);
  }
  closedir(d);
  return found;
}

#endif

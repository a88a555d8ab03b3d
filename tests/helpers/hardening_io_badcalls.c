/* @file hardening_io_badcalls.c
 * @brief Calls that make children with odd arguments, printing what each returned (value and
 * errno name) on stdout, so that runs without the shim, with it in observe mode and with it in
 * mitigate mode (FORKGUARD_TRIGGER=always: our own system()/popen()) can be compared byte for
 * byte. Only arguments glibc 2.36 tolerates are used (no NULL popen mode, no NULL spawn argv):
 *   system(NULL); system() of a 1 MiB command (execve: E2BIG, MAX_ARG_STRLEN is 128 KiB) and of
 *   a 100 KiB one (runs); popen() with every invalid mode and the valid odd ones, and with a
 *   NULL command; posix_spawn() with NULL pid, attributes, file actions and environment;
 *   execve() with NULL argv and envp (Linux allows both).
 * popen() of a 1 MiB command fails in both, but glibc 2.36 says ENOMEM where ours passes the
 * spawn's E2BIG (documented in shell_spawn.hpp): its errno goes to stderr, not stdout.
 * Exit 0 when it ran to the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char* ename(int e) { return e == 0 ? "0" : strerrorname_np(e); }

static char* command_of(size_t extra) {
  char* cmd = malloc(extra + 8);
  if (cmd == NULL) exit(2);
  memcpy(cmd, "true ", 5);
  memset(cmd + 5, 'x', extra);
  cmd[5 + extra] = '\0';
  return cmd;
}

static void try_system(const char* label, const char* cmd) {
  fflush(stdout);
  errno = 0;
  int r = system(cmd);
  int e = errno;
  printf("system(%s) = %d errno %s\n", label, r, ename(e));
}

static void try_popen(const char* label, const char* cmd, const char* mode) {
  fflush(stdout);
  errno = 0;
  FILE* p = popen(cmd, mode);
  int e = errno;
  if (p == NULL) {
    printf("popen(%s, \"%s\") = NULL errno %s\n", label, mode, ename(e));
    return;
  }
  char buf[256];
  size_t n = strchr(mode, 'r') != NULL ? fread(buf, 1, sizeof buf, p) : 0;
  errno = 0;
  int st = pclose(p);
  printf("popen(%s, \"%s\") = stream, read %zu, pclose %d errno %s\n", label, mode, n, st, ename(errno));
}

static int wait_status(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

int main(void) {
  try_system("NULL", NULL);
  char* big = command_of(1024 * 1024);
  char* medium = command_of(100 * 1024);
  try_system("1 MiB", big);
  try_system("100 KiB", medium);

  static const char* const modes[] = {"", "x", "rw", "wr", "rr", "ww", "re+", "r+", "rb", "wb", "e", "ee",
                                      "re", "er", "we", "ew", "ree", "rer", "r", "w", " r", "r "};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; ++i) try_popen("\"echo hi\"", "echo hi", modes[i]);
  try_popen("NULL", NULL, "r");
  try_popen("100 KiB", medium, "r");
  fflush(stdout);
  errno = 0;
  FILE* p = popen(big, "r");
  fprintf(stderr, "popen(1 MiB) errno %s\n", ename(errno));
  printf("popen(1 MiB, \"r\") = %s\n", p == NULL ? "NULL" : "stream");
  if (p != NULL) pclose(p);

  extern char** environ;
  char* const argv[] = {"sh", "-c", "exit 7", NULL};
  pid_t pid = -1;
  int r = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, NULL);
  int st = r == 0 ? wait_status(pid) : -1;
  printf("posix_spawn(envp NULL) = %d, child exit %d\n", r, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  fflush(stdout);
  r = posix_spawnp(NULL, "sh", NULL, NULL, argv, environ);
  st = r == 0 ? wait_status(-1) : -1;  // the only child: its pid was not asked for
  printf("posix_spawnp(pid NULL) = %d, child exit %d\n", r, WIFEXITED(st) ? WEXITSTATUS(st) : -1);

  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    char* const* volatile none = NULL; /* hidden from -Wnonnull: the point is passing NULL */
    execve("/bin/true", none, none);
    _exit(100 + errno);
  }
  st = wait_status(pid);
  printf("execve(argv NULL, envp NULL): child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  free(big);
  free(medium);
  printf("badcalls: done\n");
  return 0;
}

/* @file fd_table.c
 * @brief The descriptor test's program (issue #10 section 1): around every entry point the
 * library wraps, the program's descriptor table is the same after the call as before it.
 *
 * Before each call the program reuses its low numbers as closefrom()-style programs do: it closes
 * every descriptor from 3 up (the library's own high ones too), then puts at 3 a data file
 * (offset 3), over 4 a file dup2()ed onto a /dev/zero it had opened there, at 5/6 a pipe, at 7
 * /dev/null close-on-exec, at 9 a dup of 3 (8 stays a hole), and over stdin a file of its own.
 * Parent side: the table (numbers, /proc/self/fd targets, fdinfo offsets and flags) taken before
 * and after each call must be identical below the library's high base, but for what the call
 * itself creates (popen's pipe, until pclose); at and above the base everything must be
 * close-on-exec. Child side (fork, vfork, _Fork, daemon, the exec family): right after the fork
 * the child's table must be the parent's (daemon: from 3 up; it replaces 0-2 by design), then the
 * child closes everything from 3, opens eight files (3-10) and dup2()s 4 onto 12, and execs
 * fg_helper_fd_exec_check, which reports whether exactly those arrived. system(), popen() and
 * posix_spawn[p] exec the checker with the parent's own inheritable descriptors as expectations.
 *
 * Usage: fg_helper_fd_table CHECKER WORKDIR BIG_MIB
 * BIG_MIB: a private mapping of that many MiB, touched (what a slim fork leaves out of its child),
 * fenced by a read-only page on each side so that no neighbour merges into it (a library's .bss
 * mapped right below it would be left out of a slim child too: the slim fork's concern, not this
 * test's). Not PROT_NONE: the slim fork takes a mapping above a ---p guard for a thread stack.
 * Prints one line per side per entry ("ENTRY parent: intact", "ENTRY child: intact", "ENTRY exec:
 * intact", or "...: FAIL <what>"), then "fd_table: N checks, M failed"; exits 0 when M is 0.
 * Single-threaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd_snapshot.h"
#include "helper_util.h"

static const char* g_checker;
static const char* g_dir;
static int g_base;
static int g_checks, g_failed;
static struct fg_fdtab g_before, g_after, g_child_tab;

/* What a child hands to the checker, built by the parent before the fork (a vfork child may not
 * allocate or format with stdio). */
#define FG_CHILD_FILES 8
static char g_result[PATH_MAX];
static char g_label[64];
static char g_child_path[FG_CHILD_FILES][PATH_MAX];
static char g_expect[FG_CHILD_FILES + 1][PATH_MAX + 32];  /* (paths are far shorter than PATH_MAX) */
static char* g_child_argv[FG_CHILD_FILES + 5];

/* The report is kept until the end: printing meanwhile would move stdout's offset, which is
 * part of the table being compared. */
static char g_report[1 << 18];
static size_t g_report_len;

__attribute__((format(printf, 1, 2))) static void report(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(g_report + g_report_len, sizeof g_report - g_report_len, fmt, ap);
  va_end(ap);
  if (n > 0) g_report_len += (size_t)n < sizeof g_report - g_report_len ? (size_t)n : sizeof g_report - g_report_len - 1;
}

static void say(const char* entry, const char* side, int ok, const char* why) {
  ++g_checks;
  if (!ok) ++g_failed;
  report("%s %s: %s%s\n", entry, side, ok ? "intact" : "FAIL ", ok ? "" : why);
}

static void need(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "fd_table: %s: %s\n", what, strerror(errno));
    exit(2);
  }
}

/* The program's low numbers before each call (see the file comment). */
static void prepare_parent(const char* entry) {
  char p[PATH_MAX];
  close_range(3, ~0U, 0);
  snprintf(p, sizeof p, "%s/%s.a", g_dir, entry);
  int a = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
  need(a == 3 && write(a, "abc", 3) == 3, "data file at 3");
  need(open("/dev/zero", O_RDONLY) == 4, "/dev/zero at 4");
  int fds[2];
  need(pipe(fds) == 0 && fds[0] == 5 && fds[1] == 6, "pipe at 5/6");
  need(open("/dev/null", O_RDONLY | O_CLOEXEC) == 7, "/dev/null at 7");
  snprintf(p, sizeof p, "%s/%s.b", g_dir, entry);
  int b = open(p, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, 0600);
  need(b == 8 && write(b, "12", 2) == 2 && dup2(b, 4) == 4 && close(b) == 0, "file dup2()ed over 4");
  snprintf(p, sizeof p, "%s/%s.stdin", g_dir, entry);
  int c = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
  need(c == 8 && dup2(c, 0) == 0 && close(c) == 0, "file dup2()ed over stdin");
  need(dup2(3, 9) == 9, "dup of 3 at 9");
}

/* The child's plan: eight files at 3-10 (file K holds K+1 bytes), 4 dup2()ed onto 12. */
static void plan_child(const char* entry) {
  snprintf(g_result, sizeof g_result, "%s/%s.result", g_dir, entry);
  unlink(g_result);
  snprintf(g_label, sizeof g_label, "%s", entry);
  g_child_argv[0] = (char*)"fd_exec_check";
  g_child_argv[1] = g_result;
  g_child_argv[2] = g_label;
  for (int k = 0; k < FG_CHILD_FILES; ++k) {
    snprintf(g_child_path[k], sizeof g_child_path[k], "%.3000s/%s.child%d", g_dir, entry, k);
    snprintf(g_expect[k], sizeof g_expect[k], "%d=%.4000s@%d", 3 + k, g_child_path[k], k + 1);
    g_child_argv[3 + k] = g_expect[k];
  }
  snprintf(g_expect[FG_CHILD_FILES], sizeof g_expect[0], "12=%.4000s@2", g_child_path[1]);
  g_child_argv[3 + FG_CHILD_FILES] = g_expect[FG_CHILD_FILES];
  g_child_argv[4 + FG_CHILD_FILES] = NULL;
}

static void child_write_line(const char* side, int ok, const char* why) {
  char line[4500];
  size_t at = fg_put_str(line, 0, sizeof line, g_label);
  at = fg_put_str(line, at, sizeof line, side);
  at = fg_put_str(line, at, sizeof line, ok ? ": intact" : ": FAIL ");
  at = fg_put_str(line, at, sizeof line, ok ? "" : why);
  at = fg_put_str(line, at, sizeof line, "\n");
  int f = open(g_result, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (f >= 0) {
    ssize_t ignored = write(f, line, at);
    (void)ignored;
    close(f);
  }
}

/* Child, right after the fork: its table against the parent's (from `from` up), then the reuse.
 * Syscalls and static buffers only: it may be a vfork child. */
static void child_check_and_reuse(int from, const char* side) {
  char why[4096];
  const int snap = fg_fd_snapshot(&g_child_tab);
  int ok = snap == 0 && fg_fd_same(&g_before, &g_child_tab, g_base, from, -1, why, sizeof why);
  if (snap != 0) fg_put_str(why, 0, sizeof why, "cannot read /proc/self/fd");
  /* The learning child's userfaultfd: the library's, so at the high base, never below it. */
  size_t at = strlen(why);
  int learning_high = -1;
  for (int i = 0; i < g_child_tab.n; ++i) {
    if (strcmp(g_child_tab.e[i].target, "anon_inode:[userfaultfd]") != 0) continue;
    if (g_child_tab.e[i].fd >= g_base) {
      learning_high = g_child_tab.e[i].fd;
    } else {
      ok = 0;
      at = fg_put_str(why, at, sizeof why, "a userfaultfd below the base: ");
      at = fg_fd_describe(why, at, sizeof why, &g_child_tab.e[i]);
    }
  }
  close_range(3, ~0U, 0);
  for (int k = 0; k < FG_CHILD_FILES; ++k) {
    int f = open(g_child_path[k], O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (f != 3 + k || write(f, "xxxxxxxx", (size_t)k + 1) != k + 1) _exit(3);
  }
  if (dup2(4, 12) != 12) _exit(3);
  char line_side[96];
  at = fg_put_str(line_side, 0, sizeof line_side, side);
  if (ok && learning_high >= 0) {
    at = fg_put_str(line_side, at, sizeof line_side, " (learning descriptor at ");
    at = fg_put_int(line_side, at, sizeof line_side, learning_high);
    fg_put_str(line_side, at, sizeof line_side, ")");
  }
  child_write_line(line_side, ok, why);
}

/* The child's whole part: check, reuse, exec the checker with execv. */
static void child_side(void) {
  child_check_and_reuse(0, " child");
  execv(g_checker, g_child_argv);
  _exit(127);
}

/* Reads the result file's lines and reports them; `want` lines are expected. */
static void report_result(const char* entry, int want, int child_status) {
  char buf[16384];
  int f = -1;
  ssize_t n = 0;
  for (int tries = 0; tries < 200; ++tries) { /* a daemon's lines come when they come: 10 s at most */
    f = open(g_result, O_RDONLY | O_CLOEXEC);
    n = f >= 0 ? read(f, buf, sizeof buf - 1) : 0;
    if (f >= 0) close(f);
    int lines = 0;
    for (ssize_t i = 0; i < n; ++i) lines += buf[i] == '\n';
    if (lines >= want) break;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  buf[n > 0 ? n : 0] = '\0';
  int lines = 0;
  for (char* line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    ++lines;
    ++g_checks;
    if (strstr(line, ": intact") == NULL) ++g_failed;
    report("%s\n", line);
  }
  if (lines < want) {
    char why[128];
    snprintf(why, sizeof why, "%d of %d result lines (child status %d)", lines, want, child_status);
    say(entry, "child", 0, why);
  } else if (child_status != 0) {
    char why[64];
    snprintf(why, sizeof why, "the exec'd checker exited %d", child_status);
    say(entry, "exec", 0, why);
  }
}

/* The parent's inheritable low descriptors as the checker's expectations, shell-quoted when
 * `quote` (one string), or as argv entries. */
static int parent_expectations(char (*out)[PATH_MAX + 32], int max) {
  int n = 0;
  for (int i = 0; i < g_before.n && n < max; ++i) {
    const struct fg_fd* e = &g_before.e[i];
    if (e->fd == 1 || e->fd == 2 || e->fd >= g_base || (e->flags & O_CLOEXEC) != 0) continue;
    snprintf(out[n++], PATH_MAX + 32, "%d=%s@%lld", e->fd, e->target, e->pos);
  }
  return n;
}

static void shell_command(char* cmd, size_t cap, const char* result) {
  static char exp[FG_FD_MAX][PATH_MAX + 32];
  int n = parent_expectations(exp, FG_FD_MAX);
  size_t at = (size_t)snprintf(cmd, cap, "exec '%s' '%s' '%s'", g_checker, result, g_label);
  for (int i = 0; i < n && at < cap; ++i) at += (size_t)snprintf(cmd + at, cap - at, " '%s'", exp[i]);
}

typedef int (*entry_fn)(const char* entry);

static int run_fork(const char* entry) {
  (void)entry;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) child_side();
  return pid < 0 ? -1 : fg_wait_code(pid);
}

static int run_vfork(const char* entry) {
  (void)entry;
  pid_t pid = vfork();
  if (pid == 0) child_side();
  return pid < 0 ? -1 : fg_wait_code(pid);
}

static int run__Fork(const char* entry) {
  (void)entry;
  fflush(stdout);
  pid_t pid = _Fork();
  if (pid == 0) child_side();
  return pid < 0 ? -1 : fg_wait_code(pid);
}

static int run_system(const char* entry) {
  (void)entry;
  static char cmd[65536];
  shell_command(cmd, sizeof cmd, g_result);
  fflush(stdout);
  int rc = system(cmd);
  return rc == -1 ? -1 : (WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc));
}

static int run_popen(const char* entry) {
  static char cmd[65536];
  shell_command(cmd, sizeof cmd, "-");
  fflush(stdout);
  FILE* fp = popen(cmd, "r");
  if (fp == NULL) return -1;
  /* While the stream is open: the table is the parent's plus popen's own descriptor. */
  char why[4096];
  int ok = fg_fd_snapshot(&g_after) == 0 && fg_fd_same(&g_before, &g_after, g_base, 0, fileno(fp), why, sizeof why);
  say(entry, "parent (stream open)", ok, why);
  char line[4608];
  int f = open(g_result, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  while (fgets(line, sizeof line, fp) != NULL) {
    if (f >= 0 && write(f, line, strlen(line)) < 0) break;
  }
  if (f >= 0) close(f);
  int rc = pclose(fp);
  return rc == -1 ? -1 : (WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc));
}

static int spawn_checker(int by_name) {
  static char exp[FG_FD_MAX][PATH_MAX + 32];
  static char* argv[FG_FD_MAX + 4];
  int n = parent_expectations(exp, FG_FD_MAX);
  argv[0] = (char*)"fd_exec_check";
  argv[1] = g_result;
  argv[2] = g_label;
  for (int i = 0; i < n; ++i) argv[3 + i] = exp[i];
  argv[3 + n] = NULL;
  pid_t pid = -1;
  int rc = by_name ? posix_spawnp(&pid, g_checker, NULL, NULL, argv, environ)
                   : posix_spawn(&pid, g_checker, NULL, NULL, argv, environ);
  return rc != 0 ? -1 : fg_wait_code(pid);
}
static int run_posix_spawn(const char* entry) { (void)entry; return spawn_checker(0); }
static int run_posix_spawnp(const char* entry) { (void)entry; return spawn_checker(1); }

/* daemon() in a child: the daemon's table from 3 up must be what the child had before the call
 * (0-2 become /dev/null by design), then it reuses its low numbers and execs the checker. */
static int run_daemon(const char* entry) {
  (void)entry;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (daemon(1, 0) != 0) _exit(4);
    child_check_and_reuse(3, " daemon");
    execv(g_checker, g_child_argv);
    _exit(127);
  }
  return pid < 0 ? -1 : fg_wait_code(pid); /* the first child: daemon()'s parent side exits 0 */
}

/* The exec family from a fork child, each after the child's reuse of its low numbers. */
enum exec_kind { EXEC_V, EXEC_VE, EXEC_VP, EXEC_VPE, EXEC_L, EXEC_LP, EXEC_LE, EXEC_FEXECVE };
static int run_exec(enum exec_kind kind) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid != 0) return pid < 0 ? -1 : fg_wait_code(pid);
  child_check_and_reuse(0, " child");
  char** a = g_child_argv;
  switch (kind) {
    case EXEC_V: execv(g_checker, a); break;
    case EXEC_VE: execve(g_checker, a, environ); break;
    case EXEC_VP: execvp(g_checker, a); break;
    case EXEC_VPE: execvpe(g_checker, a, environ); break;
    case EXEC_L: execl(g_checker, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], (char*)NULL); break;
    case EXEC_LP: execlp(g_checker, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], (char*)NULL); break;
    case EXEC_LE:
      execle(g_checker, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], (char*)NULL, environ);
      break;
    case EXEC_FEXECVE: {
      int f = open(g_checker, O_RDONLY | O_CLOEXEC); /* at 11, the hole: closed by the exec */
      if (f >= 0) fexecve(f, a, environ);
      break;
    }
  }
  _exit(127);
}
static int run_execv(const char* e) { (void)e; return run_exec(EXEC_V); }
static int run_execve(const char* e) { (void)e; return run_exec(EXEC_VE); }
static int run_execvp(const char* e) { (void)e; return run_exec(EXEC_VP); }
static int run_execvpe(const char* e) { (void)e; return run_exec(EXEC_VPE); }
static int run_execl(const char* e) { (void)e; return run_exec(EXEC_L); }
static int run_execlp(const char* e) { (void)e; return run_exec(EXEC_LP); }
static int run_execle(const char* e) { (void)e; return run_exec(EXEC_LE); }
static int run_fexecve(const char* e) { (void)e; return run_exec(EXEC_FEXECVE); }

struct entry {
  const char* name;
  entry_fn run;
  int result_lines; /* lines the result file gets: child-side check and/or the checker's */
};

/* daemon last: in mitigate mode with the vfork substitute its first fork is a substitute child that
 * never returns from daemon(), which (today) leaves the parent's calls counted as nested. */
static const struct entry kEntries[] = {
    {"fork", run_fork, 2},
    {"vfork", run_vfork, 2},
    {"_Fork", run__Fork, 2},
    {"system", run_system, 1},
    {"popen", run_popen, 1},
    {"posix_spawn", run_posix_spawn, 1},
    {"posix_spawnp", run_posix_spawnp, 1},
    {"execv", run_execv, 2},
    {"execve", run_execve, 2},
    {"execvp", run_execvp, 2},
    {"execvpe", run_execvpe, 2},
    {"execl", run_execl, 2},
    {"execlp", run_execlp, 2},
    {"execle", run_execle, 2},
    {"fexecve", run_fexecve, 2},
    {"daemon", run_daemon, 2},
};

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s CHECKER WORKDIR BIG_MIB\n", argv[0]);
    return 2;
  }
  g_checker = argv[1];
  g_dir = argv[2];
  g_base = fg_fd_base();
  const size_t big = (size_t)atol(argv[3]) << 20;
  if (big > 0) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char* m = mmap(NULL, big + 2 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    need(m != MAP_FAILED && mprotect(m + page, big, PROT_READ | PROT_WRITE) == 0, "the large private mapping");
    memset(m + page, 1, big); /* touched: a slim fork has something to leave out */
  }
  /* The library's state exists before the program reuses its numbers: its log is open, its
   * unwinder loaded, its validation pipe made. */
  need(fg_spawn_true() == 0 && fg_fork_exec_true() == 0, "warm-up spawn and fork");
  report("fd_table: base %d\n", g_base);
  for (size_t i = 0; i < sizeof kEntries / sizeof kEntries[0]; ++i) {
    const struct entry* e = &kEntries[i];
    prepare_parent(e->name);
    plan_child(e->name);
    need(fg_fd_snapshot(&g_before) == 0, "snapshot before");
    const int status = e->run(e->name);
    char why[4096];
    int ok = fg_fd_snapshot(&g_after) == 0 && fg_fd_same(&g_before, &g_after, g_base, 0, -1, why, sizeof why);
    ok = ok && pwrite(3, "x", 1, 100) == 1; /* the program's data file still takes writes */
    if (!ok && why[0] == '\0') snprintf(why, sizeof why, "fd 3 no longer takes writes: %s", strerror(errno));
    say(e->name, "parent", ok, why);
    report_result(e->name, e->result_lines, status);
  }
  report("fd_table: %d checks, %d failed\n", g_checks, g_failed);
  fputs(g_report, stdout);
  return g_failed == 0 ? 0 : 1;
}

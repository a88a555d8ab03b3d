/* @file hardening_atfork.c
 * @brief The program's own pthread_atfork handlers (issue 6 item 2c): two sets, A registered
 * before B, each handler appending its name to a log with no lock or allocation. Three fork()s;
 * in the first, A's prepare handler forks once more itself (a fork inside a fork: the shim sees
 * it nested). Each child prints the log it inherited plus its own handlers' entries and
 * _exit(0)s; the parent prints its log after each fork. glibc runs prepare handlers in reverse
 * order of registration, parent and child handlers in order.
 * Usage: fg_helper_hardening_atfork [big] [nonest]   (big: first touch a 16 MiB private mapping,
 * so that a slim fork has something to exclude; nonest: no fork inside the prepare handler).
 * Output is meant to be compared byte for byte.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_log[4096];
static size_t g_len;
static int g_nest_once = 1;

static void note(const char* s) {
  const size_t n = strlen(s);
  if (g_len + n < sizeof g_log) {
    memcpy(g_log + g_len, s, n);
    g_len += n;
  }
}

static void say(const char* who) {
  char line[4200];
  const int n = snprintf(line, sizeof line, "%s [%d]: %.*s\n", who, (int)g_len, (int)g_len, g_log);
  if (write(STDOUT_FILENO, line, (size_t)n) != n) _exit(9);
}

static void wait_ok(pid_t pid) {
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    say("FAILED wait");
    exit(1);
  }
}

static void prepare_a(void) {
  note("prepA ");
  if (g_nest_once) {
    g_nest_once = 0;
    note("nest{ ");
    const pid_t pid = fork();
    if (pid == 0) _exit(0);
    wait_ok(pid);
    note("}nest ");
  }
}
static void parent_a(void) { note("parA "); }
static void child_a(void) { note("chA "); }
static void prepare_b(void) { note("prepB "); }
static void parent_b(void) { note("parB "); }
static void child_b(void) { note("chB "); }

int main(int argc, char** argv) {
  int big_mapping = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "big") == 0) big_mapping = 1;
    if (strcmp(argv[i], "nonest") == 0) g_nest_once = 0;
  }
  if (big_mapping) {
    const size_t len = 16u << 20;
    /* A PROT_NONE page above: merged with a neighbour holding the TCB (ld.so's TLS block), it
     * would be excluded only where never touched, i.e. not at all (README: Mitigation). None
     * below: a mapping right above a guard page may be a thread stack, also excluded that way. */
    char* big = mmap(NULL, len + 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big == MAP_FAILED) return 1;
    if (mprotect(big, len, PROT_READ | PROT_WRITE) != 0) return 1;
    memset(big, 1, len / 4); /* the never-written rest is what a slim fork leaves out */
  }
  pthread_atfork(prepare_a, parent_a, child_a);
  pthread_atfork(prepare_b, parent_b, child_b);
  for (int i = 0; i < 3; ++i) {
    note("| ");
    const pid_t pid = fork();
    if (pid == 0) {
      say("child");
      _exit(0);
    }
    wait_ok(pid);
    say("parent");
  }
  return 0;
}

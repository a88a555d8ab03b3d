/* @file fd_exec_check.c
 * @brief The program a descriptor test execs: it reports whether the descriptors it was given are
 * intact. Each expectation FD=TARGET[@POS] must be open at that number with that /proc/self/fd
 * target (and offset); any other descriptor but 0-2 is unexpected, and so is anything at or above
 * the library's high base (the library's own must all be close-on-exec). It looks before doing
 * anything else, so what the preloaded library's load did is seen too.
 *
 * Usage: fg_helper_fd_exec_check RESULT LABEL [FD=TARGET[@POS]]...
 * RESULT: a file to append the verdict line to, or - for stdout. The verdict is
 * "LABEL exec: intact" or "LABEL exec: FAIL <what>"; exit 0 when intact, 1 otherwise.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_snapshot.h"

static struct fg_fdtab g_tab;

int main(int argc, char** argv) {
  if (fg_fd_snapshot(&g_tab) != 0 || argc < 3) return 2;
  const int base = fg_fd_base();
  char why[4096];
  size_t at = 0;
  why[0] = '\0';
  int expected[FG_FD_MAX];
  int nexpected = 0;
  for (int i = 3; i < argc; ++i) {
    char spec[512];
    strncpy(spec, argv[i], sizeof spec - 1);
    spec[sizeof spec - 1] = '\0';
    char* eq = strchr(spec, '=');
    if (eq == NULL) return 2;
    *eq = '\0';
    const int fd = atoi(spec);
    char* target = eq + 1;
    long long pos = -1;
    char* atsign = strrchr(target, '@');
    if (atsign != NULL) {
      *atsign = '\0';
      pos = atoll(atsign + 1);
    }
    if (nexpected < FG_FD_MAX) expected[nexpected++] = fd;
    const struct fg_fd* e = fg_fd_find(&g_tab, fd);
    if (e == NULL) {
      at = fg_put_str(why, at, sizeof why, "missing fd ");
      at = fg_put_int(why, at, sizeof why, fd);
      at = fg_put_str(why, at, sizeof why, " (");
      at = fg_put_str(why, at, sizeof why, target);
      at = fg_put_str(why, at, sizeof why, "); ");
    } else if (strcmp(e->target, target) != 0 || (pos >= 0 && e->pos != pos)) {
      at = fg_put_str(why, at, sizeof why, "wrong: ");
      at = fg_fd_describe(why, at, sizeof why, e);
      at = fg_put_str(why, at, sizeof why, " instead of ");
      at = fg_put_str(why, at, sizeof why, target);
      at = fg_put_str(why, at, sizeof why, "@");
      at = fg_put_int(why, at, sizeof why, pos);
      at = fg_put_str(why, at, sizeof why, "; ");
    }
  }
  for (int i = 0; i < g_tab.n; ++i) {
    const struct fg_fd* e = &g_tab.e[i];
    int listed = 0;
    for (int k = 0; k < nexpected; ++k) listed |= expected[k] == e->fd;
    if (listed || e->fd <= 2) continue;
    at = fg_put_str(why, at, sizeof why, e->fd >= base ? "leaked across exec: " : "unexpected: ");
    at = fg_fd_describe(why, at, sizeof why, e);
    at = fg_put_str(why, at, sizeof why, "; ");
  }
  char line[4608];
  size_t n = fg_put_str(line, 0, sizeof line, argv[2]);
  n = fg_put_str(line, n, sizeof line, why[0] == '\0' ? " exec: intact" : " exec: FAIL ");
  n = fg_put_str(line, n, sizeof line, why);
  n = fg_put_str(line, n, sizeof line, "\n");
  int out = 1;
  if (strcmp(argv[1], "-") != 0) out = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (out < 0 || write(out, line, n) != (ssize_t)n) return 2;
  return why[0] == '\0' ? 0 : 1;
}

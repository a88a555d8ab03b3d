/* @file dup2.c
 * @brief A program that dup2()s a file of its own over the shim's log descriptor between
 * spawns. It finds the descriptor by scanning /proc/self/fd for one whose target is LOG (the
 * log file's path, passed by the test); without the shim none exists and it takes fd 900, so
 * it behaves the same either way. Phase 1 uses dup2() (the number loses close-on-exec); phase 2
 * finds the shim's new descriptor and uses dup3(O_CLOEXEC) (same flags as the shim's own).
 * Each time it writes its own lines through that number, spawns, and checks its file holds
 * exactly what it wrote. NOTES gets "phaseN log fd found: yes|no" for the test to check.
 * Usage: fg_helper_dup2 LOG OWN_FILE_1 OWN_FILE_2 NOTES
 * Records under the shim: fork=3, system=2, posix_spawn=2 (six of them after the first dup2).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_util.h"

/* Puts OWN over the log descriptor (or over `fallback`), writes a line, spawns three ways,
 * writes a second line, and checks OWN holds exactly the two lines. */
static int phase(int n, const char* log, const char* own_path, int fallback, int use_dup3, FILE* notes) {
  int target = fg_find_fd_of(log);
  fprintf(notes, "phase%d log fd found: %s\n", n, target >= 0 ? "yes" : "no");
  if (target < 0) target = fallback;
  int own = open(own_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (own < 0) return 0;
  int rc = use_dup3 ? dup3(own, target, O_CLOEXEC) : dup2(own, target);
  close(own);
  if (rc != target) return 0;
  char first[64], second[64];
  int l1 = snprintf(first, sizeof first, "phase %d: mine 1\n", n);
  int l2 = snprintf(second, sizeof second, "phase %d: mine 2\n", n);
  int ok = write(target, first, (size_t)l1) == l1;
  ok &= fg_fork_exec_true() == 0;
  fflush(stdout);
  ok &= system("true") == 0;
  ok &= fg_spawn_true() == 0;
  ok &= write(target, second, (size_t)l2) == l2;
  close(target);

  char buf[4096];
  int fd = open(own_path, O_RDONLY);
  ssize_t got = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0) close(fd);
  const int intact = got == l1 + l2 && memcmp(buf, first, (size_t)l1) == 0 && memcmp(buf + l1, second, (size_t)l2) == 0;
  printf("dup2: phase %d (%s): own file %s\n", n, use_dup3 ? "dup3 O_CLOEXEC" : "dup2",
         intact ? "holds exactly what the program wrote" : "was written by someone else");
  return ok && intact;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s LOG OWN_FILE_1 OWN_FILE_2 NOTES\n", argv[0]);
    return 2;
  }
  FILE* notes = fopen(argv[4], "we");
  if (notes == NULL) return 2;
  int ok = fg_fork_exec_true() == 0; /* the shim opens its log here */
  ok &= phase(1, argv[1], argv[2], 900, 0, notes);
  ok &= phase(2, argv[1], argv[3], 901, 1, notes);
  fclose(notes);
  printf("dup2: %s\n", ok ? "all children exited 0" : "FAILED");
  return ok ? 0 : 1;
}

/* @file fd_own_unwind.c
 * @brief A program that uses libunwind itself (loaded RTLD_GLOBAL before anything is spawned):
 * its libunwind's pipe is its own business, at its own low numbers. The library must leave that
 * libunwind alone (never re-point it, never make it a pipe of ours) and capture its stacks with
 * libgcc's unwinder instead.
 *
 * Usage: fg_helper_fd_own_unwind
 * Takes the program's descriptor table after its own unw_backtrace(), spawns (posix_spawn and
 * fork+exec of /bin/true), takes it again after another unw_backtrace(), and prints
 * "own-unwind: intact" (exit 0) when both are the same and no pipe sits at or above the library's
 * base, else "own-unwind: FAIL <what>" (exit 1).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "fd_snapshot.h"
#include "helper_util.h"

static struct fg_fdtab g_before, g_after;

int main(void) {
  void* h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_GLOBAL);
  int (*unw_backtrace)(void**, int) = h != NULL ? (int (*)(void**, int))dlsym(h, "unw_backtrace") : NULL;
  if (unw_backtrace == NULL) {
    printf("own-unwind: no libunwind.so.8 to load\n");
    return 77;
  }
  void* pcs[32];
  int ok = unw_backtrace(pcs, 32) > 0; /* its pipe is made now, at the program's lowest free numbers */
  ok &= fg_fd_snapshot(&g_before) == 0;
  ok &= fg_spawn_true() == 0 && fg_fork_exec_true() == 0 && fg_spawn_true() == 0;
  ok &= unw_backtrace(pcs, 32) > 0;
  ok &= fg_fd_snapshot(&g_after) == 0;
  char why[4096];
  const int base = fg_fd_base();
  int same = fg_fd_same(&g_before, &g_after, base, 0, -1, why, sizeof why);
  for (int i = 0; i < g_after.n; ++i) {
    if (g_after.e[i].fd >= base && strncmp(g_after.e[i].target, "pipe:", 5) == 0 && fg_fd_find(&g_before, g_after.e[i].fd) == NULL) {
      same = 0;
      snprintf(why + strlen(why), sizeof why - strlen(why), "a pipe at %d: the program's libunwind was re-pointed; ",
               g_after.e[i].fd);
    }
  }
  printf("own-unwind: %s%s\n", same && ok ? "intact" : "FAIL ", same && ok ? "" : (ok ? why : "a call failed"));
  return same && ok ? 0 : 1;
}

/* @file twin_lib.c
 * @brief One library, two builds (TWIN_B defined or not): the same file name and entry point,
 * different build ids, function names and layout, so that an offset recorded from one build
 * names another function in the other. `forkguard report` must never print a name (or a line)
 * from the build that did not run. */
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef TWIN_B
#define NAME(x) twin_beta_##x
/* Code before the fork, so that build A's offsets land inside these functions in build B. */
#define PAD(n)                                                          \
  __attribute__((noinline)) int NAME(pad##n)(volatile int* p) {          \
    int s = 0;                                                           \
    for (int i = 0; i < 64; ++i) s += p[i & 3] * (i + n) ^ (s >> 3);    \
    return s;                                                            \
  }
PAD(0)
PAD(1)
PAD(2)
PAD(3)
PAD(4)
PAD(5)
PAD(6)
PAD(7)
#else
#define NAME(x) twin_alpha_##x
#endif

__attribute__((noinline)) int NAME(fork_and_wait)(void) {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = -1;
  if (pid > 0) waitpid(pid, &status, 0);
  return status;
}

__attribute__((noinline)) int NAME(spawn_once)(void) { return NAME(fork_and_wait)() + 0; }

int twin_spawn(void) { return NAME(spawn_once)(); }

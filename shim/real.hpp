/// @file real.hpp
/// @brief The one list of hooks, and the real libc functions behind them.
#pragma once

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "forkguard/engine.hpp"

/// posix_spawn[p] have two versions on x86_64 (GLIBC_2.2.5, GLIBC_2.15) and one on aarch64.
#if defined(__x86_64__)
#define FORKGUARD_SPAWN_HOOKS(X)                    \
  X(posix_spawn, posix_spawn, "GLIBC_2.15")         \
  X(posix_spawn_2_2_5, posix_spawn, "GLIBC_2.2.5")  \
  X(posix_spawnp, posix_spawnp, "GLIBC_2.15")       \
  X(posix_spawnp_2_2_5, posix_spawnp, "GLIBC_2.2.5")
#else
#define FORKGUARD_SPAWN_HOOKS(X)    \
  X(posix_spawn, posix_spawn, nullptr) \
  X(posix_spawnp, posix_spawnp, nullptr)
#endif

/// How to add a hook: one X(id, libc symbol, symbol version or nullptr for the default) line
/// here, then its wrapper in interpose.cpp. Each type is libc's own declaration (decltype).
#define FORKGUARD_HOOKS(X)                          \
  X(fork, fork, nullptr)                            \
  X(_Fork, _Fork, nullptr)                          \
  X(vfork, vfork, nullptr)                          \
  X(system, system, nullptr)                        \
  X(popen, popen, nullptr)                          \
  X(pclose, pclose, nullptr)                        \
  FORKGUARD_SPAWN_HOOKS(X)                          \
  X(daemon, daemon, nullptr)                        \
  X(execve, execve, nullptr)                        \
  X(execv, execv, nullptr)                          \
  X(execvp, execvp, nullptr)                        \
  X(execvpe, execvpe, nullptr)                      \
  X(fexecve, fexecve, nullptr)                      \
  X(exit, exit, nullptr)                            \
  X(_exit, _exit, nullptr)

namespace forkguard::real {

#define FORKGUARD_DECLARE_REAL(id, sym, version) decltype(&::sym) id();
FORKGUARD_HOOKS(FORKGUARD_DECLARE_REAL)
#undef FORKGUARD_DECLARE_REAL

/// A function of a libc newer than the library's floor (glibc 2.17), looked up at run time: nullptr
/// where the running libc lacks it, so each such function is an optional feature that every
/// caller must do without. Always nullptr in the tests' old-libc build (FORKGUARD_TEST_OLD_LIBC).
/// Every function glibc 2.17 did not have is found through here or lookup() below, never linked.
void* optional(const char* name);

/// Reads the settings once (constructor, or the first wrapper that runs before it).
void init();
/// Looks up, in the parent, every real function a child of fork may call (exec*, exit, _exit).
void resolve_for_children();
/// Reports a real function that cannot be found, once per name.
void report_missing(const char* name);

}  // namespace forkguard::real

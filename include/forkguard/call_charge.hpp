/// @file call_charge.hpp
/// @brief Whether the kernel charges a call for the parent's memory, by the libc that runs it.
///
/// A copying fork is charged (commit_rule.hpp); a child made with CLONE_VM|CLONE_VFORK is not.
/// Which one a libc call makes depends on the libc, found at run time:
///  - fork, _Fork, daemon: always a copying fork; vfork: never;
///  - system(), popen(): glibc 2.29 and later spawn over posix_spawn (not charged), older glibc
///    forks; musl and other libcs without gnu_get_libc_version() spawn (not charged);
///  - posix_spawn[p]: glibc 2.24 and later use clone(CLONE_VM|CLONE_VFORK); older glibc
///    (sysdeps/posix/spawni.c) vforks only with POSIX_SPAWN_USEVFORK, or with no file actions
///    and none of SETSIGMASK, SETSIGDEF, SETSCHEDPARAM, SETSCHEDULER, SETPGROUP, RESETIDS; else it forks.
/// Only glibc 2.36 runs here: the older rules are proven by unit tests of these pure functions.
#pragma once

#include "forkguard/record.hpp"

namespace forkguard {

struct LibcVersion {
  bool glibc = false;  ///< false: not glibc (musl...): its system/popen/posix_spawn never copy
  int major = 0, minor = 0;
  bool at_least(int maj, int min) const { return major > maj || (major == maj && minor >= min); }
};

/// gnu_get_libc_version()'s text ("2.36") as a version; nullptr (no such function) = not glibc.
/// A text that does not parse counts as glibc 0.0, the oldest (charged wherever a version is).
LibcVersion parse_libc_version(const char* gnu_version);

/// The libc of this process, read once (gnu_get_libc_version through a weak reference: resolved
/// by ld.so at load, absent on libcs that lack it, callable from a signal handler).
const LibcVersion& running_libc();

/// What a posix_spawn call asks for, as far as the old glibc rule looks at it.
struct SpawnShape {
  bool file_actions = false;  ///< the file_actions argument is not NULL (even when empty)
  short flags = 0;            ///< posix_spawnattr flags (0 without attributes)
};

/// Whether `kind`, made by `libc`, is charged for the parent's memory (a copying fork).
bool call_is_charged(CallKind kind, const LibcVersion& libc, const SpawnShape& spawn = SpawnShape{});

}  // namespace forkguard

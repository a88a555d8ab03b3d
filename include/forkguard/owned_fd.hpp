/// @file owned_fd.hpp
/// @brief A descriptor the library owns inside someone else's process: close-on-exec, moved to a
/// high number, and known by identity (device, inode), so that a number the program closed,
/// dup2()ed over or reused is never read, written or closed.
///
/// The rule for the whole library, its dependencies included: it holds only such descriptors.
/// A low number is used only inside one short operation of one call (open, read, close of a
/// /proc file; the instant between creating a descriptor and moving it high).
#pragma once

#include <sys/types.h>

namespace forkguard {

struct FdIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
};

/// A descriptor number far from the low ones a program allocates and iterates over.
int high_descriptor_floor();

/// Moves `fd` to a close-on-exec number >= high_descriptor_floor() and closes the original.
/// When the program holds every number from the base up, the first lower band with a free number
/// (base/2, base/4, ...): as far from the low numbers as the program leaves room. Returns the new
/// number, or -1 (errno set, `fd` closed) when none is free. Syscalls only (async-signal-safe).
int move_high(int fd);

/// move_high() and remember_identity(). Returns the descriptor to use, or -1 (fd closed).
int adopt_high(int fd, FdIdentity& id);

/// Records the identity of `fd` (after the caller put a new file at a number it owns).
void remember_identity(int fd, FdIdentity& id);

/// Whether `fd` is still the descriptor adopt_high() returned: same file and close-on-exec (one
/// the program re-created lacks the flag).
bool still_ours(int fd, const FdIdentity& id);

/// What a check before writing finds: our descriptor, ours but its file was deleted (no link
/// left: records written there are lost), or a number that is not ours any more.
enum class FdState { ours, ours_unlinked, not_ours };
FdState check_owned(int fd, const FdIdentity& id);

}  // namespace forkguard

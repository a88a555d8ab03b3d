/// @file unwinder_fds.hpp
/// @brief libunwind's descriptors under the library's rule. libunwind 1.6 keeps a pipe for
/// memory validation in a global, created at the lowest free numbers and, when a read from it
/// fails, closed and re-created at whatever numbers it last had (libunwind#291, #274). Its imports
/// of the descriptor functions are re-pointed at the ones here: every descriptor it creates is
/// close-on-exec at the high base and known by identity, and a number that is not one of them
/// any more is treated as closed (EBADF): never read, written (one byte of memory, on the
/// validation path) or closed. Syscalls and a fixed table only: async-signal-safe.
#pragma once

namespace forkguard {

/// Re-points the imports of the loaded libunwind that holds `unw_backtrace` (its address). False,
/// with nothing changed, when it imports a function not known to be harmless or covered here (then
/// `refused` names it): such a libunwind must not be used.
bool guard_unwinder_descriptors(const void* unw_backtrace, const char** refused = nullptr);

/// The descriptors the guarded unwinder holds now (close-on-exec, at or above the high base).
int unwinder_descriptor_count();

/// What the guard does with an import named `name`: the function libunwind calls instead,
/// kKeepImport (got_patch.hpp: harmless, left bound to libc), or nullptr (unknown: refused).
void* unwinder_import_policy(const char* name);

}  // namespace forkguard

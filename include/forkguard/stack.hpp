/// @file stack.hpp
/// @brief Caller stacks: program counters from libunwind (dlopen'ed RTLD_LOCAL by the first
/// ordinary call, so none of its symbols enters the host's scope, and its descriptor functions
/// guarded: unwinder_fds.hpp), from libgcc's static unwinder until then or where libunwind cannot
/// be used; resolved to module+offset+symbol by dladdr with a lock-free cache. Never
/// unw_get_proc_name (milliseconds per stack).
#pragma once

#include <cstddef>
#include <cstdint>

#include "forkguard/record.hpp"

namespace forkguard {

/// Captures up to `max` return addresses of the caller, skipping `skip` innermost frames.
/// Returns the count (0 when max is 0). Allocation-free, except the first ordinary call, which
/// loads libunwind; until then (and from a signal handler, where loading is unsafe) libgcc's
/// unwinder walks the stack, and it goes on doing so where libunwind is missing, refused, or
/// already the program's own.
int capture_pcs(uintptr_t* pcs, int max, int skip);

/// Which unwinder captures stacks now: "libunwind", "libgcc" (for good: libunwind missing,
/// refused or the program's own), or "libgcc (until an ordinary call loads libunwind)".
const char* stack_unwinder_name();

/// The main program's path: /proc/self/exe, or, when /proc cannot be read, the path it was
/// exec'd by (AT_EXECFN, possibly relative). "" when neither is known. Syscalls only.
void main_program_path(char* out, size_t cap);

/// Fills module, offset and symbol of `f` from f.pc (cached per pc). Allocation-free.
void resolve_frame(Frame& f);

/// `site` of a return address: module basename and offset. Cheap; needs no unwinding.
/// `degraded`: a cache miss is resolved by dladdr alone (no demangling, the cache left as is).
void resolve_site(uintptr_t return_address, const char*& module, uintptr_t& offset, bool degraded = false);

}  // namespace forkguard

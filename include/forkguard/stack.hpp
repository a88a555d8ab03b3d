/// @file stack.hpp
/// @brief Caller stacks: program counters from libunwind (dlopen'ed RTLD_LOCAL on first use, so
/// none of its symbols enters the host's scope), resolved to module+offset+symbol by dladdr with a
/// lock-free cache. Never unw_get_proc_name (milliseconds per stack).
#pragma once

#include <cstdint>

#include "forkguard/record.hpp"

namespace forkguard {

/// Captures up to `max` return addresses of the caller, skipping `skip` innermost frames.
/// Returns the count (0 when libunwind is unavailable or max is 0).
int capture_pcs(uintptr_t* pcs, int max, int skip);

/// Fills module, offset and symbol of `f` from f.pc (cached per pc).
void resolve_frame(Frame& f);

/// `site` of a return address: module basename and offset. Cheap; needs no unwinding.
void resolve_site(uintptr_t return_address, const char*& module, uintptr_t& offset);

}  // namespace forkguard

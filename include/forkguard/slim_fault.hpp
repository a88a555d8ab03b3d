/// @file slim_fault.hpp
/// @brief A slim fork's child that faults in memory the fork left out makes no further call:
/// its SIGSEGV handler writes one record of its own (`"call":"fault"`), then hands the signal to
/// the program's own action (its handler, or the default that ends the child) as it would have
/// come without the library.
#pragma once

#include <signal.h>

#include <cstddef>
#include <cstdint>

#include "forkguard/record.hpp"
#include "forkguard/slim_child.hpp"

namespace forkguard {

/// In the slim fork's child: installs the handler in front of the program's SIGSEGV action, which
/// comes back at the first SIGSEGV: the handler puts it back, writes the record when the fault
/// is in memory the fork left out, and queues the same signal with the same siginfo to itself
/// (rt_tgsigqueueinfo), delivered to the program's action once the handler returns. Until then
/// the program's sigaction(SIGSEGV) query would name the library's handler. Async-signal-safe.
void slim_fault_install();

/// What the handler found at `addr` (pure, for tests): the region of the plan or the hole that
/// holds it, and the notice for the record ("" when the address is not one the fork left out).
/// `write_fault`: the access was a write to a mapped page (SEGV_ACCERR).
size_t describe_slim_fault(const SlimChildState& s, uintptr_t addr, bool write_fault, char* notice, size_t cap);

/// Fills a fault record: figures unknown, verdict unknown, action slim_fork, result the signal,
/// site and stack of the faulting instruction, the notice. `pcs`: the stack, innermost first
/// (the faulting instruction's address first).
void fill_fault_record(Record& r, int sig, const uintptr_t* pcs, int npcs, const char* notice, int64_t since_fork_us);

}  // namespace forkguard

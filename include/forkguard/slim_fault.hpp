/// @file slim_fault.hpp
/// @brief A slim fork's child that faults in memory the fork left out makes no further call:
/// its SIGSEGV handler writes one record of its own (`"call":"fault"`), then the default action
/// ends the child as it would have ended without the library.
#pragma once

#include <signal.h>

#include <cstddef>
#include <cstdint>

#include "forkguard/record.hpp"
#include "forkguard/slim_child.hpp"

namespace forkguard {

/// In the slim fork's child: installs the handler where SIGSEGV is at its default action (a
/// handler of the program's stays). Async-signal-safe.
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

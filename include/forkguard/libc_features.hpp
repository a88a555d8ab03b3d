/// @file libc_features.hpp
/// @brief What the running libc offers beyond the library's floor (glibc 2.17), as the shim found
/// it at load time (shim/real.cpp, optional()). The core never links a symbol newer than the floor;
/// it asks here, and does without when the answer is nullptr (an older libc, or the core linked
/// without the shim: the CLI and the unit tests).
#pragma once

namespace forkguard {

/// glibc 2.32's `__libc_single_threaded` (nonzero until the process first creates a thread), or nullptr.
const char* libc_single_threaded_flag();
/// Set once by the shim's initialisation, before any wrapper can run.
void set_libc_single_threaded_flag(const char* flag);

/// A symbol beyond the floor that is needed only now and then (glibc 2.35's `__rseq_offset`, for
/// learning), looked up when asked through the shim's lookup, which finds nothing of what glibc
/// 2.17 lacked in the tests' old-libc copy. nullptr without the shim or without the symbol. Not
/// for a fork child (dlsym).
void* libc_optional(const char* name);
/// Set once by the shim's initialisation: its lookup of optional symbols.
void set_libc_optional_lookup(void* (*lookup)(const char* name));

}  // namespace forkguard

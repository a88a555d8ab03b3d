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

}  // namespace forkguard

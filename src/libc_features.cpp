/// @file libc_features.cpp
/// @brief The libc features beyond the floor that the shim found at load (libc_features.hpp).
#include "forkguard/libc_features.hpp"

#include <atomic>

namespace forkguard {

namespace {
// Relaxed is enough: set in the constructor, before the program's first call into a wrapper.
std::atomic<const char*> g_single_threaded{nullptr};
std::atomic<void* (*)(const char*)> g_optional_lookup{nullptr};
}  // namespace

const char* libc_single_threaded_flag() { return g_single_threaded.load(std::memory_order_relaxed); }

void set_libc_single_threaded_flag(const char* flag) { g_single_threaded.store(flag, std::memory_order_relaxed); }

void* libc_optional(const char* name) {
  void* (*lookup)(const char*) = g_optional_lookup.load(std::memory_order_relaxed);
  return lookup != nullptr ? lookup(name) : nullptr;
}

void set_libc_optional_lookup(void* (*lookup)(const char* name)) {
  g_optional_lookup.store(lookup, std::memory_order_relaxed);
}

}  // namespace forkguard

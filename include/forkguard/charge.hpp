/// @file charge.hpp
/// @brief What the kernel will charge a fork of a process: a cheap estimate and the smaps sum.
#pragma once

#include <cstdint>

#include "forkguard/probe.hpp"

namespace forkguard {

/// VmData + VmStk: cheap, not a bound (misses mprotect'ed-read-only accountable VMAs such as
/// RELRO, counts MAP_NORESERVE ones). -1 when either field is unknown.
int64_t estimate_charge_kb(const ProcStatus& st);

struct MappingSummary {
  uint64_t start = 0, end = 0;
  int64_t size_kb = 0;
  char path[96] = {};  ///< "[anon]" for anonymous mappings, truncated otherwise
};

/// Exact charge: the VMAs whose VmFlags has "ac" and lacks "dc", walked from smaps.
struct ChargeSummary {
  int64_t charge_kb = 0;         ///< sum of charged VMA sizes
  int64_t largest_kb = 0;        ///< largest single charged VMA (mode 0's rule)
  int64_t dontfork_kb = 0;       ///< accountable VMAs excluded by MADV_DONTFORK
  int vmas = 0;                  ///< number of VMAs seen
  int charged_vmas = 0;
  static constexpr int kTop = 5;
  MappingSummary top[kTop];      ///< the largest charged mappings, largest first
  int ntop = 0;
};

/// Feeds one VMA into a summary (pure: used by the smaps walk and by tests).
void add_vma(ChargeSummary& s, const Vma& v);

/// Walks `smaps_path` (e.g. "/proc/self/smaps"). 0 on success, -1 with errno when unreadable.
/// Allocation-free (fixed buffers), so it may run in the parent on the fork path.
int measure_charge_smaps(const char* smaps_path, ChargeSummary& out);

/// Largest private writable VMA from /proc/PID/maps: mode 0's rule without the smaps cost.
/// Returns kB, or -1 with errno when unreadable.
int64_t largest_private_writable_kb(const char* maps_path);

}  // namespace forkguard

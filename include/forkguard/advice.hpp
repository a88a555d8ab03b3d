/// @file advice.hpp
/// @brief What would make a refused fork fit: by how much its charge must shrink, the largest
/// accountable mappings with their resident and swapped sizes, which of them a slim fork would
/// exclude and whether that is enough. Shared by `forkguard check` and the refused call's record.
#pragma once

#include <cstdint>

#include "forkguard/commit_rule.hpp"
#include "forkguard/probe.hpp"

namespace forkguard {

struct MappingAdvice {
  uint64_t start = 0, end = 0;
  int64_t size_kb = 0;
  int64_t rss_kb = -1, swap_kb = -1;  ///< -1 when smaps did not say
  bool slim = false;                  ///< a slim fork would exclude it (slim_would_exclude)
  char path[96] = {};                 ///< "[anon]" for an anonymous mapping, cut when longer
};

struct Advice {
  /// Mode 2: how much the charge must shrink; mode 0: how much the largest accountable mapping
  /// must (every one must be at most RAM + swap). 0: the fork fits; -1: cannot tell.
  int64_t shrink_kb = -1;
  int64_t charge_kb = 0;   ///< the exact charge (smaps)
  int64_t largest_kb = 0;  ///< the largest accountable mapping
  static constexpr int kTop = 5;
  MappingAdvice top[kTop];  ///< the largest accountable mappings, largest first
  int ntop = 0;
  int64_t slim_kb = 0;         ///< what a slim fork would exclude, over all mappings
  int slim_mappings = 0;
  int64_t slim_kept_largest_kb = 0;  ///< the largest accountable mapping it would keep
  CommitVerdict slim;          ///< the kernel's verdict on what it would keep
  bool enough() const { return slim.verdict == Verdict::ok; }
};

/// The slim fork's rule as `check` and records state it, in one place so that it follows the slim
/// fork's own planning: an accountable private writable anonymous mapping (not the heap or a stack)
/// of at least `slim_min_kb` that was never written (nothing resident, nothing swapped: Rss + Swap = 0).
bool slim_would_exclude(const Vma& v, int64_t rss_kb, int64_t swap_kb, int64_t slim_min_kb);

/// Feeds one VMA with its Rss and Swap (kB, -1 unknown) into `a` (pure: tests use it).
void advice_add(Advice& a, const Vma& v, int64_t rss_kb, int64_t swap_kb, int64_t slim_min_kb);
/// Completes `a` against the commit rule: `in` gives the system's figures; its charge and largest
/// mapping are replaced by the walk's.
void advice_finish(Advice& a, CommitInputs in);

/// Walks `smaps_path` (e.g. "/proc/self/smaps") into `a` and finishes it. 0, or -1 with errno.
/// Fixed buffers, no allocation: usable in the parent right after a refused fork.
int advise_from_smaps(const char* smaps_path, const CommitInputs& in, int64_t slim_min_kb, Advice& a);

}  // namespace forkguard

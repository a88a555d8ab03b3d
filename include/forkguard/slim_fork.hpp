/// @file slim_fork.hpp
/// @brief Slim fork: a real fork after marking the large private mappings the child will not
/// need MADV_DONTFORK (neither charged nor copied), restored in the parent afterwards.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>

#include "forkguard/probe.hpp"

namespace forkguard {

struct SlimRegion {
  uintptr_t start = 0, end = 0;
};

struct SlimPlan {
  static constexpr int kMax = 64;
  SlimRegion regions[kMax];
  int n = 0;
  int64_t excluded_kb = 0;  ///< charge the plan removes from the fork
  int64_t remaining_charge_kb = 0;   ///< charge of the fork with the plan applied
  int64_t remaining_largest_kb = 0;  ///< largest charged VMA left (mode 0's rule)
  bool split_tcb_mapping = false;    ///< the TCB's mapping was split by residency (not reusable)
  bool walk_changed = false;  ///< the layout changed during the smaps walk (a repeat kept; not reusable)
};

/// What must never be excluded: the calling thread's stack, its thread control block (TLS,
/// errno), the brk heap, file mappings, anything smaller than `min_kb`, and the top 16 KiB of any
/// mapping (another thread's struct pthread, which glibc's fork child writes, when it is a stack).
struct SlimLimits {
  int64_t min_kb = 64 * 1024;
  /// An address on the calling thread's stack: its mapping is kept whole, since the child's
  /// calls may go deeper than the parent's ever did.
  uintptr_t keep_address = 0;
  /// The calling thread's thread pointer. The main thread's TCB sits in a small anonymous
  /// mapping of ld.so's, which the kernel merges with an adjacent large one: in a mapping that
  /// holds it, only runs of pages never touched (mincore) are excluded.
  uintptr_t tls_address = 0;
};

/// Whether one VMA may be excluded in whole or in part (pure: unit tested on parsed smaps text).
bool slim_candidate(const Vma& v, const SlimLimits& limits);

/// Chooses the regions from `smaps_path` (normally /proc/self/smaps). 0, or -1 with errno.
int plan_slim_fork(const char* smaps_path, const SlimLimits& limits, SlimPlan& plan);

/// plan_slim_fork() on /proc/self/smaps, or the previous plan (same thread, same limits) while the
/// layout is unchanged. Call it holding fork_turn_lock(): no other thread's slim fork then splits
/// mappings while smaps is read. The smaps walk costs milliseconds per GiB resident. Unchanged means, where
/// the kernel has PROCMAP_QUERY (6.11+, probed): statm's total and data pages as before and every
/// private writable mapping of at least min_kb, chosen or not, still there with the same extent,
/// permissions and kind (one ioctl each, 0.4 us, against 20 us to 1 ms for reading maps); elsewhere,
/// /proc/self/maps hashing the same. Caveats: a MADV_DONTFORK the program sets on a whole mapping
/// between two forks is not seen; with PROCMAP_QUERY, a new large mapping that exactly makes up for
/// several removed private writable mappings each below min_kb is not excluded until the layout
/// changes again (a heavier fork, never a missing page in the child).
int plan_slim_fork_cached(const SlimLimits& limits, SlimPlan& plan, bool& reused);

/// Tests only: check a reused plan by hashing /proc/self/maps, as on kernels without
/// PROCMAP_QUERY (`true`), or probe the kernel again (`false`).
void slim_plan_check_by_maps_hash(bool on);

/// Taken (OwnerLock) around every fork the engine makes, slim or not, so that no fork of
/// another thread runs while regions are marked DONTFORK. A child takes it over (OwnerLock).
std::atomic<pid_t>& fork_turn_lock();

/// Marks the plan DONTFORK, calls `real_fork`, restores DOFORK in the parent on exactly the
/// marked regions. Serialised against other slim forks in this process. In the child, a SIGSEGV
/// inside an excluded region (when SIGSEGV was at SIG_DFL) prints one "forkguard:" line naming
/// the region and `site` before the default action. Returns what real_fork returned; errno as
/// real_fork left it.
pid_t slim_fork(pid_t (*real_fork)(), const SlimPlan& plan, const char* site);

}  // namespace forkguard

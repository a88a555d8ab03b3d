/// @file slim_fork.hpp
/// @brief Slim fork: a real fork after marking what the child need not have MADV_DONTFORK
/// (neither charged nor copied), restored in the parent afterwards. Never-written memory goes
/// first and the child gets zeros there (slim_child.hpp); written memory only when the kernel's
/// rule requires it (slim_plan.hpp).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>

#include "forkguard/commit_rule.hpp"
#include "forkguard/slim_plan.hpp"

namespace forkguard {

/// The layout from `smaps_path` and the choice for `rule`, uncached (tests, the CLI's advice).
/// 0, or -1 with errno.
int plan_slim_fork(const char* smaps_path, const SlimLimits& limits, const CommitInputs& rule, SlimPlan& plan);

/// The plan for a fork now. Caller holds fork_turn_lock(), so no other slim fork's marks are in
/// what it reads. The layout (a smaps walk and a never-written scan: milliseconds per GiB
/// resident) is reused while the process's layout is unchanged: where the kernel has
/// PROCMAP_QUERY (6.11+, probed), statm's total and data pages as before and every private
/// writable mapping of at least min_kb, chosen or not, still there with the same extent,
/// permissions and kind; elsewhere, /proc/self/maps hashing the same. Whatever the layout, every
/// never-written region chosen is checked against the page tables now (PAGEMAP_SCAN, or
/// /proc/self/pagemap): a page written since the layout was made means a fresh layout, and a
/// region still written then is dropped. So no plan ever leaves out a page written before this
/// call. Caveat: with PROCMAP_QUERY, a new large mapping that exactly makes up for several
/// removed private writable mappings each below min_kb is not seen until the layout changes again
/// (a heavier fork, never a missing page).
int plan_slim_fork_cached(const SlimLimits& limits, const CommitInputs& rule, SlimPlan& plan, bool& reused);

/// Tests only: check a reused layout by hashing /proc/self/maps, as on kernels without
/// PROCMAP_QUERY (`true`), or probe the kernel again (`false`).
void slim_plan_check_by_maps_hash(bool on);

/// Taken (OwnerLock) around every fork the engine makes, slim or not, so that no fork of
/// another thread runs while regions are marked DONTFORK. A child takes it over (OwnerLock).
std::atomic<pid_t>& fork_turn_lock();

/// Marks the plan DONTFORK, arms the child handler (zeros in never-written regions: writable
/// in overcommit modes 0 and 1, read-only in mode 2 or when unknown), calls `real_fork`, and
/// in the parent disarms and restores DOFORK on exactly the marked regions. Takes the fork turn.
/// Returns what real_fork returned; errno as real_fork left it. A real_fork that runs no atfork
/// handlers (_Fork) gets the child's part done here.
pid_t slim_fork(pid_t (*real_fork)(), const SlimPlan& plan, const char* site, int overcommit_mode);

}  // namespace forkguard

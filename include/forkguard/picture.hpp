/// @file picture.hpp
/// @brief The commit picture of a process: its memory figures, the system's commit figures, the
/// charge a fork would cost and the kernel's predicted verdict (probe + decide, no action).
#pragma once

#include <sys/types.h>

#include "forkguard/charge.hpp"
#include "forkguard/commit_rule.hpp"
#include "forkguard/probe.hpp"

namespace forkguard {

enum class Precision {
  automatic,  ///< estimate; the smaps walk only when the estimate is near the limit
  exact,      ///< always walk smaps (forkguard check)
};

struct Picture {
  ProcStatus status;
  MemInfo mem;
  VmSysctl vm;
  CommitInputs inputs;
  CommitVerdict verdict;
  bool used_smaps = false;   ///< charge_method "smaps" rather than "estimate"
  ChargeSummary smaps;       ///< filled when used_smaps
  bool smaps_reused = false; ///< the walk was this process's last one: maps read the same (smaps_cache.hpp)
  int read_errno = 0;        ///< first errno of an unreadable /proc file (0 = all read)
  const char* charge_method() const { return used_smaps ? "smaps" : "estimate"; }
  int64_t headroom_kb() const {
    return mem.commit_limit_kb >= 0 && mem.committed_as_kb >= 0 ? mem.commit_limit_kb - mem.committed_as_kb : 0;
  }
};

/// Gathers the picture of `pid` (0 = this process) under `proc_root` (normally "/proc").
/// `margin_pct`: with Precision::automatic, walk smaps when the estimate's margin is within this
/// percentage of the limit (or the estimate cannot decide mode 0). `known_vm`: sysctl values the
/// caller already holds (nullptr: read them). For this process with Precision::automatic the
/// figures come from statm and capget(2), several times cheaper than status; capget only in mode 2
/// or an unknown mode, the only ones whose rule uses CAP_SYS_ADMIN (elsewhere status.cap_eff
/// stays -1 and inputs.cap_sys_admin false). This process's automatic smaps walk is reused while
/// /proc/self/maps reads the same, for at most a second (smaps_cache.hpp). Allocation-free.
void gather_picture(pid_t pid, Precision precision, int margin_pct, Picture& out,
                    const char* proc_root = "/proc", const VmSysctl* known_vm = nullptr);

/// Makes the next automatic walk of this process read smaps again: the caller changed mappings'
/// VmFlags where /proc/self/maps does not show it (MADV_DONTFORK, MADV_DOFORK). Async-signal-safe.
void forget_smaps_walks();

}  // namespace forkguard

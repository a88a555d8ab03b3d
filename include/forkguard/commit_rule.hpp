/// @file commit_rule.hpp
/// @brief The kernel's commit rule for fork(), as a pure function of the probe's numbers.
///
/// Mirrors mm/util.c __vm_enough_memory() as called per accountable VMA from fork's dup_mmap():
///  - mode 1 (OVERCOMMIT_ALWAYS): never refuses;
///  - mode 0 (OVERCOMMIT_GUESS): refuses when one accountable VMA has more pages than
///    totalram_pages + total_swap_pages;
///  - mode 2 (OVERCOMMIT_NEVER): the charge is added to Committed_AS first, then refused unless
///    Committed_AS + charge < CommitLimit - admin reserve (unless CAP_SYS_ADMIN)
///    - min(total_vm / 32, user_reserve), all in pages.
#pragma once

#include <cstdint>

namespace forkguard {

enum class Verdict { ok, refuse, unknown };
const char* verdict_name(Verdict v);  ///< "ok" | "refuse" | "unknown"

/// Everything the rule needs; kB, -1 = unknown.
struct CommitInputs {
  int overcommit_mode = -1;
  int64_t mem_total_kb = -1;        ///< totalram_pages (MemTotal)
  int64_t swap_total_kb = -1;       ///< total_swap_pages (SwapTotal)
  int64_t commit_limit_kb = -1;     ///< vm_commit_limit() (CommitLimit)
  int64_t committed_as_kb = -1;     ///< vm_committed_as (Committed_AS)
  int64_t admin_reserve_kb = -1;    ///< vm.admin_reserve_kbytes
  int64_t user_reserve_kb = -1;     ///< vm.user_reserve_kbytes
  int64_t total_vm_kb = -1;         ///< parent's mm->total_vm (VmSize)
  int64_t charge_kb = -1;           ///< sum of charged VMAs (exact or estimate)
  int64_t largest_vma_kb = -1;      ///< largest single charged VMA (mode 0); -1 = unknown
  bool cap_sys_admin = false;       ///< CapEff has CAP_SYS_ADMIN: admin reserve not applied
  int64_t page_kb = 4;              ///< page size in kB
};

struct CommitVerdict {
  Verdict verdict = Verdict::unknown;
  /// Mode 2: pages-exact "allowed" limit in kB (CommitLimit minus reserves). Mode 0: RAM + swap.
  int64_t allowed_kb = -1;
  /// How far the fork is from the limit, kB: positive = room left, negative = short by.
  /// Mode 2: allowed - (committed + charge), refused iff <= 0 (the kernel's test is strict '<');
  /// mode 0: (RAM + swap) - largest VMA, refused iff < 0; mode 1: INT64_MAX (allowed_kb too).
  /// Exception: with a zero charge dup_mmap() never asks, so the verdict is ok whatever the
  /// margin. -1 with unknown.
  int64_t margin_kb = 0;
  const char* why = "";  ///< one short static sentence for the record's `reason`
};

CommitVerdict predict_fork(const CommitInputs& in);

}  // namespace forkguard

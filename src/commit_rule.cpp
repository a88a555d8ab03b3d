/// @file commit_rule.cpp
/// @brief fork()'s commit check (kernel/fork.c or mm/mmap.c dup_mmap -> mm/util.c __vm_enough_memory) as arithmetic.
///
/// Kernel facts this mirrors (read in mainline 6.x; unchanged in substance since 4.x):
///  - dup_mmap() skips VM_DONTCOPY VMAs, then calls security_vm_enough_memory_mm(oldmm,
///    vma_pages(vma)) for every VM_ACCOUNT VMA, one call per VMA. No accountable VMA: no check.
///  - __vm_enough_memory() first adds the pages to vm_committed_as (every mode), then
///    mode 1 returns ok; mode 0 refuses iff pages > totalram_pages() + total_swap_pages (this
///    VMA alone); mode 2 computes allowed = vm_commit_limit() - (admin_reserve_kbytes >>
///    (PAGE_SHIFT - 10) unless cap_sys_admin) - min(mm->total_vm / 32, user_reserve_kbytes >>
///    (PAGE_SHIFT - 10)) and accepts iff committed (already including these pages) < allowed.
///  - Charges stay added while the loop goes on and `allowed` does not change during the fork,
///    so in mode 2 all per-VMA checks pass iff the last one does: committed + total < allowed.
#include "forkguard/commit_rule.hpp"

namespace forkguard {

namespace {

constexpr int64_t kNoLimit = 0x7fffffffffffffffLL;

/// kB -> pages the way the kernel does it: a right shift, i.e. truncation for non-negatives.
int64_t to_pages(int64_t kb, int64_t page_kb) { return kb / page_kb; }

CommitVerdict unknown(const char* why) {
  CommitVerdict v;
  v.verdict = Verdict::unknown;
  v.allowed_kb = -1;
  v.margin_kb = -1;
  v.why = why;
  return v;
}

bool page_size_ok(int64_t page_kb) {
  // PAGE_SHIFT >= 12 in every Linux port: page_kb is a power of two of at least 4.
  return page_kb >= 4 && (page_kb & (page_kb - 1)) == 0;
}

CommitVerdict mode_guess(const CommitInputs& in) {
  if (in.mem_total_kb < 0 || in.swap_total_kb < 0 || in.largest_vma_kb < 0)
    return unknown("heuristic overcommit: RAM, swap or largest accountable mapping unknown");
  const int64_t pk = in.page_kb;
  const int64_t limit = to_pages(in.mem_total_kb, pk) + to_pages(in.swap_total_kb, pk);
  const int64_t largest = to_pages(in.largest_vma_kb, pk);
  CommitVerdict v;
  v.allowed_kb = limit * pk;
  v.margin_kb = (limit - largest) * pk;
  if (largest > limit) {  // strict '>': a VMA of exactly RAM + swap passes
    v.verdict = Verdict::refuse;
    v.why = "heuristic overcommit: one accountable mapping is larger than RAM + swap";
  } else {
    v.verdict = Verdict::ok;
    v.why = largest == 0 ? "no accountable mapping: fork charges nothing"
                         : "heuristic overcommit: every accountable mapping fits in RAM + swap";
  }
  return v;
}

CommitVerdict mode_never(const CommitInputs& in) {
  const bool need_admin = !in.cap_sys_admin;
  if (in.commit_limit_kb < 0 || in.committed_as_kb < 0 || in.charge_kb < 0 ||
      (need_admin && in.admin_reserve_kb < 0) || in.user_reserve_kb < 0 || in.total_vm_kb < 0)
    return unknown("strict overcommit: commit limit, committed, reserves or charge unknown");
  const int64_t pk = in.page_kb;
  int64_t allowed = to_pages(in.commit_limit_kb, pk);  // vm_commit_limit(); overcommit_kbytes/ratio already in it
  if (need_admin) allowed -= to_pages(in.admin_reserve_kb, pk);
  const int64_t reserve = to_pages(in.user_reserve_kb, pk);
  const int64_t vm32 = to_pages(in.total_vm_kb, pk) / 32;
  allowed -= vm32 < reserve ? vm32 : reserve;

  const int64_t charge = to_pages(in.charge_kb, pk);
  const int64_t committed = to_pages(in.committed_as_kb, pk) + charge;  // vm_acct_memory() first
  CommitVerdict v;
  v.allowed_kb = allowed * pk;
  v.margin_kb = (allowed - committed) * pk;
  if (charge == 0) {
    // dup_mmap() never calls __vm_enough_memory(): nothing to refuse, whatever the margin says.
    v.verdict = Verdict::ok;
    v.why = "no accountable mapping: fork charges nothing";
  } else if (committed < allowed) {
    v.verdict = Verdict::ok;
    v.why = "strict overcommit: committed + charge stays below the commit limit";
  } else {
    v.verdict = Verdict::refuse;
    v.why = "strict overcommit: committed + charge reaches the commit limit";
  }
  return v;
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::ok: return "ok";
    case Verdict::refuse: return "refuse";
    case Verdict::unknown: break;
  }
  return "unknown";
}

CommitVerdict predict_fork(const CommitInputs& in) {
  if (!page_size_ok(in.page_kb)) return unknown("page size unknown");
  switch (in.overcommit_mode) {
    case 1: {
      CommitVerdict v;
      v.verdict = Verdict::ok;
      v.allowed_kb = kNoLimit;  // OVERCOMMIT_ALWAYS: no limit at all
      v.margin_kb = kNoLimit;
      v.why = "overcommit_memory=1: the kernel never refuses";
      return v;
    }
    case 0: return mode_guess(in);
    case 2: return mode_never(in);
    default: return unknown("overcommit mode unknown");
  }
}

}  // namespace forkguard

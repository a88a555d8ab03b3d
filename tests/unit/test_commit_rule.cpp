/// @file test_commit_rule.cpp
/// @brief Table-driven tests of predict_fork() against cases derived from mm/util.c __vm_enough_memory.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "forkguard/commit_rule.hpp"

using namespace forkguard;

namespace {

constexpr int64_t kMax = 0x7fffffffffffffffLL;

// Mode-2 baseline, 4 KiB pages:
//   CommitLimit 1,000,000 kB = 250,000 pages; admin reserve 8192 kB = 2048 pages;
//   user reserve 131072 kB = 32768 pages; total_vm 409600 kB = 102400 pages, /32 = 3200 pages.
//   allowed = 250000 - 2048 - min(3200, 32768) = 244752 pages = 979008 kB.
//   Committed_AS 500,000 kB = 125,000 pages, so a charge of 119752 pages (479008 kB) makes
//   committed + charge == allowed: the kernel's strict '<' refuses.
CommitInputs strict_base() {
  CommitInputs in;
  in.overcommit_mode = 2;
  in.mem_total_kb = 2000000;
  in.swap_total_kb = 0;
  in.commit_limit_kb = 1000000;
  in.committed_as_kb = 500000;
  in.admin_reserve_kb = 8192;
  in.user_reserve_kb = 131072;
  in.total_vm_kb = 409600;
  in.charge_kb = 479008;
  in.largest_vma_kb = 400000;
  in.cap_sys_admin = false;
  in.page_kb = 4;
  return in;
}

// Mode-0 baseline: RAM 1,000,000 kB (250,000 pages) + swap 48 kB (12 pages) = 1,000,048 kB.
CommitInputs guess_base() {
  CommitInputs in = strict_base();
  in.overcommit_mode = 0;
  in.mem_total_kb = 1000000;
  in.swap_total_kb = 48;
  in.largest_vma_kb = 1000048;
  return in;
}

struct Case {
  const char* name;
  CommitInputs in;
  Verdict verdict;
  int64_t allowed_kb;
  int64_t margin_kb;
};

template <typename F>
CommitInputs with(CommitInputs in, F f) {
  f(in);
  return in;
}

}  // namespace

TEST_CASE("commit_rule: mode 2 (OVERCOMMIT_NEVER) table", "[commit_rule][mode2]") {
  const std::vector<Case> cases = {
      {"committed + charge == allowed: refused (strict <)", strict_base(), Verdict::refuse, 979008, 0},
      {"one page less: ok", with(strict_base(), [](CommitInputs& i) { i.charge_kb -= 4; }), Verdict::ok,
       979008, 4},
      {"one page more: refused, short by one page",
       with(strict_base(), [](CommitInputs& i) { i.charge_kb += 4; }), Verdict::refuse, 979008, -4},
      {"CAP_SYS_ADMIN: admin reserve not subtracted (+2048 pages)",
       with(strict_base(), [](CommitInputs& i) { i.cap_sys_admin = true; }), Verdict::ok, 987200, 8192},
      {"CAP_SYS_ADMIN: admin reserve may be unknown",
       with(strict_base(), [](CommitInputs& i) { i.cap_sys_admin = true; i.admin_reserve_kb = -1; }),
       Verdict::ok, 987200, 8192},
      {"user reserve: total_vm/32 branch (3200 < 32768 pages)", strict_base(), Verdict::refuse, 979008, 0},
      {"user reserve: reserve branch (total_vm/32 = 327680 > 32768 pages)",
       with(strict_base(), [](CommitInputs& i) { i.total_vm_kb = 41943040; }), Verdict::refuse,
       (250000 - 2048 - 32768) * 4, (250000 - 2048 - 32768 - 244752) * 4},
      {"user reserve 0 disables it",
       with(strict_base(), [](CommitInputs& i) { i.user_reserve_kb = 0; }), Verdict::ok, (250000 - 2048) * 4,
       3200 * 4},
      {"admin reserve kB >> 2 truncates: 8191 kB = 2047 pages",
       with(strict_base(), [](CommitInputs& i) { i.admin_reserve_kb = 8191; }), Verdict::ok, 979012, 4},
      {"total_vm/32 truncates: 102407 pages / 32 = 3200",
       with(strict_base(), [](CommitInputs& i) { i.total_vm_kb = 409628; }), Verdict::refuse, 979008, 0},
      {"total_vm/32 at the next multiple: 102432 pages / 32 = 3201",
       with(strict_base(), [](CommitInputs& i) { i.total_vm_kb = 409728; }), Verdict::refuse, 979004, -4},
      {"overcommit_kbytes=2000000 + 1 GiB swap is already inside CommitLimit",
       with(strict_base(), [](CommitInputs& i) { i.commit_limit_kb = 2000000 + 1048576; }), Verdict::ok,
       (762144 - 2048 - 3200) * 4, (762144 - 2048 - 3200 - 244752) * 4},
      {"already over the limit before the fork",
       with(strict_base(), [](CommitInputs& i) { i.committed_as_kb = 1200000; i.charge_kb = 4; }),
       Verdict::refuse, 979008, 979008 - 1200004},
      {"zero charge: dup_mmap never asks, ok even when over the limit",
       with(strict_base(), [](CommitInputs& i) { i.committed_as_kb = 1200000; i.charge_kb = 0; }),
       Verdict::ok, 979008, 979008 - 1200000},
      {"mode 2 ignores RAM + swap and the largest VMA",
       with(strict_base(), [](CommitInputs& i) { i.mem_total_kb = -1; i.largest_vma_kb = -1; }),
       Verdict::refuse, 979008, 0},
      {"reserves larger than the limit: allowed goes negative",
       with(strict_base(), [](CommitInputs& i) { i.commit_limit_kb = 4096; i.charge_kb = 4; i.committed_as_kb = 0; }),
       Verdict::refuse, (1024 - 2048 - 3200) * 4, (1024 - 2048 - 3200 - 1) * 4},
      {"16 KiB pages: every figure converted with >> 2 more (still exactly at the limit)",
       with(strict_base(), [](CommitInputs& i) { i.page_kb = 16; }), Verdict::refuse,
       (62500 - 512 - 800) * 16, (62500 - 512 - 800 - 31250 - 29938) * 16},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      CommitVerdict v = predict_fork(c.in);
      INFO(v.why);
      CHECK(v.verdict == c.verdict);
      CHECK(v.allowed_kb == c.allowed_kb);
      CHECK(v.margin_kb == c.margin_kb);
      CHECK(v.why[0] != '\0');
    }
  }
}

TEST_CASE("commit_rule: mode 0 (OVERCOMMIT_GUESS) table", "[commit_rule][mode0]") {
  const std::vector<Case> cases = {
      {"largest VMA exactly RAM + swap: ok (strict >)", guess_base(), Verdict::ok, 1000048, 0},
      {"one page more: refused", with(guess_base(), [](CommitInputs& i) { i.largest_vma_kb += 4; }),
       Verdict::refuse, 1000048, -4},
      {"one page less: ok", with(guess_base(), [](CommitInputs& i) { i.largest_vma_kb -= 4; }), Verdict::ok,
       1000048, 4},
      {"the total charge may exceed RAM + swap: per-VMA check only",
       with(guess_base(), [](CommitInputs& i) { i.charge_kb = 5000000; i.largest_vma_kb = 4096; }),
       Verdict::ok, 1000048, 1000048 - 4096},
      {"Committed_AS above CommitLimit does not matter in mode 0",
       with(guess_base(), [](CommitInputs& i) { i.committed_as_kb = 9000000; }), Verdict::ok, 1000048, 0},
      {"no swap", with(guess_base(), [](CommitInputs& i) { i.swap_total_kb = 0; }), Verdict::refuse, 1000000,
       -48},
      {"no accountable VMA", with(guess_base(), [](CommitInputs& i) { i.largest_vma_kb = 0; }), Verdict::ok,
       1000048, 1000048},
      {"reserves and commit inputs unknown are not needed",
       with(guess_base(), [](CommitInputs& i) {
         i.commit_limit_kb = -1; i.committed_as_kb = -1; i.admin_reserve_kb = -1;
         i.user_reserve_kb = -1; i.total_vm_kb = -1; i.charge_kb = -1; }),
       Verdict::ok, 1000048, 0},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      CommitVerdict v = predict_fork(c.in);
      INFO(v.why);
      CHECK(v.verdict == c.verdict);
      CHECK(v.allowed_kb == c.allowed_kb);
      CHECK(v.margin_kb == c.margin_kb);
    }
  }
}

TEST_CASE("commit_rule: mode 1 (OVERCOMMIT_ALWAYS) never refuses", "[commit_rule][mode1]") {
  CommitInputs in;  // everything unknown
  in.overcommit_mode = 1;
  CommitVerdict v = predict_fork(in);
  CHECK(v.verdict == Verdict::ok);
  CHECK(v.margin_kb == kMax);
  CHECK(v.allowed_kb == kMax);

  CommitInputs huge = strict_base();
  huge.overcommit_mode = 1;
  huge.charge_kb = kMax / 8;
  huge.largest_vma_kb = kMax / 8;
  CHECK(predict_fork(huge).verdict == Verdict::ok);
}

TEST_CASE("commit_rule: unknown mode or inputs give unknown with a reason", "[commit_rule][unknown]") {
  const std::vector<std::pair<const char*, CommitInputs>> cases = {
      {"mode unknown", with(strict_base(), [](CommitInputs& i) { i.overcommit_mode = -1; })},
      {"mode 3 does not exist", with(strict_base(), [](CommitInputs& i) { i.overcommit_mode = 3; })},
      {"page size 0", with(strict_base(), [](CommitInputs& i) { i.page_kb = 0; })},
      {"page size not a power of two", with(strict_base(), [](CommitInputs& i) { i.page_kb = 12; })},
      {"mode 2: CommitLimit unknown", with(strict_base(), [](CommitInputs& i) { i.commit_limit_kb = -1; })},
      {"mode 2: Committed_AS unknown", with(strict_base(), [](CommitInputs& i) { i.committed_as_kb = -1; })},
      {"mode 2: charge unknown", with(strict_base(), [](CommitInputs& i) { i.charge_kb = -1; })},
      {"mode 2: admin reserve unknown without CAP_SYS_ADMIN",
       with(strict_base(), [](CommitInputs& i) { i.admin_reserve_kb = -1; })},
      {"mode 2: user reserve unknown", with(strict_base(), [](CommitInputs& i) { i.user_reserve_kb = -1; })},
      {"mode 2: total_vm unknown", with(strict_base(), [](CommitInputs& i) { i.total_vm_kb = -1; })},
      {"mode 0: MemTotal unknown", with(guess_base(), [](CommitInputs& i) { i.mem_total_kb = -1; })},
      {"mode 0: SwapTotal unknown", with(guess_base(), [](CommitInputs& i) { i.swap_total_kb = -1; })},
      {"mode 0: largest VMA unknown (the charge is not a substitute)",
       with(guess_base(), [](CommitInputs& i) { i.largest_vma_kb = -1; i.charge_kb = 4; })},
  };
  for (const auto& c : cases) {
    SECTION(c.first) {
      CommitVerdict v = predict_fork(c.second);
      CHECK(v.verdict == Verdict::unknown);
      CHECK(v.margin_kb == -1);
      CHECK(v.allowed_kb == -1);
      CHECK(v.why != nullptr);
      CHECK(v.why[0] != '\0');
    }
  }
}

namespace {

/// The kernel's loop, literally: dup_mmap calls __vm_enough_memory(pages) per VM_ACCOUNT VMA,
/// which adds the pages to vm_committed_as first and undoes only the failing VMA's share.
bool kernel_fork_ok(int mode, int64_t committed, int64_t ram_swap, int64_t allowed,
                    const std::vector<int64_t>& vma_pages) {
  for (int64_t pages : vma_pages) {
    committed += pages;  // vm_acct_memory(pages)
    if (mode == 1) continue;
    if (mode == 0) {
      if (pages > ram_swap) return false;
      continue;
    }
    if (!(committed < allowed)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("commit_rule: one check of the total equals the kernel's per-VMA loop",
          "[commit_rule][model]") {
  const std::vector<std::vector<int64_t>> layouts = {
      {}, {1}, {5, 5, 5}, {100, 1, 1}, {1, 1, 100}, {3200, 6400, 12800, 1}, {50000}, {24999, 25001},
  };
  for (int mode : {0, 1, 2}) {
    for (const auto& layout : layouts) {
      for (int64_t committed : {0, 1000, 20000, 49999, 50000, 60000}) {
        CommitInputs in;
        in.overcommit_mode = mode;
        in.page_kb = 4;
        in.mem_total_kb = 40000 * 4;
        in.swap_total_kb = 9000 * 4;  // RAM + swap = 49000 pages
        in.commit_limit_kb = 60000 * 4;
        in.admin_reserve_kb = 2048 * 4;
        in.user_reserve_kb = 32768 * 4;
        in.total_vm_kb = 256000 * 4;  // /32 = 8000 pages
        in.committed_as_kb = committed * 4;
        int64_t total = 0, largest = 0;
        for (int64_t p : layout) {
          total += p;
          largest = p > largest ? p : largest;
        }
        in.charge_kb = total * 4;
        in.largest_vma_kb = largest * 4;
        const int64_t allowed = 60000 - 2048 - 8000;
        const bool expect = kernel_fork_ok(mode, committed, 49000, allowed, layout);
        CommitVerdict v = predict_fork(in);
        INFO("mode " << mode << " committed " << committed << " vmas " << layout.size() << " total "
                     << total);
        CHECK(v.verdict == (expect ? Verdict::ok : Verdict::refuse));
      }
    }
  }
}

TEST_CASE("commit_rule: verdict names", "[commit_rule]") {
  CHECK(std::string(verdict_name(Verdict::ok)) == "ok");
  CHECK(std::string(verdict_name(Verdict::refuse)) == "refuse");
  CHECK(std::string(verdict_name(Verdict::unknown)) == "unknown");
}

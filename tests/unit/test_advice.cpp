/// @file test_advice.cpp
/// @brief Advice for a refused fork: how much to shrink, the largest mappings with Rss and Swap,
/// what a slim fork would exclude and whether that is enough; on made-up VMAs, a fixture and this
/// process's real smaps.
#include <catch2/catch.hpp>
#include <sys/mman.h>

#include <cstring>
#include <string>

#include "forkguard/advice.hpp"

using namespace forkguard;

namespace {

constexpr int64_t kGiB = 1024 * 1024;  // in kB
constexpr int64_t kMin = 64 * 1024;    // FORKGUARD_SLIM_MIN's default, kB

Vma anon(uint64_t start, int64_t kb, bool writable = true) {
  Vma v;
  v.start = start;
  v.end = start + static_cast<uint64_t>(kb) * 1024;
  v.readable = true;
  v.writable = writable;
  v.is_private = true;
  v.have_flags = true;
  v.accountable = writable;
  return v;
}

CommitInputs mode0(int64_t ram_swap_kb) {
  CommitInputs in;
  in.overcommit_mode = 0;
  in.mem_total_kb = ram_swap_kb;
  in.swap_total_kb = 0;
  in.commit_limit_kb = ram_swap_kb / 2;
  in.committed_as_kb = ram_swap_kb;
  in.admin_reserve_kb = 8192;
  in.user_reserve_kb = 131072;
  in.total_vm_kb = 40 * kGiB;
  return in;
}

}  // namespace

TEST_CASE("the slim fork's rule: accountable anonymous private writable, at least SLIM_MIN, never written") {
  const Vma big = anon(0x7f0000000000, 1 * kGiB);
  CHECK(slim_would_exclude(big, 0, 0, kMin));
  CHECK_FALSE(slim_would_exclude(big, 4, 0, kMin));   // written: resident
  CHECK_FALSE(slim_would_exclude(big, 0, 4, kMin));   // written: swapped out
  CHECK_FALSE(slim_would_exclude(big, -1, 0, kMin));  // Rss unknown: cannot say it was never written
  CHECK_FALSE(slim_would_exclude(anon(0x1000, kMin - 4), 0, 0, kMin));  // below FORKGUARD_SLIM_MIN
  Vma heap = big;
  heap.path = "[heap]";
  CHECK_FALSE(slim_would_exclude(heap, 0, 0, kMin));
  Vma file = big;
  file.path = "/var/cache/data";  // its contents come from the file
  CHECK_FALSE(slim_would_exclude(file, 0, 0, kMin));
  Vma dontfork = big;
  dontfork.dontcopy = true;  // not charged anyway
  CHECK_FALSE(slim_would_exclude(dontfork, 0, 0, kMin));
}

TEST_CASE("mode 0: the largest mapping must shrink below RAM + swap, and an untouched one is enough to exclude") {
  const int64_t ram_swap = 24 * kGiB;
  Advice a;
  advice_add(a, anon(0x10000, 512), 512, 0, kMin);                     // small data, written
  advice_add(a, anon(0x7f0000000000, 30 * kGiB), 0, 0, kMin);          // the untouched reservation
  advice_add(a, anon(0x7e0000000000, 200 * 1024), 200 * 1024, 0, kMin);  // 200 MiB written
  advice_finish(a, mode0(ram_swap));
  CHECK(a.charge_kb == 30 * kGiB + 512 + 200 * 1024);
  CHECK(a.shrink_kb == 6 * kGiB);
  REQUIRE(a.ntop == 3);
  CHECK(a.top[0].size_kb == 30 * kGiB);
  CHECK(a.top[0].slim);
  CHECK(std::string(a.top[0].path) == "[anon]");
  CHECK(a.top[1].size_kb == 200 * 1024);
  CHECK_FALSE(a.top[1].slim);  // written: a slim fork keeps it
  CHECK(a.top[1].rss_kb == 200 * 1024);
  CHECK(a.slim_kb == 30 * kGiB);
  CHECK(a.slim_mappings == 1);
  CHECK(a.enough());
}

TEST_CASE("mode 0: a written mapping larger than RAM + swap is not excluded, so a slim fork is not enough") {
  Advice a;
  advice_add(a, anon(0x7f0000000000, 30 * kGiB), 1024, 0, kMin);
  advice_finish(a, mode0(24 * kGiB));
  CHECK(a.shrink_kb == 6 * kGiB);
  CHECK(a.slim_kb == 0);
  CHECK_FALSE(a.enough());
}

TEST_CASE("mode 2: the charge must shrink until it is strictly below the limit") {
  CommitInputs in;
  in.overcommit_mode = 2;
  in.mem_total_kb = 1 * kGiB;
  in.swap_total_kb = 0;
  in.commit_limit_kb = 1 * kGiB;
  in.committed_as_kb = 512 * 1024;
  in.admin_reserve_kb = 0;
  in.user_reserve_kb = 0;
  in.total_vm_kb = 1 * kGiB;
  in.cap_sys_admin = true;
  Advice a;
  advice_add(a, anon(0x7f0000000000, 600 * 1024), 0, 0, kMin);  // untouched
  advice_add(a, anon(0x7e0000000000, 100 * 1024), 100 * 1024, 0, kMin);
  advice_finish(a, in);
  // allowed 1 GiB - committed 512 MiB - charge 700 MiB = -188 MiB: shrink by that and one page more.
  CHECK(a.shrink_kb == 188 * 1024 + 4);
  CHECK(a.slim_kb == 600 * 1024);
  CHECK(a.enough());  // 100 MiB kept fits in 512 MiB
  Advice b;
  advice_add(b, anon(0x7f0000000000, 600 * 1024), 300 * 1024, 0, kMin);  // written: kept
  advice_finish(b, in);
  CHECK_FALSE(b.enough());
  Advice fits;
  advice_add(fits, anon(0x7f0000000000, 100 * 1024), 0, 0, kMin);
  advice_finish(fits, in);
  CHECK(fits.shrink_kb == 0);
}

TEST_CASE("advice from this process's real smaps: an untouched mapping is listed with Rss 0 and excluded") {
  const size_t len = size_t{256} << 20, gap = 4096;
  // Two mappings with an inaccessible page between them, so the kernel cannot merge them into one.
  char* area = static_cast<char*>(mmap(nullptr, 2 * len + gap, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(area != MAP_FAILED);
  void* p = mmap(area, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  REQUIRE(p == area);
  void* q = mmap(area + len + gap, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  REQUIRE(q == area + len + gap);
  std::memset(q, 1, 1 << 20);  // 1 MiB of the second one written
  CommitInputs in = mode0(1);  // a tiny RAM + swap: any fork of this process is refused
  Advice a;
  REQUIRE(advise_from_smaps("/proc/self/smaps", in, kMin, a) == 0);
  bool saw_p = false, saw_q = false;
  for (int i = 0; i < a.ntop; ++i) {
    if (a.top[i].start == reinterpret_cast<uintptr_t>(p)) {
      saw_p = true;
      CHECK(a.top[i].rss_kb == 0);
      CHECK(a.top[i].swap_kb == 0);
      CHECK(a.top[i].slim);
    }
    if (a.top[i].start == reinterpret_cast<uintptr_t>(q)) {
      saw_q = true;
      CHECK(a.top[i].rss_kb >= 1024);
      CHECK_FALSE(a.top[i].slim);
    }
  }
  CHECK(saw_p);
  CHECK(saw_q);
  CHECK(a.slim_kb >= 256 * 1024);
  CHECK(a.shrink_kb > 0);
  CHECK_FALSE(a.enough());  // 256 MiB kept is still more than 1 kB of RAM + swap
  munmap(area, 2 * len + gap);
}

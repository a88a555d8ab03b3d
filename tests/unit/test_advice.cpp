/// @file test_advice.cpp
/// @brief Advice for a refused fork: how much to shrink, the largest mappings with Rss and Swap,
/// what a slim fork would leave out and whether that is enough; on made-up VMAs and this
/// process's real smaps.
#include <catch2/catch.hpp>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
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

AdviceLimits lim(int64_t min_kb = kMin) {
  AdviceLimits l;
  l.slim_min_kb = min_kb;
  return l;
}

TEST_CASE("the slim fork may take from accountable anonymous private writable mappings of at least SLIM_MIN") {
  const Vma big = anon(0x7f0000000000, 1 * kGiB);
  CHECK(slim_may_take(big, lim()));
  CHECK_FALSE(slim_may_take(anon(0x7f0000000000, kMin - 4), lim()));  // below FORKGUARD_SLIM_MIN
  Vma heap = big;
  heap.path = "[heap]";
  CHECK_FALSE(slim_may_take(heap, lim()));
  Vma file = big;
  file.path = "/var/cache/data";  // its contents come from the file
  CHECK_FALSE(slim_may_take(file, lim()));
  Vma dontfork = big;
  dontfork.dontcopy = true;  // not charged anyway
  CHECK_FALSE(slim_may_take(dontfork, lim()));
  AdviceLimits here = lim();
  here.keep_address = 0x7f0000001000;  // the forking thread's stack: kept whole
  CHECK_FALSE(slim_may_take(big, here));
  CHECK_FALSE(slim_may_take(anon(0x7f0004000000, 64 * 1024), lim()));  // a glibc arena heap: 64 MiB-aligned
}

TEST_CASE("mode 0: the largest mapping must shrink below RAM + swap, and an untouched one is enough to leave out") {
  const int64_t ram_swap = 24 * kGiB;
  Advice a;
  advice_add(a, anon(0x10000, 512), 512, 0, lim());                          // small data, written
  advice_add(a, anon(0x7f0000000000, 30 * kGiB), 0, 0, lim());               // the untouched reservation
  advice_add(a, anon(0x7e0000001000, 200 * 1024), 200 * 1024, 0, lim());     // 200 MiB written
  advice_finish(a, mode0(ram_swap), lim());
  CHECK(a.charge_kb == 30 * kGiB + 512 + 200 * 1024);
  CHECK(a.shrink_kb == 6 * kGiB);
  REQUIRE(a.ntop == 3);
  CHECK(a.top[0].size_kb == 30 * kGiB);
  CHECK(a.top[0].slim_kb == 30 * kGiB);  // all of it, never written
  CHECK(a.top[0].slim_written_kb == 0);
  CHECK(std::string(a.top[0].path) == "[anon]");
  CHECK(a.top[1].size_kb == 200 * 1024);
  CHECK(a.top[1].slim_kb == 0);  // written and not needed: a slim fork keeps it
  CHECK(a.top[1].rss_kb == 200 * 1024);
  CHECK(a.slim_kb == 30 * kGiB);
  CHECK(a.slim_written_kb == 0);
  CHECK(a.slim_written_rule == nullptr);
  CHECK(a.slim_mappings == 1);
  CHECK(a.enough());
}

TEST_CASE("never-written runs of a partly written mapping go before any written memory") {
  // 30 GiB, written in its first 1 GiB and its last 64 MiB: the 29 GiB between were never written.
  const uint64_t base = 0x7f0000000000;
  const Vma v = anon(base, 30 * kGiB);
  Advice a;
  const int c = advice_add(a, v, kGiB + 64 * 1024, 0, lim());
  REQUIRE(c >= 0);  // partly written: its runs are wanted
  const uint64_t gib = 1ull << 30;
  advice_add_run(a, c, base + gib, base + 30 * gib - (64ull << 20), lim());
  advice_add_run(a, c, base + 10, base + 4096 + 20, lim());  // below FORKGUARD_SLIM_MIN: not a run
  advice_finish(a, mode0(24 * kGiB), lim());
  CHECK(a.nruns == 1);
  CHECK(a.slim_kb == 29 * kGiB - 64 * 1024);
  CHECK(a.slim_written_kb == 0);  // what is left (1 GiB and 64 MiB pieces) fits RAM + swap
  CHECK(a.slim_kept_largest_kb == 1 * kGiB);
  CHECK(a.top[0].slim_kb == 29 * kGiB - 64 * 1024);
  CHECK(a.slim_mappings == 1);
  CHECK(a.enough());
}

TEST_CASE("mode 0: written memory goes only while a mapping larger than RAM + swap is left, largest piece first") {
  // 30 GiB written throughout: only written memory can go, and only one piece (minus the top 16 KiB).
  Advice a;
  const int c = advice_add(a, anon(0x7f0000000000, 30 * kGiB), 30 * kGiB, 0, lim());
  CHECK(c >= 0);  // no run is added: all of it was written
  advice_finish(a, mode0(24 * kGiB), lim());
  CHECK(a.shrink_kb == 6 * kGiB);
  CHECK(a.slim_kb == 30 * kGiB - 16);
  CHECK(a.slim_written_kb == 30 * kGiB - 16);
  REQUIRE(a.slim_written_rule != nullptr);
  CHECK(std::string(a.slim_written_rule).find("RAM + swap") != std::string::npos);
  CHECK(a.top[0].slim_written_kb == 30 * kGiB - 16);
  CHECK(a.enough());
  // Above a guard page (a thread stack, perhaps): its written pages stay, and nothing else can go.
  Advice b;
  advice_add(b, anon(0x7f0000000000, 30 * kGiB), 30 * kGiB, 0, lim(), /*after_guard=*/true);
  advice_finish(b, mode0(24 * kGiB), lim());
  CHECK(b.slim_kb == 0);
  CHECK_FALSE(b.enough());
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
  advice_add(a, anon(0x7f0000000000, 600 * 1024), 0, 0, lim());  // untouched
  advice_add(a, anon(0x7e0000001000, 100 * 1024), 100 * 1024, 0, lim());
  advice_finish(a, in, lim());
  // allowed 1 GiB - committed 512 MiB - charge 700 MiB = -188 MiB: shrink by that and one page more.
  CHECK(a.shrink_kb == 188 * 1024 + 4);
  CHECK(a.slim_kb == 600 * 1024);
  CHECK(a.slim_written_kb == 0);
  CHECK(a.enough());  // 100 MiB kept fits in 512 MiB
  // Written memory goes only as far as needed: the largest written piece, then the rule allows.
  Advice b;
  advice_add(b, anon(0x7f0000000000, 600 * 1024), 600 * 1024, 0, lim());
  advice_add(b, anon(0x7e0000001000, 100 * 1024), 100 * 1024, 0, lim());
  advice_finish(b, in, lim());
  CHECK(b.slim_written_kb == 600 * 1024 - 16);
  CHECK(b.slim_mappings == 1);  // the 100 MiB mapping stays whole
  CHECK(b.top[1].slim_kb == 0);
  CHECK(b.enough());
  REQUIRE(b.slim_written_rule != nullptr);
  CHECK(std::string(b.slim_written_rule).find("strict") != std::string::npos);
  Advice fits;
  advice_add(fits, anon(0x7f0000000000, 100 * 1024), 0, 0, lim());
  advice_finish(fits, in, lim());
  CHECK(fits.shrink_kb == 0);
}

TEST_CASE("mode 1 never refuses: nothing written ever goes") {
  CommitInputs in = mode0(24 * kGiB);
  in.overcommit_mode = 1;
  Advice a;
  advice_add(a, anon(0x7f0000000000, 30 * kGiB), 30 * kGiB, 0, lim());
  advice_finish(a, in, lim());
  CHECK(a.shrink_kb == 0);
  CHECK(a.slim_written_kb == 0);
}

TEST_CASE("advice from this process's real smaps and pagemap: untouched mappings and never-written runs", "[kernel]") {
  const size_t len = size_t{256} << 20, gap = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  // Two mappings with an inaccessible page between them, so the kernel cannot merge them into one.
  char* area = static_cast<char*>(mmap(nullptr, 2 * len + gap, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(area != MAP_FAILED);
  void* p = mmap(area, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  REQUIRE(p == area);
  char* q = static_cast<char*>(mmap(area + len + gap, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  REQUIRE(q == area + len + gap);
  REQUIRE(madvise(q, len, MADV_NOHUGEPAGE) == 0);  // page by page, whatever THP is set to
  std::memset(q, 1, 1 << 20);  // the first 1 MiB of the second one written: 255 MiB never written after it
  CommitInputs in = mode0(1);  // a tiny RAM + swap: any fork of this process is refused
  Advice a;
  REQUIRE(advise_from_proc("/proc/self/smaps", "/proc/self/pagemap", in, lim(), a) == 0);
  bool saw_p = false, saw_q = false;
  for (int i = 0; i < a.ntop; ++i) {
    if (a.top[i].start == reinterpret_cast<uintptr_t>(p)) {
      saw_p = true;
      CHECK(a.top[i].rss_kb == 0);
      CHECK(a.top[i].swap_kb == 0);
      CHECK(a.top[i].slim_kb == 256 * 1024);  // all of it
      CHECK(a.top[i].slim_written_kb == 0);
    }
    if (a.top[i].start == reinterpret_cast<uintptr_t>(q)) {
      saw_q = true;
      CHECK(a.top[i].rss_kb >= 1024);
      // Never written from 1 MiB up to the top 16 KiB. It starts right above an inaccessible page,
      // as a thread stack does: its written pages stay, however refused the fork.
      CHECK(a.top[i].slim_kb == 255 * 1024 - 16);
      CHECK(a.top[i].slim_written_kb == 0);
    }
  }
  CHECK(saw_p);
  CHECK(saw_q);
  bool run_found = false;
  for (int i = 0; i < a.nruns; ++i) {
    if (a.runs[i].start == reinterpret_cast<uintptr_t>(q) + (1 << 20) && a.runs[i].end == reinterpret_cast<uintptr_t>(q) + len - 16 * 1024)
      run_found = true;
  }
  CHECK(run_found);
  CHECK(a.shrink_kb > 0);
  CHECK_FALSE(a.enough());  // other written memory is still larger than 1 kB of RAM + swap
  // Without the pagemap the partly written mapping has no known run: more written memory goes.
  Advice b;
  REQUIRE(advise_from_proc("/proc/self/smaps", nullptr, in, lim(), b) == 0);
  CHECK(b.slim_partial);
  munmap(area, 2 * len + gap);
}

TEST_CASE("a mapping smaps prints again after it merged mid-walk is counted once, its new part only") {
  // The second header repeats the first mapping from its old start, grown by 64 MiB.
  const char* text =
      "7f0000000000-7f0010000000 rw-p 00000000 00:00 0 \n"
      "Rss:                   0 kB\n"
      "Swap:                  0 kB\n"
      "VmFlags: rd wr mr mw me ac \n"
      "7f0000000000-7f0014000000 rw-p 00000000 00:00 0 \n"
      "Rss:                   0 kB\n"
      "Swap:                  0 kB\n"
      "VmFlags: rd wr mr mw me ac \n";
  char path[] = "/tmp/fg-advice-smaps.XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, text, std::strlen(text)) == static_cast<ssize_t>(std::strlen(text)));
  close(fd);
  Advice a;
  REQUIRE(advise_from_proc(path, nullptr, mode0(24 * kGiB), lim(), a) == 0);
  unlink(path);
  CHECK(a.charge_kb == 256 * 1024 + 64 * 1024);
  CHECK(a.ntop == 1);
  CHECK(a.slim_kb == 256 * 1024);  // the first print's never-written mapping; the repeat adds no candidate
  CHECK_FALSE(a.slim_partial);
}

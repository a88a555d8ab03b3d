/// @file test_slim_plan.cpp
/// @brief The slim fork's choice: never-written memory first, written memory only as the
/// kernel's rule requires (largest first, only as much as needed), what must stay stays.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "forkguard/slim_fork.hpp"
#include "forkguard/slim_plan.hpp"

namespace {

constexpr uintptr_t kMiB = 1u << 20;
constexpr uintptr_t kGiB = 1ull << 30;

forkguard::SlimMapping& add_mapping(forkguard::SlimLayout& l, uintptr_t start, uintptr_t size) {
  forkguard::SlimMapping& m = l.maps[l.nmaps++];
  m = forkguard::SlimMapping{};
  m.start = start;
  m.end = start + size;
  m.first_run = l.nruns;
  l.charge_kb += static_cast<int64_t>(size / 1024);
  return m;
}

void add_run(forkguard::SlimLayout& l, forkguard::SlimMapping& m, uintptr_t start, uintptr_t end) {
  l.runs[l.nruns++] = forkguard::SlimRegion{start, end, false, false};
  ++m.nruns;
}

// Mode 0 on a machine with 8 GiB of RAM and no swap.
forkguard::CommitInputs mode0() {
  forkguard::CommitInputs in;
  in.overcommit_mode = 0;
  in.mem_total_kb = 8 * 1024 * 1024;
  in.swap_total_kb = 0;
  return in;
}

// Mode 2 with `headroom` kB below the limit (no reserves apply: CAP_SYS_ADMIN, user reserve 0).
forkguard::CommitInputs mode2(int64_t headroom_kb) {
  forkguard::CommitInputs in;
  in.overcommit_mode = 2;
  in.mem_total_kb = 8 * 1024 * 1024;
  in.swap_total_kb = 0;
  in.commit_limit_kb = 6 * 1024 * 1024;
  in.committed_as_kb = in.commit_limit_kb - headroom_kb;
  in.admin_reserve_kb = 0;
  in.user_reserve_kb = 0;
  in.total_vm_kb = 1;
  in.cap_sys_admin = true;
  return in;
}

bool covers(const forkguard::SlimPlan& p, uintptr_t a) {
  for (int i = 0; i < p.n; ++i)
    if (p.regions[i].start <= a && a < p.regions[i].end) return true;
  return false;
}

}  // namespace

TEST_CASE("slim plan: never-written memory first, whole mappings unsplit, the caller's stack left alone") {
  forkguard::SlimLayout l;
  forkguard::SlimMapping& reservation = add_mapping(l, 0x100000000000, 64 * kGiB);
  reservation.never_written = true;
  forkguard::SlimMapping& data = add_mapping(l, 0x200000000000, 1 * kGiB);  // written at both ends
  add_run(l, data, 0x200000000000 + 64 * kMiB, 0x200000000000 + 960 * kMiB);
  forkguard::SlimMapping& stack = add_mapping(l, 0x300000000000, 256 * kMiB);
  stack.never_written = true;
  forkguard::SlimLimits lim;
  lim.min_kb = 64 * 1024;
  lim.keep_address = 0x300000000000 + 100 * kMiB;  // the calling thread's stack
  forkguard::SlimPlan plan;
  choose_slim_regions(l, lim, mode0(), plan);
  REQUIRE(plan.n == 2);
  CHECK(plan.regions[0].start == 0x100000000000);  // whole: no split
  CHECK(plan.regions[0].end == 0x100000000000 + 64 * kGiB);
  CHECK(plan.regions[1].start == 0x200000000000 + 64 * kMiB);
  CHECK(plan.regions[1].end == 0x200000000000 + 960 * kMiB);
  CHECK_FALSE(plan.regions[0].written);
  CHECK_FALSE(plan.regions[1].written);
  CHECK_FALSE(covers(plan, lim.keep_address));
  CHECK(plan.excluded_kb == static_cast<int64_t>((64 * kGiB + 896 * kMiB) / 1024));
  CHECK(plan.excluded_written_kb == 0);
  CHECK(plan.mappings == 2);
  CHECK(plan.written_rule == nullptr);
  CHECK(plan.verdict == forkguard::Verdict::ok);
  // What stays: the written ends of the data (64 MiB each side of the run) and the stack.
  CHECK(plan.remaining_largest_kb == static_cast<int64_t>(256 * kMiB / 1024));
}

TEST_CASE("slim plan: in mode 2 never-written memory goes only while the rule refuses (the child's zeros are read-only)") {
  forkguard::SlimLayout l;
  forkguard::SlimMapping& reservation = add_mapping(l, 0x100000000000, 64 * kGiB);
  reservation.never_written = true;
  forkguard::SlimMapping& small = add_mapping(l, 0x200000000000, 2 * kGiB);
  small.never_written = true;
  add_mapping(l, 0x300000000000, 1 * kGiB);  // written
  forkguard::SlimLimits lim;
  lim.min_kb = 64 * 1024;
  forkguard::SlimPlan plan;
  SECTION("the full fork fits: nothing goes") {
    forkguard::CommitInputs big = mode2(0);
    big.commit_limit_kb = static_cast<int64_t>(200 * kGiB / 1024);
    big.committed_as_kb = static_cast<int64_t>(kGiB / 1024);
    choose_slim_regions(l, lim, big, plan);
    CHECK(plan.n == 0);
    CHECK(plan.verdict == forkguard::Verdict::ok);
  }
  SECTION("the reservation is enough: the smaller never-written mapping stays") {
    choose_slim_regions(l, lim, mode2(static_cast<int64_t>(4 * kGiB / 1024)), plan);
    REQUIRE(plan.n == 1);
    CHECK(plan.regions[0].start == 0x100000000000);
    CHECK(plan.verdict == forkguard::Verdict::ok);
  }
  SECTION("modes 0 and 1: every never-written mapping goes, the zeros are writable") {
    for (const forkguard::CommitInputs& in : {mode0(), [] {
           forkguard::CommitInputs one;
           one.overcommit_mode = 1;
           return one;
         }()}) {
      choose_slim_regions(l, lim, in, plan);
      CHECK(plan.n == 2);
      CHECK(plan.excluded_written_kb == 0);
    }
  }
}

TEST_CASE("slim plan: written memory goes only while the rule still refuses, largest first") {
  forkguard::SlimLayout l;
  forkguard::SlimMapping& reservation = add_mapping(l, 0x100000000000, 64 * kGiB);
  reservation.never_written = true;
  add_mapping(l, 0x200000000000, 2 * kGiB);  // written data, all of it
  add_mapping(l, 0x300000000000, 1 * kGiB);
  add_mapping(l, 0x400000000000, 512 * kMiB);
  forkguard::SlimLimits lim;
  lim.min_kb = 64 * 1024;
  forkguard::SlimPlan plan;

  SECTION("mode 0: the written mappings are each below RAM + swap: none goes") {
    choose_slim_regions(l, lim, mode0(), plan);
    CHECK(plan.n == 1);
    CHECK(plan.excluded_written_kb == 0);
    CHECK(plan.verdict == forkguard::Verdict::ok);
  }
  SECTION("mode 2 with 2.5 GiB of headroom: 1 GiB of the 2 GiB mapping goes, from its low end, no more") {
    choose_slim_regions(l, lim, mode2(static_cast<int64_t>(2560 * kMiB / 1024)), plan);
    CHECK(plan.verdict == forkguard::Verdict::ok);
    CHECK(covers(plan, 0x200000000000));
    CHECK_FALSE(covers(plan, 0x200000000000 + kGiB + 4096));
    CHECK_FALSE(covers(plan, 0x300000000000));
    CHECK_FALSE(covers(plan, 0x400000000000));
    // Short by 1 GiB exactly: one page more, since the kernel wants the sum strictly below.
    CHECK(plan.excluded_written_kb == static_cast<int64_t>(kGiB / 1024) + 4);
    REQUIRE(plan.written_rule != nullptr);
    CHECK(std::string(plan.written_rule).find("strict overcommit") != std::string::npos);
  }
  SECTION("mode 2 with 1 GiB of headroom: the largest goes whole, then part of the next") {
    choose_slim_regions(l, lim, mode2(static_cast<int64_t>(1 * kGiB / 1024)), plan);
    CHECK(plan.verdict == forkguard::Verdict::ok);
    CHECK(covers(plan, 0x200000000000));
    // The top 16 KiB of every mapping stays (a thread's descriptor, if it is a stack).
    CHECK_FALSE(covers(plan, 0x200000000000 + 2 * kGiB - 4096));
    CHECK(covers(plan, 0x300000000000));
    CHECK_FALSE(covers(plan, 0x300000000000 + 768 * kMiB));
    CHECK_FALSE(covers(plan, 0x400000000000));
  }
  SECTION("mode 2 with no headroom at all: everything that may go goes, and the fork stays refused") {
    choose_slim_regions(l, lim, mode2(0), plan);
    CHECK(plan.verdict == forkguard::Verdict::refuse);
    CHECK(covers(plan, 0x400000000000));
  }
}

TEST_CASE("slim plan: mode 0 leaves out of the mapping larger than RAM + swap what it has beyond, and only it") {
  forkguard::SlimLayout l;
  // 12 GiB mapping, written in a 9 GiB stretch and a small one (RAM 8 GiB, mode 0).
  forkguard::SlimMapping& big = add_mapping(l, 0x100000000000, 12 * kGiB);
  add_run(l, big, 0x100000000000 + 9 * kGiB, 0x100000000000 + 12 * kGiB - 64 * kMiB);
  add_mapping(l, 0x200000000000, 1 * kGiB);
  forkguard::SlimLimits lim;
  lim.min_kb = 64 * 1024;
  forkguard::SlimPlan plan;
  choose_slim_regions(l, lim, mode0(), plan);
  CHECK(plan.verdict == forkguard::Verdict::ok);
  CHECK(covers(plan, 0x100000000000));                   // the low end of the 9 GiB written stretch
  CHECK_FALSE(covers(plan, 0x100000000000 + kGiB));       // the 8 GiB above it stay: exactly RAM + swap
  CHECK_FALSE(covers(plan, 0x100000000000 + 12 * kGiB - 32 * kMiB));  // the small one stays
  CHECK_FALSE(covers(plan, 0x200000000000));
  CHECK(plan.excluded_written_kb == static_cast<int64_t>(kGiB / 1024));
  CHECK(plan.remaining_largest_kb == static_cast<int64_t>(8 * kGiB / 1024));
  REQUIRE(plan.written_rule != nullptr);
  CHECK(std::string(plan.written_rule).find("heuristic overcommit") != std::string::npos);

  SECTION("a mapping the slim fork may not touch is the larger one: nothing written goes, it cannot help") {
    forkguard::SlimLayout h = l;
    h.other_largest_kb = static_cast<int64_t>(10 * kGiB / 1024);  // e.g. [heap]
    h.charge_kb += h.other_largest_kb;
    choose_slim_regions(h, lim, mode0(), plan);
    CHECK(plan.verdict == forkguard::Verdict::refuse);
    CHECK(plan.excluded_written_kb == static_cast<int64_t>(kGiB / 1024));  // only what the 9 GiB had beyond
  }
}

TEST_CASE("slim plan: written pages of a possible thread stack never go, nor those around a thread pointer") {
  forkguard::SlimLayout l;
  forkguard::SlimMapping& stack = add_mapping(l, 0x100000000000, 2 * kGiB);
  stack.keep_written = true;  // directly above a ---p guard
  forkguard::SlimLimits lim;
  lim.min_kb = 64 * 1024;
  forkguard::SlimPlan plan;
  choose_slim_regions(l, lim, mode2(0), plan);
  CHECK(plan.n == 0);
  CHECK(plan.verdict == forkguard::Verdict::refuse);

  // ld.so's TLS chunk (the top 64 KiB) with the program's 2 GiB of data merged below it: the data
  // may go, the TLS window (1 MiB below the thread pointer, up to the end) stays.
  const uintptr_t base = 0x200000000000, end = base + 2 * kGiB + 64 * 1024;
  for (const bool main_thread : {true, false}) {
    forkguard::SlimLayout t;
    add_mapping(t, base, end - base);
    forkguard::SlimLimits tl = lim;
    const uintptr_t tp = end - 16 * 1024 + 0x6c0;
    (main_thread ? tl.main_tp : tl.tls_address) = tp;
    tl.tls_keep_below = kMiB;
    choose_slim_regions(t, tl, mode2(0), plan);  // no headroom: everything that may go goes
    INFO((main_thread ? "main thread's pointer" : "caller's pointer"));
    REQUIRE(plan.n == 1);
    CHECK(plan.regions[0].written);
    CHECK(plan.regions[0].start == base);
    CHECK(plan.regions[0].end == ((tp - kMiB) & ~uintptr_t{4095}));
    CHECK_FALSE(covers(plan, tp));
    CHECK_FALSE(covers(plan, tp - 512 * 1024));
    CHECK(plan.verdict == forkguard::Verdict::refuse);
  }
}

TEST_CASE("slim plan: at most max_split mappings are split, the ones with the most never-written first") {
  forkguard::SlimLayout l;
  for (int i = 0; i < 6; ++i) {
    const uintptr_t start = 0x100000000000 + static_cast<uintptr_t>(i) * 4 * kGiB;
    forkguard::SlimMapping& m = add_mapping(l, start, 2 * kGiB);
    add_run(l, m, start + 64 * kMiB, start + 64 * kMiB + static_cast<uintptr_t>(i + 1) * 128 * kMiB);
  }
  forkguard::SlimMapping& whole = add_mapping(l, 0x200000000000, 8 * kGiB);
  whole.never_written = true;
  forkguard::SlimLimits lim;
  lim.min_kb = 64 * 1024;
  lim.max_split = 2;
  forkguard::SlimPlan plan;
  choose_slim_regions(l, lim, mode0(), plan);
  CHECK(plan.n == 3);  // the whole one, and the two mappings with the longest runs
  CHECK(covers(plan, 0x200000000000));
  CHECK(covers(plan, 0x100000000000 + 5 * 4 * kGiB + 64 * kMiB));
  CHECK(covers(plan, 0x100000000000 + 4 * 4 * kGiB + 64 * kMiB));
  CHECK_FALSE(covers(plan, 0x100000000000 + 3 * 4 * kGiB + 64 * kMiB));
}

namespace {
// One smaps entry, as the kernel prints it (the fields the planner reads).
std::string smaps_entry(uint64_t start, uint64_t end, const char* perms, const char* flags, uint64_t rss_kb) {
  char head[128];
  snprintf(head, sizeof head, "%012lx-%012lx %s 00000000 00:00 0 \n", static_cast<unsigned long>(start),
           static_cast<unsigned long>(end), perms);
  return std::string(head) + "Size:  " + std::to_string((end - start) / 1024) + " kB\nRss:  " + std::to_string(rss_kb) +
         " kB\nSwap:  0 kB\nVmFlags: " + flags + "\n";
}

std::string temp_file(const std::string& text) {
  char path[] = "/tmp/forkguard-smaps-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fd);
  return path;
}

// The layout build_slim_layout makes of this smaps text at FORKGUARD_SLIM_MIN=min_kb.
void layout_of(const std::string& text, int64_t min_kb, forkguard::SlimLayout& layout) {
  const std::string path = temp_file(text);
  forkguard::SlimLimits lim;
  lim.min_kb = min_kb;
  const int rc = forkguard::build_slim_layout(path.c_str(), -1, lim, layout);
  unlink(path.c_str());
  REQUIRE(rc == 0);
}

// A thread stack as glibc maps it: a ---p guard page, the stack right above it, nothing resident.
std::string guarded_stack(uint64_t guard, uint64_t top) {
  return smaps_entry(guard, guard + 4096, "---p", "mr mw me", 0) +
         smaps_entry(guard + 4096, top, "rw-p", "rd wr mr mw me ac", 0);
}
}  // namespace

TEST_CASE("slim layout: a mapping the smaps walk reports again after a merge stays in the child") {
  // smaps is read a page of text at a time: a thread stack that merged with a mapping placed
  // right above it between two reads is printed again from its start, after itself. Taken for a
  // mapping of its own (not above a guard), its written top would have gone when the rule
  // required written memory, and its never-written runs would have been counted twice.
  const uint64_t guard = 0x7f0000000000, stack = guard + 4096, top = stack + (8ull << 20), merged = top + (36 << 10);
  forkguard::SlimLayout layout;
  layout_of(guarded_stack(guard, top) + smaps_entry(stack, merged, "rw-p", "rd wr mr mw me ac", 0), 4 * 1024, layout);
  CHECK(layout.walk_changed);
  REQUIRE(layout.nmaps == 1);  // the stack, once
  CHECK(layout.maps[0].start == stack);
  CHECK(layout.maps[0].end == top);
  CHECK(layout.maps[0].keep_written);  // above the guard
  CHECK(layout.charge_kb == static_cast<int64_t>((merged - stack) / 1024));
}

TEST_CASE("slim layout: a never-written mapping above a guard keeps its top (a thread being created)") {
  // pthread_create in another thread maps the stack, then writes its struct pthread at the top
  // and links it into the thread list; glibc's fork child writes every listed struct pthread. A
  // layout made before those writes must not leave the top out: the child would die in glibc.
  const uint64_t guard = 0x7f0000000000, stack = guard + 4096, top = stack + (8ull << 20);
  const uint64_t plain = 0x7f1000101000, plain_end = plain + (8ull << 20);
  forkguard::SlimLayout layout;
  layout_of(guarded_stack(guard, top) + smaps_entry(plain, plain_end, "rw-p", "rd wr mr mw me ac", 0), 4 * 1024, layout);
  REQUIRE(layout.nmaps == 2);
  const forkguard::SlimMapping& s = layout.maps[0];
  CHECK_FALSE(s.never_written);
  REQUIRE(s.nruns == 1);
  CHECK(layout.runs[s.first_run].start == stack);
  CHECK(layout.runs[s.first_run].end == top - 16 * 1024);
  CHECK(layout.maps[1].never_written);  // no guard below: a whole mapping, as before
  forkguard::SlimLimits lim;
  lim.min_kb = 4 * 1024;
  forkguard::SlimPlan plan;
  forkguard::choose_slim_regions(layout, lim, mode0(), plan);
  CHECK(covers(plan, stack));
  CHECK_FALSE(covers(plan, top - 1));
  CHECK(covers(plan, plain_end - 1));
}

TEST_CASE("slim layout: nothing resident and nothing swapped is never written, and a file mapping never is") {
  const uint64_t a = 0x7e0000000000, b = a + (1ull << 30), c = b + (1ull << 30);
  std::string text = smaps_entry(a, b, "rw-p", "rd wr mr mw me ac", 0);
  // The same, but backed by a file: its contents are the file's.
  char head[160];
  snprintf(head, sizeof head, "%012lx-%012lx rw-p 00000000 fe:00 1234 /data/file\n", static_cast<unsigned long>(b),
           static_cast<unsigned long>(c));
  text += std::string(head) + "Size: 1048576 kB\nRss: 0 kB\nSwap: 0 kB\nVmFlags: rd wr mr mw me ac\n";
  forkguard::SlimLayout layout;
  layout_of(text, 64 * 1024, layout);
  REQUIRE(layout.nmaps == 1);
  CHECK(layout.maps[0].never_written);
  CHECK(layout.charge_kb == 2 * 1024 * 1024);
  CHECK(layout.other_largest_kb == 1024 * 1024);
}

TEST_CASE("slim plan: a loaded object's .bss merged into a mapping keeps its written pages") {
  // libunwind dlopen'ed after the program mapped its data lands right below it, and the kernel
  // merges its .bss with the data mapping: written memory may go, the .bss never.
  forkguard::SlimLayout l;
  add_mapping(l, 0x100000000000, 2 * kGiB);
  l.keep[l.nkeep++] = forkguard::SlimRegion{0x100000000000, 0x100000000000 + 64 * 1024, true, false};
  forkguard::SlimLimits lim;
  lim.min_kb = 64 * 1024;
  forkguard::SlimPlan plan;
  choose_slim_regions(l, lim, mode2(0), plan);
  REQUIRE(plan.n == 1);
  CHECK(plan.regions[0].start == 0x100000000000 + 64 * 1024);
  CHECK_FALSE(covers(plan, 0x100000000000));

  // And the real thing: this process's own objects' .bss (the test binary has one) are found.
  forkguard::SlimLayout self;
  self.maps[0] = forkguard::SlimMapping{};
  self.maps[0].start = 0;
  self.maps[0].end = ~uintptr_t{0};
  self.nmaps = 1;
  static char bss_here[1 << 16];
  bss_here[0] = 1;
  add_loaded_bss(self);
  bool found = false;
  for (int i = 0; i < self.nkeep; ++i)
    found |= self.keep[i].start <= reinterpret_cast<uintptr_t>(&bss_here[4096]) &&
             reinterpret_cast<uintptr_t>(&bss_here[4096]) < self.keep[i].end;
  CHECK(found);
}

TEST_CASE("slim plan: never-written memory inside written memory that must go is split off (zeros in the child)") {
  const size_t len = 16 * kMiB;
  auto* p = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(p != MAP_FAILED);
  madvise(p, len, MADV_NOHUGEPAGE);
  const auto a = reinterpret_cast<uintptr_t>(p);
  for (size_t off = 4 * kMiB; off < 6 * kMiB; off += 4096) p[off] = 1;   // written: [4, 6) MiB
  p[10 * kMiB + 512 * 1024] = 1;                                           // one page at 10.5 MiB
  const int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  REQUIRE(pm >= 0);
  forkguard::SlimPlan plan;
  plan.regions[0] = forkguard::SlimRegion{a, a + len, true, false};
  plan.n = 1;
  plan.excluded_kb = plan.excluded_written_kb = static_cast<int64_t>(len / 1024);
  split_never_written(plan, pm);
  close(pm);
  // [0, 4) zeros; [4, 6) written; [6, 10.5) zeros; the page at 10.5 MiB written; the rest zeros.
  REQUIRE(plan.n == 5);
  CHECK((!plan.regions[0].written && plan.regions[0].start == a && plan.regions[0].end == a + 4 * kMiB));
  CHECK((plan.regions[1].written && plan.regions[1].end == a + 6 * kMiB));
  CHECK((!plan.regions[2].written && plan.regions[2].end == a + 10 * kMiB + 512 * 1024));
  CHECK((plan.regions[3].written && plan.regions[3].end == a + 10 * kMiB + 512 * 1024 + 4096));
  CHECK((!plan.regions[4].written && plan.regions[4].end == a + len));
  CHECK(plan.excluded_written_kb == 2 * 1024 + 4);
  CHECK(plan.excluded_kb == static_cast<int64_t>(len / 1024));
  munmap(p, len);
}

/// @file test_charge.cpp
/// @brief The charge estimate and smaps sum, on fixtures and against this machine's real kernel.
#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "forkguard/charge.hpp"
#include "forkguard/commit_rule.hpp"

using namespace forkguard;

namespace {

std::string fixture(const char* name) { return std::string(FORKGUARD_FIXTURES) + "/" + name; }

constexpr size_t kMiB = size_t(1) << 20;

/// The VMA of /proc/self/smaps that contains `addr` (flags copied out; path dropped).
struct Found {
  uintptr_t addr = 0;
  bool found = false;
  Vma vma;
};
void find_cb(const Vma& v, void* ctx) {
  auto* f = static_cast<Found*>(ctx);
  if (f->addr >= v.start && f->addr < v.end) {
    f->found = true;
    f->vma = v;
    f->vma.path = {};
  }
}
void feed_cb(const char* d, size_t n, void* ctx) { static_cast<SmapsParser*>(ctx)->feed(d, n); }
Found find_vma(const void* addr) {
  Found f;
  f.addr = reinterpret_cast<uintptr_t>(addr);
  SmapsParser p(&find_cb, &f);
  REQUIRE(stream_file("/proc/self/smaps", &feed_cb, &p) == 0);
  p.finish();
  return f;
}

int overcommit_mode() { return read_vm_sysctl().overcommit_memory; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Pure parts

TEST_CASE("charge: estimate is VmData + VmStk, unknown when either is", "[charge]") {
  ProcStatus st;
  st.vm_data_kb = 62556;
  st.vm_stk_kb = 132;
  CHECK(estimate_charge_kb(st) == 62688);
  st.vm_stk_kb = -1;
  CHECK(estimate_charge_kb(st) == -1);
  ProcStatus none;
  CHECK(estimate_charge_kb(none) == -1);
}

TEST_CASE("charge: add_vma sums charged VMAs, keeps DONTFORK apart, ranks the top five", "[charge]") {
  ChargeSummary s;
  auto vma = [](uint64_t start, uint64_t kb, bool ac, bool dc, std::string_view path) {
    Vma v;
    v.start = start;
    v.end = start + kb * 1024;
    v.have_flags = true;
    v.accountable = ac;
    v.dontcopy = dc;
    v.path = path;
    return v;
  };
  add_vma(s, vma(0x1000000, 8, true, false, "/bin/a"));
  add_vma(s, vma(0x2000000, 64, true, false, ""));
  add_vma(s, vma(0x3000000, 1024, true, true, ""));      // MADV_DONTFORK
  add_vma(s, vma(0x4000000, 512, false, false, "/lib"));  // not accountable
  add_vma(s, vma(0x5000000, 16, true, false, "/x"));
  add_vma(s, vma(0x6000000, 64, true, false, "/tie"));  // ties keep address order
  add_vma(s, vma(0x7000000, 4, true, false, "/small"));
  add_vma(s, vma(0x8000000, 128, true, false, std::string(200, 'p')));
  CHECK(s.vmas == 8);
  CHECK(s.charged_vmas == 6);
  CHECK(s.charge_kb == 8 + 64 + 16 + 64 + 4 + 128);
  CHECK(s.largest_kb == 128);
  CHECK(s.dontfork_kb == 1024);
  REQUIRE(s.ntop == 5);
  CHECK(s.top[0].size_kb == 128);
  CHECK(std::strlen(s.top[0].path) == sizeof(s.top[0].path) - 1);  // truncated, terminated
  CHECK(s.top[1].size_kb == 64);
  CHECK(std::string(s.top[1].path) == "[anon]");
  CHECK(std::string(s.top[2].path) == "/tie");
  CHECK(s.top[3].size_kb == 16);
  CHECK(s.top[4].size_kb == 8);
  CHECK(s.top[4].start == 0x1000000);
}

TEST_CASE("charge: measure_charge_smaps over a captured smaps", "[charge]") {
  ChargeSummary s;
  REQUIRE(measure_charge_smaps(fixture("smaps_flags_real.txt").c_str(), s) == 0);
  // Expected values computed independently (python over the fixture) when it was captured.
  CHECK(s.vmas == 32);
  CHECK(s.charged_vmas == 15);
  CHECK(s.charge_kb == 40188);
  CHECK(s.largest_kb == 32768);
  CHECK(s.dontfork_kb == 16384);
  REQUIRE(s.ntop == 5);
  CHECK(s.top[0].size_kb == 32768);
  CHECK(std::string(s.top[0].path) == "[anon]");
  CHECK(std::string(s.top[1].path) == "/tmp/h1/dir with spaces/my file.dat");
  CHECK(s.top[2].size_kb == 2048);  // written, then mprotect(PROT_READ): keeps "ac"
  CHECK(s.top[3].size_kb == 1024);  // MADV_WIPEONFORK: still charged
  CHECK(std::string(s.top[4].path) == "/tmp/h1/gone.bin (deleted)");

  // Estimate vs exact on the same capture: VmData + VmStk = 62688 kB counts the 8 MiB
  // MAP_NORESERVE and the 16 MiB MADV_DONTFORK mappings (24576 kB) and misses 2076 kB of
  // accountable read-only VMAs (RELRO 4 + 16 + 8 kB, the 2 MiB written-then-mprotected one).
  ProcStatus st;
  st.vm_data_kb = 62556;
  st.vm_stk_kb = 132;
  CHECK(estimate_charge_kb(st) - s.charge_kb == 24576 - 2076);

  errno = 0;
  CHECK(measure_charge_smaps("/nonexistent/smaps", s) == -1);
  CHECK(errno == ENOENT);
}

TEST_CASE("charge: largest_private_writable_kb over maps", "[charge]") {
  // maps cannot see MADV_DONTFORK or MAP_NORESERVE: the 4 MiB dc VMA counts here.
  CHECK(largest_private_writable_kb(fixture("maps_edge.txt").c_str()) == 4096);
  CHECK(largest_private_writable_kb(fixture("maps_real.txt").c_str()) == 136);  // an anonymous rw-p VMA
  CHECK(largest_private_writable_kb(fixture("empty.txt").c_str()) == 0);
  errno = 0;
  CHECK(largest_private_writable_kb("/nonexistent/maps") == -1);
  CHECK(errno == ENOENT);
}

// ---------------------------------------------------------------------------------------------
// The real kernel

TEST_CASE("charge: real kernel: a 64 MiB private writable mapping is charged exactly, DONTFORK moves it",
          "[charge][kernel]") {
  const size_t len = 64 * kMiB;
  // No Catch2 assertion between the measurements: they may allocate and grow the heap. Another
  // thread of the test binary could still allocate in between, so a disturbed attempt (the
  // untouched total moved) is retried; exactness is then required of an undisturbed one.
  struct Attempt {
    ChargeSummary before, mapped, dontfork;
    int r0 = -1, r1 = -1, r2 = -1, adv = -1;
    bool mapped_ok = false;
  } a;
  for (int attempt = 0; attempt < 5; ++attempt) {
    a = Attempt{};
    a.r0 = measure_charge_smaps("/proc/self/smaps", a.before);
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    a.mapped_ok = p != MAP_FAILED;
    a.r1 = measure_charge_smaps("/proc/self/smaps", a.mapped);
    a.adv = a.mapped_ok ? madvise(p, len, MADV_DONTFORK) : -1;
    a.r2 = measure_charge_smaps("/proc/self/smaps", a.dontfork);
    if (a.mapped_ok) munmap(p, len);
    if (!a.mapped_ok || a.r0 || a.r1 || a.r2 || a.adv) break;
    if (a.dontfork.charge_kb == a.before.charge_kb) break;  // undisturbed
  }
  REQUIRE(a.mapped_ok);
  REQUIRE(a.r0 == 0);
  REQUIRE(a.r1 == 0);
  REQUIRE(a.adv == 0);
  REQUIRE(a.r2 == 0);
  CHECK(a.mapped.charge_kb - a.before.charge_kb == 65536);
  CHECK(a.mapped.largest_kb >= 65536);
  CHECK(a.dontfork.charge_kb == a.before.charge_kb);
  CHECK(a.dontfork.dontfork_kb - a.before.dontfork_kb == 65536);
}

TEST_CASE("charge: real kernel: MAP_NORESERVE is not accountable except in mode 2", "[charge][kernel]") {
  // mm/mmap.c: MAP_NORESERVE sets VM_NORESERVE only when sysctl_overcommit_memory !=
  // OVERCOMMIT_NEVER, and accountable_mapping() excludes VM_NORESERVE. So in modes 0/1 the VMA
  // shows "nr" and no "ac"; in mode 2 the flag is ignored and the VMA is charged like any other.
  const int mode = overcommit_mode();
  REQUIRE(mode >= 0);
  const size_t len = 64 * kMiB;
  const int64_t expect = mode == 2 ? 65536 : 0;
  ChargeSummary before, after;
  int r0 = -1, r1 = -1;
  Found f;
  bool mapped_ok = false;
  for (int attempt = 0; attempt < 5; ++attempt) {  // retried if another thread disturbs it
    r0 = measure_charge_smaps("/proc/self/smaps", before);
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    mapped_ok = p != MAP_FAILED;
    r1 = measure_charge_smaps("/proc/self/smaps", after);
    if (!mapped_ok) break;
    f = find_vma(p);
    munmap(p, len);
    if (r0 || r1 || after.charge_kb - before.charge_kb == expect) break;
  }
  REQUIRE(mapped_ok);
  REQUIRE(r0 == 0);
  REQUIRE(r1 == 0);
  REQUIRE(f.found);
  REQUIRE(f.vma.have_flags);
  INFO("overcommit_memory=" << mode);
  CHECK(after.charge_kb - before.charge_kb == expect);
  if (mode == 2) {
    CHECK(f.vma.accountable);
    CHECK_FALSE(f.vma.noreserve);
  } else {
    CHECK_FALSE(f.vma.accountable);
    CHECK(f.vma.noreserve);
  }
}

TEST_CASE("charge: real kernel: which mappings carry \"ac\"", "[charge][kernel]") {
  const size_t len = 2 * kMiB;
  // Written, then made read-only: keeps VM_ACCOUNT (mm/mprotect.c mprotect_fixup).
  char* w = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(w != MAP_FAILED);
  w[0] = 1;
  REQUIRE(mprotect(w, len, PROT_READ) == 0);
  // Never written, then made read-only: recent kernels (mprotect_fixup, 2023 change) drop
  // VM_ACCOUNT from an anonymous VMA that has no anon_vma yet; older ones keep it.
  void* u = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(u != MAP_FAILED);
  REQUIRE(mprotect(u, len, PROT_READ) == 0);
  void* ro = mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void* sh = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(ro != MAP_FAILED);
  REQUIRE(sh != MAP_FAILED);
  // PROT_READ then mprotect to writable: charged at that moment.
  void* later = mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(later != MAP_FAILED);
  REQUIRE(mprotect(later, len, PROT_READ | PROT_WRITE) == 0);

  Found fw = find_vma(w), fu = find_vma(u), fro = find_vma(ro), fsh = find_vma(sh), fl = find_vma(later);
  munmap(w, len);
  munmap(u, len);
  munmap(ro, len);
  munmap(sh, len);
  munmap(later, len);
  REQUIRE(fw.found);
  REQUIRE(fu.found);
  CHECK(fw.vma.accountable);
  CHECK_FALSE(fw.vma.writable);
  // fu: not asserted, kernel-dependent (6.18 here: no "ac"); measure_charge_smaps follows smaps.
  (void)fu;
  CHECK_FALSE(fro.vma.accountable);
  CHECK_FALSE(fsh.vma.accountable);
  CHECK(fl.vma.accountable);
}

TEST_CASE("charge: real kernel: estimate (VmData + VmStk) vs smaps on the test process",
          "[charge][kernel]") {
  // The estimate misses accountable read-only VMAs (each library's RELRO, kept "ac" after
  // mprotect) and counts private writable VMAs that are not charged (MAP_NORESERVE such as
  // glibc's per-thread arenas, MADV_DONTFORK). For this single-threaded test binary the gap
  // is exactly the RELRO pages: measured on Debian 12 / Linux 6.18 at -96 kB (estimate below
  // smaps) = binary 20 + libstdc++ 44 + libc 16 + ld.so 8 + libm 4 + libgcc_s 4.
  // Bound: 2 MiB either way, room for other libc/libstdc++ builds without hiding a real bug
  // (a missed 64 MiB mapping, a double-counted stack).
  constexpr int64_t kBoundKb = 2048;
  char buf[8192];
  ChargeSummary exact;
  int r = measure_charge_smaps("/proc/self/smaps", exact);
  long n = read_small_file("/proc/self/status", buf, sizeof(buf));
  REQUIRE(r == 0);
  REQUIRE(n > 0);
  ProcStatus st;
  REQUIRE(parse_status(std::string_view(buf, static_cast<size_t>(n)), st));
  const int64_t est = estimate_charge_kb(st);
  REQUIRE(est >= 0);
  const int64_t err = est - exact.charge_kb;
  std::printf("forkguard charge: estimate %lld kB (VmData %lld + VmStk %lld), smaps %lld kB in %d VMAs, "
              "error %+lld kB (bound +-%lld kB)\n",
              static_cast<long long>(est), static_cast<long long>(st.vm_data_kb),
              static_cast<long long>(st.vm_stk_kb), static_cast<long long>(exact.charge_kb), exact.charged_vmas,
              static_cast<long long>(err), static_cast<long long>(kBoundKb));
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FG_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define FG_SANITIZED 1
#endif
#endif
#ifdef FG_SANITIZED
  // Sanitizer shadow memory is terabytes of MAP_NORESERVE private writable mappings: all in
  // VmData, none charged. The estimate is then useless, which is the point of measuring.
  WARN("sanitizer build: estimate-vs-smaps bound not checked (shadow memory is MAP_NORESERVE)");
#else
  CHECK(err <= kBoundKb);
  CHECK(err >= -kBoundKb);
#endif
}

TEST_CASE("charge: real kernel: mode 0 refuses fork of one VMA larger than RAM + swap",
          "[charge][kernel][mode0]") {
  const int mode = overcommit_mode();
  if (mode != 0) {
    WARN("skipped: vm.overcommit_memory=" << mode << ", this check needs the heuristic mode 0");
    return;
  }
  struct rlimit as {}, data {};
  REQUIRE(getrlimit(RLIMIT_AS, &as) == 0);
  REQUIRE(getrlimit(RLIMIT_DATA, &data) == 0);
  if (as.rlim_cur != RLIM_INFINITY || data.rlim_cur != RLIM_INFINITY) {
    WARN("skipped: RLIMIT_AS or RLIMIT_DATA is limited (ulimit -v / -d); the test maps 1.5 x (RAM + swap)");
    return;
  }
  char buf[8192];
  long n = read_small_file("/proc/meminfo", buf, sizeof(buf));
  REQUIRE(n > 0);
  MemInfo mi;
  REQUIRE(parse_meminfo(std::string_view(buf, static_cast<size_t>(n)), mi));
  REQUIRE(mi.mem_total_kb > 0);
  REQUIRE(mi.swap_total_kb >= 0);
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const int64_t page_kb = static_cast<int64_t>(page / 1024);
  const size_t ram_swap = static_cast<size_t>(mi.mem_total_kb + mi.swap_total_kb) * 1024;

  // Each mmap/mremap request is checked on its own (pages <= RAM + swap), so a half-sized
  // start grown in half-sized steps is accepted, while fork checks the whole VMA at once.
  const size_t half = (ram_swap / 2) / page * page;
  size_t len = half;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(p != MAP_FAILED);
  while (len <= ram_swap) {
    void* q = mremap(p, len, len + half, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) {
      int e = errno;
      munmap(p, len);
      FAIL("mremap grow to " << (len + half) / kMiB << " MiB failed: " << std::strerror(e));
    }
    p = q;
    len += half;
  }
  INFO("region " << len / kMiB << " MiB, RAM + swap " << ram_swap / kMiB << " MiB");

  auto inputs = [&](const ChargeSummary& s) {
    CommitInputs in;
    in.overcommit_mode = 0;
    in.mem_total_kb = mi.mem_total_kb;
    in.swap_total_kb = mi.swap_total_kb;
    in.charge_kb = s.charge_kb;
    in.largest_vma_kb = s.largest_kb;
    in.page_kb = page_kb;
    return in;
  };
  auto try_fork = [](int& err) -> pid_t {
    pid_t pid = fork();
    if (pid == 0) _exit(0);  // the child does nothing at all
    err = errno;
    return pid;
  };

  // 1. As mapped: the kernel refuses, and so does the prediction.
  ChargeSummary big;
  int r1 = measure_charge_smaps("/proc/self/smaps", big);
  int64_t maps_largest = largest_private_writable_kb("/proc/self/maps");
  int e1 = 0;
  pid_t pid1 = try_fork(e1);
  int st1 = 0;
  if (pid1 > 0) waitpid(pid1, &st1, 0);

  // 2. MADV_DONTFORK on the region: the kernel no longer charges it, fork works.
  int adv = madvise(p, len, MADV_DONTFORK);
  ChargeSummary slim;
  int r2 = measure_charge_smaps("/proc/self/smaps", slim);
  int64_t maps_largest_slim = largest_private_writable_kb("/proc/self/maps");
  int e2 = 0;
  pid_t pid2 = try_fork(e2);
  int st2 = -1;
  if (pid2 > 0) waitpid(pid2, &st2, 0);
  munmap(p, len);

  REQUIRE(r1 == 0);
  REQUIRE(r2 == 0);
  REQUIRE(adv == 0);
  CHECK(big.largest_kb >= static_cast<int64_t>(len / 1024));
  CHECK(maps_largest >= static_cast<int64_t>(len / 1024));
  CHECK(pid1 == -1);
  CHECK(e1 == ENOMEM);
  CommitVerdict v1 = predict_fork(inputs(big));
  INFO(v1.why);
  CHECK(v1.verdict == Verdict::refuse);
  CHECK(v1.margin_kb < 0);
  CHECK(v1.margin_kb == static_cast<int64_t>(ram_swap / 1024) - big.largest_kb);

  CHECK(slim.largest_kb < static_cast<int64_t>(ram_swap / 1024));
  CHECK(slim.dontfork_kb >= static_cast<int64_t>(len / 1024));
  CHECK(pid2 > 0);
  CHECK(WIFEXITED(st2));
  CHECK(WEXITSTATUS(st2) == 0);
  CommitVerdict v2 = predict_fork(inputs(slim));
  CHECK(v2.verdict == Verdict::ok);
  // maps has no VmFlags: it cannot see MADV_DONTFORK, so after marking only smaps is right.
  CHECK(maps_largest_slim >= static_cast<int64_t>(len / 1024));
}

TEST_CASE("charge: real kernel: mode 0 boundary, a VMA of exactly RAM + swap forks, one page more does not",
          "[charge][kernel][mode0]") {
  const int mode = overcommit_mode();
  if (mode != 0) {
    WARN("skipped: vm.overcommit_memory=" << mode << ", this check needs the heuristic mode 0");
    return;
  }
  struct rlimit as {}, data {};
  REQUIRE(getrlimit(RLIMIT_AS, &as) == 0);
  REQUIRE(getrlimit(RLIMIT_DATA, &data) == 0);
  if (as.rlim_cur != RLIM_INFINITY || data.rlim_cur != RLIM_INFINITY) {
    WARN("skipped: RLIMIT_AS or RLIMIT_DATA is limited (ulimit -v / -d); the test maps RAM + swap");
    return;
  }
  char buf[8192];
  long n = read_small_file("/proc/meminfo", buf, sizeof(buf));
  REQUIRE(n > 0);
  MemInfo mi;
  REQUIRE(parse_meminfo(std::string_view(buf, static_cast<size_t>(n)), mi));
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const int64_t page_kb = static_cast<int64_t>(page / 1024);
  // totalram_pages() + total_swap_pages, in bytes: MemTotal and SwapTotal are those counters << 2.
  const size_t ram_swap = static_cast<size_t>(mi.mem_total_kb + mi.swap_total_kb) * 1024;
  REQUIRE(ram_swap % page == 0);

  // Reserve [guard | RAM + swap + 1 page | guard] as PROT_NONE (not accountable), then map the
  // writable part over it with MAP_FIXED in two pieces, each accepted on its own; they merge
  // into one VMA of exactly RAM + swap, and the PROT_NONE guards keep neighbours from merging.
  const size_t half = (ram_swap / 2) / page * page;
  const size_t total = ram_swap + 3 * page;
  char* base = static_cast<char*>(mmap(nullptr, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  REQUIRE(base != MAP_FAILED);
  const int rw = PROT_READ | PROT_WRITE;
  const int fixed = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
  char* start = base + page;
  bool mapped = mmap(start, half, rw, fixed, -1, 0) != MAP_FAILED &&
                mmap(start + half, ram_swap - half, rw, fixed, -1, 0) != MAP_FAILED;

  auto fork_ok = []() {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid < 0) return false;
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
  };
  auto predict = [&](const ChargeSummary& s) {
    CommitInputs in;
    in.overcommit_mode = 0;
    in.mem_total_kb = mi.mem_total_kb;
    in.swap_total_kb = mi.swap_total_kb;
    in.largest_vma_kb = s.largest_kb;
    in.page_kb = page_kb;
    return predict_fork(in);
  };

  ChargeSummary exact;
  int r1 = mapped ? measure_charge_smaps("/proc/self/smaps", exact) : -1;
  bool ok_exact = mapped && fork_ok();
  int e_exact = errno;
  bool grown = mapped && mmap(start + ram_swap, page, rw, fixed, -1, 0) != MAP_FAILED;
  ChargeSummary over;
  int r2 = grown ? measure_charge_smaps("/proc/self/smaps", over) : -1;
  errno = 0;
  bool ok_over = grown && fork_ok();
  int e_over = errno;
  munmap(base, total);

  REQUIRE(mapped);
  REQUIRE(grown);
  REQUIRE(r1 == 0);
  REQUIRE(r2 == 0);
  REQUIRE(exact.largest_kb == static_cast<int64_t>(ram_swap / 1024));
  REQUIRE(over.largest_kb == static_cast<int64_t>(ram_swap / 1024) + page_kb);
  INFO("errno at exactly RAM + swap: " << e_exact);
  CHECK(ok_exact);
  CHECK(predict(exact).verdict == Verdict::ok);
  CHECK(predict(exact).margin_kb == 0);
  CHECK_FALSE(ok_over);
  CHECK(e_over == ENOMEM);
  CHECK(predict(over).verdict == Verdict::refuse);
  CHECK(predict(over).margin_kb == -page_kb);
}

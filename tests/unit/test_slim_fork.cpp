/// @file test_slim_fork.cpp
/// @brief Slim fork on the real kernel: regions excluded from the child, restored in the parent.
#include <catch2/catch.hpp>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "forkguard/charge.hpp"
#include "forkguard/slim_fork.hpp"

namespace {

pid_t plain_fork() { return fork(); }

forkguard::Vma vma(uint64_t start, uint64_t end, bool ac, bool dc, const char* path = "") {
  forkguard::Vma v;
  v.start = start;
  v.end = end;
  v.readable = v.writable = v.is_private = true;
  v.have_flags = true;
  v.accountable = ac;
  v.dontcopy = dc;
  v.path = path;
  return v;
}

bool has_dontcopy(uintptr_t addr) {
  struct Ctx {
    uintptr_t addr;
    int found;
  } ctx{addr, -1};
  forkguard::SmapsParser p(
      [](const forkguard::Vma& v, void* c) {
        auto* x = static_cast<Ctx*>(c);
        if (x->addr >= v.start && x->addr < v.end) x->found = v.dontcopy ? 1 : 0;
      },
      &ctx);
  forkguard::stream_file(
      "/proc/self/smaps", [](const char* d, size_t n, void* c) { static_cast<forkguard::SmapsParser*>(c)->feed(d, n); },
      &p);
  p.finish();
  REQUIRE(ctx.found >= 0);
  return ctx.found == 1;
}

}  // namespace

TEST_CASE("slim candidates: large anonymous charged mappings only") {
  forkguard::SlimLimits lim;
  lim.min_kb = 64 * 1024;
  lim.keep_address = 0x7000'0000'1000;
  const uint64_t big = 256ull << 20;
  CHECK(forkguard::slim_candidate(vma(0x1000'0000'1000, 0x1000'0000'1000 + big, true, false), lim));
  CHECK_FALSE(forkguard::slim_candidate(vma(0x1000'0000'1000, 0x1000'0000'1000 + (1 << 20), true, false), lim));
  CHECK_FALSE(forkguard::slim_candidate(vma(0x1000'0000'1000, 0x1000'0000'1000 + big, false, false), lim));
  CHECK_FALSE(forkguard::slim_candidate(vma(0x1000'0000'1000, 0x1000'0000'1000 + big, true, true), lim));
  CHECK_FALSE(forkguard::slim_candidate(vma(0x1000'0000'1000, 0x1000'0000'1000 + big, true, false, "[heap]"), lim));
  CHECK_FALSE(forkguard::slim_candidate(vma(0x1000'0000'1000, 0x1000'0000'1000 + big, true, false, "/data/file"), lim));
  // the calling thread's stack
  CHECK_FALSE(forkguard::slim_candidate(vma(0x7000'0000'0000, 0x7000'0000'0000 + big, true, false), lim));
  // a glibc arena heap: 64 MiB aligned, at most 64 MiB
  lim.min_kb = 1024;
  CHECK_FALSE(forkguard::slim_candidate(vma(0x7f00'0000'0000, 0x7f00'0000'0000 + (64 << 20), true, false), lim));
}

TEST_CASE("slim fork excludes the region from the child and restores it in the parent", "[slim][kernel]") {
  const size_t len = 256ull << 20;
  auto* region = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(region != MAP_FAILED);
  std::memset(region, 7, 4096);
  const auto addr = reinterpret_cast<uintptr_t>(region);

  forkguard::SlimLimits lim;
  lim.min_kb = 128 * 1024;
  int on_stack = 0;
  lim.keep_address = reinterpret_cast<uintptr_t>(&on_stack);
  forkguard::SlimPlan plan;
  REQUIRE(forkguard::plan_slim_fork("/proc/self/smaps", lim, plan) == 0);
  bool planned = false;
  for (int i = 0; i < plan.n; ++i) planned |= plan.regions[i].start <= addr && addr < plan.regions[i].end;
  REQUIRE(planned);
  forkguard::ChargeSummary before;
  REQUIRE(forkguard::measure_charge_smaps("/proc/self/smaps", before) == 0);
  CHECK(plan.remaining_charge_kb == before.charge_kb - plan.excluded_kb);

  SECTION("a child that does not touch the region runs normally") {
    const pid_t pid = forkguard::slim_fork(plain_fork, plan, "test+0x1");
    if (pid == 0) _exit(on_stack + 3);
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 3);
  }
  SECTION("a child that touches the region dies of SIGSEGV with a forkguard message") {
    int pipefd[2];
    REQUIRE(pipe(pipefd) == 0);
    // Catch2 catches SIGSEGV itself; the diagnosis is only installed over the default action.
    struct sigaction dfl {}, catch2 {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGSEGV, &dfl, &catch2);
    const pid_t pid = forkguard::slim_fork(plain_fork, plan, "test+0x2");
    if (pid != 0) sigaction(SIGSEGV, &catch2, nullptr);
    if (pid == 0) {
      dup2(pipefd[1], STDERR_FILENO);
      volatile char c = region[0];
      (void)c;
      _exit(0);
    }
    REQUIRE(pid > 0);
    close(pipefd[1]);
    char msg[1024] = {};
    ssize_t n = read(pipefd[0], msg, sizeof msg - 1);
    close(pipefd[0]);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGSEGV);
    REQUIRE(n > 0);
    const std::string text(msg, static_cast<size_t>(n));
    CHECK(text.rfind("forkguard: child", 0) == 0);
    CHECK(text.find("test+0x2") != std::string::npos);
  }
  // The parent: its data intact and the region forkable again (no "dc" left behind).
  CHECK(region[0] == 7);
  CHECK_FALSE(has_dontcopy(addr));
  munmap(region, len);
}

TEST_CASE("slim fork never clears a DONTFORK the program set itself", "[slim][kernel]") {
  const size_t len = 256ull << 20;
  void* own = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(own != MAP_FAILED);
  REQUIRE(madvise(own, len, MADV_DONTFORK) == 0);
  forkguard::SlimLimits lim;
  lim.min_kb = 128 * 1024;
  forkguard::SlimPlan plan;
  REQUIRE(forkguard::plan_slim_fork("/proc/self/smaps", lim, plan) == 0);
  for (int i = 0; i < plan.n; ++i) CHECK_FALSE(plan.regions[i].start == reinterpret_cast<uintptr_t>(own));
  const pid_t pid = forkguard::slim_fork(plain_fork, plan, "test+0x3");
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(has_dontcopy(reinterpret_cast<uintptr_t>(own)));
  munmap(own, len);
}

TEST_CASE("in the mapping holding the TCB only untouched runs are excluded", "[slim][kernel]") {
  // Stands in for the main thread's TCB page merged into a large anonymous mapping (Linux 6.1).
  const size_t len = 256ull << 20;
  auto* region = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(region != MAP_FAILED);
  char* tcb = region + len / 2;
  tcb[0] = 1;  // touched, as a TCB is
  const auto lo = reinterpret_cast<uintptr_t>(region);
  const auto tp = reinterpret_cast<uintptr_t>(tcb);
  forkguard::SlimLimits lim;
  lim.min_kb = 64 * 1024;
  lim.tls_address = tp;
  forkguard::SlimPlan plan;
  REQUIRE(forkguard::plan_slim_fork("/proc/self/smaps", lim, plan) == 0);
  int below = 0, above = 0;
  for (int i = 0; i < plan.n; ++i) {
    const auto& r = plan.regions[i];
    CHECK_FALSE((tp >= r.start && tp < r.end));  // the TCB page stays in the child
    if (r.start == lo && r.end == tp) ++below;
    if (r.start == tp + static_cast<uintptr_t>(sysconf(_SC_PAGESIZE)) && r.end == lo + len) ++above;  // 4/16/64 KiB
  }
  CHECK(below == 1);
  CHECK(above == 1);

  // The slim fork's child can still use its thread pointer page and run.
  const pid_t pid = forkguard::slim_fork(plain_fork, plan, "test+0x4");
  if (pid == 0) _exit(tcb[0] == 1 ? 5 : 6);
  REQUIRE(pid > 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 5);
  munmap(region, len);
}

TEST_CASE("the slim plan is reused while /proc/self/maps is unchanged, and redone when it changes") {
  // Both ways of checking a reused plan: PROCMAP_QUERY (Linux 6.11+) and the maps hash (older).
  bool by_hash = false;
  SECTION("PROCMAP_QUERY") {}
  SECTION("maps hash") { by_hash = true; }
  forkguard::slim_plan_check_by_maps_hash(by_hash);
  const size_t len = 256ull << 20;
  void* region = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(region != MAP_FAILED);
  forkguard::SlimLimits lim;
  lim.min_kb = 128 * 1024;
  forkguard::SlimPlan first, second, third;
  bool reused = true;
  REQUIRE(forkguard::plan_slim_fork_cached(lim, first, reused) == 0);
  CHECK_FALSE(reused);  // a new mapping: smaps walked
  REQUIRE(forkguard::plan_slim_fork_cached(lim, second, reused) == 0);
  CHECK(reused);
  CHECK(second.n == first.n);
  CHECK(second.excluded_kb == first.excluded_kb);
  void* more = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(more != MAP_FAILED);
  REQUIRE(forkguard::plan_slim_fork_cached(lim, third, reused) == 0);
  CHECK_FALSE(reused);
  CHECK(third.excluded_kb >= first.excluded_kb + static_cast<int64_t>(len / 1024) - 16);  // less the kept top
  munmap(more, len);
  munmap(region, len);
  forkguard::slim_plan_check_by_maps_hash(false);
}

TEST_CASE("a reused slim plan is checked region by region: a changed planned region means a new plan") {
  const size_t len = 256ull << 20;
  auto* region = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(region != MAP_FAILED);
  const auto addr = reinterpret_cast<uintptr_t>(region);
  forkguard::SlimLimits lim;
  lim.min_kb = 128 * 1024;
  forkguard::SlimPlan plan;
  bool reused = true;
  auto planned = [&](uintptr_t a) {
    for (int i = 0; i < plan.n; ++i)
      if (plan.regions[i].start <= a && a < plan.regions[i].end) return true;
    return false;
  };
  REQUIRE(forkguard::plan_slim_fork_cached(lim, plan, reused) == 0);
  REQUIRE(planned(addr));
  // The first smaps walk may grow this thread's stack mapping (a layout change of its own).
  for (int i = 0; i < 3 && !(forkguard::plan_slim_fork_cached(lim, plan, reused) == 0 && reused); ++i) {
  }
  REQUIRE(reused);

  SECTION("read-only now: the same totals in statm's size, no longer a candidate") {
    // mprotect moves statm's data total too; either way the plan must not name the region.
    REQUIRE(mprotect(region, len, PROT_READ) == 0);
    REQUIRE(forkguard::plan_slim_fork_cached(lim, plan, reused) == 0);
    CHECK_FALSE(reused);
    CHECK_FALSE(planned(addr));
  }
  SECTION("replaced at the same address and size by a file mapping") {
    // Same statm size and data (a private writable file mapping counts as data too): only the
    // region check can see it, and a file mapping is never excluded.
    char path[] = "/tmp/forkguard-slim-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    REQUIRE(ftruncate(fd, static_cast<off_t>(len)) == 0);
    void* file = mmap(region, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
    close(fd);
    REQUIRE(file == region);
    REQUIRE(forkguard::plan_slim_fork_cached(lim, plan, reused) == 0);
    CHECK_FALSE(reused);
    CHECK_FALSE(planned(addr));
  }
  SECTION("a file mapping the plan left alone, swapped for an anonymous one of the same size") {
    // statm's totals come out the same: only the watched non-candidate can tell.
    char path[] = "/tmp/forkguard-slim-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    REQUIRE(ftruncate(fd, static_cast<off_t>(len)) == 0);
    auto* file = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    close(fd);
    REQUIRE(file != MAP_FAILED);
    REQUIRE(forkguard::plan_slim_fork_cached(lim, plan, reused) == 0);
    CHECK_FALSE(planned(reinterpret_cast<uintptr_t>(file)));
    REQUIRE(mmap(file, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == file);
    REQUIRE(forkguard::plan_slim_fork_cached(lim, plan, reused) == 0);
    CHECK_FALSE(reused);
    CHECK(planned(reinterpret_cast<uintptr_t>(file)));
    munmap(file, len);
  }
  SECTION("half of it unmapped") {
    REQUIRE(munmap(region + len / 2, len / 2) == 0);
    REQUIRE(forkguard::plan_slim_fork_cached(lim, plan, reused) == 0);
    CHECK_FALSE(reused);
    CHECK_FALSE(planned(addr + len / 2));
  }
  munmap(region, len);
}

namespace {
void* park(void* arg) {
  auto* fds = static_cast<int*>(arg);
  char c;
  while (read(fds[0], &c, 1) < 0 && errno == EINTR) {
  }
  return nullptr;
}
}  // namespace

TEST_CASE("a slim fork leaves another thread's descriptor in the child: glibc's fork child writes it", "[slim][kernel]") {
  // glibc keeps a thread's struct pthread at the top of its stack mapping, and the child of
  // fork() (reclaim_stacks) writes every other thread's descriptor: a thread stack of
  // FORKGUARD_SLIM_MIN or more is a candidate, but its top must stay in the child.
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  REQUIRE(pthread_attr_setstacksize(&attr, 256ull << 20) == 0);
  pthread_t thread;
  REQUIRE(pthread_create(&thread, &attr, park, fds) == 0);
  pthread_attr_destroy(&attr);
  forkguard::SlimLimits lim;
  lim.min_kb = 128 * 1024;
  int on_stack = 0;
  lim.keep_address = reinterpret_cast<uintptr_t>(&on_stack);
  forkguard::SlimPlan plan;
  REQUIRE(forkguard::plan_slim_fork("/proc/self/smaps", lim, plan) == 0);
  REQUIRE(plan.n > 0);  // the thread's stack is a candidate
  const pid_t pid = forkguard::slim_fork(plain_fork, plan, "test+0x5");  // glibc's fork: reclaim_stacks in the child
  if (pid == 0) _exit(4);
  REQUIRE(pid > 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 4);
  REQUIRE(write(fds[1], "x", 1) == 1);
  pthread_join(thread, nullptr);
  close(fds[0]);
  close(fds[1]);
}

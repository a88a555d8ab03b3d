/// @file slim_fork.cpp
/// @brief Slim fork: exclude large private mappings with MADV_DONTFORK for the length of a fork.
#include "forkguard/slim_fork.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "forkguard/fixed_writer.hpp"
#include "forkguard/owner_lock.hpp"

namespace forkguard {

namespace {

constexpr uintptr_t kGlibcHeapMax = 64ull << 20;  // glibc's non-main arenas: 64 MiB-aligned heaps

bool is_anonymous(const Vma& v) { return v.path.empty(); }

struct PlanCtx {
  const SlimLimits* limits;
  SlimPlan* plan;
};

void keep_charged(SlimPlan& plan, int64_t kb) {
  plan.remaining_charge_kb += kb;
  if (kb > plan.remaining_largest_kb) plan.remaining_largest_kb = kb;
}

void exclude(SlimPlan& plan, uintptr_t start, uintptr_t end) {
  plan.regions[plan.n++] = SlimRegion{start, end};
  plan.excluded_kb += static_cast<int64_t>((end - start) / 1024);
}

// In a mapping that holds the TCB, excludes only runs of at least min_kb of pages that were
// never touched (not resident): the TCB and whatever ld.so keeps beside it stay in the child.
void exclude_untouched_runs(const Vma& v, const SlimLimits& limits, SlimPlan& plan) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t min_bytes = static_cast<uintptr_t>(limits.min_kb) * 1024;
  unsigned char vec[4096];
  uintptr_t run_start = 0, kept_from = v.start;
  bool in_run = false;
  auto close_run = [&](uintptr_t at) {
    if (in_run && at - run_start >= min_bytes && plan.n < SlimPlan::kMax) {
      keep_charged(plan, static_cast<int64_t>((run_start - kept_from) / 1024));
      exclude(plan, run_start, at);
      kept_from = at;
    }
    in_run = false;
  };
  for (uintptr_t chunk = v.start; chunk < v.end;) {
    const uintptr_t len = std::min<uintptr_t>(v.end - chunk, sizeof vec * page);
    if (mincore(reinterpret_cast<void*>(chunk), len, vec) != 0) {
      close_run(chunk);
      break;  // unknown residency from here on: keep the rest
    }
    for (uintptr_t i = 0; i < len / page; ++i) {
      const uintptr_t addr = chunk + i * page;
      const bool untouched = (vec[i] & 1) == 0 && !(limits.tls_address >= addr && limits.tls_address < addr + page);
      if (untouched && !in_run) {
        run_start = addr;
        in_run = true;
      } else if (!untouched) {
        close_run(addr);
      }
    }
    chunk += len;
  }
  close_run(v.end);
  keep_charged(plan, static_cast<int64_t>((v.end - kept_from) / 1024));
}

void add_candidate(const Vma& v, void* ctx) {
  auto* c = static_cast<PlanCtx*>(ctx);
  SlimPlan& plan = *c->plan;
  if (!slim_candidate(v, *c->limits) || plan.n >= SlimPlan::kMax) {
    if (v.charged_by_fork()) keep_charged(plan, static_cast<int64_t>(v.size_kb()));  // what the slim fork costs
    return;
  }
  if (c->limits->tls_address >= v.start && c->limits->tls_address < v.end) {
    plan.split_tcb_mapping = true;
    exclude_untouched_runs(v, *c->limits, plan);
    return;
  }
  exclude(plan, static_cast<uintptr_t>(v.start), static_cast<uintptr_t>(v.end));
}

void smaps_chunk(const char* data, size_t len, void* ctx) { static_cast<SmapsParser*>(ctx)->feed(data, len); }

// The child's copy of the plan, read by its SIGSEGV handler (static: the handler may not allocate).
SlimPlan g_child_plan;
char g_child_site[128];

void on_child_segv(int sig, siginfo_t* info, void*) {
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (int i = 0; i < g_child_plan.n; ++i) {
    const SlimRegion& r = g_child_plan.regions[i];
    if (addr < r.start || addr >= r.end) continue;
    char msg[512];
    FixedWriter w(msg, sizeof msg);
    w.put("forkguard: child ");
    w.put_int(getpid());
    w.put(" of the slim fork at ");
    w.put(g_child_site);
    w.put(" touched 0x");
    w.put_hex(addr);
    w.put(" in a region the fork excluded [0x");
    w.put_hex(r.start);
    w.put("-0x");
    w.put_hex(r.end);
    w.put(") of ");
    w.put_int(static_cast<int64_t>((r.end - r.start) >> 20));
    w.put(" MiB; raise FORKGUARD_SLIM_MIN or run this site in observe mode\n");
    ssize_t ignored = write(STDERR_FILENO, msg, w.size());
    (void)ignored;
    break;
  }
  signal(sig, SIG_DFL);  // returning re-runs the access, which now ends the child as before
}

}  // namespace

std::atomic<pid_t>& fork_turn_lock() {
  static std::atomic<pid_t> word{0};
  return word;
}

bool slim_candidate(const Vma& v, const SlimLimits& limits) {
  if (!v.have_flags || !v.charged_by_fork() || !v.is_private || !v.writable) return false;
  if (static_cast<int64_t>(v.size_kb()) < limits.min_kb) return false;
  if (!is_anonymous(v)) return false;  // [heap], [stack], files: the child may well need them
  if (limits.keep_address >= v.start && limits.keep_address < v.end) return false;
  // A glibc arena heap (64 MiB-aligned, at most 64 MiB): the child's malloc may live there.
  if (v.start % kGlibcHeapMax == 0 && v.end - v.start <= kGlibcHeapMax) return false;
  return true;
}

int plan_slim_fork(const char* smaps_path, const SlimLimits& limits, SlimPlan& plan) {
  plan = SlimPlan{};
  PlanCtx ctx{&limits, &plan};
  SmapsParser parser(add_candidate, &ctx);
  if (stream_file(smaps_path, smaps_chunk, &parser) != 0) return -1;
  parser.finish();
  return 0;
}

namespace {

// The last plan, reused while /proc/self/maps reads the same: walking smaps costs the kernel a
// page-table walk of the whole process (9-18 ms at 1 GiB resident, 26-49 ms at 4 GiB), reading
// maps about 30 us. A plan that split the TCB's mapping by residency is never reused.
struct PlanCache {
  bool valid = false;
  uint64_t maps_hash = 0;
  int64_t min_kb = 0;
  pid_t tid = 0;
  SlimPlan plan;
};
PlanCache g_plan_cache;
std::atomic<pid_t> g_plan_lock{0};

void hash_chunk(const char* data, size_t len, void* ctx) {
  auto* h = static_cast<uint64_t*>(ctx);
  for (size_t i = 0; i < len; ++i) *h = (*h ^ static_cast<unsigned char>(data[i])) * 0x100000001b3ull;  // FNV-1a
}

}  // namespace

int plan_slim_fork_cached(const SlimLimits& limits, SlimPlan& plan, bool& reused) {
  reused = false;
  uint64_t hash = 0xcbf29ce484222325ull;
  if (stream_file("/proc/self/maps", hash_chunk, &hash) != 0) return plan_slim_fork("/proc/self/smaps", limits, plan);
  const auto tid = static_cast<pid_t>(syscall(SYS_gettid));
  OwnerLockGuard guard(g_plan_lock);
  PlanCache& c = g_plan_cache;
  if (c.valid && c.maps_hash == hash && c.min_kb == limits.min_kb && c.tid == tid) {
    plan = c.plan;
    reused = true;
    return 0;
  }
  const int rc = plan_slim_fork("/proc/self/smaps", limits, plan);
  c.valid = rc == 0 && !plan.split_tcb_mapping;
  c.maps_hash = hash;
  c.min_kb = limits.min_kb;
  c.tid = tid;
  c.plan = plan;
  return rc;
}

pid_t slim_fork(pid_t (*real_fork)(), const SlimPlan& plan, const char* site) {
  // Another thread's fork inside the window would lose the regions too: forks take turns.
  OwnerLockGuard turn(fork_turn_lock());
  int marked = 0;
  for (; marked < plan.n; ++marked) {
    const SlimRegion& r = plan.regions[marked];
    if (madvise(reinterpret_cast<void*>(r.start), r.end - r.start, MADV_DONTFORK) != 0) break;
  }
  g_child_plan = plan;
  g_child_plan.n = marked;
  copy_cstr(g_child_site, sizeof g_child_site, site);

  const pid_t pid = real_fork();
  const int err = errno;
  if (pid == 0) {
    struct sigaction old {};
    // Only where the program has no SIGSEGV handler of its own: never replace the program's.
    if (sigaction(SIGSEGV, nullptr, &old) == 0 && old.sa_handler == SIG_DFL && (old.sa_flags & SA_SIGINFO) == 0) {
      struct sigaction sa {};
      sa.sa_sigaction = on_child_segv;
      sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
      sigemptyset(&sa.sa_mask);
      sigaction(SIGSEGV, &sa, nullptr);
    }
    errno = err;
    return 0;
  }
  // Parent: exactly the regions marked above, none of the program's own DONTFORK ones.
  for (int i = 0; i < marked; ++i) {
    const SlimRegion& r = plan.regions[i];
    madvise(reinterpret_cast<void*>(r.start), r.end - r.start, MADV_DOFORK);
  }
  errno = err;
  return pid;
}

}  // namespace forkguard

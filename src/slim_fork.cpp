/// @file slim_fork.cpp
/// @brief Slim fork: exclude large private mappings with MADV_DONTFORK for the length of a fork.
#include "forkguard/slim_fork.hpp"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/ioctl.h>
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
// Kept at the top of every excluded mapping: a thread stack's struct pthread (2.3 KiB in glibc
// 2.36, at the very top, aligned to the static TLS alignment) with room to spare.
constexpr uintptr_t kKeepTop = 16 * 1024;

bool is_anonymous(const Vma& v) { return v.path.empty(); }

// The mappings whose change could change the plan: every private writable one of at least
// min_kb, chosen or not. A reused plan is checked against them (PROCMAP_QUERY).
struct Watched {
  // Initialisers make PlanCache constant-initialised: no static constructor writing its pages in
  // every process that loads the shim (two page faults in every exec'd child; bench/README.md).
  uintptr_t start = 0, end = 0;
  bool named = false;  // named: a file, [heap], [stack] or another name; otherwise plain anonymous
};
struct WatchList {
  static constexpr int kMax = 128;
  Watched v[kMax];
  int n = 0;
  bool overflow = false;
};

struct PlanCtx {
  const SlimLimits* limits;
  SlimPlan* plan;
  WatchList* watch;         // may be null
  uint64_t prev_end = 0;    // the previous mapping's end, and whether it was a ---p guard
  bool prev_guard = false;
};

void watch(const Vma& v, PlanCtx& c) {
  if (c.watch == nullptr || !v.is_private || !v.writable || static_cast<int64_t>(v.size_kb()) < c.limits->min_kb) return;
  WatchList& w = *c.watch;
  if (w.n == WatchList::kMax) {
    w.overflow = true;
    return;
  }
  w.v[w.n++] = Watched{static_cast<uintptr_t>(v.start), static_cast<uintptr_t>(v.end), !v.path.empty()};
}

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
  watch(v, *c);
  // Directly above a ---p guard: maybe a thread stack, whose descriptor glibc's fork child writes.
  // The kernel may have merged it with a (short-lived) neighbour above, so its top is not the
  // mapping's: only never-touched runs are excluded there.
  const bool after_guard = c->prev_guard && c->prev_end == v.start;
  c->prev_guard = !v.readable && !v.writable && !v.executable && v.is_private;
  c->prev_end = v.end;
  if (!slim_candidate(v, *c->limits) || plan.n >= SlimPlan::kMax) {
    if (v.charged_by_fork()) keep_charged(plan, static_cast<int64_t>(v.size_kb()));  // what the slim fork costs
    return;
  }
  if (c->limits->tls_address >= v.start && c->limits->tls_address < v.end) {
    plan.split_tcb_mapping = true;
    exclude_untouched_runs(v, *c->limits, plan);
    return;
  }
  if (after_guard) {
    exclude_untouched_runs(v, *c->limits, plan);
    return;
  }
  // The top stays in the child: when the mapping is a thread's stack, glibc keeps the thread's
  // struct pthread there, and the child of fork() writes every other thread's (reclaim_stacks).
  if (v.end - v.start <= 2 * kKeepTop) {  // FORKGUARD_SLIM_MIN below 32k: too small to split
    keep_charged(plan, static_cast<int64_t>(v.size_kb()));
    return;
  }
  const uintptr_t end = static_cast<uintptr_t>(v.end) - kKeepTop;
  keep_charged(plan, static_cast<int64_t>(kKeepTop / 1024));
  exclude(plan, static_cast<uintptr_t>(v.start), end);
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

namespace {

int plan_watching(const char* smaps_path, const SlimLimits& limits, SlimPlan& plan, WatchList* watch) {
  plan = SlimPlan{};
  PlanCtx ctx{&limits, &plan, watch};
  SmapsParser parser(add_candidate, &ctx);
  if (stream_file(smaps_path, smaps_chunk, &parser) != 0) return -1;
  parser.finish();
  return 0;
}

}  // namespace

int plan_slim_fork(const char* smaps_path, const SlimLimits& limits, SlimPlan& plan) {
  return plan_watching(smaps_path, limits, plan, nullptr);
}

namespace {

// The last plan, reused while the layout is unchanged: walking smaps costs the kernel a
// page-table walk of the whole process (9-18 ms at 1 GiB resident, 26-49 ms at 4 GiB). A plan
// that split the TCB's mapping by residency is never reused.
struct PlanCache {
  bool valid = false;
  bool by_query = false;  // checked with PROCMAP_QUERY + statm, else by the maps text's hash
  uint64_t maps_hash = 0;
  int64_t vm_pages = 0, data_pages = 0;  // statm size and data when the plan was made
  int64_t min_kb = 0;
  pid_t tid = 0;
  SlimPlan plan;
  WatchList watched;
};
PlanCache g_plan_cache;
std::atomic<pid_t> g_plan_lock{0};

void hash_chunk(const char* data, size_t len, void* ctx) {
  auto* h = static_cast<uint64_t*>(ctx);
  for (size_t i = 0; i < len; ++i) *h = (*h ^ static_cast<unsigned char>(data[i])) * 0x100000001b3ull;  // FNV-1a
}

// PROCMAP_QUERY (Linux 6.11, include/uapi/linux/fs.h): one VMA by address for 0.4 us, where
// reading /proc/self/maps costs 20 us at 60 mappings and 1 ms at 5,000. Debian 12's headers
// predate it.
struct ProcmapQuery {
  uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
  uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
  uint64_t vma_name_addr, build_id_addr;
};
constexpr unsigned long kProcmapQuery = _IOWR('f', 17, ProcmapQuery);
constexpr uint64_t kQueryWrite = 2, kQueryShared = 8;  // enum procmap_query_flags

// Whether this kernel answers PROCMAP_QUERY (probed once: 0 unknown, 1 yes, 2 no).
std::atomic<int> g_query_state{0};

bool query_supported() {
  int state = g_query_state.load(std::memory_order_relaxed);
  if (state == 0) {
    ProcmapQuery q{};
    q.size = sizeof q;
    q.query_addr = reinterpret_cast<uintptr_t>(&q);  // our own stack: always mapped
    const int saved = errno;
    const int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      errno = saved;
      return false;  // undecided: ask again next time
    }
    state = ioctl(fd, kProcmapQuery, &q) == 0 ? 1 : 2;  // ENOTTY before Linux 6.11
    close(fd);
    errno = saved;  // a fork child sees the caller's errno
    g_query_state.store(state, std::memory_order_relaxed);
  }
  return state == 1;
}

// What /proc/self/statm says now: total and data+stack pages (any mmap, munmap, mremap, brk or
// mprotect of writable memory moves one of them). false when unreadable.
bool statm_now(int64_t& vm_pages, int64_t& data_pages) {
  char buf[128];
  const long n = read_small_file("/proc/self/statm", buf, sizeof buf);
  ProcStatm st;
  if (n <= 0 || !parse_statm(std::string_view(buf, static_cast<size_t>(n)), st)) return false;
  vm_pages = st.size;
  data_pages = st.data;
  return true;
}

// Whether every watched mapping is still there with the same extent, permissions and kind. With
// statm's totals unchanged too, a fresh plan would choose the same regions: a new candidate moves
// both totals, and a watched mapping that went away to make up for it is seen here. Left unseen:
// a new candidate that exactly makes up for several removed private writable mappings each
// smaller than FORKGUARD_SLIM_MIN (it stays in the child: a heavier fork, never a missing page).
bool watched_unchanged(const WatchList& w) {
  if (w.n == 0) return true;  // nothing large enough to matter: statm alone decides
  const int saved = errno;  // a failed query (ENOENT: the expected answer to a change) sets it
  const int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);  // fresh: an fd names the mm it was opened in
  if (fd < 0) {
    errno = saved;
    return false;
  }
  bool same = true;
  for (int i = 0; i < w.n && same; ++i) {
    const Watched& m = w.v[i];
    char name[PATH_MAX];
    ProcmapQuery q{};
    q.size = sizeof q;
    q.query_addr = m.start;
    q.vma_name_addr = reinterpret_cast<uintptr_t>(name);
    q.vma_name_size = sizeof name;
    same = ioctl(fd, kProcmapQuery, &q) == 0 && q.vma_start == m.start && q.vma_end == m.end &&
           (q.vma_flags & (kQueryWrite | kQueryShared)) == kQueryWrite && (q.vma_name_size != 0) == m.named;
  }
  close(fd);
  errno = saved;
  return same;
}

// Fills the cache from a fresh plan. Caller holds g_plan_lock.
int replan(PlanCache& c, const SlimLimits& limits, SlimPlan& plan, pid_t tid) {
  c.watched.n = 0;
  c.watched.overflow = false;
  const int rc = plan_watching("/proc/self/smaps", limits, plan, &c.watched);
  c.valid = rc == 0 && !plan.split_tcb_mapping;
  c.min_kb = limits.min_kb;
  c.tid = tid;
  c.plan = plan;
  return rc;
}

}  // namespace

void slim_plan_check_by_maps_hash(bool on) { g_query_state.store(on ? 2 : 0, std::memory_order_relaxed); }

int plan_slim_fork_cached(const SlimLimits& limits, SlimPlan& plan, bool& reused) {
  reused = false;
  const auto tid = static_cast<pid_t>(syscall(SYS_gettid));
  OwnerLockGuard guard(g_plan_lock);
  PlanCache& c = g_plan_cache;
  const bool same_caller = c.valid && c.min_kb == limits.min_kb && c.tid == tid;
  int64_t vm = 0, data = 0;
  if (query_supported() && statm_now(vm, data)) {
    // Taken before a replan's smaps walk: a change during the walk only costs another replan.
    if (same_caller && c.by_query && !c.watched.overflow && c.vm_pages == vm && c.data_pages == data &&
        watched_unchanged(c.watched)) {
      plan = c.plan;
      reused = true;
      return 0;
    }
    const int rc = replan(c, limits, plan, tid);
    c.by_query = true;
    c.vm_pages = vm;
    c.data_pages = data;
    return rc;
  }
  // Linux before 6.11: the whole maps text, hashed.
  uint64_t hash = 0xcbf29ce484222325ull;
  if (stream_file("/proc/self/maps", hash_chunk, &hash) != 0) return plan_slim_fork("/proc/self/smaps", limits, plan);
  if (same_caller && !c.by_query && c.maps_hash == hash) {
    plan = c.plan;
    reused = true;
    return 0;
  }
  const int rc = replan(c, limits, plan, tid);
  c.by_query = false;
  c.maps_hash = hash;
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
  // The child's sigaction() would otherwise be bound lazily (ld.so's _dl_fixup) in every child,
  // about ten page faults on the child's way to exec: bind it here, in the parent, once.
  static std::atomic<bool> sigaction_bound{false};
  if (!sigaction_bound.load(std::memory_order_relaxed)) {
    struct sigaction probe {};
    sigaction(SIGSEGV, nullptr, &probe);
    sigaction_bound.store(true, std::memory_order_relaxed);
  }

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

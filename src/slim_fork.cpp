/// @file slim_fork.cpp
/// @brief Slim fork: the cached layout, the check of never-written regions, and the window in
/// which the plan's regions are marked MADV_DONTFORK.
#include "forkguard/slim_fork.hpp"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "forkguard/never_written.hpp"
#include "forkguard/owned_fd.hpp"
#include "forkguard/owner_lock.hpp"
#include "forkguard/picture.hpp"
#include "forkguard/slim_child.hpp"

namespace forkguard {

namespace {

// ---- /proc/self/pagemap, kept open: every slim fork reads it, and so does its child ----

struct OwnPagemap {
  int fd = -1;
  pid_t owner = 0;
  FdIdentity id;
};
OwnPagemap g_pagemap;  // used under the fork turn only

// This process's pagemap at a high close-on-exec number, checked before each use. A fork child
// inherits the parent's (which reads the parent's pages): it opens its own.
int self_pagemap() {
  const pid_t me = getpid();
  OwnPagemap& p = g_pagemap;
  const bool ours = p.fd >= 0 && check_owned(p.fd, p.id) == FdState::ours;
  if (ours && p.owner == me) return p.fd;
  const int saved = errno;
  if (ours) close(p.fd);  // the parent's, inherited by this fork child
  p.fd = -1;
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) fd = adopt_high(fd, p.id);
  errno = saved;
  if (fd < 0) return -1;
  p.fd = fd;
  p.owner = me;
  return fd;
}

// ---- the layout cache ----

// The mappings whose change could change the layout: every private writable one of at least
// min_kb, chosen or not. A reused layout is checked against them (PROCMAP_QUERY).
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

struct LayoutCache {
  bool valid = false;
  bool by_query = false;  // checked with PROCMAP_QUERY + statm, else by the maps text's hash
  uint64_t maps_hash = 0;
  int64_t vm_pages = 0, data_pages = 0;  // statm size and data when the layout was made
  int64_t min_kb = 0;
  SlimLayout layout;
  WatchList watched;
};
LayoutCache g_cache;  // under the fork turn

void watch_vma(const Vma& v, WatchList& w, int64_t min_kb) {
  if (!v.is_private || !v.writable || static_cast<int64_t>(v.size_kb()) < min_kb) return;
  if (w.n == WatchList::kMax) {
    w.overflow = true;
    return;
  }
  w.v[w.n++] = Watched{static_cast<uintptr_t>(v.start), static_cast<uintptr_t>(v.end), !v.path.empty()};
}

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
// statm's totals unchanged too, a fresh layout would list the same mappings: a new candidate
// moves both totals, and a watched mapping that went away to make up for it is seen here.
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

int build_layout(LayoutCache& c, const SlimLimits& limits, int pagemap) {
  c.watched.n = 0;
  c.watched.overflow = false;
  const int rc = build_slim_layout(
      "/proc/self/smaps", pagemap, limits, c.layout,
      [](const Vma& v, void* ctx) {
        auto* c = static_cast<LayoutCache*>(ctx);
        watch_vma(v, c->watched, c->min_kb);
      },
      &c);
  if (rc == 0) add_loaded_bss(c.layout);
  c.valid = rc == 0;
  c.min_kb = limits.min_kb;
  return rc;
}

// Whether the cached layout still describes the process (and refreshes its validity keys).
bool layout_current(LayoutCache& c, const SlimLimits& limits, int pagemap, bool& reused) {
  reused = false;
  const bool same_limits = c.valid && c.min_kb == limits.min_kb;
  int64_t vm = 0, data = 0;
  if (query_supported() && statm_now(vm, data)) {
    // Taken before a rebuild's smaps walk: a change during the walk only costs another rebuild.
    if (same_limits && c.by_query && !c.watched.overflow && c.vm_pages == vm && c.data_pages == data &&
        watched_unchanged(c.watched)) {
      reused = true;
      return true;
    }
    c.min_kb = limits.min_kb;
    if (build_layout(c, limits, pagemap) != 0) return false;
    c.by_query = true;
    c.vm_pages = vm;
    c.data_pages = data;
    return true;
  }
  // Linux before 6.11: the whole maps text, hashed.
  uint64_t hash = 0xcbf29ce484222325ull;
  if (stream_file("/proc/self/maps", hash_chunk, &hash) != 0) hash = 0;
  if (same_limits && !c.by_query && hash != 0 && c.maps_hash == hash) {
    reused = true;
    return true;
  }
  c.min_kb = limits.min_kb;
  if (build_layout(c, limits, pagemap) != 0) return false;
  c.by_query = false;
  c.maps_hash = hash;
  c.valid = hash != 0;
  return true;
}

// Drops from the layout every never-written run or mapping that holds `written` pages now.
void forget_written(SlimLayout& layout, const SlimRegion& region) {
  for (int i = 0; i < layout.nmaps; ++i) {
    SlimMapping& m = layout.maps[i];
    if (m.never_written && region.start == m.start && region.end == m.end) m.never_written = false;
  }
  for (int r = 0; r < layout.nruns; ++r) {
    if (layout.runs[r].start == region.start && layout.runs[r].end == region.end) layout.runs[r].end = region.start;
  }
}

}  // namespace

std::atomic<pid_t>& fork_turn_lock() {
  static std::atomic<pid_t> word{0};
  return word;
}

void slim_plan_check_by_maps_hash(bool on) { g_query_state.store(on ? 2 : 0, std::memory_order_relaxed); }

int plan_slim_fork(const char* smaps_path, const SlimLimits& limits, const CommitInputs& rule, SlimPlan& plan) {
  static SlimLayout layout;  // 20 KiB: not on the caller's stack (tests, the CLI)
  const int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  const int rc = build_slim_layout(smaps_path, pagemap, limits, layout, nullptr, nullptr);
  if (pagemap >= 0) close(pagemap);
  if (rc == 0 && smaps_path != nullptr && std::string_view(smaps_path) == "/proc/self/smaps") add_loaded_bss(layout);
  if (rc != 0) return -1;
  choose_slim_regions(layout, limits, rule, plan);
  return 0;
}

int plan_slim_fork_cached(const SlimLimits& limits, const CommitInputs& rule, SlimPlan& plan, bool& reused) {
  LayoutCache& c = g_cache;
  const int pagemap = self_pagemap();
  if (!layout_current(c, limits, pagemap, reused)) {
    c.valid = false;
    return -1;
  }
  // Every never-written region chosen is checked now: the layout may be older than the last
  // write. A region written since means a fresh layout; one written even then is left in.
  for (int attempt = 0; attempt < 4; ++attempt) {
    choose_slim_regions(c.layout, limits, rule, plan);
    bool clean = true;
    for (int i = 0; i < plan.n; ++i) {
      const SlimRegion& r = plan.regions[i];
      if (r.written || never_written(pagemap, r.start, r.end) == 1) continue;
      clean = false;
      if (attempt > 0) forget_written(c.layout, r);
    }
    if (clean) {
      split_never_written(plan, pagemap);
      return 0;
    }
    if (attempt == 0) {
      reused = false;
      if (build_layout(c, limits, pagemap) != 0) {
        c.valid = false;
        return -1;
      }
    }
  }
  c.valid = false;  // written under our feet again and again: the next fork starts afresh
  plan = SlimPlan{};
  return 0;
}

pid_t slim_fork(pid_t (*real_fork)(), const SlimPlan& plan, const char* site, int overcommit_mode) {
  // Another thread's fork inside the window would lose the regions too: forks take turns.
  OwnerLockGuard turn(fork_turn_lock());
  int marked = 0;
  for (; marked < plan.n; ++marked) {
    const SlimRegion& r = plan.regions[marked];
    if (madvise(reinterpret_cast<void*>(r.start), r.end - r.start, MADV_DONTFORK) != 0) {
      // ENOMEM for a hole unmapped meanwhile still marked the mapped rest: never leave that behind.
      madvise(reinterpret_cast<void*>(r.start), r.end - r.start, MADV_DOFORK);
      break;
    }
  }
  SlimPlan armed = plan;
  armed.n = marked;
  SlimChildState& state = slim_child_state();
  // The child reads the parent's page tables through this descriptor (slim_child.cpp): pages
  // another thread writes between the check and the fork get no zeros in the child.
  slim_child_arm(armed, overcommit_mode, self_pagemap(), reinterpret_cast<uintptr_t>(&state), site);
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
    if (__atomic_load_n(&state.armed, __ATOMIC_ACQUIRE)) slim_child_after_fork();  // no atfork handlers ran (_Fork)
    errno = err;
    return 0;
  }
  slim_child_disarm();
  // Parent: exactly the regions marked above, none of the program's own DONTFORK ones.
  for (int i = 0; i < marked; ++i) {
    const SlimRegion& r = plan.regions[i];
    madvise(reinterpret_cast<void*>(r.start), r.end - r.start, MADV_DOFORK);
  }
  forget_smaps_walks();  // a walk made while the regions were marked saw a smaller charge
  errno = err;
  return pid;
}

}  // namespace forkguard

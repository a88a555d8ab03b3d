/// @file slim_child.cpp
/// @brief The slim fork's child: zeros where never-written memory was left out (atfork child
/// handler), so that it reads what the parent would have given it, at no charge.
#include "forkguard/slim_child.hpp"

#include <link.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "forkguard/fixed_writer.hpp"
#include "forkguard/never_written.hpp"
#include "forkguard/probe.hpp"
#include "forkguard/slim_fault.hpp"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000  // Linux 4.17; older kernels take it as a hint
#endif

extern "C" void* __libc_stack_end;  // ld.so's: the main thread's stack top at start

namespace forkguard {

namespace {

SlimChildState g_state;
std::atomic<bool> g_registered{false};
std::atomic<uintptr_t> g_main_tp{0};
std::atomic<uintptr_t> g_static_tls{0};

// Sums the PT_TLS segments of the loaded modules (in the constructor: no lock of ours is held).
uintptr_t static_tls_now() {
  uintptr_t sum = 0;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* ctx) {
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type == PT_TLS) *static_cast<uintptr_t*>(ctx) += ph.p_memsz + ph.p_align;
        }
        return 0;
      },
      &sum);
  return sum;
}

// Occupied ranges inside [lo, hi), read from /proc/self/maps in the child (syscalls only).
struct Occupied {
  static constexpr int kMax = 64;
  uintptr_t lo, hi;
  uintptr_t start[kMax], end[kMax];
  int n = 0;
  bool overflow = false;
};

void maps_chunk(const char* data, size_t len, void* ctx) { static_cast<SmapsParser*>(ctx)->feed(data, len); }

bool find_occupied(Occupied& occ) {
  SmapsParser parser(
      [](const Vma& v, void* c) {
        auto* o = static_cast<Occupied*>(c);
        if (v.end <= o->lo || v.start >= o->hi) return;
        if (o->n == Occupied::kMax) {
          o->overflow = true;
          return;
        }
        o->start[o->n] = static_cast<uintptr_t>(v.start);
        o->end[o->n++] = static_cast<uintptr_t>(v.end);
      },
      &occ);
  if (stream_file("/proc/self/maps", maps_chunk, &parser) != 0) return false;
  parser.finish();
  return !occ.overflow;
}

// One MAP_FIXED_NOREPLACE attempt: true when [start, end) is now our zero mapping.
bool map_exactly(uintptr_t start, uintptr_t end, int prot) {
  void* want = reinterpret_cast<void*>(start);
  void* got = mmap(want, end - start, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (got == want) return true;
  if (got != MAP_FAILED) munmap(got, end - start);  // a kernel that ignores the flag placed it elsewhere
  return false;
}

int64_t monotonic_ns() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The parent's pages in the never-written regions that are written now: another thread of the
// parent wrote them between the check before the fork and the fork itself (or after it; the
// child cannot tell). The child gets no zeros there, so it never reads zeros instead of data:
// it lacks those pages, like written memory left out (a fault record if it touches them).
void find_holes(SlimChildState& s) {
  s.nholes = 0;
  if (s.parent_pagemap < 0 || scan_method(s.parent_pagemap) != ScanMethod::pagemap_scan) return;
  bool overflow = false;
  for (int i = 0; i < s.plan.n && !overflow; ++i) {
    const SlimRegion& r = s.plan.regions[i];
    if (r.written) continue;
    struct Ctx {
      SlimChildState* s;
      bool* overflow;
    } ctx{&s, &overflow};
    const int rc = scan_written(
        s.parent_pagemap, r.start, r.end,
        [](uintptr_t a, uintptr_t b, void* c) {
          auto* x = static_cast<Ctx*>(c);
          if (x->s->nholes == SlimChildState::kMaxHoles) {
            *x->overflow = true;
            return;
          }
          x->s->holes[x->s->nholes++] = SlimRegion{a, b, true, false};
        },
        &ctx);
    if (rc != 0) overflow = true;
  }
  // Memory that is gone (the parent exited or exec'd meanwhile) reads as never written: then
  // the check made before the fork is all there is.
  if (!pagemap_alive(s.parent_pagemap, s.alive_probe)) {
    s.nholes = 0;
    return;
  }
  if (overflow) {  // too many to list: no zeros at all in the regions the parent touched
    s.nholes = -1;
  }
}

// Zeros over [start, end) less the holes.
uintptr_t map_region(const SlimChildState& s, const SlimRegion& r, int prot) {
  if (s.nholes < 0) return 0;
  uintptr_t mapped = 0, at = r.start;
  while (at < r.end) {
    uintptr_t stop = r.end, next = r.end;  // the first hole at or after `at`
    for (int h = 0; h < s.nholes; ++h) {
      if (s.holes[h].end > at && s.holes[h].start < stop) {
        stop = s.holes[h].start > at ? s.holes[h].start : at;
        next = s.holes[h].end;
      }
    }
    if (stop > at) mapped += map_zeros_around(at, stop, prot);
    at = next > stop ? next : r.end;
  }
  return mapped;
}

}  // namespace

uintptr_t map_zeros_around(uintptr_t start, uintptr_t end, int prot) {
  if (end <= start) return 0;
  if (map_exactly(start, end, prot)) return end - start;
  // Something is there already (a handler registered before ours, glibc itself): map around it.
  Occupied occ;
  occ.lo = start;
  occ.hi = end;
  if (!find_occupied(occ)) return 0;
  uintptr_t mapped = 0, at = start;
  while (at < end) {
    uintptr_t gap_end = end, next = end;
    for (int i = 0; i < occ.n; ++i) {
      if (occ.end[i] > at && occ.start[i] < gap_end) {
        gap_end = occ.start[i] > at ? occ.start[i] : at;
        next = occ.end[i];
      }
    }
    if (gap_end > at && map_exactly(at, gap_end, prot)) mapped += gap_end - at;
    at = next > gap_end ? next : end;
  }
  return mapped;
}

// Whether the calling thread is the process's main one, without a syscall (the constructor runs
// in every exec'd child): its stack is the one below __libc_stack_end; another thread's stack is
// an mmap at least the kernel's stack gap (128 MiB) below it.
static bool on_main_thread_stack() {
  int here = 0;
  const auto top = reinterpret_cast<uintptr_t>(__libc_stack_end);
  const auto local = reinterpret_cast<uintptr_t>(&here);
  return top != 0 && local < top && top - local < (uintptr_t{64} << 20);
}

void slim_register_atfork() {
  if (g_main_tp.load(std::memory_order_relaxed) == 0 && on_main_thread_stack()) {
    g_main_tp.store(reinterpret_cast<uintptr_t>(__builtin_thread_pointer()), std::memory_order_relaxed);
    g_static_tls.store(static_tls_now(), std::memory_order_relaxed);
  }
  if (g_registered.exchange(true)) return;
  pthread_atfork(nullptr, nullptr, slim_child_after_fork);
}

uintptr_t slim_main_thread_pointer() { return g_main_tp.load(std::memory_order_relaxed); }

uintptr_t slim_static_tls_bytes() { return g_static_tls.load(std::memory_order_relaxed); }

SlimChildState& slim_child_state() { return g_state; }

void slim_child_arm(const SlimPlan& plan, int overcommit_mode, int parent_pagemap, uintptr_t alive_probe,
                    const char* site) {
  SlimChildState& s = g_state;
  s.plan = plan;
  // Modes 0 and 1 do not charge a MAP_NORESERVE mapping: the child may even write its zeros. Mode
  // 2 (or unknown) charges every writable private mapping: read-only zeros, a write faults.
  s.zeros_writable = overcommit_mode == 0 || overcommit_mode == 1;
  s.parent_pagemap = parent_pagemap;
  s.alive_probe = alive_probe;
  copy_cstr(s.site, sizeof s.site, site);
  s.fork_ns = monotonic_ns();
  s.nholes = 0;
  s.zeros_kb = 0;
  // One thread: no other thread can hold a lock the child's unwinder would wait for. (The task
  // directory's link count is 2 + threads; glibc's __libc_single_threaded needs glibc 2.32.)
  struct stat task {};
  s.parent_single_threaded = stat("/proc/self/task", &task) == 0 && task.st_nlink == 3;
  __atomic_store_n(&s.armed, true, __ATOMIC_RELEASE);
}

void slim_child_disarm() { __atomic_store_n(&g_state.armed, false, __ATOMIC_RELEASE); }

void slim_child_after_fork() {
  SlimChildState& s = g_state;
  if (!__atomic_load_n(&s.armed, __ATOMIC_ACQUIRE)) return;
  s.armed = false;
  const int saved = errno;
  slim_fault_install();  // first: a fault from here on is recorded
  find_holes(s);
  const int prot = s.zeros_writable ? PROT_READ | PROT_WRITE : PROT_READ;
  uintptr_t mapped = 0;
  for (int i = 0; i < s.plan.n; ++i) {
    const SlimRegion& r = s.plan.regions[i];
    if (!r.written) mapped += map_region(s, r, prot | (r.executable ? PROT_EXEC : 0));
  }
  s.zeros_kb = static_cast<int64_t>(mapped / 1024);
  if (s.parent_pagemap >= 0) close(s.parent_pagemap);  // the parent's; the child's own is opened afresh
  s.parent_pagemap = -1;
  errno = saved;
}

}  // namespace forkguard

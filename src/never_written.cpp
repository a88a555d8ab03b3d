/// @file never_written.cpp
/// @brief Written and never-written pages, by PAGEMAP_SCAN or by reading /proc/PID/pagemap.
#include "forkguard/never_written.hpp"

#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

// Debian 12's kernel headers (6.1) predate PAGEMAP_SCAN (6.7): defined from the kernel's uapi
// (include/uapi/linux/fs.h), as site_profile.cpp does.
#ifndef PAGEMAP_SCAN
struct page_region {
  uint64_t start, end, categories;
};
struct pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
      category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif
#ifndef PAGE_IS_PRESENT
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#endif

namespace forkguard {

namespace {

constexpr uint64_t kPmPresent = uint64_t{1} << 63, kPmSwapped = uint64_t{1} << 62;  // pagemap entry bits

// 0 unknown, 1 PAGEMAP_SCAN, 2 pagemap read (probed once; tests may force 2).
std::atomic<int> g_method{0};

// Reports the written runs among PAGEMAP_SCAN's populated ones: a run that is only the zero
// page was never written (the kernel says so: PAGE_IS_PFNZERO).
struct RunJoiner {
  WrittenRun cb;
  void* ctx;
  uintptr_t start = 0, end = 0;  // the pending run, joined while adjacent
  void add(uintptr_t s, uintptr_t e) {
    if (end == s && end != 0) {
      end = e;
      return;
    }
    flush();
    start = s;
    end = e;
  }
  void flush() {
    if (end > start) cb(start, end, ctx);
    start = end = 0;
  }
};

int scan_by_ioctl(int fd, uintptr_t start, uintptr_t end, RunJoiner& out) {
  page_region vec[64];
  while (start < end) {
    pm_scan_arg arg{};
    arg.size = sizeof arg;
    arg.start = start;
    arg.end = end;
    arg.vec = reinterpret_cast<uintptr_t>(vec);
    arg.vec_len = sizeof vec / sizeof vec[0];
    arg.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
    arg.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO;
    const long n = ioctl(fd, PAGEMAP_SCAN, &arg);
    if (n < 0) return -1;
    for (long i = 0; i < n; ++i) {
      if (vec[i].categories == (PAGE_IS_PRESENT | PAGE_IS_PFNZERO)) continue;  // read, never written
      out.add(vec[i].start, vec[i].end);
    }
    if (arg.walk_end <= start) break;  // (cannot happen: the kernel always advances)
    start = arg.walk_end;
  }
  return 0;
}

int scan_by_read(int fd, uintptr_t start, uintptr_t end, RunJoiner& out) {
  uint64_t entries[512];
  for (uintptr_t at = start; at < end;) {
    size_t want = (end - at) / page_bytes();
    if (want > sizeof entries / sizeof entries[0]) want = sizeof entries / sizeof entries[0];
    ssize_t got;
    do {
      got = pread(fd, entries, want * sizeof(uint64_t), static_cast<off_t>(at / page_bytes() * sizeof(uint64_t)));
    } while (got < 0 && errno == EINTR);
    if (got <= 0) {
      if (got == 0) errno = ESRCH;  // the process behind the descriptor is gone
      return -1;
    }
    const size_t n = static_cast<size_t>(got) / sizeof(uint64_t);
    for (size_t i = 0; i < n; ++i) {
      if ((entries[i] & (kPmPresent | kPmSwapped)) != 0) out.add(at + i * page_bytes(), at + (i + 1) * page_bytes());
    }
    at += n * page_bytes();
  }
  return 0;
}

}  // namespace

uintptr_t page_bytes() {
  static std::atomic<uintptr_t> page{0};  // no guard variable: callable in a fork child
  uintptr_t p = page.load(std::memory_order_relaxed);
  if (p == 0) {
    p = static_cast<uintptr_t>(getauxval(AT_PAGESZ));
    if (p == 0) p = 4096;
    page.store(p, std::memory_order_relaxed);
  }
  return p;
}

const char* scan_method_name(ScanMethod m) { return m == ScanMethod::pagemap_scan ? "pagemap-scan" : "pagemap"; }

ScanMethod scan_method(int pagemap_fd) {
  int m = g_method.load(std::memory_order_relaxed);
  if (m == 0) {
    const int saved = errno;
    pm_scan_arg probe{};
    probe.size = sizeof probe;
    // An empty range: ENOTTY/EINVAL where PAGEMAP_SCAN does not exist, 0 where it does.
    m = ioctl(pagemap_fd, PAGEMAP_SCAN, &probe) == 0 ? 1 : 2;
    errno = saved;
    g_method.store(m, std::memory_order_relaxed);
  }
  return m == 1 ? ScanMethod::pagemap_scan : ScanMethod::pagemap_read;
}

void scan_force_pagemap_read(bool on) { g_method.store(on ? 2 : 0, std::memory_order_relaxed); }

int scan_written(int pagemap_fd, uintptr_t start, uintptr_t end, WrittenRun written, void* ctx) {
  const int saved = errno;
  RunJoiner out{written, ctx};
  const int rc = scan_method(pagemap_fd) == ScanMethod::pagemap_scan ? scan_by_ioctl(pagemap_fd, start, end, out)
                                                                      : scan_by_read(pagemap_fd, start, end, out);
  if (rc != 0) return -1;
  out.flush();
  errno = saved;
  return 0;
}

int never_written(int pagemap_fd, uintptr_t start, uintptr_t end) {
  bool any = false;
  const int rc = scan_written(
      pagemap_fd, start, end, [](uintptr_t, uintptr_t, void* c) { *static_cast<bool*>(c) = true; }, &any);
  if (rc != 0) return -1;
  return any ? 0 : 1;
}

bool pagemap_alive(int pagemap_fd, uintptr_t present_address) {
  const int saved = errno;
  uint64_t entry = 0;
  const ssize_t got = pread(pagemap_fd, &entry, sizeof entry, static_cast<off_t>(present_address / page_bytes() * sizeof entry));
  errno = saved;
  return got == static_cast<ssize_t>(sizeof entry) && (entry & (kPmPresent | kPmSwapped)) != 0;
}

}  // namespace forkguard

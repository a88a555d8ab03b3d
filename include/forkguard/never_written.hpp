/// @file never_written.hpp
/// @brief Finds memory a process never wrote: no page-table entry and no swap entry (a zero-page
/// entry only where the kernel says so). Such memory holds nothing but zeros, so a slim fork may
/// leave it out of the child and give the child zeros there instead, at no charge.
///
/// Two methods, probed at run time: PAGEMAP_SCAN (Linux 6.7+: one ioctl lists the populated
/// runs; the zero page is reported as such, PAGE_IS_PFNZERO), else reading /proc/PID/pagemap
/// (8 bytes per page; present or swapped means written: without CAP_SYS_ADMIN the frame number,
/// hence the zero page, is hidden, so a page only read counts as written). Syscalls only, no
/// allocation: usable on the fork path and in a fork child.
#pragma once

#include <cstdint>

namespace forkguard {

/// The system's page size (AT_PAGESZ: 4, 16 or 64 KiB), read without a system call.
uintptr_t page_bytes();

enum class ScanMethod { pagemap_scan, pagemap_read };
const char* scan_method_name(ScanMethod m);  ///< "pagemap-scan" | "pagemap"

/// The method this kernel offers (probed once per process; `pagemap_fd` is any open pagemap).
ScanMethod scan_method(int pagemap_fd);

/// Tests only: behave as on a kernel without PAGEMAP_SCAN (`true`), or probe again (`false`).
void scan_force_pagemap_read(bool on);

/// Calls `written(start, end, ctx)` for every maximal run of written pages in [start, end) (page
/// aligned), in address order, through `pagemap_fd` (an open /proc/PID/pagemap: the process it
/// was opened for, even from a fork child). Returns 0, or -1 with errno (the range is not wholly
/// mapped, the pagemap cannot be read). errno is preserved on success.
using WrittenRun = void (*)(uintptr_t start, uintptr_t end, void* ctx);
int scan_written(int pagemap_fd, uintptr_t start, uintptr_t end, WrittenRun written, void* ctx);

/// Whether [start, end) holds no written page: 1 yes, 0 no, -1 unknown (errno set).
int never_written(int pagemap_fd, uintptr_t start, uintptr_t end);

/// Whether the process behind `pagemap_fd` still has its memory (it has not exited or exec'd
/// since the descriptor was opened): reads the entry of `present_address`, a page that process
/// had written, and requires it present or swapped.
bool pagemap_alive(int pagemap_fd, uintptr_t present_address);

}  // namespace forkguard

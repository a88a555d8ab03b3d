/// @file kept_proc_file.hpp
/// @brief A /proc file read on every recorded call, kept open between calls: pread at offset 0
/// makes the kernel produce a seq_file's text anew, so a read costs fstat and fcntl (is the number
/// still ours?) and pread instead of a path walk, open, read and close (bench/README.md).
///
/// The descriptor follows owned_fd.hpp's rule, like the sink's: kept only at the high base
/// (move_high), close-on-exec, and checked before each read (device, inode, close-on-exec): a
/// number the program closed, dup2()ed over or reused is never read and never closed by us; a new
/// descriptor is opened instead. Where no high number is free the read goes through a low one,
/// closed before it returns: nothing is kept. A per-process file (/proc/self/...)
/// names the process that opened it, so a fork child closes the copy it inherited and opens its
/// own. Syscalls and atomics only: no allocation, no lock, usable on the fork path and from a
/// signal handler (concurrent readers share one descriptor; one that loses a race to install a
/// descriptor closes its own).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace forkguard {

class KeptProcFile {
 public:
  /// `path`: absolute, static storage. `per_process`: the file describes the opener (/proc/self).
  constexpr KeptProcFile(const char* path, bool per_process) : path_(path), per_process_(per_process) {}
  /// Reads the whole file into buf (NUL-terminated) as read_small_file() does; `self` is this
  /// process's pid (getpid(); only per-process files look at it). Bytes read, or -1 with errno.
  long read(char* buf, size_t cap, pid_t self);
  /// The descriptor kept now, or -1 (tests).
  int current_fd() const { return fd_.load(std::memory_order_acquire); }

  KeptProcFile(const KeptProcFile&) = delete;
  KeptProcFile& operator=(const KeptProcFile&) = delete;

 private:
  long read_fresh(char* buf, size_t cap, pid_t self);
  const char* path_;
  bool per_process_;
  std::atomic<int> fd_{-1};
  // The kept descriptor's identity and opener, written before fd_ is published (release).
  std::atomic<uint64_t> dev_{0}, ino_{0};
  std::atomic<pid_t> owner_{0};
};

}  // namespace forkguard

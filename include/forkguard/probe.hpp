/// @file probe.hpp
/// @brief Parsers for the /proc files that describe a process's and the system's commit picture.
///
/// Every parser is a pure function over text so tests feed it fixtures. Readers use
/// open/read/close into caller buffers only: they allocate nothing and take no lock, so the
/// fork path may call them. A field that is absent or malformed stays at -1 ("unknown").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace forkguard {

/// Fields of /proc/PID/status that the commit picture needs (kB, -1 = unknown).
struct ProcStatus {
  int64_t vm_size_kb = -1;
  int64_t vm_rss_kb = -1;
  int64_t vm_data_kb = -1;
  int64_t vm_stk_kb = -1;
  int64_t cap_eff = -1;  ///< CapEff bit mask; -1 when absent
  int64_t ppid = -1;
  int64_t uid = -1;      ///< real uid (first of the Uid: line)
  bool complete() const { return vm_size_kb >= 0 && vm_rss_kb >= 0 && vm_data_kb >= 0 && vm_stk_kb >= 0; }
};
/// Parses /proc/PID/status text. Returns true when at least one field was found.
bool parse_status(std::string_view text, ProcStatus& out);

/// /proc/PID/statm, in pages: cheaper than status; `data` is VmData + VmStk.
struct ProcStatm {
  int64_t size = -1, resident = -1, shared = -1, text = -1, lib = -1, data = -1;
};
bool parse_statm(std::string_view text, ProcStatm& out);

/// Fields of /proc/meminfo (kB, -1 = unknown).
struct MemInfo {
  int64_t mem_total_kb = -1;
  int64_t swap_total_kb = -1;
  int64_t swap_free_kb = -1;
  int64_t commit_limit_kb = -1;
  int64_t committed_as_kb = -1;
  bool complete() const {
    return mem_total_kb >= 0 && swap_total_kb >= 0 && commit_limit_kb >= 0 && committed_as_kb >= 0;
  }
};
bool parse_meminfo(std::string_view text, MemInfo& out);

/// /proc/sys/vm values that shape the commit rule (-1 = unknown).
struct VmSysctl {
  int overcommit_memory = -1;  ///< 0 heuristic, 1 always, 2 strict
  int64_t overcommit_ratio = -1;
  int64_t overcommit_kbytes = -1;
  int64_t admin_reserve_kbytes = -1;
  int64_t user_reserve_kbytes = -1;
};
/// Parses one sysctl file's text (a decimal integer, optional trailing newline). -1 on garbage.
int64_t parse_sysctl_value(std::string_view text);

/// One VMA from /proc/PID/maps or smaps.
struct Vma {
  uint64_t start = 0, end = 0;
  bool readable = false, writable = false, executable = false, is_private = false;
  uint64_t offset = 0;
  std::string_view path;  ///< into the parsed line (SmapsParser: its own copy); empty for anonymous
  // smaps only (false from maps):
  bool have_flags = false;  ///< a VmFlags line was seen
  bool accountable = false; ///< VmFlags has "ac"
  bool dontcopy = false;    ///< VmFlags has "dc"
  bool noreserve = false;   ///< VmFlags has "nr"
  int64_t rss_kb = -1;      ///< smaps "Rss:" (-1: not seen)
  int64_t swap_kb = -1;     ///< smaps "Swap:" (-1: not seen)
  uint64_t size_kb() const { return (end - start) / 1024; }
  /// Charged by fork(): accountable and not MADV_DONTFORK (kernel/fork.c dup_mmap).
  bool charged_by_fork() const { return accountable && !dontcopy; }
};
/// Parses a maps/smaps header line ("start-end perms offset dev inode path").
bool parse_maps_line(std::string_view line, Vma& out);
/// Applies a smaps "VmFlags: rd wr mr ..." line to a VMA. Returns false if `line` is not one.
bool parse_vmflags_line(std::string_view line, Vma& out);

/// Streaming smaps parser: feed it text in arbitrary chunks; it calls `on_vma` once per VMA
/// when the VMA's VmFlags line has been seen, or, for a VMA without one (maps text, a cut
/// smaps), at the next header line or at finish(), with have_flags false.
/// Fixed-size line buffer, no allocation: usable on the fork path. A header line longer than
/// the buffer keeps its prefix (path truncated); any other overlong line is skipped whole. The
/// Vma's path views a copy inside the parser, valid during the callback only. An unterminated
/// last line is used at finish() only if it is a header (a cut VmFlags line could lose "ac").
class SmapsParser {
 public:
  using Callback = void (*)(const Vma& vma, void* ctx);
  SmapsParser(Callback cb, void* ctx) : cb_(cb), ctx_(ctx) {}
  void feed(const char* data, size_t len);
  void finish();

 private:
  void line(std::string_view l);
  void emit();
  Callback cb_;
  void* ctx_;
  Vma cur_{};
  bool have_cur_ = false;
  char path_[512] = {};
  char buf_[1024] = {};
  size_t used_ = 0;
  bool overflow_ = false;
};

/// Reads a whole small file into buf (NUL-terminated). Returns bytes read or -1 with errno.
/// A file longer than cap - 1 is cut there (return value cap - 1); the parsers then report the
/// cut field as unknown. open(O_RDONLY|O_CLOEXEC) + read loop + close: async-signal-safe.
long read_small_file(const char* path, char* buf, size_t cap);

/// Streams a file through a callback in chunks (for maps/smaps). Returns 0 or -1 with errno.
int stream_file(const char* path, void (*chunk)(const char* data, size_t len, void* ctx), void* ctx);

/// Reads the five /proc/sys/vm values under `root` (normally "/proc").
VmSysctl read_vm_sysctl(const char* proc_root = "/proc");

}  // namespace forkguard

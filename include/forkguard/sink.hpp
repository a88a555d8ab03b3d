/// @file sink.hpp
/// @brief Where records go: stderr, syslog or a file (%p = pid), one write(2) per record.
///
/// The file descriptor is O_CLOEXEC, O_APPEND, moved high, created 0600 without following a
/// symlink, and its identity (owner pid, dev, inode) is checked before each write; a descriptor
/// the program closed or dup2()ed over is never written, and a file deleted while the program
/// runs is not written into the void: the file is reopened (one notice per process says so).
/// If opening or writing fails (ENOSPC, EROFS, EACCES, a FIFO without reader...), records go to
/// stderr, the first of them with a notice saying why. SIGPIPE is held off around each write
/// (EPIPE instead). `syslog` sends one datagram per record to /dev/log through SyslogClient (never
/// openlog(), so the host program's syslog identity is untouched); without a listener, stderr.
/// What happened to the log is never a line of its own: it is posted as a notice (diag.hpp) and
/// the caller formats the record again so that the record itself carries it.
#pragma once

#include <sys/types.h>

#include <cstddef>

#include "forkguard/config.hpp"
#include "forkguard/owned_fd.hpp"
#include "forkguard/syslog_client.hpp"

namespace forkguard {

class Sink {
 public:
  /// Remembers the destination; opens nothing until the first record (no I/O at load time).
  void configure(const Config& cfg);
  /// Writes one record: a single write(2) (retried on EINTR) or one datagram to /dev/log.
  /// Returns false, having written nothing, when something happened to the log that this record
  /// must say (reopened, or records now go to stderr): a notice is posted, and the caller formats
  /// the record again (taking the notice) and calls again. A second call for the same record
  /// always returns true. Preserves errno. Safe to call from any thread and from a signal handler.
  bool write_record(const char* data, size_t len);
  /// Changes whenever records start going to another file than before (a deleted log recreated,
  /// the path now naming another file, the fall back to stderr): what was said once per log, such
  /// as module descriptions, must be said again.
  unsigned generation() const { return __atomic_load_n(&generation_, __ATOMIC_ACQUIRE); }
  /// The descriptor currently used for the file sink, or -1 (for tests).
  int current_fd() const { return fd_; }
  /// The syslog socket's descriptor, or -1 (for tests).
  int syslog_fd() const { return syslog_.current_fd(); }
  /// Where the syslog sink sends: "/dev/log" (tests of the formatting use a socket of their own).
  static constexpr const char* kSyslogSocket = "/dev/log";

  /// Expands %p in `tmpl` to `pid` (and %% to %). false when it does not fit.
  static bool expand_path(const char* tmpl, pid_t pid, char* out, size_t cap);

 private:
  enum class Open { ready, noted, busy, failed };
  Open ensure_open();
  Open open_locked(pid_t me);
  void fall_back_to_stderr(const char* why);
  bool note_reopen(const char* what);
  static void flush_deferred(int fd);
  LogKind kind_ = LogKind::stderr_stream;
  char tmpl_[1024] = {};
  bool per_pid_ = false;
  volatile int fd_ = -1;
  volatile pid_t owner_ = 0;
  FdIdentity id_;
  bool fell_back_ = false;
  bool noted_reopen_ = false;  ///< a closed, replaced or deleted log was reopened (said once)
  SyslogClient syslog_;
  /// Atomic by access (__atomic builtins), a plain field so that a Sink copies: the vfork
  /// substitute's parent takes back the sink as it was at the clone (engine.cpp).
  unsigned generation_ = 0;
};

}  // namespace forkguard

/// @file syslog_client.hpp
/// @brief Records to the local syslog socket (/dev/log) without openlog(): the host program's own
/// syslog identity, facility and descriptor stay exactly as the program set them.
///
/// One RFC 3164 datagram per record, "<14>Mmm dd hh:mm:ss forkguard[PID]: body" (facility user,
/// severity info, timestamp in UTC: journald and rsyslog stamp local messages on receipt anyway).
/// The socket is AF_UNIX SOCK_DGRAM, close-on-exec, moved high; before each send its identity
/// (a socket, same inode, still close-on-exec, AF_UNIX datagram) is checked, so a descriptor the
/// program closed or dup2()ed over is never written. Allocation-free; no lock on the send path.
#pragma once

#include <sys/types.h>

#include <cstddef>

#include "forkguard/owned_fd.hpp"

namespace forkguard {

/// Formats one datagram into `out` (capacity `cap`): header, then `body` without a trailing
/// newline. Returns the length (the body is cut to fit). Pure: tests call it directly.
size_t format_syslog_datagram(char* out, size_t cap, int64_t epoch_sec, pid_t pid, const char* body,
                              size_t body_len);

class SyslogClient {
 public:
  enum class Status { sent, unavailable, failed };
  /// `socket_path`: normally "/dev/log". Opens nothing until the first send.
  void configure(const char* socket_path);
  /// Sends one datagram, connecting (or reconnecting once) as needed. Preserves errno.
  /// `unavailable`: the socket path does not exist or nobody listens (errno_out says which);
  /// `failed`: another error. The caller falls back to stderr.
  Status send(const char* data, size_t len, int& errno_out);
  int current_fd() const { return fd_; }

 private:
  bool usable(int fd) const;
  int connect_socket(int& err);
  char path_[108] = {};
  volatile int fd_ = -1;
  FdIdentity id_;
};

}  // namespace forkguard

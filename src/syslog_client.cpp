/// @file syslog_client.cpp
/// @brief One RFC 3164 datagram per record to /dev/log, on a descriptor of our own (no openlog()).
#include "forkguard/syslog_client.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "forkguard/fixed_writer.hpp"
#include "forkguard/owner_lock.hpp"
#include "forkguard/sink.hpp"

namespace forkguard {

namespace {

std::atomic<pid_t> g_connect_lock{0};

// Civil date from days since 1970-01-01 (H. Hinnant's algorithm): gmtime_r takes glibc's tz lock.
void civil_from_days(int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(yoe + era * 400 + (m <= 2));
}

void put2(FixedWriter& w, unsigned v, char pad) {
  w.put(v < 10 ? pad : static_cast<char>('0' + v / 10));
  w.put(static_cast<char>('0' + v % 10));
}

}  // namespace

size_t format_syslog_datagram(char* out, size_t cap, int64_t epoch_sec, pid_t pid, const char* body,
                              size_t body_len) {
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  FixedWriter w(out, cap);
  // PRI 14 = facility user (1) * 8 + severity info (6).
  w.put("<14>");
  int64_t days = epoch_sec / 86400;
  int64_t secs = epoch_sec % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  int y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  w.put(kMonths[m - 1]);
  w.put(' ');
  put2(w, d, ' ');  // RFC 3164: the day is space-padded ("Nov  8")
  w.put(' ');
  put2(w, static_cast<unsigned>(secs / 3600), '0');
  w.put(':');
  put2(w, static_cast<unsigned>(secs / 60 % 60), '0');
  w.put(':');
  put2(w, static_cast<unsigned>(secs % 60), '0');
  w.put(" forkguard[");
  w.put_int(pid);
  w.put("]: ");
  while (body_len > 0 && (body[body_len - 1] == '\n' || body[body_len - 1] == '\r')) --body_len;
  const size_t room = w.capacity() > w.size() ? w.capacity() - w.size() : 0;
  w.put(std::string_view(body, body_len < room ? body_len : room));
  return w.size();
}

void SyslogClient::configure(const char* socket_path) {
  copy_cstr(path_, sizeof path_, socket_path);
  fd_ = -1;
  id_ = FdIdentity{};
}

bool SyslogClient::usable(int fd) const {
  if (!still_ours(fd, id_)) return false;
  int type = 0;
  socklen_t tlen = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_DGRAM) return false;
  struct sockaddr_un self {};
  socklen_t slen = sizeof self;
  return getsockname(fd, reinterpret_cast<struct sockaddr*>(&self), &slen) == 0 && self.sun_family == AF_UNIX;
}

int SyslogClient::connect_socket(int& err) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = errno;
    return -1;
  }
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  copy_cstr(addr.sun_path, sizeof addr.sun_path, path_);
  if (connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    err = errno;
    close(fd);
    return -1;
  }
  fd = adopt_high(fd, id_);
  err = 0;
  return fd;
}

SyslogClient::Status SyslogClient::send(const char* data, size_t len, int& errno_out) {
  const int saved = errno;
  char msg[4096 + 128];
  const size_t n = format_syslog_datagram(msg, sizeof msg, time(nullptr), getpid(), data, len);
  errno_out = 0;
  Status status = Status::failed;
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = fd_;
    if (!usable(fd)) {
      OwnerLockGuard lock(g_connect_lock);
      fd = fd_;
      if (!usable(fd)) {
        // A number that fails the check is no longer ours (closed or replaced): never close it.
        fd = connect_socket(errno_out);
        fd_ = fd;
        if (fd < 0) {
          status = errno_out == ENOENT || errno_out == ECONNREFUSED || errno_out == ENOTDIR ? Status::unavailable
                                                                                             : Status::failed;
          break;
        }
      }
    }
    ssize_t sent;
    do {
      sent = ::send(fd, msg, n, MSG_NOSIGNAL);  // one datagram per record: never interleaved
    } while (sent < 0 && errno == EINTR);
    if (sent >= 0) {
      status = Status::sent;
      break;
    }
    errno_out = errno;
    // The listener went away (journald or rsyslog restarted): reconnect once and resend.
    if (errno_out != ECONNREFUSED && errno_out != ENOTCONN && errno_out != EPIPE) break;
    OwnerLockGuard lock(g_connect_lock);
    // Another thread of the program may have closed and reused the number since the send.
    if (fd_ == fd) {
      if (still_ours(fd, id_)) close(fd);
      fd_ = -1;
    }
    status = Status::unavailable;
  }
  errno = saved;
  return status;
}

}  // namespace forkguard

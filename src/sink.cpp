/// @file sink.cpp
/// @brief The record sink: one write(2) per record into a descriptor whose identity is checked.
#include "forkguard/sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "forkguard/diag.hpp"
#include "forkguard/fixed_writer.hpp"
#include "forkguard/owned_fd.hpp"
#include "forkguard/owner_lock.hpp"

namespace forkguard {

namespace {

// Guards (re)opening the file, so two threads never both open it.
std::atomic<pid_t> g_open_lock{0};


}  // namespace


bool Sink::expand_path(const char* tmpl, pid_t pid, char* out, size_t cap) {
  FixedWriter w(out, cap - 1);
  for (const char* p = tmpl; *p != '\0'; ++p) {
    if (p[0] == '%' && p[1] == 'p') {
      w.put_int(pid);
      ++p;
    } else if (p[0] == '%' && p[1] == '%') {
      w.put('%');
      ++p;
    } else {
      w.put(*p);
    }
  }
  out[w.size()] = '\0';
  return !w.overflowed();
}

void Sink::configure(const Config& cfg) {
  kind_ = cfg.log_kind;
  copy_cstr(tmpl_, sizeof tmpl_, cfg.log_path);
  per_pid_ = std::strstr(tmpl_, "%p") != nullptr;
  fd_ = -1;
  owner_ = 0;
  fell_back_ = false;
  syslog_.configure(kSyslogSocket);
  if (kind_ == LogKind::syslog) copy_cstr(tmpl_, sizeof tmpl_, kSyslogSocket);  // names it in warnings
}

void Sink::fall_back_to_stderr(const char* why) {
  if (!fell_back_) {
    char msg[1400];
    FixedWriter w(msg, sizeof msg - 1);
    w.put("cannot log to ");
    w.put(tmpl_);
    w.put(" (");
    w.put(why);
    w.put("); records go to stderr from now on");
    msg[w.size()] = '\0';
    diag_warn(msg);
  }
  fell_back_ = true;
  kind_ = LogKind::stderr_stream;
}

bool Sink::ensure_open() {
  const pid_t me = getpid();
  int fd = fd_;
  if (fd >= 0 && owner_ == me && still_ours(fd, id_)) return true;
  OwnerLockGuard lock(g_open_lock);
  fd = fd_;
  if (fd >= 0) {
    if (owner_ == me && still_ours(fd, id_)) return true;  // another thread reopened it
    if (owner_ != me && still_ours(fd, id_)) {
      if (!per_pid_) {  // a fork child shares the parent's file: O_APPEND keeps records whole
        owner_ = me;
        return true;
      }
      close(fd);  // inherited copy of the parent's per-pid file: ours to close
    }
    // Otherwise the program closed or replaced the number: it is not ours any more, leave it.
    fd_ = -1;
  }
  char path[1100];
  if (!expand_path(tmpl_, me, path, sizeof path)) {
    fall_back_to_stderr("path too long");
    return false;
  }
  // O_NOFOLLOW: never let a planted symlink redirect records; 0600: records name commands.
  int nfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
  if (nfd < 0) {
    char scratch[16];
    fall_back_to_stderr(errno_name(errno, scratch));
    return false;
  }
  nfd = adopt_high(nfd, id_);
  owner_ = me;
  fd_ = nfd;
  return true;
}

void Sink::write_record(const char* data, size_t len) {
  const int saved = errno;
  if (kind_ == LogKind::syslog) {
    // The body is the record without the text format's "forkguard: " (the ident says it).
    const char* body = data;
    size_t body_len = len;
    static constexpr char kPrefix[] = "forkguard: ";
    if (body_len >= sizeof kPrefix - 1 && std::memcmp(body, kPrefix, sizeof kPrefix - 1) == 0) {
      body += sizeof kPrefix - 1;
      body_len -= sizeof kPrefix - 1;
    }
    int err = 0;
    if (syslog_.send(body, body_len, err) == SyslogClient::Status::sent) {
      errno = saved;
      return;
    }
    char scratch[16];
    fall_back_to_stderr(errno_name(err, scratch));  // then this record goes to stderr below
  }
  int fd = STDERR_FILENO;
  if (kind_ == LogKind::file && ensure_open()) fd = fd_;
  ssize_t n;
  do {
    n = write(fd, data, len);  // one write: records from many processes never interleave
  } while (n < 0 && errno == EINTR);
  if (n < 0 && fd != STDERR_FILENO) {
    char scratch[16];
    fall_back_to_stderr(errno_name(errno, scratch));
    do {
      n = write(STDERR_FILENO, data, len);
    } while (n < 0 && errno == EINTR);
  }
  errno = saved;
}

}  // namespace forkguard

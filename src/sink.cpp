/// @file sink.cpp
/// @brief The record sink: one write(2) per record into a descriptor whose identity is checked.
#include "forkguard/sink.hpp"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
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

// A record from a signal handler that interrupted its own thread's (re)open of the log: it waits
// here (one at a time) and is written right after the open, so it neither opens a second
// descriptor nor lands on the program's stderr. 0 free, 1 being filled or written, 2 waiting.
struct Deferred {
  std::atomic<int> state;
  size_t len;
  char data[PIPE_BUF];
};
Deferred g_deferred;

bool defer(const char* data, size_t len) {
  int expected = 0;
  if (len > sizeof g_deferred.data || !g_deferred.state.compare_exchange_strong(expected, 1)) return false;
  std::memcpy(g_deferred.data, data, len);
  g_deferred.len = len;
  g_deferred.state.store(2, std::memory_order_release);
  return true;
}

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
  noted_reopen_ = false;
  syslog_.configure(kSyslogSocket);
  if (kind_ == LogKind::syslog) copy_cstr(tmpl_, sizeof tmpl_, kSyslogSocket);  // names it in warnings
}

void Sink::fall_back_to_stderr(const char* why) {
  if (!fell_back_) {
    char msg[kNoticeMax + 1];
    FixedWriter w(msg, sizeof msg - 1);
    w.put("cannot log to ");
    w.put(tmpl_);
    w.put(" (");
    w.put(why);
    w.put("); records go to stderr from now on");
    msg[w.size()] = '\0';
    diag_notice(msg);  // carried by the first record on stderr, never a line of its own
  }
  if (!fell_back_) __atomic_fetch_add(&generation_, 1u, __ATOMIC_ACQ_REL);
  fell_back_ = true;
  kind_ = LogKind::stderr_stream;
}

bool Sink::note_reopen(const char* what) {
  if (noted_reopen_) return false;  // said once per process: a program that does it in a loop is not flooded
  noted_reopen_ = true;
  char msg[kNoticeMax + 1];
  FixedWriter w(msg, sizeof msg - 1);
  w.put(what);
  w.put("; records go on in a newly opened ");
  w.put(tmpl_);
  msg[w.size()] = '\0';
  diag_notice(msg);
  return true;
}

namespace {

// O_NONBLOCK: a FIFO nobody reads would block open() for ever (ENXIO instead); cleared after.
int open_log(const char* path) {
  // O_NOFOLLOW: never let a planted symlink redirect records; 0600: records name commands.
  int fd;
  do {
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return -1;
  const int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

// One write(2), retried on EINTR, with SIGPIPE blocked: a reader that went away (a pipe or
// socket given as the log, or stderr piped into `head`) must not kill the program, which
// without the shim might never have written there. EPIPE is returned instead.
ssize_t write_no_sigpipe(int fd, const char* data, size_t len) {
  sigset_t pipe_only, old, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigemptyset(&pending);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  ssize_t n;
  do {
    n = write(fd, data, len);  // one write: records from many processes never interleave
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  if (n < 0 && err == EPIPE && !was_pending) {
    // Take back the SIGPIPE this write raised; one the program had pending stays pending.
    struct timespec zero {};
    while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return n;
}

}  // namespace

Sink::Open Sink::ensure_open() {
  const pid_t me = getpid();
  int fd = fd_;
  if (fd >= 0 && owner_ == me && check_owned(fd, id_) == FdState::ours) return Open::ready;
  Open result;
  {
    OwnerLockGuard lock(g_open_lock);
    // This thread is already opening the log (a signal handler's record interrupted it): a second
    // open would race the first for fd_ and leak one descriptor. The record waits (defer()).
    if (!lock.held()) return Open::busy;
    result = open_locked(me);
  }
  // After the lock is given back: a handler's record deferred meanwhile is written now.
  flush_deferred(result == Open::ready || result == Open::noted ? static_cast<int>(fd_) : STDERR_FILENO);
  return result;
}

Sink::Open Sink::open_locked(pid_t me) {
  int fd = fd_;
  const char* event = nullptr;  // what happened to the log, said once
  int replace = -1;             // our number whose deleted file the new one replaces
  if (fd >= 0) {
    const FdState state = check_owned(fd, id_);
    if (state == FdState::ours && owner_ == me) return Open::ready;  // another thread reopened it
    if (state == FdState::ours && !per_pid_) {  // a fork child shares the parent's file: O_APPEND keeps records whole
      owner_ = me;
      return Open::ready;
    }
    if (state == FdState::ours_unlinked) event = "the log file was deleted while the program ran";
    if (state == FdState::not_ours && owner_ == me)
      event = "the program closed or replaced the log's descriptor";
    if (state == FdState::ours_unlinked && owner_ == me) {
      // Replaced in place below, never closed: another thread may be about to write to it, and a
      // closed number could be the program's by then.
      replace = fd;
    } else {
      // Ours in a fork child (one thread: nobody else writes), or the program's now: leave that.
      if (state != FdState::not_ours) close(fd);
      fd_ = -1;
    }
  }
  char path[1100];
  if (!expand_path(tmpl_, me, path, sizeof path)) {
    fall_back_to_stderr("path too long");
    return Open::failed;
  }
  int nfd = open_log(path);
  if (nfd < 0) {
    char scratch[16];
    fall_back_to_stderr(errno_name(errno, scratch));
    return Open::failed;
  }
  const FdIdentity before = id_;
  if (replace >= 0 && dup3(nfd, replace, O_CLOEXEC) == replace) {
    close(nfd);
    nfd = replace;
    remember_identity(nfd, id_);
  } else {
    nfd = adopt_high(nfd, id_);  // (a failed dup3 leaves the deleted file's number open: never reused)
  }
  if (before.dev != 0 && (before.dev != id_.dev || before.ino != id_.ino))
    __atomic_fetch_add(&generation_, 1u, __ATOMIC_ACQ_REL);  // another file: what it was told is not in this one
  owner_ = me;
  fd_ = nfd;
  if (event != nullptr && note_reopen(event)) return Open::noted;
  return Open::ready;
}

void Sink::flush_deferred(int fd) {
  int expected = 2;
  if (!g_deferred.state.compare_exchange_strong(expected, 1, std::memory_order_acquire)) return;
  write_no_sigpipe(fd, g_deferred.data, g_deferred.len);
  g_deferred.state.store(0, std::memory_order_release);
}

bool Sink::write_record(const char* data, size_t len) {
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
    const bool sent = syslog_.send(body, body_len, err) == SyslogClient::Status::sent;
    if (!sent) {
      char scratch[16];
      fall_back_to_stderr(errno_name(err, scratch));  // this record goes to stderr, saying why
    }
    errno = saved;
    return sent;
  }
  int fd = STDERR_FILENO;
  if (kind_ == LogKind::file) {
    switch (ensure_open()) {
      case Open::ready:
        fd = fd_;
        break;
      case Open::noted:
      case Open::failed:
        errno = saved;
        return false;  // format again: the record carries the notice
      case Open::busy:
        if (defer(data, len)) {
          errno = saved;
          return true;
        }
        break;  // a second handler record during one open: stderr is all that is left
    }
  }
  const ssize_t n = write_no_sigpipe(fd, data, len);
  if (n < 0 && fd != STDERR_FILENO) {
    char scratch[16];
    fall_back_to_stderr(errno_name(errno, scratch));
    errno = saved;
    return false;
  }
  errno = saved;
  return true;
}

}  // namespace forkguard

/// @file kept_proc_file.cpp
/// @brief /proc files kept open between recorded calls, checked by identity before each pread.
#include "forkguard/kept_proc_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "forkguard/owned_fd.hpp"
#include "forkguard/probe.hpp"

namespace forkguard {

namespace {

// errno put back only when it changed: it sits on a TLS page that every fork write-protects, and a
// plain fork never writes it, so an unconditional store costs the caller a page fault per fork.
void restore_errno(int saved) {
  if (errno != saved) errno = saved;
}

ssize_t pread_retry(int fd, char* buf, size_t n) {
  ssize_t r;
  do {
    r = ::pread(fd, buf, n, 0);
  } while (r < 0 && errno == EINTR);
  return r;
}

// pread from offset 0 until the buffer is full or the file ends (a seq_file gives all it has in
// one go when it fits, so a short read is its end and costs no second call).
long pread_all(int fd, char* buf, size_t cap) {
  const ssize_t r = pread_retry(fd, buf, cap - 1);
  if (r < 0) return -1;
  buf[r] = '\0';
  return static_cast<long>(r);
}

}  // namespace

long KeptProcFile::read(char* buf, size_t cap, pid_t self) {
  if (buf == nullptr || cap == 0) {
    errno = EINVAL;
    return -1;
  }
  const int saved = errno;
  const int fd = fd_.load(std::memory_order_acquire);
  if (fd >= 0) {
    // The library's rule for a kept descriptor (owned_fd.hpp): same file and still close-on-exec.
    FdIdentity id;
    id.dev = static_cast<dev_t>(dev_.load(std::memory_order_relaxed));
    id.ino = static_cast<ino_t>(ino_.load(std::memory_order_relaxed));
    const bool ours = still_ours(fd, id);
    const bool mine = !per_process_ || owner_.load(std::memory_order_relaxed) == self;
    if (ours && mine) {
      const long n = pread_all(fd, buf, cap);
      if (n >= 0) restore_errno(saved);
      return n >= 0 ? n : read_small_file(path_, buf, cap);  // kept: a later call tries it again
    }
    // Not ours any more: the program's number now, never read and never closed; forget it. Ours
    // but opened by the process we were forked from: the thread that takes it out closes it (any
    // other reader sees the opener differ too, so none is about to read it).
    int expected = fd;
    if (fd_.compare_exchange_strong(expected, -1, std::memory_order_acq_rel) && ours) close(fd);
  }
  restore_errno(saved);
  return read_fresh(buf, cap, self);
}

long KeptProcFile::read_fresh(char* buf, size_t cap, pid_t self) {
  int fd;
  do {
    fd = ::open(path_, O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return -1;
  const int saved = errno;
  const long n = pread_all(fd, buf, cap);
  if (n < 0) {
    const int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  // Kept only at the high base (close-on-exec); where the program leaves no number free there,
  // this read stands and the next call opens the file again: no low number outlives the call.
  FdIdentity id;
  fd = adopt_high(fd, id);
  int expected = -1;
  if (fd >= 0 && fd_.load(std::memory_order_relaxed) == -1) {
    // Identity first, then the number (release): a reader that sees the number sees its identity.
    dev_.store(static_cast<uint64_t>(id.dev), std::memory_order_relaxed);
    ino_.store(static_cast<uint64_t>(id.ino), std::memory_order_relaxed);
    owner_.store(self, std::memory_order_relaxed);
    if (fd_.compare_exchange_strong(expected, fd, std::memory_order_acq_rel)) fd = -1;
  }
  if (fd >= 0) close(fd);  // another thread installed its own meanwhile
  restore_errno(saved);
  return n;
}

}  // namespace forkguard

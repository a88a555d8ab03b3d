/// @file owned_fd.cpp
/// @brief Descriptors the library owns in a host process: moved high, checked before each use.
#include "forkguard/owned_fd.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace forkguard {

namespace {

// The system call itself: glibc's fstat wrapper is versioned 2.33 (the library's floor is 2.17).
int stat_fd(int fd, struct stat& st) { return static_cast<int>(syscall(SYS_fstat, fd, &st)); }

}  // namespace

int high_descriptor_floor() {
  // High enough to stay clear of the low numbers programs use, low enough that the descriptor
  // table stays small: fork copies the whole table (bench: fd 19872 cost 150 us per fork).
  struct rlimit rl {};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 512) return 200;
  return static_cast<int>(rl.rlim_cur / 2);
}

int move_high(int fd) {
  if (fd < 0) return -1;
  // A program may hold every number from the base up (its table is its own): then the first
  // lower band with a free number (from base/2, base/4, ...). F_DUPFD takes the lowest free number
  // at or above its argument atomically, so a number the program holds is never taken.
  int high = -1;
  for (int from = high_descriptor_floor(); from >= 3 && high < 0; from /= 2) {
    high = fcntl(fd, F_DUPFD_CLOEXEC, from);
    if (high < 0 && errno != EMFILE) break;
  }
  const int err = errno;
  close(fd);  // ours, created inside this call: the low number is given back at once
  errno = err;
  return high;
}

int adopt_high(int fd, FdIdentity& id) {
  fd = move_high(fd);
  if (fd >= 0) remember_identity(fd, id);
  return fd;
}

void remember_identity(int fd, FdIdentity& id) {
  struct stat st {};
  stat_fd(fd, st);
  id.dev = st.st_dev;
  id.ino = st.st_ino;
}

FdState check_owned(int fd, const FdIdentity& id) {
  if (fd < 0) return FdState::not_ours;
  const int saved = errno;  // a check of a closed number sets EBADF: never the caller's business
  struct stat st {};
  const bool same = stat_fd(fd, st) == 0 && st.st_dev == id.dev && st.st_ino == id.ino;
  const int flags = same ? fcntl(fd, F_GETFD) : -1;
  errno = saved;
  if (!same || flags < 0 || (flags & FD_CLOEXEC) == 0) return FdState::not_ours;
  // Sockets and character devices report 1 (or 0 for some pseudo files): only a regular file's
  // zero link count means it was deleted.
  return S_ISREG(st.st_mode) && st.st_nlink == 0 ? FdState::ours_unlinked : FdState::ours;
}

bool still_ours(int fd, const FdIdentity& id) { return check_owned(fd, id) != FdState::not_ours; }

}  // namespace forkguard

/// @file test_unwinder_fds.cpp
/// @brief libunwind's descriptors under the library's rule (src/unwinder_fds.cpp): created at the
/// high base, close-on-exec; a number the program took over is refused (EBADF), never read,
/// written or closed. (libunwind itself under the guard: tests/helpers/fd_unwinder.cpp.)
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "forkguard/got_patch.hpp"
#include "forkguard/owned_fd.hpp"
#include "forkguard/unwinder_fds.hpp"

namespace {

using Pipe2 = int (*)(int*, int);
using Read = ssize_t (*)(int, void*, size_t);
using Write = ssize_t (*)(int, const void*, size_t);
using Close = int (*)(int);
using Syscall = long (*)(long, ...);
using Open = int (*)(const char*, int, ...);

template <typename F>
F hook(const char* name) {
  void* p = forkguard::unwinder_import_policy(name);
  REQUIRE(p != nullptr);
  REQUIRE(p != forkguard::kKeepImport);
  return reinterpret_cast<F>(p);
}

struct TempFile {
  char path[64] = "/tmp/fg-unwinder-fds.XXXXXX";
  int fd = mkstemp(path);
  ~TempFile() {
    if (fd >= 0) close(fd);
    unlink(path);
  }
};

}  // namespace

TEST_CASE("the unwinder's imports: descriptor functions replaced, harmless ones kept, anything else refused") {
  for (const char* name : {"pipe2", "pipe", "open", "openat", "read", "write", "close", "syscall", "fstat", "mmap"}) {
    void* p = forkguard::unwinder_import_policy(name);
    CHECK(p != nullptr);
    CHECK(p != forkguard::kKeepImport);
  }
  for (const char* name : {"memcpy", "malloc", "dl_iterate_phdr", "pthread_once", "mincore", "lzma_index_end"}) {
    CHECK(forkguard::unwinder_import_policy(name) == forkguard::kKeepImport);
  }
  // Functions that make or use descriptors the guard does not cover: such a libunwind is not used.
  for (const char* name : {"socket", "dup", "dup2", "fopen", "fprintf", "dlopen", "memfd_create", "signalfd"}) {
    CHECK(forkguard::unwinder_import_policy(name) == nullptr);
  }
}

TEST_CASE("the unwinder's pipe is made at the high base, close-on-exec, with its flags") {
  int fds[2] = {-1, -1};
  REQUIRE(hook<Pipe2>("pipe2")(fds, O_NONBLOCK | O_CLOEXEC) == 0);
  for (int fd : fds) {
    CHECK(fd >= forkguard::high_descriptor_floor());
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
  }
  char c = 'v';
  errno = EINTR;  // stale, from the program's last interrupted call: libunwind would loop on it
  CHECK(hook<Syscall>("syscall")(SYS_write, fds[1], &c, 1) == 1);  // libunwind's validation write
  CHECK(errno != EINTR);
  char got = 0;
  CHECK(hook<Read>("read")(fds[0], &got, 1) == 1);
  CHECK(got == 'v');
  errno = 0;
  CHECK(hook<Read>("read")(fds[0], &got, 1) == -1);
  CHECK(errno == EAGAIN);
  CHECK(hook<Close>("close")(fds[0]) == 0);
  CHECK(hook<Close>("close")(fds[1]) == 0);
  CHECK(fcntl(fds[0], F_GETFD) == -1);
}

TEST_CASE("a number the program took over is treated as closed: never read, written or closed") {
  int fds[2] = {-1, -1};
  REQUIRE(hook<Pipe2>("pipe2")(fds, O_NONBLOCK | O_CLOEXEC) == 0);
  // The program closes everything (closefrom) and its own file lands on the read end's number;
  // it dup2()s another over the write end with close-on-exec set (same flags as ours).
  TempFile file;
  REQUIRE(file.fd >= 0);
  REQUIRE(write(file.fd, "data", 4) == 4);
  REQUIRE(close(fds[0]) == 0);
  REQUIRE(close(fds[1]) == 0);
  REQUIRE(dup2(file.fd, fds[0]) == fds[0]);
  REQUIRE(dup3(file.fd, fds[1], O_CLOEXEC) == fds[1]);
  const off_t before = lseek(file.fd, 0, SEEK_CUR);

  char buf[8];
  errno = 0;
  CHECK(hook<Read>("read")(fds[0], buf, 1) == -1);
  CHECK(errno == EBADF);
  const char byte = 'X';
  errno = 0;
  CHECK(hook<Syscall>("syscall")(SYS_write, fds[1], &byte, 1) == -1);  // the validation byte
  CHECK(errno == EBADF);
  CHECK(hook<Write>("write")(fds[1], &byte, 1) == -1);
  errno = 0;
  CHECK(hook<Close>("close")(fds[0]) == -1);
  CHECK(errno == EBADF);
  CHECK(hook<Close>("close")(fds[1]) == -1);
  // The program's file: still open at both numbers, its offset and content untouched.
  CHECK(fcntl(fds[0], F_GETFD) >= 0);
  CHECK(fcntl(fds[1], F_GETFD) >= 0);
  CHECK(lseek(file.fd, 0, SEEK_CUR) == before);
  struct stat st {};
  REQUIRE(fstat(file.fd, &st) == 0);
  CHECK(st.st_size == 4);
  close(fds[0]);
  close(fds[1]);
}

TEST_CASE("the unwinder's other descriptor functions: open high, unknown system calls not made") {
  const int fd = hook<Open>("open")("/proc/self/status", O_RDONLY);
  REQUIRE(fd >= forkguard::high_descriptor_floor());
  CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  char buf[16];
  CHECK(hook<Read>("read")(fd, buf, sizeof buf) == static_cast<ssize_t>(sizeof buf));
  CHECK(hook<Close>("close")(fd) == 0);
  CHECK(hook<Syscall>("syscall")(SYS_getpid) == getpid());
  errno = 0;
  CHECK(hook<Syscall>("syscall")(SYS_dup, 0) == -1);  // would make a descriptor the guard does not know
  CHECK(errno == ENOSYS);
  errno = 0;
  CHECK(hook<Read>("read")(0, buf, 1) == -1);  // stdin: the program's
  CHECK(errno == EBADF);
}

/// @file libc_nonshared.cpp
/// @brief What glibc before 2.33 kept out of libc.so.6: fstat() and stat() were static functions
/// of libc_nonshared.a, linked into each caller, so libc.so.6 has no version of them older than
/// GLIBC_2.33. The shim defines its own (hidden by the visibility preset; the export test checks),
/// so that the library loads on glibc 2.17 (shim/glibc_floor.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

// The kernel's struct stat is glibc's on x86_64 and aarch64 (glibc 2.33+ fills it with the same call).
extern "C" int fstat(int fd, struct stat* st) { return static_cast<int>(syscall(SYS_fstat, fd, st)); }

// newfstatat: the one stat call both x86_64 and aarch64 have (aarch64 has no SYS_stat).
extern "C" int stat(const char* path, struct stat* st) {
  return static_cast<int>(syscall(SYS_newfstatat, AT_FDCWD, path, st, 0));
}

/// @file libc_nonshared.cpp
/// @brief What glibc before 2.33 kept out of libc.so.6: fstat() was a static function of
/// libc_nonshared.a, linked into each caller, so libc.so.6 has no fstat of a version older than
/// GLIBC_2.33. The shim defines its own (hidden by the visibility preset; the export test checks),
/// so that the library loads on glibc 2.17 (shim/glibc_floor.h).
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

// The kernel's struct stat is glibc's on x86_64 and aarch64 (glibc 2.33+ fills it with the same call).
extern "C" int fstat(int fd, struct stat* st) { return static_cast<int>(syscall(SYS_fstat, fd, st)); }

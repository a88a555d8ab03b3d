/// @file unwinder_fds.cpp
/// @brief The descriptor functions libunwind calls once guarded (see unwinder_fds.hpp): they
/// create its descriptors high and close-on-exec, and refuse every number that is not one of them.
#include "forkguard/unwinder_fds.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "forkguard/got_patch.hpp"
#include "forkguard/owned_fd.hpp"

namespace forkguard {

namespace {

// The unwinder's descriptors: a pipe, and a file it maps while reading an object's unwind
// tables. A fixed table: these functions may run in a signal handler (a stack captured there).
// `held` is the descriptor plus one (0: a free slot, so the table stays in .bss), -1 while filled.
struct Owned {
  std::atomic<int> held{0};
  FdIdentity id;
};
constexpr int kSlots = 32;
Owned g_owned[kSlots];

bool fill(Owned& s, int fd, int claimed_from) {
  int expected = claimed_from;
  if (!s.held.compare_exchange_strong(expected, -1, std::memory_order_acq_rel)) return false;
  remember_identity(fd, s.id);
  s.held.store(fd + 1, std::memory_order_release);
  return true;
}

bool remember(int fd) {
  for (Owned& s : g_owned) {
    if (fill(s, fd, 0)) return true;
  }
  // Full: take a slot whose number is no longer ours (the program closed it or reused it).
  for (Owned& s : g_owned) {
    const int held = s.held.load(std::memory_order_acquire);
    if (held > 0 && !still_ours(held - 1, s.id) && fill(s, fd, held)) return true;
  }
  return false;
}

Owned* slot_of(int fd) {
  if (fd < 0) return nullptr;
  for (Owned& s : g_owned) {
    if (s.held.load(std::memory_order_acquire) == fd + 1) return &s;
  }
  return nullptr;
}

// Forgets `fd` (its slot freed); false when another thread did first.
bool forget(Owned& s, int fd) {
  int expected = fd + 1;
  return s.held.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
}

// Whether `fd` is one the unwinder got from us and still is (same file, close-on-exec). A number
// that stopped being ours is forgotten: whatever is there now is the program's.
bool ours(int fd) {
  Owned* s = slot_of(fd);
  if (s == nullptr) return false;
  if (still_ours(fd, s->id)) return true;
  forget(*s, fd);
  return false;
}

long refuse() {
  errno = EBADF;  // what the unwinder sees for a number that is not its own: closed
  return -1;
}

// A new descriptor of the unwinder's: moved high at once and remembered, or closed.
int keep(int fd) {
  if (fd < 0) return -1;
  const int saved = errno;
  const int high = move_high(fd);
  if (high < 0) return -1;
  if (!remember(high)) {
    close(high);
    errno = EMFILE;
    return -1;
  }
  errno = saved;
  return high;
}

int hook_close(int fd);

int hook_pipe2(int fds[2], int flags) {
  int low[2];
  if (pipe2(low, flags | O_CLOEXEC) != 0) return -1;
  const int saved = errno;
  const int a = keep(low[0]);
  const int b = keep(low[1]);  // keep() gave the low number back whatever became of the high one
  if (a < 0 || b < 0) {
    const int err = errno;
    if (a >= 0) hook_close(a);
    if (b >= 0) hook_close(b);
    errno = err;
    return -1;
  }
  fds[0] = a;
  fds[1] = b;
  errno = saved;
  return 0;
}

int hook_pipe(int fds[2]) { return hook_pipe2(fds, 0); }

int hook_openat(int dirfd, const char* path, int flags, ...) {
  mode_t mode = 0;
  if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  if (dirfd != AT_FDCWD && !ours(dirfd)) return static_cast<int>(refuse());
  return keep(openat(dirfd, path, flags | O_CLOEXEC, mode));
}

int hook_open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return keep(openat(AT_FDCWD, path, flags | O_CLOEXEC, mode));
}

int hook_open_2(const char* path, int flags) { return keep(openat(AT_FDCWD, path, flags | O_CLOEXEC)); }

// libunwind repeats its pipe's read and write while errno is EINTR, success or not (a stale EINTR
// from the program's last interrupted call would have it fill the pipe): a success clears it.
ssize_t done(ssize_t n) {
  if (n >= 0 && errno == EINTR) errno = 0;
  return n;
}

ssize_t hook_read(int fd, void* buf, size_t n) { return ours(fd) ? done(read(fd, buf, n)) : refuse(); }
ssize_t hook_read_chk(int fd, void* buf, size_t n, size_t) { return hook_read(fd, buf, n); }
ssize_t hook_pread(int fd, void* buf, size_t n, off_t at) { return ours(fd) ? pread(fd, buf, n, at) : refuse(); }
ssize_t hook_write(int fd, const void* buf, size_t n) { return ours(fd) ? done(write(fd, buf, n)) : refuse(); }
off_t hook_lseek(int fd, off_t at, int whence) { return ours(fd) ? lseek(fd, at, whence) : refuse(); }

int hook_close(int fd) {
  Owned* s = slot_of(fd);
  if (s == nullptr || !ours(fd) || !forget(*s, fd)) return static_cast<int>(refuse());
  return close(fd);  // forgotten first: another thread's check no longer finds it
}

int hook_fstat(int fd, struct stat* st) {
  return ours(fd) ? static_cast<int>(syscall(SYS_fstat, fd, st)) : static_cast<int>(refuse());
}
int hook_fxstat(int, int fd, struct stat* st) { return hook_fstat(fd, st); }

void* hook_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  if ((flags & MAP_ANONYMOUS) == 0 && !ours(fd)) {
    errno = EBADF;
    return MAP_FAILED;
  }
  return mmap(addr, len, prot, flags, fd, off);
}

int hook_fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  const long arg = va_arg(ap, long);
  va_end(ap);
  if (!ours(fd)) return static_cast<int>(refuse());
  switch (cmd) {
    case F_GETFD:
    case F_GETFL:
      return fcntl(fd, cmd);
    case F_SETFD:
      return fcntl(fd, F_SETFD, static_cast<int>(arg) | FD_CLOEXEC);  // stays ours: close-on-exec
    case F_SETFL:
      return fcntl(fd, F_SETFL, static_cast<int>(arg));
    default:
      errno = EINVAL;  // a duplicate would be a descriptor we do not know
      return -1;
  }
}

// libunwind writes the validation byte with syscall(SYS_write, ...): descriptor system calls
// go through the functions above; others pass only if they involve no descriptor.
long hook_syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (long& v : a) v = va_arg(ap, long);
  va_end(ap);
  switch (number) {
    case SYS_read: return hook_read(static_cast<int>(a[0]), reinterpret_cast<void*>(a[1]), static_cast<size_t>(a[2]));
    case SYS_write:
      return hook_write(static_cast<int>(a[0]), reinterpret_cast<const void*>(a[1]), static_cast<size_t>(a[2]));
    case SYS_close: return hook_close(static_cast<int>(a[0]));
    case SYS_pipe2: return hook_pipe2(reinterpret_cast<int*>(a[0]), static_cast<int>(a[1]));
#ifdef SYS_pipe
    case SYS_pipe: return hook_pipe(reinterpret_cast<int*>(a[0]));
#endif
#ifdef SYS_open
    case SYS_open: return hook_open(reinterpret_cast<const char*>(a[0]), static_cast<int>(a[1]), static_cast<mode_t>(a[2]));
#endif
    case SYS_openat:
      return hook_openat(static_cast<int>(a[0]), reinterpret_cast<const char*>(a[1]), static_cast<int>(a[2]),
                         static_cast<mode_t>(a[3]));
    case SYS_fstat: return hook_fstat(static_cast<int>(a[0]), reinterpret_cast<struct stat*>(a[1]));
    case SYS_rt_sigprocmask:
    case SYS_gettid:
    case SYS_getpid:
    case SYS_mincore:
    case SYS_msync:
    case SYS_madvise:
    case SYS_mprotect:
    case SYS_munmap:
    case SYS_futex:
    case SYS_sched_yield:
    case SYS_process_vm_readv:
      return syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    default:
      errno = ENOSYS;  // a system call not known to leave descriptors alone: not made
      return -1;
  }
}

// Names in one string, each ended by a space: no pointer table, so no relocation at load time
// (every exec'd child loads this library).
constexpr char kHookNames[] =
    "pipe pipe2 open open64 __open_2 __open64_2 openat openat64 read __read_chk pread pread64 write "
    "lseek lseek64 close fstat fstat64 __fxstat __fxstat64 mmap mmap64 fcntl fcntl64 syscall ";
using HookFn = void (*)();
// In the order of kHookNames.
const HookFn kHookFns[] = {
    reinterpret_cast<HookFn>(&hook_pipe),
    reinterpret_cast<HookFn>(&hook_pipe2),
    reinterpret_cast<HookFn>(&hook_open),
    reinterpret_cast<HookFn>(&hook_open),
    reinterpret_cast<HookFn>(&hook_open_2),
    reinterpret_cast<HookFn>(&hook_open_2),
    reinterpret_cast<HookFn>(&hook_openat),
    reinterpret_cast<HookFn>(&hook_openat),
    reinterpret_cast<HookFn>(&hook_read),
    reinterpret_cast<HookFn>(&hook_read_chk),
    reinterpret_cast<HookFn>(&hook_pread),
    reinterpret_cast<HookFn>(&hook_pread),
    reinterpret_cast<HookFn>(&hook_write),
    reinterpret_cast<HookFn>(&hook_lseek),
    reinterpret_cast<HookFn>(&hook_lseek),
    reinterpret_cast<HookFn>(&hook_close),
    reinterpret_cast<HookFn>(&hook_fstat),
    reinterpret_cast<HookFn>(&hook_fstat),
    reinterpret_cast<HookFn>(&hook_fxstat),
    reinterpret_cast<HookFn>(&hook_fxstat),
    reinterpret_cast<HookFn>(&hook_mmap),
    reinterpret_cast<HookFn>(&hook_mmap),
    reinterpret_cast<HookFn>(&hook_fcntl),
    reinterpret_cast<HookFn>(&hook_fcntl),
    reinterpret_cast<HookFn>(&hook_syscall),
};

constexpr int count_names(const char* list) { return *list == '\0' ? 0 : (*list == ' ' ? 1 : 0) + count_names(list + 1); }
static_assert(count_names(kHookNames) == sizeof kHookFns / sizeof kHookFns[0], "one function per hooked name");

// Imports that never create, use or name a descriptor: memory, strings, threads, signals,
// process identity, path-based stat, the loader's object list. (pthread_* and liblzma's buffer
// decoders, lzma_*, are matched by prefix below.)
constexpr char kHarmlessNames[] =
    "__errno_location __tls_get_addr __stack_chk_fail __assert_fail __cxa_finalize __cxa_atexit "
    "__gmon_start__ _ITM_registerTMCloneTable _ITM_deregisterTMCloneTable abort dl_iterate_phdr "
    "malloc calloc realloc free getpagesize getpid gettid sysconf getauxval getenv secure_getenv "
    "memchr memcmp memcpy memmove memset __memcpy_chk __memset_chk mincore msync munmap mprotect "
    "madvise sigfillset sigemptyset sigaddset sigdelset sigprocmask stat stat64 lstat lstat64 "
    "__xstat __xstat64 __lxstat __lxstat64 stpcpy strcmp strncmp strcpy strncpy __strcpy_chk strlen "
    "strnlen strchr strrchr strstr strdup strerror strtol strtoul qsort bsearch snprintf "
    "__snprintf_chk sched_yield clock_gettime ";

// The position of `name` in a list of space-ended names, or -1.
int position(const char* list, const char* name) {
  const size_t len = std::strlen(name);
  int index = 0;
  for (const char* p = list; *p != '\0'; ++index) {
    const char* end = std::strchr(p, ' ');
    if (static_cast<size_t>(end - p) == len && std::strncmp(p, name, len) == 0) return index;
    p = end + 1;
  }
  return -1;
}

void* policy(const char* name) {
  const int hook = position(kHookNames, name);
  if (hook >= 0) return reinterpret_cast<void*>(kHookFns[hook]);
  if (position(kHarmlessNames, name) >= 0) return kKeepImport;
  if (std::strncmp(name, "pthread_", 8) == 0 || std::strncmp(name, "lzma_", 5) == 0) return kKeepImport;
  return nullptr;  // unknown: libunwind is not used
}

}  // namespace

bool guard_unwinder_descriptors(const void* unw_backtrace, const char** refused) {
  return redirect_imports(unw_backtrace, policy, refused);
}

void* unwinder_import_policy(const char* name) { return policy(name); }

int unwinder_descriptor_count() {
  int n = 0;
  for (Owned& s : g_owned) n += s.held.load(std::memory_order_acquire) > 0 ? 1 : 0;
  return n;
}

}  // namespace forkguard

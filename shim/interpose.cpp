/// @file interpose.cpp
/// @brief The exported wrappers: the only code that defines libc names. Each one hands the
/// call, its real function and the caller's return address to the engine.
#include <alloca.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "forkguard/site_profile.hpp"
#include "forkguard/vfork_substitute.hpp"
#include "real.hpp"

#define FG_EXPORT __attribute__((visibility("default")))

namespace fg = forkguard;

namespace {

// Settings are read by the constructor; a wrapper called before it (from another library's
// constructor) reads them here.
inline void ensure_init() {
  if (!fg::engine_ready()) fg::real::init();
}

template <typename Fn>
bool resolved(Fn fn, const char* name) {
  if (fn != nullptr) return true;
  fg::real::report_missing(name);
  errno = ENOSYS;
  return false;
}

// A fork-like call whose real function this libc lacks.
pid_t fails_enosys() noexcept {
  errno = ENOSYS;
  return -1;
}

inline uintptr_t caller(void* return_address) { return reinterpret_cast<uintptr_t>(return_address); }

template <typename Call>
int exec_through(const char* name, bool found, Call&& call) {
  if (!found) {
    fg::real::report_missing(name);
    errno = ENOSYS;
    return -1;
  }
  if (fg::VforkSubSlot* child = fg::vfork_sub_current_child()) fg::vfork_sub_before_exec(*child);
  fg::learn_child_finish("exec");  // an observed child (observe mode, FORKGUARD_PROFILE): its outcome
  return call();
}

// execl-style argument lists as an argv array on the stack (what glibc's execl does too).
#define FORKGUARD_COLLECT_ARGS(first, ap, argv_out, extra)                        \
  size_t argc_ = 1;                                                            \
  va_start(ap, first);                                                         \
  while (va_arg(ap, const char*) != nullptr) ++argc_;                          \
  va_end(ap);                                                                  \
  auto** argv_out = static_cast<char**>(alloca((argc_ + 1) * sizeof(char*)));  \
  argv_out[0] = const_cast<char*>(first);                                      \
  va_start(ap, first);                                                         \
  for (size_t i_ = 1; i_ <= argc_; ++i_) argv_out[i_] = va_arg(ap, char*);     \
  extra;                                                                       \
  va_end(ap)

}  // namespace

extern "C" {

// fork() and _Fork() themselves are assembly stubs (fork_x86_64.S, _Fork_x86_64.S): a vfork
// substitute's child must return on the caller's own stack. Each stub calls its enter function
// first; the engine does the whole call unless it chooses the substitute, whose clone the stub
// then makes.
fg::ForkEnter forkguard_fork_enter(uintptr_t return_address, uintptr_t entry_rsp) {
  auto real = fg::real::fork();
  if (!resolved(real, "fork")) return fg::ForkEnter{-1, nullptr};
  ensure_init();
  fg::real::resolve_for_children();
  return fg::engine_fork_enter(fg::CallKind::fork, return_address, entry_rsp, real);
}

fg::ForkEnter forkguard__Fork_enter(uintptr_t return_address, uintptr_t entry_rsp) {
  auto real = fg::real::_Fork();
  // No _Fork in this libc (before glibc 2.34): the call fails with ENOSYS, and it is recorded,
  // so that the notice naming the missing function reaches the log on this very record.
  if (!resolved(real, "_Fork")) real = fails_enosys;
  ensure_init();
  fg::real::resolve_for_children();
  return fg::engine_fork_enter(fg::CallKind::_Fork, return_address, entry_rsp, real);
}

void forkguard_vfork_sub_child(fg::VforkSubSlot* slot) { fg::engine_vfork_sub_child(slot); }

pid_t forkguard_vfork_sub_leave(fg::VforkSubSlot* slot, long raw) { return fg::engine_vfork_sub_leave(slot, raw); }

FG_EXPORT int system(const char* command) {
  auto real = fg::real::system();
  if (!resolved(real, "system")) return -1;
  ensure_init();
  return fg::engine_system(command, caller(__builtin_return_address(0)), real, fg::real::posix_spawn());
}

FG_EXPORT FILE* popen(const char* command, const char* mode) {
  auto real = fg::real::popen();
  if (!resolved(real, "popen")) return nullptr;
  ensure_init();
  return fg::engine_popen(command, mode, caller(__builtin_return_address(0)), real, fg::real::posix_spawn());
}

FG_EXPORT int pclose(FILE* stream) {
  auto real = fg::real::pclose();
  if (!resolved(real, "pclose")) return -1;
  ensure_init();
  return fg::engine_pclose(stream, caller(__builtin_return_address(0)), real);
}

FG_EXPORT int daemon(int nochdir, int noclose) {
  auto real = fg::real::daemon();
  if (!resolved(real, "daemon")) return -1;
  ensure_init();
  return fg::engine_daemon(nochdir, noclose, caller(__builtin_return_address(0)), real);
}

// posix_spawn and posix_spawnp exist in two glibc versions on x86_64 (GLIBC_2.2.5, GLIBC_2.15);
// each version is wrapped separately and calls the same version of the real function. aarch64
// has one version (GLIBC_2.17): one unversioned wrapper each.
#define FORKGUARD_SPAWN_WRAPPER(wrapper, id, kind)                                                    \
  FG_EXPORT int wrapper(pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,      \
                        const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {      \
    auto real = fg::real::id();                                                                       \
    if (!resolved(real, #id)) return ENOSYS;                                                          \
    ensure_init();                                                                                    \
    return fg::engine_posix_spawn(kind, pid, path, actions, attr, argv, envp,                         \
                                  caller(__builtin_return_address(0)), real);                         \
  }
#if defined(__x86_64__)
FORKGUARD_SPAWN_WRAPPER(forkguard_posix_spawn_2_15, posix_spawn, fg::CallKind::posix_spawn)
FORKGUARD_SPAWN_WRAPPER(forkguard_posix_spawn_2_2_5, posix_spawn_2_2_5, fg::CallKind::posix_spawn)
FORKGUARD_SPAWN_WRAPPER(forkguard_posix_spawnp_2_15, posix_spawnp, fg::CallKind::posix_spawnp)
FORKGUARD_SPAWN_WRAPPER(forkguard_posix_spawnp_2_2_5, posix_spawnp_2_2_5, fg::CallKind::posix_spawnp)

// ", remove": only the versioned names are exported, not the C names above.
__asm__(".symver forkguard_posix_spawn_2_15, posix_spawn@@GLIBC_2.15, remove");
__asm__(".symver forkguard_posix_spawn_2_2_5, posix_spawn@GLIBC_2.2.5, remove");
__asm__(".symver forkguard_posix_spawnp_2_15, posix_spawnp@@GLIBC_2.15, remove");
__asm__(".symver forkguard_posix_spawnp_2_2_5, posix_spawnp@GLIBC_2.2.5, remove");
#else
FORKGUARD_SPAWN_WRAPPER(posix_spawn, posix_spawn, fg::CallKind::posix_spawn)
FORKGUARD_SPAWN_WRAPPER(posix_spawnp, posix_spawnp, fg::CallKind::posix_spawnp)
#endif
#undef FORKGUARD_SPAWN_WRAPPER

// The exec family: pass-through, except in a vfork-substitute child, which gets its caught
// signals reset and the program's signal mask back right before the real exec.

FG_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) {
  auto real = fg::real::execve();
  return exec_through("execve", real != nullptr, [&] { return real(path, argv, envp); });
}

FG_EXPORT int execv(const char* path, char* const argv[]) {
  auto real = fg::real::execv();
  return exec_through("execv", real != nullptr, [&] { return real(path, argv); });
}

FG_EXPORT int execvp(const char* file, char* const argv[]) {
  auto real = fg::real::execvp();
  return exec_through("execvp", real != nullptr, [&] { return real(file, argv); });
}

FG_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) {
  auto real = fg::real::execvpe();
  return exec_through("execvpe", real != nullptr, [&] { return real(file, argv, envp); });
}

FG_EXPORT int fexecve(int fd, char* const argv[], char* const envp[]) {
  auto real = fg::real::fexecve();
  return exec_through("fexecve", real != nullptr, [&] { return real(fd, argv, envp); });
}

FG_EXPORT int execl(const char* path, const char* arg, ...) {
  va_list ap;
  FORKGUARD_COLLECT_ARGS(arg, ap, argv, (void)0);
  auto real = fg::real::execv();
  return exec_through("execv", real != nullptr, [&] { return real(path, argv); });
}

FG_EXPORT int execlp(const char* file, const char* arg, ...) {
  va_list ap;
  FORKGUARD_COLLECT_ARGS(arg, ap, argv, (void)0);
  auto real = fg::real::execvp();
  return exec_through("execvp", real != nullptr, [&] { return real(file, argv); });
}

FG_EXPORT int execle(const char* path, const char* arg, ...) {
  va_list ap;
  char** envp = nullptr;
  FORKGUARD_COLLECT_ARGS(arg, ap, argv, envp = va_arg(ap, char**));
  auto real = fg::real::execve();
  return exec_through("execve", real != nullptr, [&] { return real(path, argv, envp); });
}

// exit() in a vfork-substitute child would run the parent's atexit handlers and flush its stdio
// buffers on shared memory: the child gets _exit() instead.
FG_EXPORT void exit(int status) {
  fg::learn_child_finish("exit");
  if (fg::vfork_sub_current_child() != nullptr) _exit(status);
  auto real = fg::real::exit();
  if (real == nullptr) _exit(status);  // cannot happen with glibc; never return from exit()
  real(status);
  __builtin_unreachable();
}

// _exit() ends an observed child the spawn-like way: its outcome is recorded first. A vfork
// substitute's child first gets the program's signal mask back, so that a signal it raised while
// all were blocked ends it as it would have ended a real fork's child.
FG_EXPORT void _exit(int status) {
  fg::learn_child_finish("_exit");
  if (fg::VforkSubSlot* child = fg::vfork_sub_current_child()) fg::vfork_sub_before_exec(*child);
  auto real = fg::real::_exit();
  if (real != nullptr) real(status);
  syscall(SYS_exit_group, status);  // never return from _exit()
  __builtin_unreachable();
}

// Called by the vfork stub (vfork_x86_64.S) around the real vfork; hidden.
static pid_t missing_vfork() noexcept {
  errno = ENOSYS;
  return -1;
}

fg::VforkSlot* forkguard_vfork_enter(uintptr_t return_address) {
  auto real = fg::real::vfork();
  if (real == nullptr) {
    fg::real::report_missing("vfork");
    real = missing_vfork;
  }
  ensure_init();
  return fg::engine_vfork_enter(return_address, real);
}

void forkguard_vfork_leave(fg::VforkSlot* slot, pid_t result) { fg::engine_vfork_leave(slot, result); }

}  // extern "C"

/// @file interpose.cpp
/// @brief The exported wrappers: the only code that defines libc names. Each one hands the
/// call, its real function and the caller's return address to the engine.
#include <errno.h>

#include <cstdint>

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

inline uintptr_t caller(void* return_address) { return reinterpret_cast<uintptr_t>(return_address); }

}  // namespace

extern "C" {

FG_EXPORT pid_t fork(void) {
  auto real = fg::real::fork();
  if (!resolved(real, "fork")) return -1;
  ensure_init();
  return fg::engine_fork(fg::CallKind::fork, caller(__builtin_return_address(0)), real);
}

FG_EXPORT pid_t _Fork(void) {
  auto real = fg::real::_Fork();
  if (!resolved(real, "_Fork")) return -1;
  ensure_init();
  return fg::engine_fork(fg::CallKind::_Fork, caller(__builtin_return_address(0)), real);
}

FG_EXPORT int system(const char* command) {
  auto real = fg::real::system();
  if (!resolved(real, "system")) return -1;
  ensure_init();
  return fg::engine_system(command, caller(__builtin_return_address(0)), real);
}

FG_EXPORT FILE* popen(const char* command, const char* mode) {
  auto real = fg::real::popen();
  if (!resolved(real, "popen")) return nullptr;
  ensure_init();
  return fg::engine_popen(command, mode, caller(__builtin_return_address(0)), real);
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

// posix_spawn and posix_spawnp exist in two glibc versions (GLIBC_2.2.5, GLIBC_2.15); each
// version is wrapped separately and calls the same version of the real function.
#define FORKGUARD_SPAWN_WRAPPER(wrapper, id, kind)                                                    \
  FG_EXPORT int wrapper(pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,      \
                        const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {      \
    auto real = fg::real::id();                                                                       \
    if (!resolved(real, #id)) return ENOSYS;                                                          \
    ensure_init();                                                                                    \
    return fg::engine_posix_spawn(kind, pid, path, actions, attr, argv, envp,                         \
                                  caller(__builtin_return_address(0)), real);                         \
  }
FORKGUARD_SPAWN_WRAPPER(forkguard_posix_spawn_2_15, posix_spawn, fg::CallKind::posix_spawn)
FORKGUARD_SPAWN_WRAPPER(forkguard_posix_spawn_2_2_5, posix_spawn_2_2_5, fg::CallKind::posix_spawn)
FORKGUARD_SPAWN_WRAPPER(forkguard_posix_spawnp_2_15, posix_spawnp, fg::CallKind::posix_spawnp)
FORKGUARD_SPAWN_WRAPPER(forkguard_posix_spawnp_2_2_5, posix_spawnp_2_2_5, fg::CallKind::posix_spawnp)
#undef FORKGUARD_SPAWN_WRAPPER

// ", remove": only the versioned names are exported, not the C names above.
__asm__(".symver forkguard_posix_spawn_2_15, posix_spawn@@GLIBC_2.15, remove");
__asm__(".symver forkguard_posix_spawn_2_2_5, posix_spawn@GLIBC_2.2.5, remove");
__asm__(".symver forkguard_posix_spawnp_2_15, posix_spawnp@@GLIBC_2.15, remove");
__asm__(".symver forkguard_posix_spawnp_2_2_5, posix_spawnp@GLIBC_2.2.5, remove");

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

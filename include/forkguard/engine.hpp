/// @file engine.hpp
/// @brief probe -> decide -> act -> record for each kind of process creation. Knows nothing of
/// symbol interposition: the shim hands it the real function and the caller's return address.
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <cstdint>
#include <cstdio>

#include "forkguard/config.hpp"
#include "forkguard/record.hpp"

namespace forkguard {

/// Reads the settings once per process image. `secure` is getauxval(AT_SECURE).
void engine_init(EnvLookup env, void* env_ctx, bool secure);
bool engine_ready();

using ForkFn = pid_t (*)();
using SystemFn = int (*)(const char*);
using PopenFn = FILE* (*)(const char*, const char*);
using PcloseFn = int (*)(FILE*);
using SpawnFn = int (*)(pid_t*, const char*, const posix_spawn_file_actions_t*, const posix_spawnattr_t*,
                        char* const[], char* const[]);
using DaemonFn = int (*)(int, int);

struct VforkSubSlot;
/// What the fork stub gets back (rax:rdx): a finished call's pid, or a slot telling it to make
/// the vfork substitute's clone itself (the child must return on the caller's own stack).
struct ForkEnter {
  long pid;
  VforkSubSlot* slot;
};
/// fork() and _Fork() from their stubs: `entry_rsp` is the address of the return-address slot.
ForkEnter engine_fork_enter(CallKind kind, uintptr_t return_address, uintptr_t entry_rsp, ForkFn real);
/// The substitute's child, right after the clone (runs on the parent's stack, below entry_rsp).
void engine_vfork_sub_child(VforkSubSlot* slot);
/// The substitute's parent after the clone returned `raw` (pid or -errno): puts the stack back,
/// writes the record, returns the pid with errno as the caller must see it.
pid_t engine_vfork_sub_leave(VforkSubSlot* slot, long raw);
/// `spawn`: the real posix_spawn, for mitigate mode's own system()/popen() (shell_spawn.hpp).
int engine_system(const char* command, uintptr_t return_address, SystemFn real, SpawnFn spawn);
FILE* engine_popen(const char* command, const char* mode, uintptr_t return_address, PopenFn real, SpawnFn spawn);
int engine_pclose(FILE* stream, uintptr_t return_address, PcloseFn real);
int engine_posix_spawn(CallKind kind, pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
                       const posix_spawnattr_t* attr, char* const argv[], char* const envp[],
                       uintptr_t return_address, SpawnFn real);
int engine_daemon(int nochdir, int noclose, uintptr_t return_address, DaemonFn real);

/// State of one vfork() carried across the call in thread-local storage: the child shares the
/// parent's stack, so nothing of it may live in a stack frame. Layout is read by assembly.
struct VforkSlot {
  uintptr_t return_address;  ///< offset 0: where both child and parent resume
  uintptr_t saved_r12;       ///< offset 8: the caller's callee-saved register, borrowed by the stub
  ForkFn real_vfork;         ///< offset 16
  uintptr_t recording;       ///< offset 24: 1 when leave() must write a record
};

/// Called by the vfork stub before the real vfork; returns the slot the stub uses.
VforkSlot* engine_vfork_enter(uintptr_t return_address, ForkFn real);
/// Called by the stub in the parent after the real vfork returned; writes the record.
void engine_vfork_leave(VforkSlot* slot, pid_t result);


}  // namespace forkguard

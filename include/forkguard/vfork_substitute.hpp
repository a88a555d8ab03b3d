/// @file vfork_substitute.hpp
/// @brief The vfork-style substitute for fork(): clone(CLONE_VM|CLONE_VFORK) from the fork stub,
/// with the calling thread's used stack, errno and signal mask saved before and put back after.
///
/// The child shares the parent's memory and runs on its stack until it execs or exits, so it is
/// only offered at sites whose child does nothing else (FORKGUARD_VFORK_SITES). The parent stays
/// suspended in the kernel meanwhile; a SIGKILL timer armed in the child bounds that wait.
///
/// The saved region is [entry rsp, end): the caller's frames and every outer one. `end` is the
/// thread's stack top, or, for a thread whose stack block also holds its static TLS and thread
/// descriptor (every glibc thread but the main one), the lowest of those: the restore must never
/// rewind thread-local state, the library's own included. Only used while no other thread of the
/// process is alive: the restore would also undo what another thread wrote meanwhile into an
/// object on this thread's stack, and nothing in one address space tells its writes from the
/// child's.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace forkguard {

/// Per-thread state of one substitute. The first two fields are the fork stub's (assembly).
struct VforkSubSlot {
  uintptr_t saved_r12 = 0;      ///< offset 0: the caller's r12, borrowed by the stub
  uintptr_t return_address = 0; ///< offset 8: the caller's, where unwinders find it while the child runs
  uintptr_t region_start = 0;   ///< the fork stub's entry %rsp: the return-address slot
  size_t region_len = 0;        ///< up to vfork_sub_region_end()
  unsigned char* buf = nullptr; ///< mmap'ed copy of the region
  size_t buf_cap = 0;
  uint64_t old_mask = 0;        ///< the program's signal mask (kernel sigset)
  int saved_errno = 0;
  pid_t parent_pid = 0;
  int timeout_s = 0;            ///< set by prepare(); zero here keeps the TLS slot in .tbss
  bool armed = false;           ///< between prepare() and finish()
};

/// Parent, before the clone: blocks every signal (raw rt_sigprocmask, so glibc's internal ones
/// too), checks that no other thread is alive, saves errno and the region. nullptr when ready;
/// otherwise why not (nothing changed, the mask is back).
const char* vfork_sub_prepare(VforkSubSlot& s, uintptr_t entry_rsp, int timeout_s);

/// The end of the region a substitute saves for the calling thread (see above); 0 when unknown.
/// Exposed for the tests.
uintptr_t vfork_sub_region_end();

/// Whether a thread other than the caller is alive in this process (a zombie, such as a main
/// thread that called pthread_exit, is not). Reads /proc/self/stat, and /proc/self/task only when
/// it counts more than one. -1 when /proc cannot be read.
int vfork_sub_other_threads_live();

/// Child, right after the clone: arms the SIGKILL timer (POSIX timers do not survive exec) and
/// sets every caught signal to SIG_DFL in the child (its handler table is its own), so that no
/// handler ever runs on the parent's memory, even when abort() or the child unblocks a signal.
void vfork_sub_child_start(VforkSubSlot& s);

/// Parent, after the clone returned `raw` (pid or -errno): puts back the stack region, errno and
/// signal mask. Returns the pid, or -1 with errno set from `raw`.
pid_t vfork_sub_finish(VforkSubSlot& s, long raw);

/// The slot when the calling process is a substitute child (it shares the parent's TLS, so
/// "am I the child" is getpid() against the parent's pid), nullptr otherwise.
VforkSubSlot* vfork_sub_current_child();

/// In a substitute child, just before the real exec or _exit: the program's mask back. A signal
/// raised in the child while all were blocked, and not blocked by the program's mask, ends the
/// child here by its default action (handlers were reset at the clone), as it would have ended a
/// real fork's child when it was raised.
void vfork_sub_before_exec(VforkSubSlot& s);

/// Whether the child was ended by the timeout (peeks with WNOWAIT: the program reaps it).
bool vfork_sub_child_timed_out(pid_t pid);

}  // namespace forkguard

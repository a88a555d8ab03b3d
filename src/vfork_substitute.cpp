/// @file vfork_substitute.cpp
/// @brief Save and restore around the vfork-style substitute for fork().
#include "forkguard/vfork_substitute.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace forkguard {

namespace {

constexpr size_t kKernelSigsetSize = 8;  // rt_sigprocmask's sigset on x86_64

// Highest address of the calling thread's stack, cached per thread (pthread_getattr_np reads
// /proc/self/maps for the main thread: never on a path that must not allocate twice).
thread_local uintptr_t t_stack_top = 0;

uintptr_t stack_top() {
  if (t_stack_top == 0) {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
    void* addr = nullptr;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) t_stack_top = reinterpret_cast<uintptr_t>(addr) + size;
    pthread_attr_destroy(&attr);
  }
  return t_stack_top;
}

// Set by prepare(), cleared by finish(): the child sees it too (shared TLS).
thread_local VforkSubSlot* t_active = nullptr;

}  // namespace

bool vfork_sub_prepare(VforkSubSlot& s, uintptr_t entry_rsp, int timeout_s) {
  const uintptr_t top = stack_top();
  if (top == 0 || entry_rsp >= top) return false;
  const size_t len = top - entry_rsp;
  if (len > s.buf_cap) {
    const size_t cap = (len + 65535) & ~size_t{65535};
    void* p = mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    if (s.buf != nullptr) munmap(s.buf, s.buf_cap);
    s.buf = static_cast<unsigned char*>(p);
    s.buf_cap = cap;
  }
  s.saved_errno = errno;
  // Raw syscall: pthread_sigmask would leave glibc's internal signals (SIGCANCEL, SIGSETXID)
  // deliverable, and their handlers must not run in a child that shares our memory.
  uint64_t all = ~uint64_t{0};
  if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &s.old_mask, kKernelSigsetSize) != 0) return false;
  s.region_start = entry_rsp;
  s.region_len = len;
  std::memcpy(s.buf, reinterpret_cast<const void*>(entry_rsp), len);  // our frames lie below entry_rsp
  s.parent_pid = getpid();
  s.timeout_s = timeout_s;
  s.armed = true;
  t_active = &s;
  return true;
}

namespace {

// Every caught signal back to SIG_DFL in this process only: the child has its own copy of the
// handler table (no CLONE_SIGHAND), so the parent keeps its handlers. A handler must never run in
// the child, on the parent's memory; a signal the child gets acts as the default action instead.
void reset_caught_handlers() {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) != 0) continue;
    const bool caught = (old.sa_flags & SA_SIGINFO) != 0 || (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN);
    if (!caught) continue;
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, nullptr);
  }
}

}  // namespace

void vfork_sub_child_start(VforkSubSlot& s) {
  // A kernel timer, not a thread: the parent is suspended in the kernel until we exec or exit.
  struct sigevent sev {};
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = SIGKILL;
  int timer = -1;
  if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &timer) == 0) {
    struct itimerspec its {};
    its.it_value.tv_sec = s.timeout_s;
    syscall(SYS_timer_settime, timer, 0, &its, nullptr);
  }
  // Now, not only before exec: abort() unblocks SIGABRT itself, and a child may unblock signals
  // with sigprocmask before it execs. raise() reaches the child (glibc 2.36 pthread_kill.c asks
  // the kernel for the tid, not the TCB it shares with us).
  reset_caught_handlers();
}

pid_t vfork_sub_finish(VforkSubSlot& s, long raw) {
  // The child has exec'd or exited: the region is ours again. Our frames lie below it.
  std::memcpy(reinterpret_cast<void*>(s.region_start), s.buf, s.region_len);
  t_active = nullptr;
  s.armed = false;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &s.old_mask, nullptr, kKernelSigsetSize);
  if (raw < 0) {
    errno = static_cast<int>(-raw);
    return -1;
  }
  errno = s.saved_errno;  // the child shared errno; the caller sees the value it had
  return static_cast<pid_t>(raw);
}

VforkSubSlot* vfork_sub_current_child() {
  VforkSubSlot* s = t_active;
  if (s == nullptr || !s->armed) return nullptr;
  return getpid() != s->parent_pid ? s : nullptr;
}

void vfork_sub_before_exec(VforkSubSlot& s) {
  // Caught handlers were reset at the clone (one scan: 15 us with the parent waiting). A handler
  // the child's own code installs since is its own doing, as on any vfork.
  // Signals raised in the child while everything was blocked are delivered here, at their default
  // action, where a real fork's child would have met them earlier: it ends by them all the same.
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &s.old_mask, nullptr, kKernelSigsetSize);
}

bool vfork_sub_child_timed_out(pid_t pid) {
  // The parent resumes when the killed child releases its memory, a moment before it becomes a
  // zombie: peek (WNOWAIT: the program reaps it) for up to 100 ms.
  for (int i = 0; i < 100; ++i) {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
    if (info.si_pid == pid) return info.si_code == CLD_KILLED && info.si_status == SIGKILL;
    struct timespec ms {0, 1000000};
    nanosleep(&ms, nullptr);
  }
  return false;
}

}  // namespace forkguard

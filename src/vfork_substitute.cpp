/// @file vfork_substitute.cpp
/// @brief Save and restore around the vfork-style substitute for fork().
#include "forkguard/vfork_substitute.hpp"

#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "forkguard/fixed_writer.hpp"
#include "forkguard/libc_features.hpp"
#include "forkguard/probe.hpp"


// Defined only in a copy of the library built for the tests (tests/helpers/substitute_despite_
// threads.cpp), never in the one installed: there the substitute runs while other threads live,
// so that a test shows what the rule below prevents. Here the weak reference is null.
extern "C" bool forkguard_test_substitute_despite_threads() __attribute__((weak, visibility("hidden")));

namespace forkguard {

static_assert(offsetof(VforkSubSlot, saved_r12) == 0 && offsetof(VforkSubSlot, return_address) == 8,
              "the fork stubs (shim/fork_stub_x86_64.inc) address these two fields by offset");

namespace {

constexpr size_t kKernelSigsetSize = 8;  // rt_sigprocmask's sigset on x86_64

// The buffer starts with a table of the handlers the child resets (one struct sigaction per
// signal number), kept for a process the child forks; the region's copy follows it.
constexpr size_t kHandlersBytes = (sizeof(struct sigaction) * 65 + 63) & ~size_t{63};
static_assert(NSIG <= 65, "reset_signals has one bit per signal 1..64");

struct sigaction* handler_table(VforkSubSlot& s) { return reinterpret_cast<struct sigaction*>(s.buf); }
unsigned char* region_copy(VforkSubSlot& s) { return s.buf + kHandlersBytes; }

// The calling thread's stack block [lo, top), cached per thread (pthread_getattr_np reads
// /proc/self/maps for the main thread: never on a path that must not allocate twice).
thread_local uintptr_t t_stack_lo = 0;
thread_local uintptr_t t_stack_top = 0;
thread_local uintptr_t t_region_end = 0;  // cached vfork_sub_region_end()

// Set by prepare(), cleared by finish(): the child sees it too (shared TLS).
thread_local VforkSubSlot* t_active = nullptr;

// glibc 2.32+'s __libc_single_threaded: true until the process first creates a thread (glibc's
// malloc skips its locks on the same knowledge). Found at load, not linked (the floor is 2.17, and
// even a weak reference needs GLIBC_2.32): on older glibc /proc is asked instead.
bool libc_single_threaded() {
  const char* flag = libc_single_threaded_flag();
  return flag != nullptr && *flag != 0;
}

bool stack_block(uintptr_t& lo, uintptr_t& top) {
  if (t_stack_top == 0) {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return false;
    void* addr = nullptr;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
      t_stack_lo = reinterpret_cast<uintptr_t>(addr);
      t_stack_top = t_stack_lo + size;
    }
    pthread_attr_destroy(&attr);
  }
  lo = t_stack_lo;
  top = t_stack_top;
  return top != 0;
}

struct TlsLow {
  uintptr_t lo, lowest;
};

// The lowest of this thread's TLS blocks that lie inside its stack block (dlpi_tls_data is the
// calling thread's copy; dynamic TLS lives on the heap and is left out by the range check).
int lowest_tls_block(struct dl_phdr_info* info, size_t, void* ctx) {
  auto& t = *static_cast<TlsLow*>(ctx);
  const auto at = reinterpret_cast<uintptr_t>(info->dlpi_tls_data);
  if (at >= t.lo && at < t.lowest) t.lowest = at;
  return 0;
}

// Anything of ours in thread-local storage: never inside the region, whatever the layout.
uintptr_t lowest_of_ours() {
  uintptr_t a = reinterpret_cast<uintptr_t>(&t_active);
  for (uintptr_t b : {reinterpret_cast<uintptr_t>(&t_stack_lo), reinterpret_cast<uintptr_t>(&t_stack_top),
                      reinterpret_cast<uintptr_t>(&t_region_end)}) {
    if (b < a) a = b;
  }
  return a;
}

}  // namespace

uintptr_t vfork_sub_region_end() {
  if (t_region_end != 0) return t_region_end;
  uintptr_t lo = 0, top = 0;
  if (!stack_block(lo, top)) return 0;
  // glibc puts a thread's descriptor and static TLS at the top of its stack block, so the block
  // pthread_getattr_np reports ends above them (x86_64, TLS variant II: static TLS just below
  // the thread pointer, the descriptor at it; aarch64, variant I: the descriptor just below the
  // thread pointer, static TLS above it). The thread's frames all lie below the lowest of them.
  // The main thread's TLS is elsewhere (ld.so maps it): its region ends at the stack top.
  TlsLow t{lo, top};
  for (uintptr_t a : {reinterpret_cast<uintptr_t>(__builtin_thread_pointer()),
                      reinterpret_cast<uintptr_t>(pthread_self()), lowest_of_ours()}) {
    if (a >= lo && a < t.lowest) t.lowest = a;
  }
  dl_iterate_phdr(lowest_tls_block, &t);
  // Cached: a module dlopen'ed later with static TLS takes room below the blocks seen here, so
  // its block may fall inside the region; with no other thread alive (see prepare), putting back
  // bytes there undoes the child's writes only, as for the frames.
  t_region_end = t.lowest;
  return t_region_end;
}

namespace {

// One field of a /proc/.../stat line, counted from 3 (the state) after the command's ")".
const char* stat_field(const char* line, int field) {
  const char* p = std::strrchr(line, ')');
  if (p == nullptr) return nullptr;
  ++p;
  for (int f = 3; f < field; ++f) {
    while (*p == ' ') ++p;
    while (*p != ' ' && *p != '\0') ++p;
    if (*p == '\0') return nullptr;
  }
  while (*p == ' ') ++p;
  return *p != '\0' ? p : nullptr;
}

}  // namespace

int vfork_sub_other_threads_live() {
  char stat[1024];
  if (read_small_file("/proc/self/stat", stat, sizeof stat) <= 0) return -1;
  const char* n = stat_field(stat, 20);  // num_threads
  if (n == nullptr) return -1;
  const long threads = std::strtol(n, nullptr, 10);
  if (threads <= 1) return threads == 1 ? 0 : -1;
  // A thread that exits is reaped at once, except the main one, which stays a zombie as long as
  // the process lives (pthread_exit in main): the only other thread that may be counted dead.
  const pid_t self = static_cast<pid_t>(syscall(SYS_gettid));
  const pid_t leader = getpid();
  if (threads > 2 || self == leader) return 1;
  char path[64];
  FixedWriter w(path, sizeof path - 1);
  w.put("/proc/self/task/");
  w.put_int(leader);
  w.put("/stat");
  path[w.size()] = '\0';
  char lstat[1024];
  if (read_small_file(path, lstat, sizeof lstat) <= 0) return -1;
  const char* state = stat_field(lstat, 3);
  if (state == nullptr) return -1;
  return *state == 'Z' || *state == 'X' || *state == 'x' ? 0 : 1;
}

const char* vfork_sub_prepare(VforkSubSlot& s, uintptr_t entry_rsp, int timeout_s) {
  const int entry_errno = errno;
  // Raw syscall: pthread_sigmask would leave glibc's internal signals (SIGCANCEL, SIGSETXID)
  // deliverable, and their handlers must not run in a child that shares our memory.
  uint64_t all = ~uint64_t{0};
  if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &s.old_mask, kKernelSigsetSize) != 0) {
    errno = entry_errno;
    return "vfork substitute impossible: signals could not be blocked";
  }
  const auto decline = [&](const char* why) {
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &s.old_mask, nullptr, kKernelSigsetSize);
    errno = entry_errno;
    return why;
  };
  // Checked first, and with every signal blocked: no handler of ours can start a thread before
  // the clone. Another thread could store into an object on our stack while the child runs, and
  // the restore would undo it. glibc's own flag answers for most programs without a /proc read.
  if (!libc_single_threaded() && forkguard_test_substitute_despite_threads == nullptr) {
    const int others = vfork_sub_other_threads_live();
    if (others > 0) {
      return decline("vfork substitute not used: other threads are running, and putting the forking thread's "
                     "stack back after the child would undo what they store there meanwhile");
    }
    if (others < 0) return decline("vfork substitute not used: /proc/self/stat unreadable, so other threads cannot be ruled out");
  }
  const uintptr_t end = vfork_sub_region_end();
  if (end == 0 || entry_rsp >= end) return decline("vfork substitute impossible: the thread's stack could not be found");
  const size_t len = end - entry_rsp;
  if (kHandlersBytes + len > s.buf_cap) {
    const size_t cap = (kHandlersBytes + len + 65535) & ~size_t{65535};
    void* p = mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return decline("vfork substitute impossible: no memory to save the thread's stack");
    if (s.buf != nullptr) munmap(s.buf, s.buf_cap);
    s.buf = static_cast<unsigned char*>(p);
    s.buf_cap = cap;
  }
  s.saved_errno = entry_errno;
  s.region_start = entry_rsp;
  s.region_len = len;
  s.reset_signals = 0;
  std::memcpy(region_copy(s), reinterpret_cast<const void*>(entry_rsp), len);  // our frames lie below entry_rsp
  s.parent_pid = getpid();
  s.timeout_s = timeout_s;
  s.armed = true;
  t_active = &s;
  errno = entry_errno;
  return nullptr;
}

namespace {

// Every caught signal back to SIG_DFL in this process only: the child has its own copy of the
// handler table (no CLONE_SIGHAND), so the parent keeps its handlers. A handler must never run in
// the child, on the parent's memory; a signal the child gets acts as the default action instead.
// The program's handlers are kept in the buffer: a process the child forks gets them back.
void reset_caught_handlers(VforkSubSlot& s) {
  struct sigaction* kept = handler_table(s);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) != 0) continue;
    const bool caught = (old.sa_flags & SA_SIGINFO) != 0 || (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN);
    if (!caught) continue;
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    if (sigaction(sig, &dfl, nullptr) != 0) continue;
    kept[sig] = old;
    s.reset_signals |= uint64_t{1} << (sig - 1);
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
  reset_caught_handlers(s);
}

pid_t vfork_sub_finish(VforkSubSlot& s, long raw) {
  // The child has exec'd or exited: the region is ours again. Our frames lie below it.
  std::memcpy(reinterpret_cast<void*>(s.region_start), region_copy(s), s.region_len);
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

void vfork_sub_own_memory(VforkSubSlot& s) {
  const int saved = errno;
  // Our own copy of the slot and of the buffer, as the substitute child left them at its fork.
  const struct sigaction* kept = handler_table(s);
  for (int sig = 1; sig < NSIG; ++sig) {
    if ((s.reset_signals & (uint64_t{1} << (sig - 1))) != 0) sigaction(sig, &kept[sig], nullptr);
  }
  s.reset_signals = 0;
  s.armed = false;
  t_active = nullptr;
  // The mask the program had when it forked (every signal was blocked for the substitute).
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &s.old_mask, nullptr, kKernelSigsetSize);
  errno = saved;
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

/// @file slim_fault.cpp
/// @brief The slim fork child's fault record: one record, one write(2), then the default action.
#include "forkguard/slim_fault.hpp"

#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "forkguard/engine.hpp"
#include "forkguard/fixed_writer.hpp"
#include "forkguard/stack.hpp"

namespace forkguard {

namespace {

// The handler's own storage: a child has one thread, and the handler may not allocate.
Record g_fault;
char g_notice[768];

void put_mib(FixedWriter& w, uintptr_t bytes) {
  const uint64_t tenths = bytes * 10 / (1024 * 1024);
  w.put_uint(tenths / 10);
  w.put('.');
  w.put_uint(tenths % 10);
  w.put(" MiB");
}

void put_range(FixedWriter& w, uintptr_t start, uintptr_t end) {
  w.put("[0x");
  w.put_hex(start);
  w.put("-0x");
  w.put_hex(end);
  w.put(") of ");
  put_mib(w, end - start);
}

int64_t now_ns(clockid_t clock) {
  struct timespec ts {};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The program's own SIGSEGV action in this child, put back at the first signal.
struct sigaction g_program_action;

// The faulting instruction's address, from the signal's saved context.
uintptr_t faulting_pc(const ucontext_t* uc) {
#if defined(__x86_64__)
  return static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
  return static_cast<uintptr_t>(uc->uc_mcontext.pc);
#else
#error "forkguard: the fault record knows x86_64 and aarch64 only"
#endif
}

void on_fault(int sig, siginfo_t* info, void* ucontext) {
  const int saved = errno;
  // The program's action first: whatever happens from here on, the signal is the program's.
  sigaction(SIGSEGV, &g_program_action, nullptr);
  const SlimChildState& s = slim_child_state();
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  // Only a fault the kernel reports (si_code > 0) has an address; kill() and sigqueue() do not.
  if (info->si_code > 0 && describe_slim_fault(s, addr, info->si_code == SEGV_ACCERR, g_notice, sizeof g_notice) > 0) {
    uintptr_t pcs[Record::kMaxFrames];
    int n = 0;
    const auto* uc = static_cast<const ucontext_t*>(ucontext);
    const uintptr_t fault_pc = faulting_pc(uc);
    pcs[n++] = fault_pc;
    // The frames above it only when no other thread of the parent could have held the loader's
    // lock the unwinder takes (dl_iterate_phdr): in a child that lock is never released.
    if (s.parent_single_threaded) {
      uintptr_t raw[Record::kMaxFrames];
      const int got = capture_pcs(raw, Record::kMaxFrames, 0);
      int from = got;  // the frames below the signal are the handler's: skip to the faulting one
      for (int i = 0; i < got; ++i) {
        if (raw[i] == fault_pc || raw[i] == fault_pc + 1) {
          from = i + 1;
          break;
        }
      }
      for (int i = from; i < got && n < Record::kMaxFrames; ++i) pcs[n++] = raw[i];
    }
    fill_fault_record(g_fault, sig, pcs, n, g_notice, (now_ns(CLOCK_MONOTONIC) - s.fork_ns) / 1000);
    engine_write_record(g_fault);
  }
  // The same signal again, with the same siginfo, pending until this handler returns (SIGSEGV is
  // blocked meanwhile): the program's action then gets it at the same context, as it would have
  // without the library (its own handler, or the default action that ends the child). Should
  // the kernel refuse, returning re-runs the faulting access, which faults again.
  syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), sig, info);
  errno = saved;
}

}  // namespace

void slim_fault_install() {
  // The program's action is kept and comes back at the first SIGSEGV (above). Ignored or
  // blocked, a fault kills the child whatever the action (the kernel forces it): no record then.
  if (sigaction(SIGSEGV, nullptr, &g_program_action) != 0) return;
  struct sigaction sa {};
  sa.sa_sigaction = on_fault;
  // On the program's alternate stack where its own handler would run there (a stack overflow).
  sa.sa_flags = SA_SIGINFO | (g_program_action.sa_flags & SA_ONSTACK);
  sigfillset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, nullptr);
}

size_t describe_slim_fault(const SlimChildState& s, uintptr_t addr, bool write_fault, char* notice, size_t cap) {
  FixedWriter w(notice, cap - 1);
  const SlimRegion* hit = nullptr;
  for (int i = 0; i < s.plan.n && hit == nullptr; ++i) {
    if (addr >= s.plan.regions[i].start && addr < s.plan.regions[i].end) hit = &s.plan.regions[i];
  }
  if (hit == nullptr) {
    notice[0] = '\0';
    return 0;
  }
  const SlimRegion* hole = nullptr;
  for (int i = 0; i < s.nholes && hole == nullptr; ++i) {
    if (addr >= s.holes[i].start && addr < s.holes[i].end) hole = &s.holes[i];
  }
  w.put("the child of the slim fork at ");
  w.put(s.site);
  if (hit->written) {
    w.put(" touched 0x");
    w.put_hex(addr);
    w.put(", in memory the fork left out although it was written ");
    put_range(w, hit->start, hit->end);
    w.put(", because the kernel would refuse the fork otherwise (");
    w.put(s.plan.written_rule != nullptr ? s.plan.written_rule : "commit rule");
    w.put("); raise the commit limit or add swap so that this mapping can stay in the child, or let this site "
          "take the vfork substitute if its child only execs (FORKGUARD_VFORK_SITES)");
  } else if (hole != nullptr || s.nholes < 0) {
    w.put(" touched 0x");
    w.put_hex(addr);
    w.put(" in never-written memory ");
    put_range(w, hit->start, hit->end);
    w.put(" that another thread of the parent wrote while the fork was made: the child was given neither the "
          "parent's data nor zeros there; this is a race in the program between that write and the fork");
  } else if (write_fault && !s.zeros_writable) {
    w.put(" wrote to 0x");
    w.put_hex(addr);
    w.put(" in never-written memory ");
    put_range(w, hit->start, hit->end);
    w.put(", which the child has read-only: under strict overcommit (mode 2) writable zeros would be charged; "
          "raise FORKGUARD_SLIM_MIN above this mapping's size, or let this site take the vfork substitute if its "
          "child only execs (FORKGUARD_VFORK_SITES)");
  } else {
    w.put(" touched 0x");
    w.put_hex(addr);
    w.put(" in never-written memory ");
    put_range(w, hit->start, hit->end);
    w.put(" where the child could not be given zeros (something else was mapped there first)");
  }
  notice[w.size()] = '\0';
  return w.size();
}

void fill_fault_record(Record& r, int sig, const uintptr_t* pcs, int npcs, const char* notice, int64_t since_fork_us) {
  r = Record{};
  const int64_t now_us = now_ns(CLOCK_REALTIME) / 1000;
  r.ts_sec = now_us / 1000000;
  r.ts_usec = now_us % 1000000;
  r.pid = getpid();
  r.ppid = getppid();
  r.tid = static_cast<pid_t>(syscall(SYS_gettid));
  r.call = CallKind::fault;
  r.verdict = Verdict::unknown;  // figures stay -1: null in the record
  r.action = Action::slim_fork;
  r.result = sig;
  r.duration_us = since_fork_us < 0 ? 0 : since_fork_us;
  r.notice = notice;
  for (int i = 0; i < npcs && r.nframes < Record::kMaxFrames; ++i) {
    Frame& f = r.frames[r.nframes++];
    f.pc = pcs[i];
    resolve_frame(f);
  }
  if (r.nframes > 0) {  // the site of a fault is the faulting instruction
    r.site_module = r.frames[0].module;
    r.site_offset = r.frames[0].offset;
  }
}

}  // namespace forkguard

/// @file engine.cpp
/// @brief probe -> decide -> act -> record for each intercepted call.
#include "forkguard/engine.hpp"

#include <limits.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <string_view>

#include "forkguard/advice.hpp"
#include "forkguard/call_charge.hpp"
#include "forkguard/diag.hpp"
#include "forkguard/fixed_writer.hpp"
#include "forkguard/module_id.hpp"
#include "forkguard/owner_lock.hpp"
#include "forkguard/picture.hpp"
#include "forkguard/shell_spawn.hpp"
#include "forkguard/sink.hpp"
#include "forkguard/site_profile.hpp"
#include "forkguard/slim_child.hpp"
#include "forkguard/slim_fork.hpp"
#include "forkguard/stack.hpp"
#include "forkguard/vfork_substitute.hpp"

namespace forkguard {

namespace {

Config g_cfg;
Sink g_sink;
std::atomic<bool> g_ready{false};

// Re-entrancy: a call that arrives while this thread is already inside the library (a signal
// handler that interrupted it, or the program's pthread_atfork handler inside a fork it makes)
// is "nested": recorded without stack and passed through, touching nothing the interrupted code
// may hold (the slim-fork plan, the fork turn, libunwind's first load).
thread_local int t_depth = 0;
thread_local int t_vfork_depth = 0;  // vfork() calls being recorded on this thread (engine_vfork_enter)
struct Guard {
  const bool nested = t_depth > 0;  // this thread was already inside the library
  Guard() { ++t_depth; }
  ~Guard() { --t_depth; }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
};

// What a recorded call may need below the wrapper (the call's state, a /proc read buffer, the
// unwinder), with room to spare: measured, a handler's first fork overflowed with 11.7 KiB left
// (15 KiB altstack less the kernel's 3.3 KiB signal frame), not with 12.7 KiB.
constexpr uintptr_t kStackNeeded = 16 * 1024;
std::atomic<unsigned> g_short_stack_calls{0};  // passed through unrecorded since the last record said so

// A signal handler running on an alternate stack too small for a record: the call passes through
// unrecorded rather than overflow the program's stack; the next record of the process says so.
bool short_signal_stack() {
  stack_t ss{};
  if (sigaltstack(nullptr, &ss) != 0 || (ss.ss_flags & SS_ONSTACK) == 0) return false;
  int here = 0;
  const auto sp = reinterpret_cast<uintptr_t>(&here);
  const auto low = reinterpret_cast<uintptr_t>(ss.ss_sp);
  if (sp < low || sp - low >= kStackNeeded) return false;
  g_short_stack_calls.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool pass_through() {
  return !g_ready.load(std::memory_order_acquire) || g_cfg.mode == Mode::off || short_signal_stack();
}
constexpr const char* kNestedReason =
    "called while this thread was inside forkguard (a signal or atfork handler): passed through unsubstituted";

int64_t monotonic_ns() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The executable's path, read once per process image (a fork child keeps the same one).
char g_exe[PATH_MAX];
std::atomic<bool> g_exe_known{false};
const char* exe_path() {
  if (!g_exe_known.load(std::memory_order_acquire)) {
    main_program_path(g_exe, sizeof g_exe);
    g_exe_known.store(true, std::memory_order_release);
  }
  return g_exe;
}

// The five vm sysctls, re-read at most once a second: they shape every verdict but an
// administrator changes them rarely, and reading them costs five open/read/close per call.
constexpr int64_t kSysctlTtlNs = 1000000000;
struct SysctlCache {
  std::atomic<int64_t> read_at_ns{0};
  std::atomic<int> overcommit_memory{-1};
  std::atomic<int64_t> ratio{-1}, kbytes{-1}, admin{-1}, user{-1};
};
SysctlCache g_sysctl;

VmSysctl current_sysctl() {
  const int64_t now = monotonic_ns();
  const int64_t at = g_sysctl.read_at_ns.load(std::memory_order_acquire);
  VmSysctl v;
  if (at != 0 && now - at < kSysctlTtlNs) {
    v.overcommit_memory = g_sysctl.overcommit_memory.load(std::memory_order_relaxed);
    v.overcommit_ratio = g_sysctl.ratio.load(std::memory_order_relaxed);
    v.overcommit_kbytes = g_sysctl.kbytes.load(std::memory_order_relaxed);
    v.admin_reserve_kbytes = g_sysctl.admin.load(std::memory_order_relaxed);
    v.user_reserve_kbytes = g_sysctl.user.load(std::memory_order_relaxed);
    return v;
  }
  v = read_vm_sysctl("/proc");
  g_sysctl.overcommit_memory.store(v.overcommit_memory, std::memory_order_relaxed);
  g_sysctl.ratio.store(v.overcommit_ratio, std::memory_order_relaxed);
  g_sysctl.kbytes.store(v.overcommit_kbytes, std::memory_order_relaxed);
  g_sysctl.admin.store(v.admin_reserve_kbytes, std::memory_order_relaxed);
  g_sysctl.user.store(v.user_reserve_kbytes, std::memory_order_relaxed);
  g_sysctl.read_at_ns.store(now, std::memory_order_release);
  return v;
}

/// Storage for a thread_local object that must start as zero bytes (.tbss): an initialised TLS
/// image is copied into every thread the host creates and costs relocations at every load.
template <typename T>
struct TlsBox {
  alignas(T) unsigned char bytes[sizeof(T)];
  T& get() { return *std::launder(reinterpret_cast<T*>(bytes)); }
};

/// One call being observed: the record, the commit picture, the start time.
struct Call {
  Record rec;
  Picture pic;
  int64_t t0_ns = 0;
  bool nested = false;  ///< arrived while this thread was inside the library: no stack, no substitute
  uintptr_t return_address = 0;
  char site[160] = {};
};

void capture_stack(Record& r, uintptr_t return_address) {
  const int depth = g_cfg.stack_depth;
  if (depth <= 0) return;
  uintptr_t pcs[Record::kMaxFrames + 16];
  int want = depth + 12;  // our own frames come first and are dropped below
  if (want > static_cast<int>(sizeof pcs / sizeof pcs[0])) want = sizeof pcs / sizeof pcs[0];
  const int n = capture_pcs(pcs, want, 0);
  int first = 0;
  for (int i = 0; i < n; ++i) {
    if (pcs[i] == return_address) {  // the caller's frame: everything inside it is ours
      first = i;
      break;
    }
  }
  for (int i = first; i < n && r.nframes < depth && r.nframes < Record::kMaxFrames; ++i) {
    Frame& f = r.frames[r.nframes++];
    f.pc = pcs[i];
    resolve_frame(f);
  }
}

/// Fills everything known before the call: identity, site, stack and (when `probe`) the picture.
/// `charged`: the kernel charges this call for the parent's memory (call_charge.hpp); otherwise
/// its verdict is ok whatever a full fork's (fork_verdict) would be.
/// A nested call's record is degraded: syscalls and lock-free reads only, no stack.
void begin(Call& c, const Guard& guard, CallKind kind, uintptr_t return_address, const char* command, bool probe,
           bool charged) {
  Record& r = c.rec;
  c.nested = guard.nested;
  c.return_address = return_address;
  r.charged = charged;
  if (c.nested) r.degraded = "reentered";
  c.t0_ns = monotonic_ns();
  struct timespec now {};
  clock_gettime(CLOCK_REALTIME, &now);
  r.ts_sec = now.tv_sec;
  r.ts_usec = now.tv_nsec / 1000;
  r.pid = getpid();
  r.ppid = getppid();
  r.tid = static_cast<pid_t>(syscall(SYS_gettid));
  r.exe = exe_path();
  r.call = kind;
  r.command = command;
  resolve_site(return_address, r.site_module, r.site_offset, c.nested);
  FixedWriter w(c.site, sizeof c.site - 1);
  w.put(r.site_module);
  w.put("+0x");
  w.put_hex(r.site_offset);
  c.site[w.size()] = '\0';
  if (probe) {
    const VmSysctl vm = current_sysctl();
    gather_picture(0, Precision::automatic, g_cfg.precise_margin_pct, c.pic, "/proc", &vm);
    const Picture& p = c.pic;
    r.vm_size_kb = p.status.vm_size_kb;
    r.vm_rss_kb = p.status.vm_rss_kb;
    r.charge_kb = p.inputs.charge_kb;
    r.charge_method = p.charge_method();
    r.commit_limit_kb = p.mem.commit_limit_kb;
    r.committed_as_kb = p.mem.committed_as_kb;
    r.overcommit_mode = p.vm.overcommit_memory;
    r.fork_verdict = p.verdict.verdict;
    r.verdict = charged ? r.fork_verdict : Verdict::ok;
    r.margin_kb = p.verdict.margin_kb;
    r.allowed_kb = p.verdict.allowed_kb;
    r.largest_vma_kb = p.used_smaps ? p.smaps.largest_kb : -1;  // otherwise only bounded by the estimate
    r.rule = p.verdict.why;
  }
  if (!c.nested) capture_stack(r, return_address);
}

// What the notice board holds for this record, after what only the engine counts.
size_t gather_notices(char* out, size_t cap, size_t used) {
  // Read first: an exchange writes, and this page is shared copy-on-write with the child just made.
  const unsigned unrecorded =
      g_short_stack_calls.load(std::memory_order_relaxed) != 0 ? g_short_stack_calls.exchange(0) : 0;
  if (unrecorded > 0 && used == 0) {
    FixedWriter w(out, cap - 1);
    w.put_int(unrecorded);
    w.put(unrecorded == 1 ? " call" : " calls");
    w.put(" from a signal handler on an alternate stack with less than 16 KiB left passed through unrecorded "
          "before this one (give sigaltstack more room to have them recorded)");
    used = w.size();
    out[used] = '\0';
  }
  return diag_take_notices(out, cap, used);
}

/// A refused call (ENOMEM, or refused by the library) gets advice: what would make it fit.
bool refused_call(const Call& c, int err) {
  return !c.nested && c.rec.charged && (err == ENOMEM || c.rec.action == Action::refused);
}

bool on_alternate_stack() {
  stack_t ss{};
  return sigaltstack(nullptr, &ss) == 0 && (ss.ss_flags & SS_ONSTACK) != 0;
}

/// Formats the record (with the modules it names and the notices waiting) and writes it.
void emit(Call& c) {
  Record& r = c.rec;
  // Modules named here and not yet described by this process in this log (JSON only: what the
  // report reads).
  const bool describe = g_cfg.format == Format::json && !c.nested;
  const uintptr_t site_base = c.return_address != 0 ? c.return_address - r.site_offset : 0;
  constexpr int kMaxModules = 24;
  const ModuleDesc* modules[kMaxModules];
  char notice[2 * kNoticeMax + 256];
  size_t used = 0;
  char line[PIPE_BUF];
  bool written = false;
  // A write that found something to say about the log (reopened, fell back to stderr) writes
  // nothing: the record is formatted again, carrying that notice (and, for a new file, the
  // module descriptions it does not hold yet).
  for (int attempt = 0; attempt < 3 && !written; ++attempt) {
    const unsigned generation = g_sink.generation();
    r.modules = modules;
    r.nmodules = describe ? modules_to_describe(r, site_base, generation, modules, kMaxModules) : 0;
    used = gather_notices(notice, sizeof notice, used);
    r.notice = used > 0 ? notice : nullptr;
    int described = 0;
    const size_t n = g_cfg.format == Format::json ? format_json(r, line, sizeof line, &described)
                                                  : format_text(r, line, sizeof line);
    written = n > 0 && g_sink.write_record(line, n);
    if (r.nmodules > 0) modules_done(modules, r.nmodules, described, written, r.pid, generation);
    if (n == 0) break;
  }
}

/// emit() with the advice, from smaps and pagemap as a slim fork from this thread would see them.
/// Its own frame (the Advice and the walk take about 15 KiB): every other record's stack stays
/// as small as the 16 KiB a signal handler's call needs, and its pages unwritten after a fork.
__attribute__((noinline)) void emit_with_advice(Call& c) {
  Advice advice;
  AdviceLimits lim;
  lim.slim_min_kb = g_cfg.slim_min_kb;
  int on_stack = 0;
  lim.keep_address = reinterpret_cast<uintptr_t>(&on_stack);
  lim.tls_address = reinterpret_cast<uintptr_t>(__builtin_thread_pointer());
  if (advise_from_proc("/proc/self/smaps", "/proc/self/pagemap", c.pic.inputs, lim, advice) == 0)
    c.rec.advice = &advice;
  emit(c);
  c.rec.advice = nullptr;
}

void finish(Call& c, int64_t result, int err, pid_t child) {
  Record& r = c.rec;
  r.result = result;
  r.err = err;
  r.child_pid = child;
  r.duration_us = (monotonic_ns() - c.t0_ns) / 1000;
  // Never on an alternate signal stack: the advice's walk could overflow a small one.
  if (refused_call(c, err) && !on_alternate_stack()) {
    emit_with_advice(c);
  } else {
    emit(c);
  }
}

/// Mitigate mode, and not a nested call (which touches nothing the interrupted code may hold).
bool may_substitute(const Call& c) { return g_cfg.mode == Mode::mitigate && !c.nested; }

bool wants_substitute(Call& c) {
  if (c.nested && g_cfg.mode == Mode::mitigate) c.rec.reason = kNestedReason;
  return may_substitute(c) && (g_cfg.trigger == Trigger::always || c.rec.verdict == Verdict::refuse);
}

/// slim_fork() with every signal blocked on this thread while the plan's regions are marked
/// DONTFORK: a handler's fork there would give its child the same holes, and could not wait for
/// the fork turn its own thread holds. The raw syscall, since pthread_sigmask leaves glibc's
/// internal signals open; the mask comes back in parent and child alike (a syscall: safe there).
/// Fault signals stay as they were: blocked, the kernel would kill the program on a fault its own
/// handler resolves (a write barrier inside an atfork handler), instead of running the handler.
constexpr uint64_t sig_bit(int sig) { return uint64_t{1} << (sig - 1); }
constexpr uint64_t kFaultSignals =
    sig_bit(SIGSEGV) | sig_bit(SIGBUS) | sig_bit(SIGILL) | sig_bit(SIGFPE) | sig_bit(SIGTRAP) | sig_bit(SIGSYS);

pid_t slim_fork_unsignalled(ForkFn real, const SlimPlan& plan, const char* site, int overcommit_mode) {
  uint64_t others = ~kFaultSignals, old = 0;
  const bool blocked = syscall(SYS_rt_sigprocmask, SIG_BLOCK, &others, &old, sizeof others) == 0;
  const pid_t pid = slim_fork(real, plan, site, overcommit_mode);
  const int err = errno;
  if (blocked) syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof old);
  errno = err;
  return pid;
}

/// Tries a slim fork. Returns true when one was made (pid in `pid`); otherwise sets a reason.
bool try_slim_fork(Call& c, ForkFn real, pid_t& pid) {
  slim_register_atfork();  // (normally done by the constructor; a wrapper may run before it)
  SlimLimits limits;
  limits.min_kb = g_cfg.slim_min_kb;
  int on_stack = 0;
  limits.keep_address = reinterpret_cast<uintptr_t>(&on_stack);
  limits.tls_address = reinterpret_cast<uintptr_t>(__builtin_thread_pointer());
  limits.main_tp = slim_main_thread_pointer();
  // Besides the static TLS, ld.so's own small allocations made around it (the dtv, its chunks).
  limits.tls_keep_below = slim_static_tls_bytes() + (1 << 20);
  // Planned and made in one turn: no other slim fork's DONTFORK marks split mappings meanwhile,
  // and no page is checked never-written long before the fork.
  OwnerLockGuard turn(fork_turn_lock());
  SlimPlan plan;
  bool reused = false;
  if (plan_slim_fork_cached(limits, c.pic.inputs, plan, reused) != 0) {
    c.rec.reason = "slim fork impossible: /proc/self/smaps unreadable";
    return false;
  }
  if (plan.verdict == Verdict::refuse && g_cfg.trigger != Trigger::always) {
    c.rec.reason = plan.n == 0 ? "even a slim fork would be refused: nothing of FORKGUARD_SLIM_MIN or more may be left out"
                               : "even a slim fork would be refused";
    return false;
  }
  if (plan.n == 0) {
    c.rec.reason = plan.verdict == Verdict::ok && c.pic.inputs.overcommit_mode == 2
                       ? "a full fork fits: strict overcommit leaves never-written memory in the child unless needed"
                       : "slim fork found nothing never written of FORKGUARD_SLIM_MIN or more to leave out";
    return false;
  }
  pid = slim_fork_unsignalled(real, plan, c.site, c.pic.inputs.overcommit_mode);
  c.rec.action = Action::slim_fork;
  c.rec.reason = c.pic.verdict.verdict == Verdict::refuse ? "kernel predicted to refuse a full fork"
                                                          : "FORKGUARD_TRIGGER=always";
  c.rec.excluded_kb = plan.excluded_kb;
  c.rec.excluded_written_kb = plan.excluded_written_kb;
  c.rec.excluded_mappings = plan.mappings;
  c.rec.excluded_written_rule = plan.written_rule;
  return true;
}

}  // namespace

namespace {
void absolutize(char* path, size_t cap) {
  if (path[0] == '\0' || path[0] == '/') return;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == nullptr) return;
  char joined[PATH_MAX + 1024];
  FixedWriter w(joined, sizeof joined - 1);
  w.put(cwd);
  w.put('/');
  w.put(path);
  joined[w.size()] = '\0';
  if (!w.overflowed() && w.size() < cap) copy_cstr(path, cap, joined);
}
}  // namespace

void engine_init(EnvLookup env, void* env_ctx, bool secure) {
  if (g_ready.load(std::memory_order_acquire)) return;
  static std::atomic<bool> initialising{false};
  if (initialising.exchange(true)) return;  // another thread is at it: pass through meanwhile
  g_cfg = parse_config(
      env, env_ctx, secure, [](const char* msg, void*) { diag_warn(msg); }, nullptr);
  // Relative paths name files where the program started: it may change directory before it forks.
  absolutize(g_cfg.profile_path, sizeof g_cfg.profile_path);
  if (g_cfg.log_kind == LogKind::file) absolutize(g_cfg.log_path, sizeof g_cfg.log_path);
  g_sink.configure(g_cfg);
  (void)running_libc();  // read now: later calls may come from a signal handler
  g_ready.store(true, std::memory_order_release);
}

bool engine_ready() { return g_ready.load(std::memory_order_acquire); }

namespace {

// Observe mode with FORKGUARD_PROFILE: the first children of each site are observed, then one in
// sixteen (the child pays about 20 ms per GiB of private memory to be watched).
constexpr int kLearnSlots = 64;
std::atomic<uintptr_t> g_learn_sites[kLearnSlots];  // zero-initialised: no guard, no constructor
std::atomic<unsigned> g_learn_counts[kLearnSlots];

bool should_learn(uintptr_t return_address) {
  if (g_cfg.mode != Mode::observe || g_cfg.profile_path[0] == '\0') return false;
  auto& sites = g_learn_sites;
  auto& counts = g_learn_counts;
  for (int i = 0; i < kLearnSlots; ++i) {
    uintptr_t cur = sites[i].load(std::memory_order_relaxed);
    if (cur == 0 && sites[i].compare_exchange_strong(cur, return_address)) cur = return_address;
    if (cur != return_address) continue;
    const unsigned n = counts[i].fetch_add(1, std::memory_order_relaxed);
    return n < 4 || n % 16 == 0;
  }
  return false;  // more distinct sites than slots: the rest go unobserved
}

// The vfork substitute's state lives in TLS: the child runs on (and overwrites) our stack.
thread_local VforkSubSlot t_sub_slot;
thread_local TlsBox<Call> t_sub_call;  // constructed by try_vfork_substitute()

/// This thread's call depths when the substitute's clone is made. The child shares our TLS, and
/// a call it never returns from in our sense (daemon(), whose fork leaves the child _exit()ing
/// inside the wrapper; a call it is killed in) would leave them counted for the parent for ever.
struct SubDepths {
  int depth;        ///< t_depth: the library's re-entrancy count (Guard)
  int vfork_depth;  ///< t_vfork_depth: vfork() records in flight
};
thread_local SubDepths t_sub_depths;

// The sink as it was at the clone (one substitute at a time: no other thread lives meanwhile). A
// child that writes a record of its own (its system(), say) opens its log (%p) or socket in its
// own descriptor table but notes it in our shared memory; the parent's sink, put back, is its
// own again, rather than reopened with the old descriptor leaked at every substitute.
Sink g_sink_at_clone;

/// One clone mitigate mode's fallback chain made, kept for the record's "attempts" (a way that
/// was not tried is not an attempt: `reason` says why the last one was not).
void note_attempt(Call& c, Action action, int err) {
  Record& r = c.rec;
  if (r.nattempts < Record::kMaxAttempts) r.attempts[r.nattempts++] = Attempt{action, err};
}

// Whether FORKGUARD_VFORK_SITES lets this site's child share our memory until it execs.
// `learned` is filled when the profile is what allows it.
bool vfork_site_allowed(Call& c, const char*& why, SiteStats& learned) {
  switch (g_cfg.vfork_sites) {
    case VforkSites::all:
      return true;
    case VforkSites::none:
      why = "no substitute allowed: a slim fork cannot help and FORKGUARD_VFORK_SITES=none";
      return false;
    case VforkSites::learned: {
      if (g_cfg.profile_path[0] == '\0') {
        why = "no substitute allowed: a slim fork cannot help and FORKGUARD_PROFILE is unset, so no site is "
              "learned (learn with forkguard run --learn, or list the site in FORKGUARD_VFORK_SITES)";
        return false;
      }
      const SiteStats stats = profile_site(g_cfg.profile_path, c.site);
      if (stats.learned()) {
        learned = stats;
        return true;
      }
      why = stats.children == 0 ? "no substitute allowed: a slim fork cannot help and the profile has no child "
                                  "of this site (learn it in observe mode with FORKGUARD_PROFILE)"
                                : "no substitute allowed: a slim fork cannot help and the profile saw a child of "
                                  "this site that was not spawn-like";
      return false;
    }
    case VforkSites::list:
      break;
  }
  const char* symbol = c.rec.nframes > 0 ? c.rec.frames[0].symbol : "";
  for (const char* item = g_cfg.vfork_site_list; *item != '\0';) {
    const char* end = item;
    while (*end != '\0' && *end != ',') ++end;
    const std::string_view want(item, static_cast<size_t>(end - item));
    if (want == c.site || (!want.empty() && want == symbol)) return true;
    item = *end == ',' ? end + 1 : end;
  }
  why = "no substitute allowed: a slim fork cannot help and this site is not in FORKGUARD_VFORK_SITES";
  return false;
}

// Readies the vfork substitute; the fork stub then makes the clone. nullptr (and the reason in
// the record) when it cannot be used now.
VforkSubSlot* try_vfork_substitute(Call& c, uintptr_t entry_rsp, int entry_errno, const char* because,
                                   const SiteStats& learned) {
  errno = entry_errno;  // what the caller sees again after the child has run
  if (const char* why = vfork_sub_prepare(t_sub_slot, entry_rsp, g_cfg.vfork_timeout_s)) {
    c.rec.reason = why;
    return nullptr;
  }
  c.rec.action = Action::vfork;
  c.rec.reason = because;
  c.rec.learned_by = learned.method;  // nullptr unless the profile allowed the site
  c.rec.learned_children = learned.children;
  new (t_sub_call.bytes) Call(c);
  return &t_sub_slot;
}

enum class ChainEnd {
  declined,  ///< no substitute made a child or a clone: the caller may try a full fork
  made,      ///< a slim fork made a child (pid, 0 in the child) or failed for good (-1, errno)
  vfork,     ///< the fork stub makes the substitute's clone with `slot`
};

/// Mitigate mode's fallback chain for fork and _Fork: the slim fork, then the vfork substitute
/// at an allowed site (DESIGN.md's order); at a site the profile learned spawn-like, the vfork
/// substitute first (no charge, no planning), which declines while other threads run. A slim
/// fork the kernel refuses (ENOMEM) goes on to the substitute; any other failure ends the chain.
ChainEnd run_chain(Call& c, ForkFn real, uintptr_t entry_rsp, int entry_errno, const char* because, pid_t& pid,
                   VforkSubSlot*& slot) {
  const char* not_allowed = nullptr;
  SiteStats learned{};
  const bool vfork_ok = vfork_site_allowed(c, not_allowed, learned);
  const bool vfork_first = vfork_ok && learned.method != nullptr;
  bool made = false;
  int made_err = 0;
  for (int step = 0; step < 2; ++step) {
    if ((step == 0) == vfork_first) {
      if (!vfork_ok) {
        c.rec.reason = not_allowed;
        continue;
      }
      const char* why = made ? "the kernel refused the slim fork (ENOMEM)" : because;
      slot = try_vfork_substitute(c, entry_rsp, entry_errno, why, learned);
      if (slot != nullptr) return ChainEnd::vfork;
      continue;
    }
    errno = entry_errno;
    if (!try_slim_fork(c, real, pid)) continue;  // not tried: its reason is in the record
    if (pid == 0) {
      errno = entry_errno;  // as after a fork that succeeded: the caller's errno, untouched
      return ChainEnd::made;  // the slim fork's child: async-signal-safe only from here
    }
    made = true;
    made_err = pid < 0 ? errno : 0;
    note_attempt(c, Action::slim_fork, made_err);
    if (pid > 0 || made_err != ENOMEM) break;
  }
  if (!made) return ChainEnd::declined;
  errno = pid < 0 ? made_err : entry_errno;  // a fork that succeeded leaves errno as the caller had it
  return ChainEnd::made;
}

/// A recorded fork or _Fork. Its frame holds a whole Call (about 10 KiB): kept out of
/// engine_fork_enter, whose pass-through must fit on a small signal stack.
__attribute__((noinline)) ForkEnter fork_recorded(CallKind kind, uintptr_t return_address, uintptr_t entry_rsp,
                                                  ForkFn real) {
  const int entry_errno = errno;
  // What engine_vfork_sub_leave puts back: the depths as they are once this call has returned.
  const auto substitute = [outer = SubDepths{t_depth, t_vfork_depth}](VforkSubSlot* slot) {
    t_sub_depths = outer;
    g_sink_at_clone = g_sink;
    return ForkEnter{0, slot};
  };
  Guard guard;
  Call c;
  begin(c, guard, kind, return_address, nullptr, true, call_is_charged(kind, running_libc()));
  const bool mitigate = g_cfg.mode == Mode::mitigate;  // the record lists each attempt
  pid_t pid = -1;
  VforkSubSlot* slot = nullptr;
  bool made = false;
  const bool chain_first = wants_substitute(c);
  if (chain_first) {
    const char* because = c.pic.verdict.verdict == Verdict::refuse ? "kernel predicted to refuse a full fork"
                                                                    : "FORKGUARD_TRIGGER=always";
    const ChainEnd end = run_chain(c, real, entry_rsp, entry_errno, because, pid, slot);
    if (end == ChainEnd::vfork) return substitute(slot);
    if (end == ChainEnd::made && pid == 0) return ForkEnter{0, nullptr};
    made = end == ChainEnd::made;
  }
  int after = errno;
  if (!made) {
    const bool learning = !c.nested && should_learn(return_address);
    {
      // Never inside another thread's slim-fork window; observe mode makes none, and skipping the
      // lock there spares a copy-on-write fault on the lock word right after every fork.
      std::atomic<pid_t> unused{0};
      OwnerLockGuard turn(mitigate ? fork_turn_lock() : unused);
      int on_stack = 0;
      if (learning) learn_prepare(c.site, g_cfg.profile_path, reinterpret_cast<uintptr_t>(&on_stack));
      errno = entry_errno;
      pid = real();
      if (pid == 0) {
        if (learning) learn_child_start();  // syscalls only: async-signal-safe
        return ForkEnter{0, nullptr};
      }
      if (learning) learn_parent_done();
    }
    after = errno;  // what libc left, failure or not: the caller gets exactly that
    if (mitigate) note_attempt(c, Action::passthrough, pid < 0 ? after : 0);
    // The prediction missed a refusal: the chain once more (FORKGUARD_TRIGGER=predicted).
    if (pid < 0 && after == ENOMEM && !chain_first && may_substitute(c)) {
      const ChainEnd end = run_chain(c, real, entry_rsp, entry_errno, "kernel refused the full fork (ENOMEM)", pid, slot);
      if (end == ChainEnd::vfork) return substitute(slot);
      if (end == ChainEnd::made && pid == 0) return ForkEnter{0, nullptr};
      if (end == ChainEnd::made) {
        after = errno;
        if (pid > 0) c.rec.reason = "kernel refused the full fork (ENOMEM) although it was predicted to allow it";
      } else {
        pid = -1;
      }
    }
  }
  if (pid < 0 && after == ENOMEM && may_substitute(c)) c.rec.action = Action::refused;
  if (g_cfg.mode == Mode::observe && (c.pic.verdict.verdict == Verdict::refuse || after == ENOMEM)) {
    c.rec.reason = "observe mode: FORKGUARD_MODE=mitigate would make this fork without the charge";
  }
  finish(c, pid, pid < 0 ? after : 0, pid > 0 ? pid : -1);
  errno = after;
  return ForkEnter{pid, nullptr};
}

}  // namespace

ForkEnter engine_fork_enter(CallKind kind, uintptr_t return_address, uintptr_t entry_rsp, ForkFn real) {
  // Inside a substitute child nothing may be substituted again: it shares our memory. Its own
  // fork's child has memory of its own: an ordinary process, which gets the program's signal
  // state back and forgets the substitute.
  if (VforkSubSlot* sub = vfork_sub_current_child()) {
    const pid_t pid = real();
    if (pid == 0) vfork_sub_own_memory(*sub);
    return ForkEnter{pid, nullptr};
  }
  if (pass_through()) return ForkEnter{real(), nullptr};
  return fork_recorded(kind, return_address, entry_rsp, real);
}

void engine_vfork_sub_child(VforkSubSlot* slot) { vfork_sub_child_start(*slot); }

pid_t engine_vfork_sub_leave(VforkSubSlot* slot, long raw) {
  // First: what the child left in our shared memory (depths counted, its own log) is not ours.
  t_depth = t_sub_depths.depth;
  t_vfork_depth = t_sub_depths.vfork_depth;
  g_sink = g_sink_at_clone;
  // Before the mask comes back: a signal held meanwhile (SIGCHLD of the child that just exited)
  // is delivered inside vfork_sub_finish, and a handler's fork must see this call as its outer one.
  Guard guard;
  const pid_t pid = vfork_sub_finish(*slot, raw);
  const int after = errno;
  Call& c = t_sub_call.get();
  note_attempt(c, Action::vfork, pid < 0 ? after : 0);
  if (pid < 0 && after == ENOMEM) c.rec.action = Action::refused;
  const int64_t elapsed_s = (monotonic_ns() - c.t0_ns) / 1000000000;
  if (pid > 0 && elapsed_s >= g_cfg.vfork_timeout_s && vfork_sub_child_timed_out(pid)) {
    c.rec.reason = "the vfork child neither exec'd nor exited within FORKGUARD_VFORK_TIMEOUT: killed";
  }
  finish(c, pid, pid < 0 ? after : 0, pid > 0 ? pid : -1);
  errno = after;
  return pid;
}

int engine_system(const char* command, uintptr_t return_address, SystemFn real, SpawnFn spawn) {
  if (pass_through()) return real(command);
  const int entry_errno = errno;
  Guard guard;
  Call c;
  begin(c, guard, CallKind::system, return_address, command, true, call_is_charged(CallKind::system, running_libc()));
  errno = entry_errno;
  pid_t child = -1;
  int status;
  // Our own system() over posix_spawn: never charged, even where libc's own system() forks.
  if (wants_substitute(c) && spawn != nullptr) {
    c.rec.action = Action::posix_spawn;
    c.rec.reason = c.rec.verdict == Verdict::refuse ? "kernel predicted to refuse libc's copying fork"
                                                    : "FORKGUARD_TRIGGER=always";
    status = shell_system(command, spawn, &child);
  } else {
    status = real(command);
    if (status == -1 && errno == ENOMEM && spawn != nullptr && may_substitute(c)) {
      errno = entry_errno;
      c.rec.action = Action::posix_spawn;
      c.rec.reason = "libc's system() failed with ENOMEM";
      status = shell_system(command, spawn, &child);
    }
  }
  const int after = errno;
  finish(c, status, status == -1 ? after : 0, child);
  errno = after;
  return status;
}

FILE* engine_popen(const char* command, const char* mode, uintptr_t return_address, PopenFn real, SpawnFn spawn) {
  if (pass_through()) return real(command, mode);
  const int entry_errno = errno;
  Guard guard;
  Call c;
  begin(c, guard, CallKind::popen, return_address, command, true, call_is_charged(CallKind::popen, running_libc()));
  errno = entry_errno;
  pid_t child = -1;
  FILE* stream;
  if (wants_substitute(c) && spawn != nullptr) {
    c.rec.action = Action::posix_spawn;
    c.rec.reason = c.rec.verdict == Verdict::refuse ? "kernel predicted to refuse libc's copying fork"
                                                    : "FORKGUARD_TRIGGER=always";
    stream = shell_popen(command, mode, spawn, &child);
  } else {
    stream = real(command, mode);
    if (stream == nullptr && errno == ENOMEM && spawn != nullptr && may_substitute(c)) {
      errno = entry_errno;
      c.rec.action = Action::posix_spawn;
      c.rec.reason = "libc's popen() failed with ENOMEM";
      stream = shell_popen(command, mode, spawn, &child);
    }
  }
  const int after = errno;
  finish(c, stream != nullptr ? 0 : -1, stream != nullptr ? 0 : after, child);
  errno = after;
  return stream;
}

namespace {
/// A stream our popen() made is finished by us (libc would not know it), any other by libc.
int close_stream(FILE* stream, PcloseFn real, int entry_errno, pid_t* child) {
  bool ours = false;
  const int status = shell_pclose(stream, &ours, child);
  if (ours) return status;
  errno = entry_errno;
  return real(stream);
}
}  // namespace

int engine_pclose(FILE* stream, uintptr_t return_address, PcloseFn real) {
  const int entry_errno = errno;
  pid_t child = -1;
  if (pass_through()) return close_stream(stream, real, entry_errno, &child);
  Guard guard;
  Call c;
  begin(c, guard, CallKind::pclose, return_address, nullptr, false, false);
  errno = entry_errno;
  const int status = close_stream(stream, real, entry_errno, &child);
  const int after = errno;
  finish(c, status, status == -1 ? after : 0, child);
  errno = after;
  return status;
}

int engine_posix_spawn(CallKind kind, pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
                       const posix_spawnattr_t* attr, char* const argv[], char* const envp[],
                       uintptr_t return_address, SpawnFn real) {
  if (pass_through()) return real(pid, path, actions, attr, argv, envp);
  const int entry_errno = errno;
  // The command line as the record shows it: argv joined by spaces (path when argv is empty).
  char command[2048];
  FixedWriter w(command, sizeof command - 1);
  if (argv != nullptr && argv[0] != nullptr) {
    for (int i = 0; argv[i] != nullptr && !w.overflowed(); ++i) {
      if (i > 0) w.put(' ');
      w.put(argv[i]);
    }
  } else if (path != nullptr) {
    w.put(path);
  }
  command[w.size()] = '\0';
  Guard guard;
  Call c;
  SpawnShape shape;
  shape.file_actions = actions != nullptr;
  if (attr != nullptr) posix_spawnattr_getflags(attr, &shape.flags);
  begin(c, guard, kind, return_address, command, true, call_is_charged(kind, running_libc(), shape));
  pid_t child = -1;
  errno = entry_errno;
  const int rc = real(&child, path, actions, attr, argv, envp);
  const int after = errno;
  if (pid != nullptr && rc == 0) *pid = child;
  finish(c, rc, rc, rc == 0 ? child : -1);
  errno = after;
  return rc;
}

int engine_daemon(int nochdir, int noclose, uintptr_t return_address, DaemonFn real) {
  if (pass_through()) return real(nochdir, noclose);
  const int entry_errno = errno;
  Guard guard;
  Call c;
  begin(c, guard, CallKind::daemon, return_address, nullptr, true, true);
  errno = entry_errno;
  // A vfork substitute's child calling daemon(): the daemon is made by a real fork, and the child
  // _exit()s inside (engine_vfork_sub_leave puts the depth it leaves counted back for the parent).
  VforkSubSlot* sub = vfork_sub_current_child();
  // daemon()'s parent _exit()s inside it: the record is written by whoever returns (the daemon).
  const int rc = real(nochdir, noclose);
  if (rc == 0 && sub != nullptr) vfork_sub_own_memory(*sub);  // the daemon: a process of its own
  const int after = errno;
  c.rec.pid = getpid();
  c.rec.ppid = getppid();
  finish(c, rc, rc == -1 ? after : 0, rc == 0 ? getpid() : -1);
  errno = after;
  return rc;
}

namespace {
constexpr int kVforkDepth = 2;  // a vfork child that vforks again; deeper ones pass unrecorded
thread_local VforkSlot t_vfork_slots[kVforkDepth + 1];
thread_local TlsBox<Call> t_vfork_calls[kVforkDepth];  // one per depth, like the slots
}  // namespace

VforkSlot* engine_vfork_enter(uintptr_t return_address, ForkFn real) {
  const int entry_errno = errno;
  const int depth = t_vfork_depth;
  if (pass_through() || depth >= kVforkDepth) {
    // The spare slot: the stub still needs a place for the return address and r12.
    VforkSlot* spare = &t_vfork_slots[kVforkDepth];
    spare->return_address = return_address;
    spare->real_vfork = real;
    spare->recording = 0;
    errno = entry_errno;
    return spare;
  }
  t_vfork_depth = depth + 1;  // claimed first: a signal handler's vfork from here on takes the next one
  Call& c = *new (t_vfork_calls[depth].bytes) Call();
  {
    Guard guard;
    begin(c, guard, CallKind::vfork, return_address, nullptr, true, false);
  }
  VforkSlot* slot = &t_vfork_slots[depth];
  slot->return_address = return_address;
  slot->real_vfork = real;
  slot->recording = 1;
  errno = entry_errno;
  return slot;
}

void engine_vfork_leave(VforkSlot* slot, pid_t result) {
  const int after = errno;
  if (slot->recording == 0) return;
  const int depth = t_vfork_depth - 1;
  Call& c = t_vfork_calls[depth].get();
  {
    Guard guard;
    finish(c, result, result < 0 ? after : 0, result > 0 ? result : -1);
  }
  // Given back only now: a signal handler's vfork during finish() must take the next depth, not
  // overwrite this Call (the stub has already copied the slot's return address and r12 aside).
  t_vfork_depth = depth;
  errno = after;  // as glibc leaves it: the child shares errno, and the caller may look at it
}

void engine_write_record(Record& r) {
  if (!g_ready.load(std::memory_order_acquire)) return;
  if (r.exe == nullptr || r.exe[0] == '\0') r.exe = exe_path();
  char line[PIPE_BUF];
  const size_t n = g_cfg.format == Format::json ? format_json(r, line, sizeof line) : format_text(r, line, sizeof line);
  if (n > 0) g_sink.write_record(line, n);
}

}  // namespace forkguard

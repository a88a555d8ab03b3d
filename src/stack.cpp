/// @file stack.cpp
/// @brief Caller stacks: libgcc's unwinder (linked in statically; allocation-free, lock-free over
/// glibc's _dl_find_object) until libunwind is loaded from an ordinary call, then libunwind
/// (dlopen'ed RTLD_LOCAL, its descriptor functions guarded: unwinder_fds.hpp); and a lock-free
/// dladdr cache, so repeated calls from one site cost a hash lookup per frame. Nothing here
/// allocates once an unwinder is chosen: a fork may come from a signal handler that interrupted malloc.
#include "forkguard/stack.hpp"

#include <dlfcn.h>
#include <link.h>
#include <sys/auxv.h>
#include <unistd.h>
#include <unwind.h>

#include <atomic>
#include <cstring>

// libstdc++'s allocation-free demangler (cp-demangle.c; __cxa_demangle mallocs its result).
extern "C" int __gcclibcxx_demangle_callback(const char* mangled, void (*out)(const char*, size_t, void*),
                                             void* opaque);

#include "forkguard/libgcc_floor.hpp"
#include "forkguard/unwinder_fds.hpp"

namespace forkguard {

namespace {

using UnwBacktrace = int (*)(void** buffer, int size);

// kLibgcc: libunwind is missing, refused (an import not known to be safe) or the program's own.
enum LoadState { kNotTried = 0, kLoading = 1, kLibunwind = 2, kLibgcc = 3 };
std::atomic<int> g_unwind_state{kNotTried};
UnwBacktrace g_unw_backtrace = nullptr;

// libgcc's walk. It also tells whether the walk crossed a signal frame (it marks the frame a signal
// interrupted, recognising the kernel's sigreturn trampoline) and whether it reached the stack's
// outermost frame: only a walk that did both and saw no signal frame proves an ordinary call.
constexpr int kMaxWalk = 4096;  // frames looked at to see the whole stack (a first capture only)
struct GccWalk {
  void** out;
  int max;
  int n;
  int seen;
  bool whole;  // walk on past `max` frames, to the end: the proof of an ordinary call is wanted
  bool crossed_signal_frame;
};

_Unwind_Reason_Code gcc_frame(struct _Unwind_Context* ctx, void* arg) {
  auto* walk = static_cast<GccWalk*>(arg);
  int signal_frame = 0;
  const uintptr_t ip = _Unwind_GetIPInfo(ctx, &signal_frame);
  if (signal_frame != 0) walk->crossed_signal_frame = true;
  // A stop returns END_OF_STACK from here, which _Unwind_Backtrace reports as an error: the walk
  // then proves nothing, as it must when it did not see the whole stack.
  if (++walk->seen > kMaxWalk || (!walk->whole && walk->n >= walk->max)) return _URC_END_OF_STACK;
  if (ip != 0 && walk->n < walk->max) walk->out[walk->n++] = reinterpret_cast<void*>(ip);
  return _URC_NO_REASON;
}

// The libgcc walk; with `ordinary`, the whole stack is walked and `*ordinary` says whether that
// proved the caller is not inside a signal handler (it reached the outermost frame, no signal frame).
int gcc_backtrace(void** raw, int want, bool* ordinary) {
  libgcc_uses_glibc_find_object();  // looked up once, lock-free, before libgcc's first lookup
  GccWalk walk{raw, want, 0, 0, ordinary != nullptr, false};
  const _Unwind_Reason_Code rc = _Unwind_Backtrace(gcc_frame, &walk);
  if (ordinary != nullptr) *ordinary = rc == _URC_END_OF_STACK && !walk.crossed_signal_frame;
  return walk.n;
}

// Loads libunwind and guards its descriptors; false (libgcc from then on) when it is missing,
// already loaded by the program (its descriptors are the program's business, never touched), or
// imports something not known to be safe. Another thread loading it meanwhile: false, once.
bool load_unwinder() {
  int expected = kNotTried;
  if (!g_unwind_state.compare_exchange_strong(expected, kLoading)) return false;
  void* program_own = dlopen("libunwind.so.8", RTLD_LAZY | RTLD_NOLOAD);
  if (program_own != nullptr) {
    dlclose(program_own);  // (NOLOAD took a reference)
    g_unwind_state.store(kLibgcc, std::memory_order_release);
    return false;
  }
  // RTLD_LOCAL: libunwind's _Unwind_* and backtrace aliases must never replace the host's.
  // RTLD_NOW: every slot bound before its imports are re-pointed, none re-bound lazily after.
  void* handle = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
  void* fn = handle != nullptr ? dlsym(handle, "unw_backtrace") : nullptr;
  // Guarded before its first call: libunwind creates its pipe when it first initialises.
  if (fn == nullptr || !guard_unwinder_descriptors(fn)) {
    if (handle != nullptr) dlclose(handle);  // never called: nothing of it ran
    g_unwind_state.store(kLibgcc, std::memory_order_release);
    return false;
  }
  g_unw_backtrace = reinterpret_cast<UnwBacktrace>(fn);
  g_unwind_state.store(kLibunwind, std::memory_order_release);
  return true;
}

// Return addresses of the calling thread into `raw`; the count.
int backtrace_raw(void** raw, int want) {
  const int state = g_unwind_state.load(std::memory_order_acquire);
  if (state == kLibunwind) return g_unw_backtrace(raw, want);
  if (state == kLibgcc) return gcc_backtrace(raw, want, nullptr);
  bool ordinary = false;
  const int n = gcc_backtrace(raw, want, &ordinary);
  // dlopen allocates and takes ld.so's locks: never from a handler that may have interrupted
  // malloc or the loader. Such a call keeps libgcc's stack; a later ordinary call loads libunwind.
  if (state == kLoading || !ordinary || !load_unwinder()) return n;
  return g_unw_backtrace(raw, want);  // its first call (it initialises) in an ordinary call too
}

// Bump arena for cached names: never freed, never reallocated, so pointers handed out stay valid.
constexpr size_t kArenaSize = 64 * 1024;  // names of modules and symbols: a few hundred frames' worth
char g_arena[kArenaSize];
std::atomic<size_t> g_arena_used{0};

const char* intern(const char* s, size_t max_len) {
  size_t n = std::strlen(s);
  if (n > max_len) n = max_len;
  const size_t at = g_arena_used.fetch_add(n + 1);
  if (at + n + 1 > kArenaSize) return nullptr;
  std::memcpy(g_arena + at, s, n);
  g_arena[at + n] = '\0';
  return g_arena + at;
}

// Demangled C++ names up to this length: the demangler's scratch lives on the stack (about 70
// bytes per character), and a signal handler's stack may be small. Longer names stay mangled.
constexpr size_t kMaxDemangled = 192;

struct NameBuf {
  char text[256];
  size_t used;
  bool overflowed;
};

void append_name(const char* piece, size_t n, void* opaque) {
  auto* b = static_cast<NameBuf*>(opaque);
  if (b->used + n >= sizeof b->text) {
    b->overflowed = true;
    return;
  }
  std::memcpy(b->text + b->used, piece, n);
  b->used += n;
}

// The demangled form of `name` in `b`, or `name` itself when it is not a C++ name or too long.
const char* demangled(const char* name, NameBuf& b) {
  b.used = 0;
  b.overflowed = false;
  if (name[0] != '_' || name[1] != 'Z' || std::strlen(name) > kMaxDemangled) return name;
  if (__gcclibcxx_demangle_callback(name, append_name, &b) != 0 || b.overflowed) return name;
  b.text[b.used] = '\0';
  return b.text;
}

const char* basename_of(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash != nullptr ? slash + 1 : path;
}

// The main program's lowest mapped address, which dladdr reports as its dli_fbase.
std::atomic<uintptr_t> g_main_base{0};
const char* g_main_name = nullptr;

int find_main(struct dl_phdr_info* info, size_t, void* out) {
  uintptr_t lowest = UINTPTR_MAX;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    if (info->dlpi_phdr[i].p_type == PT_LOAD) {
      const uintptr_t a = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
      if (a < lowest) lowest = a;
    }
  }
  const uintptr_t page = getauxval(AT_PAGESZ) != 0 ? getauxval(AT_PAGESZ) : 4096;
  *static_cast<uintptr_t*>(out) = lowest & ~(page - 1);
  return 1;  // the first object is the main program
}

const char* module_name(const Dl_info& info) {
  if (g_main_base.load(std::memory_order_acquire) == 0) {
    uintptr_t base = 0;
    dl_iterate_phdr(find_main, &base);
    char exe[1024];
    main_program_path(exe, sizeof exe);
    g_main_name = exe[0] != '\0' ? intern(basename_of(exe), 255) : nullptr;
    g_main_base.store(base == 0 ? 1 : base, std::memory_order_release);
  }
  // dladdr names the main program by argv[0], which a program may rewrite: use its real file.
  if (reinterpret_cast<uintptr_t>(info.dli_fbase) == g_main_base.load() && g_main_name != nullptr) {
    return g_main_name;
  }
  return info.dli_fname != nullptr ? basename_of(info.dli_fname) : "?";
}

struct CacheEntry {
  std::atomic<uintptr_t> key{0};  // published last: a reader that sees the pc sees the fields
  std::atomic<int> claimed{0};
  // Zero-initialised: a constant-initialised table costs no constructor and no page at load.
  const char* module = nullptr;
  uintptr_t offset = 0;
  const char* symbol = nullptr;
};
constexpr size_t kCacheSize = 1024;
constexpr int kProbes = 8;
CacheEntry g_cache[kCacheSize];

size_t slot_of(uintptr_t pc) { return (pc * 0x9E3779B97F4A7C15ull) >> 54; }  // top 10 bits: kCacheSize

void resolve_uncached(uintptr_t pc, bool want_symbol, Frame& f) {
  Dl_info info{};
  // pc - 1: a return address may already lie in the next function after a noreturn call.
  if (dladdr(reinterpret_cast<void*>(pc - 1), &info) == 0 || info.dli_fbase == nullptr) {
    f.module = "?";
    f.offset = pc;
    f.symbol = "";
    return;
  }
  const char* mod = module_name(info);
  const char* interned = intern(mod, 255);
  f.module = interned != nullptr ? interned : "?";
  f.offset = pc - reinterpret_cast<uintptr_t>(info.dli_fbase);
  f.symbol = "";
  if (want_symbol && info.dli_sname != nullptr) {
    NameBuf buf;
    const char* name = intern(demangled(info.dli_sname, buf), 255);
    f.symbol = name != nullptr ? name : "";
  }
}

void resolve_cached(uintptr_t pc, bool want_symbol, Frame& f, bool may_fill = true) {
  f.pc = pc;
  if (pc == 0) {  // 0 marks an empty cache slot: never look it up
    f.module = "?";
    f.offset = 0;
    f.symbol = "";
    return;
  }
  const size_t start = slot_of(pc);
  for (int i = 0; i < kProbes; ++i) {
    CacheEntry& e = g_cache[(start + i) % kCacheSize];
    const uintptr_t k = e.key.load(std::memory_order_acquire);
    if (k == pc) {
      f.module = e.module;
      f.offset = e.offset;
      f.symbol = want_symbol ? e.symbol : "";
      return;
    }
    if (k != 0) continue;
    if (!may_fill) break;  // an entry without its symbol would serve later frames wrongly
    resolve_uncached(pc, true, f);
    int expected = 0;
    if (e.claimed.compare_exchange_strong(expected, 1)) {
      e.module = f.module;
      e.offset = f.offset;
      e.symbol = f.symbol;
      e.key.store(pc, std::memory_order_release);
    }
    if (!want_symbol) f.symbol = "";
    return;
  }
  resolve_uncached(pc, want_symbol, f);  // table crowded here: resolve without caching
}

}  // namespace

void main_program_path(char* out, size_t cap) {
  if (cap == 0) return;
  const ssize_t n = readlink("/proc/self/exe", out, cap - 1);
  if (n > 0) {
    out[n] = '\0';
    return;
  }
  // No /proc (a container, a chroot): the path the program was exec'd by, kept by the kernel.
  const auto* execfn = reinterpret_cast<const char*>(getauxval(AT_EXECFN));
  const size_t len = execfn != nullptr ? std::strlen(execfn) : 0;
  const size_t keep = len < cap - 1 ? len : cap - 1;
  if (keep > 0) std::memcpy(out, execfn, keep);
  out[keep] = '\0';
}

int capture_pcs(uintptr_t* pcs, int max, int skip) {
  if (max <= 0) return 0;
  void* raw[Record::kMaxFrames + 16];
  int want = max + skip;
  if (want > static_cast<int>(sizeof raw / sizeof raw[0])) want = sizeof raw / sizeof raw[0];
  const int n = backtrace_raw(raw, want);
  int out = 0;
  for (int i = skip; i < n && out < max; ++i) pcs[out++] = reinterpret_cast<uintptr_t>(raw[i]);
  return out;
}

void resolve_frame(Frame& f) { resolve_cached(f.pc, true, f); }

const char* stack_unwinder_name() {
  switch (g_unwind_state.load(std::memory_order_acquire)) {
    case kLibunwind: return "libunwind";
    case kLibgcc: return "libgcc";
    default: return "libgcc (until an ordinary call loads libunwind)";
  }
}

void resolve_site(uintptr_t return_address, const char*& module, uintptr_t& offset, bool degraded) {
  Frame f;
  resolve_cached(return_address, false, f, !degraded);
  module = f.module;
  offset = f.offset;
}

}  // namespace forkguard

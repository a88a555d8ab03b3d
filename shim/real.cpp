/// @file real.cpp
/// @brief Finds the real libc functions (RTLD_NEXT, versioned where glibc has two) and reads
/// the settings, from the constructor and lazily from any wrapper that runs before it.
#include "real.hpp"

#include <dlfcn.h>

#include <cstdint>
#include <sys/auxv.h>

#include <atomic>
#include <cstring>

#include "forkguard/diag.hpp"
#include "forkguard/fixed_writer.hpp"
#include "forkguard/libc_features.hpp"
#include "forkguard/libgcc_floor.hpp"
#include "forkguard/slim_child.hpp"

namespace forkguard::real {

namespace {

// This library's own extent, from the linker: [__ehdr_start, _end). A range check, not dladdr,
// which walks libc's symbol table (about 30 us per lookup in every exec'd child, bench/README.md).
extern "C" const char __ehdr_start __attribute__((visibility("hidden")));
extern "C" const char _end __attribute__((visibility("hidden")));

// libc functions newer than the library's floor (glibc 2.17) that it looks up or may look up. A
// build for the tests (FORKGUARD_TEST_OLD_LIBC) finds none of them, as glibc 2.17 would not, so
// that the observe and mitigate checks show the library working without them.
constexpr const char* kAfterFloor[] = {
    "_Fork",          "closefrom",   "close_range",     "posix_spawn_file_actions_addclosefrom_np",
    "pidfd_open",     "pidfd_spawn", "_dl_find_object", "__libc_single_threaded",
    "gettid",         "execveat",    "__rseq_offset",   "__rseq_size",
};

bool after_floor(const char* name) {
  for (const char* n : kAfterFloor)
    if (std::strcmp(n, name) == 0) return true;
  return false;
}

#if defined(FORKGUARD_TEST_OLD_LIBC)
constexpr bool kOldLibc = true;
#else
constexpr bool kOldLibc = false;
#endif

// dlsym/dlvsym past this library; an address inside this library (our own wrapper, seen
// through an unusual link order) is rejected rather than called into a loop.
void* lookup(const char* name, const char* version) {
  if (kOldLibc && after_floor(name)) return nullptr;
  void* fn = version != nullptr ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
  const auto a = reinterpret_cast<uintptr_t>(fn);
  if (a >= reinterpret_cast<uintptr_t>(&__ehdr_start) && a < reinterpret_cast<uintptr_t>(&_end)) return nullptr;
  return fn;
}

}  // namespace

#define FORKGUARD_DEFINE_REAL(id, sym, version)                                   \
  namespace {                                                                     \
  std::atomic<void*> g_##id{nullptr};                                             \
  }                                                                               \
  decltype(&::sym) id() {                                                         \
    void* fn = g_##id.load(std::memory_order_acquire);                            \
    if (fn == nullptr) {                                                          \
      fn = lookup(#sym, version);                                                 \
      g_##id.store(fn, std::memory_order_release);                                \
    }                                                                             \
    return reinterpret_cast<decltype(&::sym)>(fn);                                \
  }
FORKGUARD_HOOKS(FORKGUARD_DEFINE_REAL)
#undef FORKGUARD_DEFINE_REAL

void* optional(const char* name) {
  if (kOldLibc && after_floor(name)) return nullptr;
  return dlsym(RTLD_DEFAULT, name);
}

void report_missing(const char* name) {
  char msg[160];
  FixedWriter w(msg, sizeof msg - 1);
  w.put("the real ");
  w.put(name);
  w.put("() cannot be found; this call fails with ENOSYS");
  msg[w.size()] = '\0';
  diag_notice(msg);  // carried by the next record: the program's stderr is not ours
}

void init() {
  // Features newer than the floor, looked up here, where dlsym is safe (constructor, or a wrapper's
  // first call, before any fork of ours): the core asks libc_features.hpp.
  set_libc_single_threaded_flag(static_cast<const char*>(optional("__libc_single_threaded")));
  set_libc_optional_lookup(optional);  // the rest when needed: a pointer now, no dlsym in every child
  // glibc 2.35's _dl_find_object is found by the core itself (no dlsym: src/libgcc_floor.cpp).
  if (kOldLibc) libgcc_find_object_without_glibc();
  // One pass over environ for every FORKGUARD_* variable, not one getenv() walk per setting.
  EnvSnapshot env;
  snapshot_environment(environ, env);
  // AT_SECURE: a setuid/setgid program; paths chosen by the environment are not honoured there.
  engine_init(snapshot_lookup, &env, getauxval(AT_SECURE) != 0);
}

void resolve_for_children() {
  // What a vfork-substitute or observed child calls: dlsym is not safe there, so look it up now.
  (void)execve(), (void)execv(), (void)execvp(), (void)execvpe(), (void)fexecve(), (void)exit(), (void)_exit();
}

}  // namespace forkguard::real

// Runs after the program's own libraries' constructors at the latest; wrappers that run
// earlier call init() themselves. Every exec'd child loads this library, so the constructor only
// reads the settings (a bad value is reported at start); real functions are looked up on first
// use, those a child may need by the first fork.
__attribute__((constructor)) static void forkguard_constructor() {
  forkguard::slim_register_atfork();  // first: its child handler runs before those registered later
  forkguard::real::init();
}

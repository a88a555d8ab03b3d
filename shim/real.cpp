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

namespace forkguard::real {

namespace {

// This library's own extent, from the linker: [__ehdr_start, _end). A range check, not dladdr,
// which walks libc's symbol table (about 30 us per lookup in every exec'd child, bench/README.md).
extern "C" const char __ehdr_start __attribute__((visibility("hidden")));
extern "C" const char _end __attribute__((visibility("hidden")));

// dlsym/dlvsym past this library; an address inside this library (our own wrapper, seen
// through an unusual link order) is rejected rather than called into a loop.
void* lookup(const char* name, const char* version) {
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

void report_missing(const char* name) {
  char msg[160];
  FixedWriter w(msg, sizeof msg - 1);
  w.put("the real ");
  w.put(name);
  w.put("() cannot be found; this call fails with ENOSYS");
  msg[w.size()] = '\0';
  diag_warn(msg);
}

void init() {
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
__attribute__((constructor)) static void forkguard_constructor() { forkguard::real::init(); }

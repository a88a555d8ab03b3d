/// @file real.cpp
/// @brief Finds the real libc functions (RTLD_NEXT, versioned where glibc has two) and reads
/// the settings, from the constructor and lazily from any wrapper that runs before it.
#include "real.hpp"

#include <dlfcn.h>
#include <sys/auxv.h>

#include <atomic>
#include <cstring>

#include "forkguard/diag.hpp"
#include "forkguard/fixed_writer.hpp"

namespace forkguard::real {

namespace {

void* own_base() {
  Dl_info info{};
  dladdr(reinterpret_cast<void*>(&own_base), &info);
  return info.dli_fbase;
}

// dlsym/dlvsym past this library; an address inside this library (our own wrapper, seen
// through an unusual link order) is rejected rather than called into a loop.
void* lookup(const char* name, const char* version) {
  void* fn = version != nullptr ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
  if (fn == nullptr) return nullptr;
  Dl_info info{};
  if (dladdr(fn, &info) != 0 && info.dli_fbase == own_base()) return nullptr;
  return fn;
}

const char* env_lookup(const char* name, void*) { return getenv(name); }

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
#define FORKGUARD_RESOLVE(id, sym, version) (void)id();
  FORKGUARD_HOOKS(FORKGUARD_RESOLVE)
#undef FORKGUARD_RESOLVE
  // AT_SECURE: a setuid/setgid program; paths chosen by the environment are not honoured there.
  engine_init(env_lookup, nullptr, getauxval(AT_SECURE) != 0);
}

}  // namespace forkguard::real

// Runs after the program's own libraries' constructors at the latest; wrappers that run
// earlier call init() themselves.
__attribute__((constructor)) static void forkguard_constructor() { forkguard::real::init(); }

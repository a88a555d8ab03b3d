/// @file libgcc_floor.cpp
/// @brief What libgcc's static unwinder imports from glibc, defined here (hidden) at versions no
/// newer than the library's floor, glibc 2.17 (see libgcc_floor.hpp). Nothing here is exported:
/// the definitions serve only the references inside libforkguard.so.
#include "forkguard/libgcc_floor.hpp"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>

// glibc's oldest symbol version on each architecture (its first release there).
#if defined(__x86_64__)
#define FG_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define FG_GLIBC_BASE "GLIBC_2.17"
#else
#error "libgcc_floor: glibc's base symbol version for this architecture is not known"
#endif

// The 2.17-era versions of the two pthread functions libgcc's gthread layer refers to weakly.
extern "C" int fg_pthread_once_base(pthread_once_t*, void (*)());
extern "C" int fg_pthread_key_create_base(pthread_key_t*, void (*)(void*));
__asm__(".symver fg_pthread_once_base, pthread_once@" FG_GLIBC_BASE);
__asm__(".symver fg_pthread_key_create_base, __pthread_key_create@" FG_GLIBC_BASE);

extern "C" {

__attribute__((visibility("hidden"))) int pthread_once(pthread_once_t* once, void (*init)()) {
  return fg_pthread_once_base(once, init);
}

__attribute__((visibility("hidden"))) int __pthread_key_create(pthread_key_t* key, void (*destroy)(void*)) {
  return fg_pthread_key_create_base(key, destroy);
}

}  // extern "C"

#ifdef DLFO_STRUCT_HAS_EH_DBASE  // headers of glibc >= 2.35: libgcc_eh was built to call it

namespace {

using FindObject = int (*)(void*, struct dl_find_object*);
std::atomic<FindObject> g_glibc_find{nullptr};

struct FindCtx {
  uintptr_t pc;
  struct dl_find_object* out;
  bool found;
};

// The object whose loaded segments hold `pc`, and its PT_GNU_EH_FRAME (all libgcc reads).
int find_cb(struct dl_phdr_info* info, size_t, void* arg) {
  auto* c = static_cast<FindCtx*>(arg);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  bool holds = false;
  const void* eh = nullptr;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD) {
      if (start < lo) lo = start;
      if (start + ph.p_memsz > hi) hi = start + ph.p_memsz;
      holds = holds || (c->pc >= start && c->pc < start + ph.p_memsz);
    } else if (ph.p_type == PT_GNU_EH_FRAME) {
      eh = reinterpret_cast<const void*>(start);
    }
  }
  if (!holds) return 0;
  c->out->dlfo_flags = 0;
  c->out->dlfo_map_start = reinterpret_cast<void*>(lo);
  c->out->dlfo_map_end = reinterpret_cast<void*>(hi);
  c->out->dlfo_link_map = nullptr;
  c->out->dlfo_eh_frame = const_cast<void*>(eh);
  c->found = true;
  return 1;
}

}  // namespace

extern "C" __attribute__((visibility("hidden"))) int _dl_find_object(void* pc, struct dl_find_object* out) noexcept {
  if (FindObject glibc = g_glibc_find.load(std::memory_order_acquire)) return glibc(pc, out);
  FindCtx c{reinterpret_cast<uintptr_t>(pc), out, false};
  dl_iterate_phdr(find_cb, &c);
  return c.found ? 0 : -1;
}

void forkguard::use_glibc_find_object() {
  if (g_glibc_find.load(std::memory_order_acquire) != nullptr) return;
  void* f = dlvsym(RTLD_DEFAULT, "_dl_find_object", "GLIBC_2.35");
  if (f != nullptr) g_glibc_find.store(reinterpret_cast<FindObject>(f), std::memory_order_release);
}

#else

void forkguard::use_glibc_find_object() {}

#endif

/// @file libgcc_floor.cpp
/// @brief What libgcc's static unwinder imports from glibc, defined here (hidden) at versions no
/// newer than the library's floor, glibc 2.17 (see libgcc_floor.hpp). Nothing here is exported:
/// the definitions serve only the references inside libforkguard.so.
#include "forkguard/libgcc_floor.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <cstring>

// glibc's oldest symbol version on each architecture (its first release there).
#if defined(__x86_64__)
#define FG_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define FG_GLIBC_BASE "GLIBC_2.17"
#else
#error "libgcc_floor: glibc's base symbol version for this architecture is not known"
#endif

// ThreadSanitizer defines pthread_once itself (its interceptor); a sanitizer build never links
// the shim, whose static libgcc_eh is what needs these.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FG_NO_PTHREAD_FORWARDERS 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define FG_NO_PTHREAD_FORWARDERS 1
#endif

#ifndef FG_NO_PTHREAD_FORWARDERS
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
#endif

#ifdef DLFO_STRUCT_HAS_EH_DBASE  // headers of glibc >= 2.35: libgcc_eh was built to call it

namespace {

using FindObject = int (*)(void*, struct dl_find_object*);
std::atomic<FindObject> g_glibc_find{nullptr};
std::atomic<bool> g_looked_up{false};

// ld.so rewrites .dynamic's addresses to absolute ones where the section is writable.
uintptr_t absolute(uintptr_t v, uintptr_t base) { return v < base ? v + base : v; }

uint32_t gnu_hash(const char* s) {
  uint32_t h = 5381;
  for (; *s != '\0'; ++s) h = h * 33 + static_cast<unsigned char>(*s);
  return h;
}

// `name` defined by the object of `lm`, through its GNU hash table; nullptr when absent.
void* lookup_defined(const link_map* lm, const char* name) {
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  const uint32_t* table = nullptr;
  for (const ElfW(Dyn)* d = lm->l_ld; d != nullptr && d->d_tag != DT_NULL; ++d) {
    if (d->d_tag == DT_SYMTAB) symtab = reinterpret_cast<const ElfW(Sym)*>(absolute(d->d_un.d_ptr, lm->l_addr));
    if (d->d_tag == DT_STRTAB) strtab = reinterpret_cast<const char*>(absolute(d->d_un.d_ptr, lm->l_addr));
    if (d->d_tag == DT_GNU_HASH) table = reinterpret_cast<const uint32_t*>(absolute(d->d_un.d_ptr, lm->l_addr));
  }
  if (symtab == nullptr || strtab == nullptr || table == nullptr || table[0] == 0) return nullptr;
  const uint32_t nbuckets = table[0], symoffset = table[1], bloom_words = table[2];
  const uint32_t* buckets = reinterpret_cast<const uint32_t*>(reinterpret_cast<const ElfW(Addr)*>(table + 4) + bloom_words);
  const uint32_t* chain = buckets + nbuckets;
  const uint32_t h = gnu_hash(name);
  for (uint32_t i = buckets[h % nbuckets]; i >= symoffset; ++i) {
    const uint32_t h2 = chain[i - symoffset];
    const ElfW(Sym)& sym = symtab[i];
    if ((h | 1) == (h2 | 1) && sym.st_shndx != SHN_UNDEF && std::strcmp(strtab + sym.st_name, name) == 0) {
      return reinterpret_cast<void*>(lm->l_addr + sym.st_value);
    }
    if ((h2 & 1) != 0) break;
  }
  return nullptr;
}

// glibc's _dl_find_object (libc.so.6, 2.35 and later), found without the loader's lock: libc is
// loaded at start-up, before anything dlopen() or dlclose() can add or remove, so the walk from
// the list's head to it never meets an entry being changed. A signal handler may do this.
FindObject glibc_find_object() {
  if (g_looked_up.load(std::memory_order_acquire)) return g_glibc_find.load(std::memory_order_acquire);
  FindObject found = nullptr;
  for (const link_map* lm = _r_debug.r_map; lm != nullptr && found == nullptr; lm = lm->l_next) {
    const char* slash = lm->l_name != nullptr ? std::strrchr(lm->l_name, '/') : nullptr;
    const char* base = slash != nullptr ? slash + 1 : lm->l_name;
    if (base == nullptr || std::strncmp(base, "libc.so", 7) != 0) continue;
    found = reinterpret_cast<FindObject>(lookup_defined(lm, "_dl_find_object"));
    break;
  }
  g_glibc_find.store(found, std::memory_order_release);
  g_looked_up.store(true, std::memory_order_release);
  return found;
}

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

// glibc's own where it has one; else what libgcc does on such a glibc: dl_iterate_phdr.
extern "C" __attribute__((visibility("hidden"))) int _dl_find_object(void* pc, struct dl_find_object* out) noexcept {
  if (FindObject glibc = glibc_find_object()) return glibc(pc, out);
  FindCtx c{reinterpret_cast<uintptr_t>(pc), out, false};
  dl_iterate_phdr(find_cb, &c);
  return c.found ? 0 : -1;
}

bool forkguard::libgcc_uses_glibc_find_object() { return glibc_find_object() != nullptr; }

#else

bool forkguard::libgcc_uses_glibc_find_object() { return false; }

#endif

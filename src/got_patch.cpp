/// @file got_patch.cpp
/// @brief Re-pointing a loaded object's imports (see got_patch.hpp): its dynamic relocations are
/// read from its PT_DYNAMIC (found by dl_iterate_phdr), judged by symbol name, and the chosen
/// slots written all at once.
#include "forkguard/got_patch.hpp"

#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>

namespace forkguard {

namespace {

#if defined(__x86_64__)
constexpr uint32_t kJumpSlot = R_X86_64_JUMP_SLOT, kGlobDat = R_X86_64_GLOB_DAT, kAbs64 = R_X86_64_64;
#elif defined(__aarch64__)
constexpr uint32_t kJumpSlot = R_AARCH64_JUMP_SLOT, kGlobDat = R_AARCH64_GLOB_DAT, kAbs64 = R_AARCH64_ABS64;
#else
#error "got_patch: relocation kinds for this architecture are not known"
#endif

struct Tables {
  uintptr_t base = 0;
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  const ElfW(Rela)* rela = nullptr;
  size_t relasz = 0;
  const ElfW(Rela)* jmprel = nullptr;
  size_t pltrelsz = 0;
  bool rel_only = false;  // REL relocations (no addend): not used on x86_64 or aarch64
};

// ld.so rewrites .dynamic's addresses to absolute ones where the section is writable, and leaves
// them as offsets where it is not (MIPS, RISC-V): both forms are accepted.
uintptr_t absolute(uintptr_t v, uintptr_t base) { return v < base ? v + base : v; }

bool read_tables(const ElfW(Dyn)* dynamic, Tables& t) {
  for (const ElfW(Dyn)* d = dynamic; d != nullptr && d->d_tag != DT_NULL; ++d) {
    switch (d->d_tag) {
      case DT_SYMTAB: t.symtab = reinterpret_cast<const ElfW(Sym)*>(absolute(d->d_un.d_ptr, t.base)); break;
      case DT_STRTAB: t.strtab = reinterpret_cast<const char*>(absolute(d->d_un.d_ptr, t.base)); break;
      case DT_RELA: t.rela = reinterpret_cast<const ElfW(Rela)*>(absolute(d->d_un.d_ptr, t.base)); break;
      case DT_RELASZ: t.relasz = d->d_un.d_val; break;
      case DT_JMPREL: t.jmprel = reinterpret_cast<const ElfW(Rela)*>(absolute(d->d_un.d_ptr, t.base)); break;
      case DT_PLTRELSZ: t.pltrelsz = d->d_un.d_val; break;
      case DT_PLTREL: t.rel_only = t.rel_only || d->d_un.d_val != DT_RELA; break;
      case DT_REL: t.rel_only = true; break;
      default: break;
    }
  }
  return t.symtab != nullptr && t.strtab != nullptr && !t.rel_only;
}

// The object holding an address: its load bias, dynamic section and RELRO pages.
struct Object {
  uintptr_t address = 0;
  bool found = false;
  uintptr_t base = 0;
  const ElfW(Dyn)* dynamic = nullptr;
  uintptr_t relro_start = 0, relro_end = 0;  // page-aligned; empty without PT_GNU_RELRO
};

int find_object(struct dl_phdr_info* info, size_t, void* arg) {
  auto* o = static_cast<Object*>(arg);
  bool holds = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    holds = holds || (ph.p_type == PT_LOAD && o->address >= start && o->address < start + ph.p_memsz);
  }
  if (!holds) return 0;
  const uintptr_t page = getauxval(AT_PAGESZ) != 0 ? getauxval(AT_PAGESZ) : 4096;
  o->found = true;
  o->base = info->dlpi_addr;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_DYNAMIC) o->dynamic = reinterpret_cast<const ElfW(Dyn)*>(start);
    if (ph.p_type == PT_GNU_RELRO) {
      o->relro_start = start & ~(page - 1);
      o->relro_end = (start + ph.p_memsz + page - 1) & ~(page - 1);
    }
  }
  return 1;
}

struct Write {
  uintptr_t* slot;
  uintptr_t value;
};
constexpr int kMaxWrites = 128;

// Judges one relocation table; queues the writes. False on anything not understood.
bool judge(const Tables& t, const ElfW(Rela)* rel, size_t bytes, ImportPolicy policy, Write* writes, int& n,
           const char** refused) {
  if (rel == nullptr) return true;
  for (size_t i = 0; i < bytes / sizeof(ElfW(Rela)); ++i) {
    const uint32_t sym = ELF64_R_SYM(rel[i].r_info), type = ELF64_R_TYPE(rel[i].r_info);
    if (sym == 0) continue;  // relative relocations: the object's own addresses
    const ElfW(Sym)& s = t.symtab[sym];
    if (s.st_shndx != SHN_UNDEF) continue;  // defined in the object itself
    const char* name = t.strtab + s.st_name;
    void* to = policy(name);
    if (to == nullptr) {
      if (refused != nullptr) *refused = name;
      return false;
    }
    if (to == kKeepImport) continue;
    uintptr_t value = reinterpret_cast<uintptr_t>(to);
    if (type == kAbs64) {
      value += rel[i].r_addend;
    } else if (type != kJumpSlot && type != kGlobDat) {
      if (refused != nullptr) *refused = "a relocation kind not understood";
      return false;
    }
    if (n >= kMaxWrites) {
      if (refused != nullptr) *refused = "too many relocations";
      return false;
    }
    writes[n++] = Write{reinterpret_cast<uintptr_t*>(t.base + rel[i].r_offset), value};
  }
  return true;
}

}  // namespace

bool redirect_imports(const void* inside, ImportPolicy policy, const char** refused) {
  Object o;
  o.address = reinterpret_cast<uintptr_t>(inside);
  dl_iterate_phdr(find_object, &o);
  Tables t;
  t.base = o.base;
  if (!o.found || !read_tables(o.dynamic, t)) {
    if (refused != nullptr) *refused = "its dynamic section is not understood";
    return false;
  }
  Write writes[kMaxWrites];
  int n = 0;
  if (!judge(t, t.jmprel, t.pltrelsz, policy, writes, n, refused) ||
      !judge(t, t.rela, t.relasz, policy, writes, n, refused)) {
    return false;
  }
  bool in_relro = false;
  for (int i = 0; i < n; ++i) {
    const auto a = reinterpret_cast<uintptr_t>(writes[i].slot);
    in_relro = in_relro || (a >= o.relro_start && a < o.relro_end);
  }
  void* const relro = reinterpret_cast<void*>(o.relro_start);
  const size_t relro_len = o.relro_end - o.relro_start;
  // Full RELRO (-z now): the slots are read-only after relocation; opened for these writes only.
  if (in_relro && mprotect(relro, relro_len, PROT_READ | PROT_WRITE) != 0) {
    if (refused != nullptr) *refused = "its RELRO pages cannot be made writable";
    return false;
  }
  for (int i = 0; i < n; ++i) __atomic_store_n(writes[i].slot, writes[i].value, __ATOMIC_RELEASE);
  if (in_relro) mprotect(relro, relro_len, PROT_READ);
  return true;
}

}  // namespace forkguard

/// @file module_id.cpp
/// @brief Loaded modules' identities (GNU build-id from memory, or size and mtime), and which of
/// them each process has already described in its records.
#include "forkguard/module_id.hpp"

#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>


namespace forkguard {

int parse_build_id_notes(const unsigned char* notes, size_t len, size_t align, unsigned char* out, int cap) {
  if (align != 8) align = 4;
  size_t at = 0;
  const auto up = [align](size_t n) { return (n + align - 1) & ~(align - 1); };
  while (at + sizeof(ElfW(Nhdr)) <= len) {
    ElfW(Nhdr) h;
    std::memcpy(&h, notes + at, sizeof h);
    const size_t name_at = at + sizeof h;
    if (h.n_namesz > len || h.n_descsz > len) return 0;  // garbage: stop before any overflow
    const size_t desc_at = up(name_at + h.n_namesz);  // offsets, not sizes, are aligned
    const size_t next = up(desc_at + h.n_descsz);
    if (desc_at > len || desc_at + h.n_descsz > len) return 0;
    if (h.n_type == NT_GNU_BUILD_ID && h.n_namesz == 4 && std::memcmp(notes + name_at, "GNU", 4) == 0 &&
        h.n_descsz > 0) {
      const int n = h.n_descsz < static_cast<size_t>(cap) ? static_cast<int>(h.n_descsz) : cap;
      std::memcpy(out, notes + desc_at, static_cast<size_t>(n));
      return n;
    }
    if (next <= at) return 0;
    at = next;
  }
  return 0;
}

namespace {

// Described modules: filled once each (per process image), never freed. A slot is free (0),
// being filled (1) or ready (2). Zero-initialised, so it costs nothing until a record names a module.
struct Entry {
  std::atomic<int> state;
  // mark_of(pid, log generation, 1) while a record describing it is on its way, (.., 2) once written.
  std::atomic<uint64_t> mark;
  ModuleDesc desc;
};
constexpr int kEntries = 128;
Entry g_entries[kEntries];
std::atomic<int> g_used{0};

// Paths, copied out of ld.so's link map (a dlclose would free its strings).
constexpr size_t kArenaSize = 32 * 1024;
constexpr size_t kMaxPath = 1024;
char g_arena[kArenaSize];
std::atomic<size_t> g_arena_used{0};

const char* keep(const char* s) {
  size_t n = strnlen(s, kMaxPath);
  const size_t at = g_arena_used.fetch_add(n + 1);
  if (at + n + 1 > kArenaSize) return "";
  std::memcpy(g_arena + at, s, n);
  g_arena[at + n] = '\0';
  return g_arena + at;
}

// The executable's path, as stack.cpp names its frames: /proc/self/exe, else the path it was
// exec'd by (no /proc in a container or chroot). Syscalls only.
void executable_path(char* out, size_t cap) {
  const ssize_t n = readlink("/proc/self/exe", out, cap - 1);
  if (n > 0) {
    out[n] = '\0';
    return;
  }
  const auto* execfn = reinterpret_cast<const char*>(getauxval(AT_EXECFN));
  const size_t len = execfn != nullptr ? strnlen(execfn, cap - 1) : 0;
  if (len > 0) std::memcpy(out, execfn, len);
  out[len] = '\0';
}

uint64_t mark_of(pid_t pid, unsigned generation, int state) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(pid)) << 32) | (uint64_t{generation & 0x3fffffffu} << 2) |
         static_cast<uint64_t>(state);
}

struct Search {
  uintptr_t base;
  uintptr_t page;
  ModuleDesc* out;
  bool found;
  bool first;
};

// dl_iterate_phdr's callback: the object whose first page is `base`; its path and build id.
int find_object(struct dl_phdr_info* info, size_t, void* arg) {
  auto* s = static_cast<Search*>(arg);
  const bool main_program = s->first;
  s->first = false;
  uintptr_t lowest = UINTPTR_MAX;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_LOAD && info->dlpi_addr + ph.p_vaddr < lowest) lowest = info->dlpi_addr + ph.p_vaddr;
  }
  if (lowest == UINTPTR_MAX || (lowest & ~(s->page - 1)) != s->base) return 0;
  ModuleDesc& d = *s->out;
  for (int i = 0; i < info->dlpi_phnum && d.build_id_len == 0; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    // A PT_NOTE lies inside a loaded read-only segment: mapped and readable as long as the object is.
    d.build_id_len = parse_build_id_notes(reinterpret_cast<const unsigned char*>(info->dlpi_addr + ph.p_vaddr),
                                          ph.p_memsz, ph.p_align, d.build_id, ModuleDesc::kMaxBuildId);
  }
  if (main_program && (info->dlpi_name == nullptr || info->dlpi_name[0] == '\0')) {
    char exe[kMaxPath];
    executable_path(exe, sizeof exe);
    d.path = keep(exe);
  } else {
    d.path = keep(info->dlpi_name != nullptr ? info->dlpi_name : "");
  }
  s->found = true;
  return 1;
}

// The entry of the module at `base` named `name`, described on first use; nullptr when the
// table is full or no loaded object starts there.
Entry* entry_for(uintptr_t base, const char* name) {
  const int used = g_used.load(std::memory_order_acquire);
  for (int i = 0; i < used && i < kEntries; ++i) {
    Entry& e = g_entries[i];
    if (e.state.load(std::memory_order_acquire) == 2 && e.desc.base == base && std::strcmp(e.desc.name, name) == 0)
      return &e;
  }
  ModuleDesc d;
  d.base = base;
  d.name = name;
  const long page = sysconf(_SC_PAGESIZE);
  Search s{base, static_cast<uintptr_t>(page > 0 ? page : 4096), &d, false, true};
  dl_iterate_phdr(find_object, &s);
  if (!s.found) return nullptr;
  if (d.build_id_len == 0 && d.path[0] != '\0') {
    struct stat st;
    if (stat(d.path, &st) == 0) {
      d.size = st.st_size;
      d.mtime = st.st_mtime;
    }
  }
  // Two threads may describe one module at once: both entries are right, the first is found.
  const int slot = g_used.fetch_add(1, std::memory_order_acq_rel);
  if (slot >= kEntries) return nullptr;
  Entry& e = g_entries[slot];
  d.slot = slot;
  e.desc = d;
  e.state.store(2, std::memory_order_release);
  return &e;
}


}  // namespace

int modules_to_describe(const Record& r, uintptr_t site_base, unsigned generation, const ModuleDesc** out, int max) {
  int n = 0;
  const uint64_t described = mark_of(r.pid, generation, 2);
  auto consider = [&](uintptr_t base, const char* name) {
    if (base == 0 || name == nullptr || name[0] == '\0' || std::strcmp(name, "?") == 0 || n >= max) return;
    for (int i = 0; i < n; ++i)
      if (out[i]->base == base && std::strcmp(out[i]->name, name) == 0) return;  // already in this record
    Entry* e = entry_for(base, name);
    if (e == nullptr) return;
    uint64_t m = e->mark.load(std::memory_order_acquire);
    if (m == described) return;
    // In flight in another record of this process, or not yet described: this record describes it
    // too (a duplicate is harmless; a record naming a module before its description is not).
    e->mark.compare_exchange_strong(m, mark_of(r.pid, generation, 1), std::memory_order_acq_rel);
    out[n++] = &e->desc;
  };
  for (int i = 0; i < r.nframes; ++i) consider(r.frames[i].pc - r.frames[i].offset, r.frames[i].module);
  consider(site_base, r.site_module);
  return n;
}

void modules_done(const ModuleDesc* const* mods, int n, int described, bool written, pid_t pid, unsigned generation) {
  for (int i = 0; i < n; ++i) {
    if (mods[i]->slot < 0 || mods[i]->slot >= kEntries) continue;
    Entry* e = &g_entries[mods[i]->slot];
    if (written && i < described) {
      e->mark.store(mark_of(pid, generation, 2), std::memory_order_release);
    } else {
      uint64_t in_flight = mark_of(pid, generation, 1);
      e->mark.compare_exchange_strong(in_flight, 0, std::memory_order_acq_rel);
    }
  }
}

}  // namespace forkguard

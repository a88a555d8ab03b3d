/// @file report_symbolize.cpp
/// @brief Finding the file that ran by its recorded identity, the ELF load start, and symbolizing
/// frames with elfutils.
#include "report_symbolize.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "report_dwarf.hpp"

namespace forkguard::report {
namespace {

std::string basename_of(const std::string& p) {
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string join(const std::string& dir, const std::string& leaf) {
  return (dir.size() > 1 && dir.back() == '/' ? dir.substr(0, dir.size() - 1) : dir) + "/" + leaf;
}

// The lowest PT_LOAD address rounded down to a page: what dladdr's dli_fbase corresponds to.
bool load_start(const std::string& path, uint64_t& start) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Elf64_Ehdr eh;
  bool ok = ::pread(fd, &eh, sizeof eh, 0) == static_cast<ssize_t>(sizeof eh) &&
            std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
            eh.e_phentsize == sizeof(Elf64_Phdr);
  uint64_t lowest = UINT64_MAX;
  for (int i = 0; ok && i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (::pread(fd, &ph, sizeof ph, static_cast<off_t>(eh.e_phoff + i * sizeof ph)) != static_cast<ssize_t>(sizeof ph)) {
      ok = false;
      break;
    }
    if (ph.p_type == PT_LOAD && ph.p_vaddr < lowest) lowest = ph.p_vaddr;
  }
  ::close(fd);
  if (!ok || lowest == UINT64_MAX) return false;
  start = lowest & ~uint64_t{0xfff};
  return true;
}

// Candidate files for a module with a recorded identity, in the order they are tried.
std::vector<std::string> candidates(const ModuleIdentity& id, const SymbolizeOptions& opt) {
  std::vector<std::string> out;
  if (!id.path.empty()) out.push_back(id.path);
  const std::string leaf = id.path.empty() ? id.name : basename_of(id.path);
  for (const std::string& p : opt.paths) {
    if (is_dir(p)) {
      out.push_back(join(p, leaf));
      if (id.name != leaf) out.push_back(join(p, id.name));
    } else if (basename_of(p) == leaf || basename_of(p) == id.name) {
      out.push_back(p);
    }
  }
  if (id.build_id.size() > 2)
    out.push_back(opt.debug_root + "/.build-id/" + id.build_id.substr(0, 2) + "/" + id.build_id.substr(2) + ".debug");
  return out;
}

// One file's symbolization, opened once and asked for every frame in it.
struct Symbolizer {
  std::map<std::string, std::unique_ptr<DwarfFile>> files;
  DwarfFile* open(const std::string& path) {
    auto it = files.find(path);
    if (it == files.end()) it = files.emplace(path, std::make_unique<DwarfFile>(path)).first;
    return it->second->ok() ? it->second.get() : nullptr;
  }
  bool resolve(const std::string& path, uint64_t offset, Resolved& out) {
    uint64_t addr = 0;
    DwarfFile* f = open(path);
    if (f == nullptr || !address_for(path, offset, addr)) return false;
    out = f->resolve(addr);
    return true;
  }
};

std::string list(const std::set<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

bool file_identity(const std::string& path, ModuleIdentity& out) {
  out = ModuleIdentity{};
  out.path = path;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  out.size = st.st_size;
  out.mtime = st.st_mtime;
  return elf_build_id(path, out.build_id);
}

bool same_module(const ModuleIdentity& recorded, const ModuleIdentity& file) {
  if (!recorded.build_id.empty()) return recorded.build_id == file.build_id;
  return file.build_id.empty() && recorded.size && recorded.mtime && recorded.size == file.size &&
         recorded.mtime == file.mtime;
}

std::string find_identical(const ModuleIdentity& id, const SymbolizeOptions& opt, std::vector<std::string>* tried) {
  for (const std::string& c : candidates(id, opt)) {
    ModuleIdentity got;
    if (!file_identity(c, got)) continue;
    if (same_module(id, got)) return c;
    if (tried != nullptr) tried->push_back(c + " (" + got.describe() + ")");
  }
  return {};
}

bool address_for(const std::string& path, uint64_t offset, uint64_t& addr) {
  uint64_t start = 0;
  if (!load_start(path, start)) return false;
  // A return address: the call instruction ends just before it.
  addr = start + (offset > 0 ? offset - 1 : 0);
  return true;
}

std::vector<std::string> symbolize(const std::vector<StackRef>& stacks, const SymbolizeOptions& opt) {
  std::vector<std::string> warnings;
  Symbolizer sym;
  std::map<std::string, std::string> match;  // module identity -> the file that is it ("" = none)
  std::map<std::string, std::vector<std::string>> mismatched;
  std::map<std::string, const ModuleIdentity*> unmatched;
  std::set<std::string> unidentified;  // modules of frames that came without an identity
  for (const StackRef& s : stacks) {
    for (Frame& f : *s.frames) {
      if (!f.ident) {
        unidentified.insert(f.module);
        continue;
      }
      const std::string key = f.ident->name + "\n" + f.ident->describe() + "\n" + f.ident->path;
      auto it = match.find(key);
      if (it == match.end()) {
        std::vector<std::string> tried;
        it = match.emplace(key, find_identical(*f.ident, opt, &tried)).first;
        if (it->second.empty()) {
          unmatched[key] = &*f.ident;
          mismatched[key] = tried;
        }
      }
      f.module_path = it->second;
      Resolved res;
      if (!f.module_path.empty() && sym.resolve(f.module_path, f.offset, res)) {
        f.function = res.function;
        f.location = res.location;
      }
    }
  }
  for (const auto& [key, id] : unmatched) {
    std::string w = "no file is the " + id->name + " that ran (" + id->describe() + ")";
    const auto& tried = mismatched[key];
    if (!tried.empty()) {
      w += "; not it:";
      for (const std::string& t : tried) w += " " + t;
    }
    w += " (give its directory with --path); its frames stay module+offset";
    warnings.push_back(w);
  }
  if (!unidentified.empty())
    warnings.push_back("no record describes " + list(unidentified) +
                       " (records of an older forkguard, or a description that was lost): nothing proves which "
                       "file ran, so those frames stay module+offset");
  return warnings;
}

std::vector<std::string> symbolize(std::vector<SiteSummary>& sites, const SymbolizeOptions& opt) {
  std::vector<StackRef> stacks;
  for (SiteSummary& s : sites) stacks.push_back(StackRef{&s.stack, s.exe_for_stack});
  return symbolize(stacks, opt);
}

}  // namespace forkguard::report

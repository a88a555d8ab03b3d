/// @file report_dwarf.cpp
/// @brief libdwfl offline symbolization of one file and GNU build-id reading with libelf.
#include "report_dwarf.hpp"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace forkguard::report {
namespace {

std::string demangle(const char* name) {
  if (name == nullptr) return {};
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (d == nullptr) return name;
  std::string out(d);
  std::free(d);
  return out;
}

// A DIE's name as a reader wants it: the demangled linkage name, else the plain name, looking
// through DW_AT_abstract_origin and DW_AT_specification (inlined and out-of-line copies).
std::string die_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  for (int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
    const char* s = dwarf_formstring(dwarf_attr_integrate(die, at, &attr));
    if (s != nullptr) return demangle(s);
  }
  const char* s = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
  return s != nullptr ? s : "";
}

char* g_debuginfo_path = nullptr;  // dwfl's default: ":.debug:/usr/lib/debug"
const Dwfl_Callbacks kOffline = {dwfl_build_id_find_elf, dwfl_standard_find_debuginfo, dwfl_offline_section_address,
                                 &g_debuginfo_path};

}  // namespace

struct DwarfFile::State {
  Dwfl* dwfl = nullptr;
  Dwfl_Module* mod = nullptr;
  Dwarf_Addr bias = 0;  ///< dwfl address = ELF address + bias
};

DwarfFile::DwarfFile(const std::string& path) : s_(std::make_unique<State>()) {
  s_->dwfl = dwfl_begin(&kOffline);
  if (s_->dwfl == nullptr) return;
  dwfl_report_begin(s_->dwfl);
  s_->mod = dwfl_report_offline(s_->dwfl, "", path.c_str(), -1);
  dwfl_report_end(s_->dwfl, nullptr, nullptr);
  if (s_->mod != nullptr && dwfl_module_getelf(s_->mod, &s_->bias) == nullptr) s_->mod = nullptr;
}

DwarfFile::~DwarfFile() {
  if (s_->dwfl != nullptr) dwfl_end(s_->dwfl);
}

bool DwarfFile::ok() const { return s_->mod != nullptr; }

namespace {

// The compilation unit holding `addr` (a DWARF address): through the aranges when the file has
// them, else by asking each unit (clang, for one, writes no .debug_aranges).
bool unit_at(Dwfl_Module* mod, Dwarf* dw, Dwarf_Addr dwfl_addr, Dwarf_Addr addr, Dwarf_Die& out) {
  Dwarf_Addr bias = 0;
  if (Dwarf_Die* cu = dwfl_module_addrdie(mod, dwfl_addr, &bias)) {
    out = *cu;
    return true;
  }
  if (dw == nullptr) return false;
  Dwarf_CU* cu = nullptr;
  Dwarf_Die die;
  uint8_t unit_type = 0;
  while (dwarf_get_units(dw, cu, &cu, nullptr, &unit_type, &die, nullptr) == 0) {
    if (dwarf_haspc(&die, addr) > 0) {
      out = die;
      return true;
    }
  }
  return false;
}

}  // namespace

Resolved DwarfFile::resolve(uint64_t elf_addr) const {
  Resolved r;
  if (s_->mod == nullptr) return r;
  const Dwarf_Addr addr = elf_addr + s_->bias;
  Dwarf_Addr dw_bias = 0;
  Dwarf* dw = dwfl_module_getdwarf(s_->mod, &dw_bias);
  Dwarf_Die cu;
  const bool have_cu = unit_at(s_->mod, dw, addr, addr - dw_bias, cu);
  // The DWARF scopes at the address: innermost first; an inlined call's name, then its function.
  std::string inlined, function;
  if (have_cu) {
    Dwarf_Die* scopes = nullptr;
    const int n = dwarf_getscopes(&cu, addr - dw_bias, &scopes);
    for (int i = 0; i < n; ++i) {
      const int tag = dwarf_tag(&scopes[i]);
      if (tag == DW_TAG_inlined_subroutine && inlined.empty()) inlined = die_name(&scopes[i]);
      if (tag == DW_TAG_subprogram) {
        function = die_name(&scopes[i]);
        break;
      }
    }
    std::free(scopes);
  }
  if (function.empty()) {  // no DWARF here: the symbol table names the function (static ones too)
    GElf_Off off = 0;
    GElf_Sym sym;
    function = demangle(dwfl_module_addrinfo(s_->mod, addr, &off, &sym, nullptr, nullptr, nullptr));
  }
  r.function = inlined.empty() || function.empty() ? function : inlined + " (inlined into " + function + ")";
  if (Dwarf_Line* line = have_cu ? dwarf_getsrc_die(&cu, addr - dw_bias) : nullptr) {
    int lineno = 0;
    const char* file = dwarf_linesrc(line, nullptr, nullptr);
    dwarf_lineno(line, &lineno);
    if (file != nullptr && lineno > 0) {
      std::string where = file;
      Dwarf_Attribute attr;  // a relative name is relative to the compilation's directory
      const char* dir = dwarf_formstring(dwarf_attr(&cu, DW_AT_comp_dir, &attr));
      if (where[0] != '/' && dir != nullptr && dir[0] != '\0') where = std::string(dir) + "/" + where;
      r.location = where + ":" + std::to_string(lineno);
    }
  }
  return r;
}

bool elf_build_id(const std::string& path, std::string& hex) {
  hex.clear();
  elf_version(EV_CURRENT);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  bool ok = elf != nullptr && elf_kind(elf) == ELF_K_ELF;
  if (ok) {
    const void* id = nullptr;
    const ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
    for (ssize_t i = 0; i < n; ++i) {
      char b[3];
      std::snprintf(b, sizeof b, "%02x", static_cast<const unsigned char*>(id)[i]);
      hex += b;
    }
  }
  if (elf != nullptr) elf_end(elf);
  ::close(fd);
  return ok;
}

}  // namespace forkguard::report

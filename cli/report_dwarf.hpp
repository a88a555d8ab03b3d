/// @file report_dwarf.hpp
/// @brief Symbols and source lines of one ELF file, read with elfutils (libdwfl, offline): function
/// names from the symbol table (static functions included) or the DWARF, inlined calls, file:line;
/// the separate debug file is found by build id (/usr/lib/debug/.build-id/, Debian's -dbgsym).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace forkguard::report {

struct Resolved {
  std::string function;  ///< demangled; "f (inlined into g)" for an inlined call; "" when unknown
  std::string location;  ///< "file:line"; "" without line information
};

class DwarfFile {
 public:
  /// Opens `path` (no error: ok() says whether it could be read).
  explicit DwarfFile(const std::string& path);
  ~DwarfFile();
  DwarfFile(const DwarfFile&) = delete;
  DwarfFile& operator=(const DwarfFile&) = delete;
  bool ok() const;
  /// What is at the ELF virtual address `addr` of the file.
  Resolved resolve(uint64_t addr) const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

/// The GNU build-id of the ELF file at `path`, lowercase hex ("" when it has none). false when
/// the file is not a readable ELF file.
bool elf_build_id(const std::string& path, std::string& hex);

}  // namespace forkguard::report

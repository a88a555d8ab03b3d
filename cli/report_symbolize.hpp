/// @file report_symbolize.hpp
/// @brief Offline symbolization of record frames: finds each module's file and asks addr2line.
///
/// A frame is `module+0xoffset`, the offset counted from the start of the module's first
/// loaded segment (dladdr's dli_fbase). For PIE executables and shared objects that start is
/// ELF address 0; for a fixed-address (ET_EXEC) program it is its first PT_LOAD address, read
/// from the file. Offsets are return addresses, so the call is looked up at offset - 1.
///
/// Where the file is (no /proc/PID/maps offline): the record's `exe` when the module's basename
/// is the exe's basename; otherwise each --path entry (a file whose basename matches, or a
/// directory holding the module); then the system library directories. Nothing proves the file
/// is the one that ran (records carry no build id): symbolize on the machine that recorded.
#pragma once

#include <string>
#include <vector>

#include "report_model.hpp"

namespace forkguard::report {

struct SymbolizeOptions {
  std::vector<std::string> paths;  ///< --path entries: files or directories
  bool system_dirs = true;         ///< also look in /usr/lib/<multiarch>, /lib/<multiarch>, /usr/lib, /lib
  std::string addr2line = "addr2line";
};

/// Fills function/location/module_path of every frame of every summary. Returns warnings
/// (addr2line missing, a module nowhere to be found), each said once.
std::vector<std::string> symbolize(std::vector<SiteSummary>& sites, const SymbolizeOptions& opt);

/// The file of `module`, by the rules above; "" when none exists.
std::string find_module(const std::string& module, const std::string& exe, const SymbolizeOptions& opt);

/// The address addr2line wants for a return-address offset into `path` (see the file comment).
/// false when the file is not a readable 64-bit ELF.
bool address_for(const std::string& path, uint64_t offset, uint64_t& addr);

}  // namespace forkguard::report

/// @file report_symbolize.hpp
/// @brief Offline symbolization of record frames, only from the very file that ran.
///
/// A frame is `module+0xoffset`, the offset counted from the start of the module's first
/// loaded segment (dladdr's dli_fbase). For PIE executables and shared objects that start is
/// ELF address 0; for a fixed-address (ET_EXEC) program it is its first PT_LOAD address, read
/// from the file. Offsets are return addresses, so the call is looked up at offset - 1.
///
/// Which file: records describe each module once per process ("modules": path and GNU build-id,
/// or size and mtime for a binary without one), and frames carry that identity (tie_modules()).
/// Candidates are tried in order, and the first whose identity matches is used: the recorded path,
/// then each --path entry (a directory holding the module, or the file itself), then
/// /usr/lib/debug/.build-id/NN/REST.debug. When none matches, the frames stay module+offset and a
/// warning says so: a name from another build is never printed. Frames without an identity
/// (records of an older forkguard) stay module+offset too: a file found by name alone may be
/// another build, and its names would be wrong. Symbols and lines are read with elfutils
/// (report_dwarf.hpp). What dladdr named in the recording process ("symbol") is always right.
#pragma once

#include <string>
#include <vector>

#include "report_model.hpp"

namespace forkguard::report {

struct SymbolizeOptions {
  std::vector<std::string> paths;  ///< --path entries: files or directories
  std::string debug_root = "/usr/lib/debug";  ///< its .build-id/ directory holds files by build id
};

/// A stack to symbolize and the executable of the process that recorded it.
struct StackRef {
  std::vector<Frame>* frames;
  std::string exe;
};

/// Fills function/location/module_path of every frame it can. Returns warnings, each said once.
std::vector<std::string> symbolize(const std::vector<StackRef>& stacks, const SymbolizeOptions& opt);
/// The same for every summary's stack.
std::vector<std::string> symbolize(std::vector<SiteSummary>& sites, const SymbolizeOptions& opt);

/// The identity of the file at `path` (its build id, or "" and its size and mtime). false when it
/// is not a readable ELF file.
bool file_identity(const std::string& path, ModuleIdentity& out);
/// Whether a file's identity is the recorded one: the same build id; for a binary without one
/// (recorded so), the same size and mtime.
bool same_module(const ModuleIdentity& recorded, const ModuleIdentity& file);
/// The first candidate file whose identity matches `id` (see the file comment); "" when none.
/// `tried` (optional) gets each candidate that exists but differs, with its identity.
std::string find_identical(const ModuleIdentity& id, const SymbolizeOptions& opt,
                           std::vector<std::string>* tried = nullptr);

/// The ELF address of a return-address offset into `path` (see the file comment). false when
/// the file is not a readable 64-bit ELF.
bool address_for(const std::string& path, uint64_t offset, uint64_t& addr);

}  // namespace forkguard::report

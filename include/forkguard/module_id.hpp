/// @file module_id.hpp
/// @brief Which file each frame of a record came from: a loaded module's path and GNU build-id,
/// read from its PT_NOTE in memory, or, for a binary without one, its size and mtime (one stat
/// per module and process image). Every process describes each module once, in the first record
/// that names it, so that `forkguard report` symbolizes only from a file that is the one that ran.
///
/// Allocation-free and lock-free apart from dl_iterate_phdr (ld.so's recursive lock), which runs
/// once per module: it may be called on the fork path of an ordinary (not nested) call.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "forkguard/record.hpp"

namespace forkguard {

struct ModuleDesc {
  uintptr_t base = 0;     ///< the module's lowest mapped address (dladdr's dli_fbase): pc - frame offset
  const char* name = "";  ///< as frames name it (the basename)
  const char* path = "";  ///< as ld.so loaded it; the executable's real path for the main program
  static constexpr int kMaxBuildId = 64;
  unsigned char build_id[kMaxBuildId] = {};
  int build_id_len = 0;   ///< 0: the module carries no GNU build-id
  int64_t size = -1;      ///< without a build id: st_size of `path` (-1 when stat failed)
  int64_t mtime = -1;     ///< without a build id: st_mtime of `path`, seconds since the epoch
  int slot = -1;          ///< where the library keeps it (internal)
};

/// The modules of `r`'s frames, and of its site (`site_base` = return address - site offset; 0
/// when unknown), that process `r.pid` has not described yet in log `generation` (the sink's:
/// a new file starts afresh), at most `max`, into `out`; they are marked as being described.
/// Returns the count. Call modules_done() after the write.
int modules_to_describe(const Record& r, uintptr_t site_base, unsigned generation, const ModuleDesc** out, int max);

/// After the record with `mods` was written (`written`), of which `described` fitted: those
/// count as described by process `pid` in log `generation`; the others wait for its next record.
void modules_done(const ModuleDesc* const* mods, int n, int described, bool written, pid_t pid, unsigned generation);

/// The GNU build-id in an ELF note area (a PT_NOTE segment: `len` bytes, notes aligned to
/// `align`, 4 or 8). Copies at most `cap` bytes into `out`; returns its length, 0 when there is none.
/// Pure: reads only the given bytes.
int parse_build_id_notes(const unsigned char* notes, size_t len, size_t align, unsigned char* out, int cap);

}  // namespace forkguard

/// @file diag.hpp
/// @brief The library's own words: warnings about the settings on stderr, notices in the log.
///
/// The program's stderr is the program's: only a warning about the FORKGUARD_* settings
/// themselves goes there (diag_warn). Everything else the library has to say (a log reopened,
/// libunwind missing, a damaged profile, calls that passed unrecorded) is a notice: posted here,
/// it rides on the next record this process writes as its "notice" key, so every line of the log
/// stays one record of one call. Never used for records themselves: those go through the sink.
#pragma once

#include <cstddef>

namespace forkguard {

/// One "forkguard: <message>" line on stderr, one write(2). Only for warnings about the settings
/// (a bad value, secure mode ignoring a path), said once per process image by the caller.
void diag_warn(const char* message);

/// Posts a notice for the next record of this process. Lock-free and allocation-free (async-signal-
/// safe); `text` is copied, cut at kNoticeMax bytes. At most kNoticeSlots notices wait at once;
/// one posted beyond that is dropped (callers say each thing once, so this does not happen).
void diag_notice(const char* text);
constexpr size_t kNoticeMax = 384;
constexpr int kNoticeSlots = 6;

/// Moves the waiting notices into `out` after its first `used` bytes, separated by "; " and
/// NUL-terminated. A notice that does not fit stays posted for a later record. Returns the new
/// length. Lock-free and allocation-free.
size_t diag_take_notices(char* out, size_t cap, size_t used);

}  // namespace forkguard

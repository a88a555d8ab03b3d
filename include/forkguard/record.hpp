/// @file record.hpp
/// @brief One intercepted call, and its two renderings (text line, JSON object) that fit PIPE_BUF.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "forkguard/commit_rule.hpp"

namespace forkguard {

enum class CallKind { fork, vfork, _Fork, system, popen, pclose, posix_spawn, posix_spawnp, daemon };
const char* call_name(CallKind k);

enum class Action { passthrough, posix_spawn, slim_fork, vfork, refused };
const char* action_name(Action a);

/// One stack frame, resolved in the parent before the call.
struct Frame {
  uintptr_t pc = 0;
  const char* module = "";  ///< basename, static storage (cache)
  uintptr_t offset = 0;     ///< pc - module load base
  const char* symbol = "";  ///< demangled, "" when dladdr names none
};

/// One way mitigate mode's fallback chain for fork/_Fork tried: a clone it made (the record's
/// "attempts", in order).
struct Attempt {
  Action action = Action::passthrough;  ///< passthrough, slim_fork or vfork
  int err = 0;                          ///< errno when that clone failed; 0 when it made the child
};

struct Record {
  static constexpr int kMaxFrames = 64;
  static constexpr int kMaxAttempts = 4;
  int64_t ts_sec = 0, ts_usec = 0;
  pid_t pid = 0, ppid = 0, tid = 0;
  const char* exe = "";
  CallKind call = CallKind::fork;
  const char* command = nullptr;  ///< system/popen/spawn command line; nullptr = none
  int64_t vm_size_kb = -1, vm_rss_kb = -1;
  int64_t charge_kb = -1;
  const char* charge_method = "estimate";  ///< "estimate" | "smaps"
  int64_t commit_limit_kb = -1, committed_as_kb = -1;
  int overcommit_mode = -1;
  Verdict verdict = Verdict::unknown;
  int64_t margin_kb = 0;  ///< the verdict's margin (room left; negative = short by)
  int64_t allowed_kb = -1;      ///< the limit the verdict applied (mode 2: CommitLimit - reserves; mode 0: RAM + swap)
  int64_t largest_vma_kb = -1;  ///< largest charged mapping (what mode 0 compares)
  const char* rule = nullptr;   ///< the verdict's one-sentence explanation
  const char* learned_by = nullptr;  ///< the method that learned this site spawn-like (vfork substitute)
  int learned_children = 0;          ///< how many of its children were observed
  Action action = Action::passthrough;
  const char* reason = nullptr;  ///< why this action, when it is not a plain passthrough
  /// Why the record lacks its stack and any substitution: "reentered" (the call arrived while
  /// this thread was inside the library: a signal or atfork handler); nullptr = a whole record.
  const char* degraded = nullptr;
  Attempt attempts[kMaxAttempts];
  int nattempts = 0;  ///< 0: no "attempts" key (observe mode, calls other than fork and _Fork)
  int64_t result = 0;
  pid_t child_pid = -1;  ///< -1 when unknown
  int err = 0;           ///< errno of a failed call; 0 = success (key omitted)
  int64_t duration_us = 0;
  const char* site_module = "";
  uintptr_t site_offset = 0;
  Frame frames[kMaxFrames];
  int nframes = 0;
  bool known_headroom() const { return commit_limit_kb >= 0 && committed_as_kb >= 0; }
};

/// The whole line, newline included, is at most `cap` bytes (callers pass PIPE_BUF). When the
/// record does not fit, frames are dropped from the outermost end and the command is cut, and
/// the object carries "truncated":true. Returns the length. Allocation-free.
size_t format_json(const Record& r, char* buf, size_t cap);
/// One human line: "forkguard: fork at app+0x1234 pid 42: charge 1.2 GiB, headroom ..., verdict refuse ...".
size_t format_text(const Record& r, char* buf, size_t cap);

}  // namespace forkguard

/// @file record.hpp
/// @brief One intercepted call, and its two renderings (text line, JSON object) that fit PIPE_BUF.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "forkguard/commit_rule.hpp"

namespace forkguard {

/// `fault`: not a call but a slim fork's child dying of a fault in memory the fork left out
/// (slim_fault.hpp): its own record, written by its SIGSEGV handler.
enum class CallKind { fork, vfork, _Fork, system, popen, pclose, posix_spawn, posix_spawnp, daemon, fault };
const char* call_name(CallKind k);

enum class Action { passthrough, posix_spawn, slim_fork, vfork, refused };

struct Advice;      // advice.hpp: what would make a refused fork fit
struct ModuleDesc;  // module_id.hpp: a module's identity, described once per process
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
  Verdict verdict = Verdict::unknown;       ///< the prediction for this call (ok when it is not charged)
  Verdict fork_verdict = Verdict::unknown;  ///< the prediction for a full fork of the process now
  bool charged = true;  ///< the kernel charges this call for the parent's memory (call_charge.hpp)
  int64_t margin_kb = 0;  ///< fork_verdict's margin (room left; negative = short by)
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
  /// What the library has to say besides the record (a log reopened, calls that went unrecorded,
  /// libunwind missing...): never a line of its own on the program's stderr (diag.hpp).
  const char* notice = nullptr;
  /// A refused call: by how much the charge must shrink, the largest mappings, what a slim fork
  /// would exclude and whether that is enough. nullptr = no advice.
  const Advice* advice = nullptr;
  /// Modules named in this record's stack (or site) not yet described by this process: path and
  /// identity, so that the report symbolizes from the very file that ran.
  const ModuleDesc* const* modules = nullptr;
  int nmodules = 0;
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
  /// A slim fork: what it left out of the child (-1: not a slim fork), of which written memory
  /// (the child has nothing there), how many mappings lost memory, and the commit rule that
  /// required written memory to go (nullptr: none did).
  int64_t excluded_kb = -1, excluded_written_kb = -1;
  int excluded_mappings = -1;
  const char* excluded_written_rule = nullptr;
  bool known_headroom() const { return commit_limit_kb >= 0 && committed_as_kb >= 0; }
};

/// The whole line, newline included, is at most `cap` bytes (callers pass PIPE_BUF). When the
/// record does not fit, frames are dropped from the outermost end and the command is cut, and
/// the object carries "truncated":true. Module descriptions come last, as many as fit: their
/// count goes to `*modules_written` (the rest wait for the next record, which is not a cut).
/// Returns the length. Allocation-free.
size_t format_json(const Record& r, char* buf, size_t cap, int* modules_written = nullptr);
/// One human line: "forkguard: fork at app+0x1234 pid 42: charge 1.2 GiB, headroom ..., verdict refuse ...".
size_t format_text(const Record& r, char* buf, size_t cap);

}  // namespace forkguard

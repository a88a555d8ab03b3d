/// @file report_model.hpp
/// @brief `forkguard report`: JSON records read back from any number of files, and their summary
/// by call site. Independent of the core and of CLI11/spdlog so its own tests link it alone.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace forkguard::report {

/// Which file a module was in the recording process: a record's "modules" entry.
struct ModuleIdentity {
  std::string name;      ///< as frames name the module (basename)
  std::string path;      ///< as loaded ("" when the record did not say)
  std::string build_id;  ///< GNU build-id, lowercase hex; "" for a binary without one
  std::optional<int64_t> size, mtime;  ///< without a build id: st_size, st_mtime (seconds)
  std::string describe() const;        ///< "build-id 89ab..." or "size N, mtime T"
};

/// One stack frame of a record, plus what symbolization found (empty when it found nothing).
struct Frame {
  std::string module;
  uint64_t offset = 0;
  std::optional<ModuleIdentity> ident;  ///< the module's identity, from the same process's records
  std::string symbol;     ///< what dladdr named in the recording process ("" when none)
  std::string function;   ///< from the file that ran (demangled), "" when unknown
  std::string location;   ///< "file:line" from that file, "" without debug information
  std::string module_path;  ///< the file symbolization used, "" when none was found
  std::string id() const;  ///< "module+0xoffset"
};

/// The fields of one record that the report uses. Optional figures are absent or null in the record.
struct Rec {
  std::string file;
  size_t line = 0;
  std::optional<int64_t> ts_us;  ///< microseconds since the epoch
  std::string ts;                ///< as written
  int64_t pid = -1, ppid = -1;
  std::string exe, call, command, site, action, errno_name, charge_method;
  std::string verdict;       ///< the prediction for this call ("ok" for an uncharged one)
  std::string fork_verdict;  ///< the prediction for a full fork then (older records: = verdict)
  bool charged = true;       ///< the kernel charges this call (older records: all but vfork and posix_spawn)
  std::string notice;        ///< what the library said besides the record
  std::optional<int64_t> shrink_kb, slim_excludes_kb;  ///< a refused call's advice
  std::optional<int64_t> slim_written_kb;  ///< of what a slim fork leaves out, the written part
  std::optional<bool> slim_enough;
  std::optional<int64_t> vm_size_kb, charge_kb, commit_limit_kb, committed_as_kb, headroom_kb, margin_kb,
      allowed_kb, largest_vma_kb, result, duration_us;
  int overcommit_mode = -1;
  bool truncated = false;
  std::vector<Frame> stack;

  std::vector<ModuleIdentity> modules;  ///< modules this record described

  bool failed() const;    ///< the call did not create a child (errno, -1, or a spawn error number)
  bool refused() const;   ///< failed with ENOMEM, or the shim refused it (action refused)
  bool substituted() const { return !action.empty() && action != "passthrough"; }
  /// What the kernel's rule compares with the limit: mode 0 the largest mapping, else the charge.
  std::optional<int64_t> compared_kb() const;
  /// The limit that figure is compared with at that moment (compared + margin).
  std::optional<int64_t> room_kb() const;
  /// A charged call within `near_pct` percent of the limit without being predicted to fail.
  bool near_miss(int near_pct) const;
  /// The call was predicted to be refused, substituted, and made its child: rescued.
  bool rescued() const { return verdict == "refuse" && substituted() && !failed(); }
};

/// Calls that create a process; records of other calls (pclose, exec*) are counted and skipped.
bool is_creation_call(const std::string& call);

/// ISO-8601 UTC with optional fraction ("2026-11-28T14:50:08.123456Z") to microseconds.
std::optional<int64_t> parse_iso8601_us(const std::string& text);

/// A notice the library wrote as a key of a record: where and by whom.
struct Notice {
  std::string file;
  size_t line = 0;
  int64_t pid = -1;
  std::string exe, call, ts, text;
};

struct ReadResult {
  std::vector<Rec> records;
  std::vector<Rec> faults;            ///< "call":"fault": slim-fork children killed in an excluded region
  std::vector<Notice> notices;        ///< every record's notice, in file order
  std::vector<std::string> warnings;  ///< "FILE:LINE: what" for every line that was skipped
  size_t lines = 0;
  size_t other_calls = 0;             ///< valid records of calls that are not creations
  /// Module descriptions by (file, pid, exe), each with the line that gave it.
  std::map<std::string, std::vector<std::pair<size_t, ModuleIdentity>>> described;
};

/// Reads JSON lines from `in` (named `name` in warnings) and appends to `out`. A line that is not
/// a JSON object, lacks `call` or `site`, or is cut (a last line without newline that does not
/// parse) gives one warning and is skipped; reading goes on. Call tie_modules() after the last file.
void read_records(std::istream& in, const std::string& name, ReadResult& out);

/// Gives every frame the identity of its module: the latest description of that module name at
/// or before the frame's record among the records of the same pid and executable in the same
/// file (a new image after exec starts afresh), else the first one after it (a description that
/// did not fit its record comes with the next one). Frames of a module never described keep none.
void tie_modules(ReadResult& r);

/// The summary of one (site, call) pair.
struct SiteSummary {
  std::string site, call;
  size_t count = 0, failures = 0, refused = 0, predicted_refuse = 0, near = 0;
  size_t fork_refuse = 0;  ///< calls whose fork_verdict was refuse (a full fork then would have been)
  std::map<std::string, size_t> substitutions;  ///< action -> count, passthrough excluded
  std::map<std::string, size_t> errnos;
  std::optional<int64_t> max_charge_kb, headroom_at_max_kb, room_at_max_kb;
  std::optional<int64_t> worst_margin_kb, allowed_at_worst_kb;
  std::string worst_ts;
  std::set<int64_t> pids;
  std::set<std::string> exes;
  std::vector<std::string> commands;  ///< up to 3 distinct ones
  std::vector<Frame> stack;           ///< from the record with the most frames
  std::string exe_for_stack;          ///< that record's exe (to find the main program's file)
  std::optional<int64_t> shrink_kb;   ///< the latest refused call's advice: by how much to shrink
  std::optional<bool> slim_enough;    ///< ... and whether a slim fork's exclusions would be enough
  std::optional<int64_t> slim_excludes_kb;
  std::optional<int64_t> slim_written_kb;
  /// "refused", "rescued" (predicted refusal, substituted), "failed", "near" or "".
  std::string attention() const;
};

/// Groups creation records by (site, call), sorted by what happened or would happen to the calls
/// themselves (their verdict, never fork_verdict): refusals, then predicted refusals that were
/// substituted, other failures, near-misses of charged calls (smallest margin first), then by count.
std::vector<SiteSummary> summarize(const std::vector<Rec>& records, int near_pct);

}  // namespace forkguard::report

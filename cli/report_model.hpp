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

/// One stack frame of a record, plus what symbolization found (empty when it found nothing).
struct Frame {
  std::string module;
  uint64_t offset = 0;
  std::string symbol;     ///< what dladdr named in the recording process ("" when none)
  std::string function;   ///< from addr2line (demangled), "" when unknown
  std::string location;   ///< "file:line" from addr2line, "" without debug information
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
  std::string exe, call, command, site, verdict, action, errno_name, charge_method;
  std::optional<int64_t> vm_size_kb, charge_kb, commit_limit_kb, committed_as_kb, headroom_kb, margin_kb,
      allowed_kb, largest_vma_kb, result, duration_us;
  int overcommit_mode = -1;
  bool truncated = false;
  std::vector<Frame> stack;

  bool failed() const;    ///< the call did not create a child (errno, -1, or a spawn error number)
  bool refused() const;   ///< failed with ENOMEM, or the shim refused it (action refused)
  bool substituted() const { return !action.empty() && action != "passthrough"; }
  /// What the kernel's rule compares with the limit: mode 0 the largest mapping, else the charge.
  std::optional<int64_t> compared_kb() const;
  /// The limit that figure is compared with at that moment (compared + margin).
  std::optional<int64_t> room_kb() const;
  /// Within `near_pct` percent of the limit without being predicted to fail.
  bool near_miss(int near_pct) const;
};

/// Calls that create a process; records of other calls (pclose, exec*) are counted and skipped.
bool is_creation_call(const std::string& call);

/// ISO-8601 UTC with optional fraction ("2026-11-28T14:50:08.123456Z") to microseconds.
std::optional<int64_t> parse_iso8601_us(const std::string& text);

struct ReadResult {
  std::vector<Rec> records;
  std::vector<std::string> warnings;  ///< "FILE:LINE: what" for every line that was skipped
  size_t lines = 0;
  size_t other_calls = 0;             ///< valid records of calls that are not creations
};

/// Reads JSON lines from `in` (named `name` in warnings) and appends to `out`. A line that is not
/// a JSON object, lacks `call` or `site`, or is cut (a last line without newline that does not
/// parse) gives one warning and is skipped; reading goes on.
void read_records(std::istream& in, const std::string& name, ReadResult& out);

/// The summary of one (site, call) pair.
struct SiteSummary {
  std::string site, call;
  size_t count = 0, failures = 0, refused = 0, predicted_refuse = 0, near = 0;
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
  /// "refused", "rescued" (predicted refusal, substituted), "failed", "near" or "".
  std::string attention() const;
};

/// Groups creation records by (site, call), sorted by what needs attention first: refusals,
/// then predicted refusals that were substituted, other failures, near-misses (smallest margin
/// first), then by count.
std::vector<SiteSummary> summarize(const std::vector<Rec>& records, int near_pct);

}  // namespace forkguard::report

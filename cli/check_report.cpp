/// @file check_report.cpp
/// @brief Renders a `forkguard check` result for people (text) and for scripts (JSON).
#include "check_report.hpp"

#include <string.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "humanize.hpp"

namespace forkguard::cli {
namespace {

bool known(int64_t kb) { return kb >= 0; }

bool headroom_known(const Picture& p) { return known(p.mem.commit_limit_kb) && known(p.mem.committed_as_kb); }

// The kernel's user reserve: min(total_vm / 32, user_reserve_kbytes) (mm/util.c).
int64_t user_reserve_kb(const Picture& p) {
  if (!known(p.status.vm_size_kb) || !known(p.vm.user_reserve_kbytes)) return -1;
  return std::min(p.status.vm_size_kb / 32, p.vm.user_reserve_kbytes);
}

std::string overcommit_text(const Picture& p) {
  switch (p.vm.overcommit_memory) {
    case 0: {
      int64_t ram_swap = known(p.mem.mem_total_kb) && known(p.mem.swap_total_kb)
                             ? p.mem.mem_total_kb + p.mem.swap_total_kb : -1;
      return "0 (heuristic: refuses a fork when one accountable mapping is larger than RAM + swap, " +
             human_kb(ram_swap) + ")";
    }
    case 1:
      return "1 (always: never refuses)";
    case 2:
      if (p.vm.overcommit_kbytes > 0)
        return "2 (strict: CommitLimit = swap + overcommit_kbytes " + human_kb(p.vm.overcommit_kbytes) + ")";
      return fmt::format("2 (strict: CommitLimit = swap + {}% of RAM)", p.vm.overcommit_ratio);
    default:
      return "unknown";
  }
}

std::string verdict_sentence(const CheckReport& r) {
  const CommitVerdict& v = r.pic.verdict;
  const bool strict_or_heuristic = r.pic.vm.overcommit_memory == 0 || r.pic.vm.overcommit_memory == 2;
  std::string margin = strict_or_heuristic ? " (margin " + human_kb(v.margin_kb, true) + ")" : "";
  std::string hedge = r.exact() ? "" : ", by the estimate";
  switch (v.verdict) {
    case Verdict::ok: return "a fork of this process now would be allowed" + margin + hedge;
    case Verdict::refuse: return "a fork of this process now would be refused" + margin + hedge;
    case Verdict::unknown: break;
  }
  return "cannot tell whether a fork of this process now would be allowed";
}

void row(const char* label, const std::string& value) { fmt::print("{:<14} {}\n", label, value); }

// Paths and arguments are bytes, not necessarily UTF-8: replace rather than throw.
void print_json(const nlohmann::ordered_json& j) {
  std::puts(j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  std::fflush(stdout);
}

nlohmann::ordered_json kb_or_null(int64_t kb) { return known(kb) ? nlohmann::ordered_json(kb) : nullptr; }

// "to fit", the largest mappings with resident and swapped sizes and the slim fork's part, and
// whether what the slim fork would leave out is enough.
void print_advice(const CheckReport& r) {
  const Advice& a = r.advice;
  const int mode = r.pic.vm.overcommit_memory;
  if (a.shrink_kb > 0 && mode == 0)
    row("to fit", fmt::format("the largest accountable mapping must shrink by {} (in mode 0 every one must be at most "
                              "RAM + swap)", human_kb(a.shrink_kb)));
  else if (a.shrink_kb > 0)
    row("to fit", fmt::format("the charge must shrink by {} (committed + charge must stay below the commit limit "
                              "minus the reserves)", human_kb(a.shrink_kb)));
  else if (a.shrink_kb == 0)
    row("to fit", "nothing must shrink: a fork fits now");
  else
    row("to fit", "unknown (the commit figures could not be read)");
  if (a.ntop > 0) {
    fmt::print("largest accountable mappings:\n");
    fmt::print("  {:>10}  {:>10}  {:>10}  {:<24}  {:<27}  {}\n", "SIZE", "RESIDENT", "SWAPPED", "SLIM FORK LEAVES OUT",
               "ADDRESS", "PATH");
    for (int i = 0; i < a.ntop; ++i) {
      const MappingAdvice& m = a.top[i];
      std::string out = "-";
      if (m.slim_kb > 0 && m.slim_kb == m.size_kb && m.slim_written_kb == 0)
        out = "all (never written)";
      else if (m.slim_written_kb > 0)
        out = fmt::format("{} ({} written)", human_kb(m.slim_kb), human_kb(m.slim_written_kb));
      else if (m.slim_kb > 0)
        out = human_kb(m.slim_kb) + " never written";
      fmt::print("  {:>10}  {:>10}  {:>10}  {:<24}  {:<27}  {}\n", human_kb(m.size_kb), human_kb(m.rss_kb),
                 human_kb(m.swap_kb), out, fmt::format("{:x}-{:x}", m.start, m.end), m.path);
    }
  }
  std::string slim = fmt::format("would leave out {} in {} mapping{}", human_kb(a.slim_kb), a.slim_mappings,
                                 a.slim_mappings == 1 ? "" : "s");
  const int64_t never_written = a.slim_kb - a.slim_written_kb;
  slim += fmt::format(": {} never written (nothing resident or swapped, in mappings or runs of at least "
                      "FORKGUARD_SLIM_MIN {}; the child gets zeros there)",
                      human_kb(never_written), human_kb(r.slim_min_kb));
  if (a.slim_written_kb > 0)
    slim += fmt::format(" and {} written, largest first, because {} (the child has nothing there)",
                        human_kb(a.slim_written_kb), a.slim_written_rule != nullptr ? a.slim_written_rule : "the rule refused");
  if (a.slim_partial) slim += " (the process has more than the advice follows: a slim fork may leave out more)";
  if (a.shrink_kb == 0) {
    row("slim fork", slim + "; not needed now");
    return;
  }
  switch (a.slim.verdict) {
    case Verdict::ok: slim += ": enough, a slim fork of it now would be allowed"; break;
    case Verdict::refuse:
      slim += fmt::format(": not enough, still short by {}", human_kb(mode == 2 ? r.pic.inputs.page_kb - a.slim.margin_kb
                                                                                  : -a.slim.margin_kb));
      break;
    case Verdict::unknown: slim += ": cannot tell whether that is enough"; break;
  }
  row("slim fork", slim);
}

nlohmann::ordered_json advice_json(const CheckReport& r) {
  const Advice& a = r.advice;
  nlohmann::ordered_json maps = nlohmann::ordered_json::array();
  for (int i = 0; i < a.ntop; ++i) {
    const MappingAdvice& m = a.top[i];
    maps.push_back({{"start", fmt::format("0x{:x}", m.start)},
                    {"end", fmt::format("0x{:x}", m.end)},
                    {"size_kb", m.size_kb},
                    {"rss_kb", kb_or_null(m.rss_kb)},
                    {"swap_kb", kb_or_null(m.swap_kb)},
                    {"path", m.path},
                    {"slim_kb", m.slim_kb},
                    {"slim_written_kb", m.slim_written_kb}});
  }
  nlohmann::ordered_json j;
  j["shrink_kb"] = kb_or_null(a.shrink_kb);
  j["slim_min_kb"] = r.slim_min_kb;
  j["slim_excludes_kb"] = a.slim_kb;
  j["slim_written_kb"] = a.slim_written_kb;
  j["slim_mappings"] = a.slim_mappings;
  j["slim_enough"] = a.slim.verdict == Verdict::unknown ? nullptr : nlohmann::ordered_json(a.enough());
  if (a.slim_written_rule != nullptr) j["slim_written_rule"] = a.slim_written_rule;
  j["slim_partial"] = a.slim_partial;
  j["mappings"] = maps;
  return j;
}

}  // namespace

bool CheckReport::exact() const { return pic.used_smaps || pic.vm.overcommit_memory == 1; }

int CheckReport::exit_status() const {
  if (!error.empty() || !exact()) return 2;
  switch (pic.verdict.verdict) {
    case Verdict::ok: return 0;
    case Verdict::refuse: return 1;
    case Verdict::unknown: break;
  }
  return 2;
}

void print_check_text(const CheckReport& r) {
  const Picture& p = r.pic;
  row("pid", fmt::format("{}{}", r.pid, r.comm.empty() ? "" : " (" + r.comm + ")"));
  row("exe", r.exe.empty() ? fmt::format("unreadable ({})", ::strerror(r.exe_errno)) : r.exe);
  row("VmSize", human_kb(p.status.vm_size_kb));
  row("RSS", human_kb(p.status.vm_rss_kb));
  if (p.used_smaps)
    row("charge", fmt::format("{} (smaps: {} of {} mappings accountable{})", human_kb(p.smaps.charge_kb),
                              p.smaps.charged_vmas, p.smaps.vmas,
                              p.smaps.dontfork_kb > 0 ? ", " + human_kb(p.smaps.dontfork_kb) + " excluded by MADV_DONTFORK" : ""));
  else
    row("charge", fmt::format("unknown (smaps unreadable: {})", ::strerror(r.smaps_errno)));
  row("estimate", human_kb(r.estimate_kb) + " (VmData + VmStk, what a shim checks first)");
  row("CommitLimit", human_kb(p.mem.commit_limit_kb));
  row("Committed_AS", human_kb(p.mem.committed_as_kb));
  row("headroom", headroom_known(p) ? human_kb(p.mem.commit_limit_kb - p.mem.committed_as_kb, true) +
                                          " (CommitLimit - Committed_AS)" : "unknown");
  row("overcommit", overcommit_text(p));
  const bool admin_applies = !p.inputs.cap_sys_admin;
  row("reserves", fmt::format("admin {} ({}), user {} (min(VmSize/32, user_reserve_kbytes)){}",
                              human_kb(p.vm.admin_reserve_kbytes),
                              admin_applies ? "applies: no CAP_SYS_ADMIN" : "skipped: has CAP_SYS_ADMIN",
                              human_kb(user_reserve_kb(p)),
                              p.vm.overcommit_memory == 2 ? "" : "; only mode 2 uses them"));
  row("verdict", verdict_sentence(r));
  if (p.verdict.why && *p.verdict.why) row("", p.verdict.why);
  if (r.have_advice) {
    print_advice(r);
  } else if (p.used_smaps && p.smaps.ntop > 0) {
    fmt::print("largest accountable mappings:\n");
    for (int i = 0; i < p.smaps.ntop; ++i) {
      const MappingSummary& m = p.smaps.top[i];
      fmt::print("  {:>10}  {:x}-{:x}  {}\n", human_kb(m.size_kb), m.start, m.end, m.path);
    }
  }
  std::fflush(stdout);
}

void print_check_json(const CheckReport& r) {
  nlohmann::ordered_json j;
  j["pid"] = r.pid > 0 ? nlohmann::ordered_json(r.pid) : nullptr;
  if (!r.error.empty()) {
    j["error"] = r.error;
    j["verdict"] = verdict_name(Verdict::unknown);
    print_json(j);
    return;
  }
  const Picture& p = r.pic;
  j["exe"] = r.exe.empty() ? nullptr : nlohmann::ordered_json(r.exe);
  j["comm"] = r.comm;
  j["vm_size_kb"] = kb_or_null(p.status.vm_size_kb);
  j["vm_rss_kb"] = kb_or_null(p.status.vm_rss_kb);
  j["charge_kb"] = kb_or_null(p.inputs.charge_kb);  // the figure the verdict used, as in records
  j["charge_method"] = p.charge_method();
  j["estimate_kb"] = kb_or_null(r.estimate_kb);
  j["commit_limit_kb"] = kb_or_null(p.mem.commit_limit_kb);
  j["committed_as_kb"] = kb_or_null(p.mem.committed_as_kb);
  j["headroom_kb"] = headroom_known(p) ? nlohmann::ordered_json(p.mem.commit_limit_kb - p.mem.committed_as_kb) : nullptr;
  j["overcommit_mode"] = p.vm.overcommit_memory >= 0 ? nlohmann::ordered_json(p.vm.overcommit_memory) : nullptr;
  j["overcommit_ratio"] = kb_or_null(p.vm.overcommit_ratio);
  j["overcommit_kbytes"] = kb_or_null(p.vm.overcommit_kbytes);
  j["mem_total_kb"] = kb_or_null(p.mem.mem_total_kb);
  j["swap_total_kb"] = kb_or_null(p.mem.swap_total_kb);
  j["admin_reserve_kb"] = kb_or_null(p.vm.admin_reserve_kbytes);
  j["user_reserve_kb"] = kb_or_null(user_reserve_kb(p));
  j["cap_sys_admin"] = p.inputs.cap_sys_admin;
  j["verdict"] = verdict_name(p.verdict.verdict);
  j["exact"] = r.exact();
  j["margin_kb"] = p.verdict.verdict == Verdict::unknown ? nullptr : nlohmann::ordered_json(p.verdict.margin_kb);
  j["allowed_kb"] = p.vm.overcommit_memory == 1 ? nullptr : kb_or_null(p.verdict.allowed_kb);
  j["largest_vma_kb"] = kb_or_null(p.inputs.largest_vma_kb);
  j["rule"] = p.verdict.why ? p.verdict.why : "";
  if (r.smaps_errno) j["smaps_error"] = ::strerror(r.smaps_errno);
  nlohmann::ordered_json maps = nlohmann::ordered_json::array();
  if (p.used_smaps) {
    for (int i = 0; i < p.smaps.ntop; ++i) {
      const MappingSummary& m = p.smaps.top[i];
      maps.push_back({{"start", fmt::format("0x{:x}", m.start)},
                      {"end", fmt::format("0x{:x}", m.end)},
                      {"size_kb", m.size_kb},
                      {"path", m.path}});
    }
  }
  j["mappings"] = maps;
  if (r.have_advice) j["advice"] = advice_json(r);
  print_json(j);
}

}  // namespace forkguard::cli

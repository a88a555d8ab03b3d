/// @file report_render.cpp
/// @brief The report's table (for people) and JSON (for machines).
#include "report_render.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "humanize.hpp"

namespace forkguard::report {
namespace {

using ojson = nlohmann::ordered_json;

std::string kb_text(const std::optional<int64_t>& kb, bool signed_value = false) {
  return kb ? cli::human_kb(*kb, signed_value) : "-";
}

std::string substitutions_text(const SiteSummary& s) {
  std::string out;
  for (const auto& [action, n] : s.substitutions) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", action, n);
  return out.empty() ? "-" : out;
}

std::string frame_text(const Frame& f, size_t index) {
  std::string name = !f.function.empty() ? f.function : !f.symbol.empty() ? f.symbol : "??";
  std::string out = fmt::format("#{:<2} {}", index, name);
  if (!f.location.empty()) out += " at " + f.location;
  out += " (" + f.id() + ")";
  return out;
}

size_t process_count(const ReadResult& r) {
  std::set<int64_t> pids;
  for (const Rec& rec : r.records) pids.insert(rec.pid);
  return pids.size();
}

ojson opt_json(const std::optional<int64_t>& v) { return v ? ojson(*v) : ojson(nullptr); }

std::string short_exe(const std::string& e) {
  const size_t slash = e.rfind('/');
  return slash == std::string::npos ? e : e.substr(slash + 1);
}

// After the sites: slim-fork children that died of a fault, and what the library said in notices
// (each distinct text once, with how many records carried it and where it was first).
void render_faults_and_notices(std::ostream& out, const ReportInput& in) {
  if (!in.faults.empty()) {
    out << fmt::format("\nFAULTS: {} slim-fork child{} killed in a region the slim fork excluded\n", in.faults.size(),
                       in.faults.size() == 1 ? "" : "ren");
    for (const Rec& f : in.faults) {
      out << fmt::format("  {} pid {} ({}) at {}: {}\n", f.ts, f.pid, short_exe(f.exe), f.site, f.notice);
      for (size_t i = 0; i < f.stack.size(); ++i) out << "    " << frame_text(f.stack[i], i) << "\n";
    }
  }
  const std::vector<Notice>& notices = in.read->notices;
  if (notices.empty()) return;
  std::vector<std::pair<const Notice*, size_t>> distinct;
  for (const Notice& n : notices) {
    auto it = std::find_if(distinct.begin(), distinct.end(), [&](const auto& d) { return d.first->text == n.text; });
    if (it == distinct.end()) {
      distinct.emplace_back(&n, 1);
    } else {
      ++it->second;
    }
  }
  out << fmt::format("\nNOTICES: what the library said in {} record{}\n", notices.size(), notices.size() == 1 ? "" : "s");
  for (const auto& [n, count] : distinct) {
    out << fmt::format("  {}:{}: pid {} ({}), {}: {}", n->file, n->line, n->pid, short_exe(n->exe), n->call, n->text);
    if (count > 1) out << fmt::format(" (x{})", count);
    out << "\n";
  }
}

ojson stack_json(const std::vector<Frame>& stack) {
  ojson arr = ojson::array();
  for (const Frame& f : stack) {
    ojson fo;
    fo["module"] = f.module;
    fo["offset"] = fmt::format("0x{:x}", f.offset);
    fo["symbol"] = f.symbol;
    fo["function"] = f.function.empty() ? ojson(nullptr) : ojson(f.function);
    fo["location"] = f.location.empty() ? ojson(nullptr) : ojson(f.location);
    fo["module_path"] = f.module_path.empty() ? ojson(nullptr) : ojson(f.module_path);
    fo["module_identity"] = f.ident ? ojson(f.ident->describe()) : ojson(nullptr);
    arr.push_back(fo);
  }
  return arr;
}

}  // namespace

void render_table(std::ostream& out, const ReportInput& in) {
  const ReadResult& r = *in.read;
  out << fmt::format("forkguard report: {} records of process creation from {} file{}, {} process{}, {} call site{}",
                     r.records.size(), in.files.size(), in.files.size() == 1 ? "" : "s", process_count(r),
                     process_count(r) == 1 ? "" : "es", in.sites.size(), in.sites.size() == 1 ? "" : "s");
  if (!r.warnings.empty()) out << fmt::format("; {} line{} skipped", r.warnings.size(), r.warnings.size() == 1 ? "" : "s");
  out << "\n";
  if (in.sites.empty()) {
    out << "no process creation recorded\n";
    render_faults_and_notices(out, in);
    return;
  }
  out << fmt::format(
      "Most urgent first: refused (the kernel or the shim refused the call), rescued (predicted refusal, "
      "substituted), failed, near (within {}% of the limit).\n"
      "LARGEST CHARGE is the biggest commit charge a fork at the site carried; HEADROOM then is CommitLimit - "
      "Committed_AS at that moment;\nWORST MARGIN is the least room left by the kernel's rule (negative: short by).\n\n",
      in.near_pct);
  struct Row {
    std::string cells[9];
  };
  std::vector<Row> rows;
  rows.push_back({{"ATTENTION", "SITE", "CALL", "CALLS", "FAILED", "SUBSTITUTED", "LARGEST CHARGE", "HEADROOM THEN",
                   "WORST MARGIN"}});
  for (const SiteSummary& s : in.sites) {
    const std::string a = s.attention();
    rows.push_back({{a.empty() ? "-" : a, s.site, s.call, std::to_string(s.count), std::to_string(s.failures),
                     substitutions_text(s), kb_text(s.max_charge_kb), kb_text(s.headroom_at_max_kb, true),
                     kb_text(s.worst_margin_kb, true)}});
  }
  size_t width[9] = {};
  for (const Row& row : rows)
    for (size_t c = 0; c < 9; ++c) width[c] = std::max(width[c], row.cells[c].size());
  const bool right[9] = {false, false, false, true, true, false, true, true, true};
  auto print_row = [&](const Row& row) {
    std::string line;
    for (size_t c = 0; c < 9; ++c) {
      const std::string& v = row.cells[c];
      const std::string pad(width[c] - v.size(), ' ');
      line += (c ? "  " : "") + (right[c] ? pad + v : v + (c + 1 < 9 ? pad : ""));
    }
    out << line << "\n";
  };
  print_row(rows[0]);
  for (size_t i = 0; i < in.sites.size(); ++i) {
    const SiteSummary& s = in.sites[i];
    print_row(rows[i + 1]);
    std::string who;
    for (const std::string& e : s.exes) {
      const size_t slash = e.rfind('/');
      who += (who.empty() ? "" : ", ") + (slash == std::string::npos ? e : e.substr(slash + 1));
    }
    std::string detail = fmt::format("    {} process{}", s.pids.size(), s.pids.size() == 1 ? "" : "es");
    if (!who.empty()) detail += " (" + who + ")";
    for (const auto& [e, n] : s.errnos) detail += fmt::format("; {} x{}", e, n);
    if (s.refused) detail += fmt::format("; refused {}", s.refused);
    if (s.predicted_refuse) detail += fmt::format("; predicted refusals rescued {}", s.predicted_refuse);
    if (s.near) detail += fmt::format("; near misses {}", s.near);
    if (s.fork_refuse && s.call != "fork" && s.call != "_Fork" && s.call != "daemon")
      detail += fmt::format("; a full fork then would have been refused {} time{} (fork_verdict)", s.fork_refuse,
                            s.fork_refuse == 1 ? "" : "s");
    out << detail << "\n";
    if (s.shrink_kb)
      out << fmt::format("    advice (latest refusal): shrink by {}; a slim fork would leave out {}{}: {}\n",
                         cli::human_kb(*s.shrink_kb), kb_text(s.slim_excludes_kb),
                         s.slim_written_kb.value_or(0) > 0
                             ? fmt::format(" ({} of it written)", cli::human_kb(*s.slim_written_kb))
                             : std::string(),
                         !s.slim_enough ? "cannot tell whether that is enough"
                                        : *s.slim_enough ? "enough" : "not enough");
    for (const std::string& c : s.commands) out << "    command: " << c << "\n";
    for (size_t f = 0; f < s.stack.size(); ++f) out << "    " << frame_text(s.stack[f], f) << "\n";
  }
  render_faults_and_notices(out, in);
}

void render_json(std::ostream& out, const ReportInput& in) {
  const ReadResult& r = *in.read;
  ojson j;
  j["files"] = in.files;
  j["records"] = r.records.size();
  j["other_calls"] = r.other_calls;
  j["processes"] = process_count(r);
  j["near_pct"] = in.near_pct;
  j["warnings"] = in.warnings;
  ojson sites = ojson::array();
  for (const SiteSummary& s : in.sites) {
    ojson o;
    o["site"] = s.site;
    o["call"] = s.call;
    o["attention"] = s.attention().empty() ? ojson(nullptr) : ojson(s.attention());
    o["count"] = s.count;
    o["failures"] = s.failures;
    o["refused"] = s.refused;
    o["predicted_refuse_rescued"] = s.predicted_refuse;
    o["near_misses"] = s.near;
    o["substitutions"] = s.substitutions;
    o["errnos"] = s.errnos;
    o["max_charge_kb"] = opt_json(s.max_charge_kb);
    o["headroom_at_max_kb"] = opt_json(s.headroom_at_max_kb);
    o["worst_margin_kb"] = opt_json(s.worst_margin_kb);
    o["allowed_at_worst_kb"] = opt_json(s.allowed_at_worst_kb);
    o["worst_ts"] = s.worst_ts.empty() ? ojson(nullptr) : ojson(s.worst_ts);
    o["pids"] = s.pids;
    o["exes"] = s.exes;
    o["commands"] = s.commands;
    o["fork_refuse"] = s.fork_refuse;
    o["shrink_kb"] = opt_json(s.shrink_kb);
    o["slim_excludes_kb"] = opt_json(s.slim_excludes_kb);
    o["slim_written_kb"] = opt_json(s.slim_written_kb);
    o["slim_enough"] = s.slim_enough ? ojson(*s.slim_enough) : ojson(nullptr);
    o["stack"] = stack_json(s.stack);
    sites.push_back(o);
  }
  j["sites"] = sites;
  ojson faults = ojson::array();
  for (const Rec& f : in.faults) {
    ojson o;
    o["file"] = f.file;
    o["line"] = f.line;
    o["ts"] = f.ts;
    o["pid"] = f.pid;
    o["exe"] = f.exe;
    o["site"] = f.site;
    o["notice"] = f.notice;
    o["stack"] = stack_json(f.stack);
    faults.push_back(o);
  }
  j["faults"] = faults;
  ojson notices = ojson::array();
  for (const Notice& n : r.notices)
    notices.push_back({{"file", n.file}, {"line", n.line}, {"pid", n.pid}, {"exe", n.exe}, {"call", n.call},
                       {"ts", n.ts}, {"notice", n.text}});
  j["notices"] = notices;
  out << j.dump(2, ' ', false, ojson::error_handler_t::replace) << "\n";
}

}  // namespace forkguard::report

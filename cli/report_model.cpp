/// @file report_model.cpp
/// @brief Reading records back (tolerant of cut and garbage lines) and summarizing them by site.
#include "report_model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <tuple>

#include <nlohmann/json.hpp>

namespace forkguard::report {
namespace {

using json = nlohmann::json;

std::optional<int64_t> opt_int(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  if (it->is_number_float()) {
    const double d = it->get<double>();
    if (!(std::fabs(d) < 9.2e18)) return std::nullopt;  // beyond int64 the cast is undefined behaviour
    return static_cast<int64_t>(d);
  }
  return it->get<int64_t>();
}

std::string opt_str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool parse_offset(const json& v, uint64_t& out) {
  if (v.is_number_unsigned() || v.is_number_integer()) {
    out = v.get<uint64_t>();
    return true;
  }
  if (!v.is_string()) return false;
  const std::string s = v.get<std::string>();
  char* end = nullptr;
  out = std::strtoull(s.c_str(), &end, 0);
  return end != s.c_str() && *end == '\0';
}

// Records of one process image in one file: a pid, its executable, the file.
std::string image_key(const std::string& file, int64_t pid, const std::string& exe) {
  return file + '\n' + std::to_string(pid) + '\n' + exe;
}

// "module+0xoffset" as in a record's site.
bool split_site(const std::string& site, std::string& module, uint64_t& offset) {
  const size_t plus = site.rfind("+0x");
  if (plus == std::string::npos) return false;
  module = site.substr(0, plus);
  char* end = nullptr;
  const std::string hex = site.substr(plus + 3);
  offset = std::strtoull(hex.c_str(), &end, 16);
  return !hex.empty() && *end == '\0';
}

}  // namespace

std::string ModuleIdentity::describe() const {
  if (!build_id.empty()) return "build-id " + build_id;
  if (size && mtime) return "size " + std::to_string(*size) + ", mtime " + std::to_string(*mtime);
  return "no identity";
}

std::string Frame::id() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "+0x%llx", static_cast<unsigned long long>(offset));
  return module + buf;
}

bool is_creation_call(const std::string& call) {
  static const char* const kCalls[] = {"fork", "vfork", "_Fork", "system", "popen", "posix_spawn", "posix_spawnp",
                                       "daemon"};
  for (const char* c : kCalls)
    if (call == c) return true;
  return false;
}

bool Rec::failed() const {
  if (!errno_name.empty()) return true;
  if (!result) return false;
  if (call == "posix_spawn" || call == "posix_spawnp") return *result != 0;
  return *result == -1;  // fork-like: -1; system: -1 (no shell); popen: -1
}

bool Rec::refused() const {
  return action == "refused" || (failed() && errno_name == "ENOMEM") ||
         ((call == "posix_spawn" || call == "posix_spawnp") && result && *result == 12 /* ENOMEM */);
}

std::optional<int64_t> Rec::compared_kb() const {
  if (overcommit_mode == 0 && largest_vma_kb) return largest_vma_kb;
  return charge_kb;
}

std::optional<int64_t> Rec::room_kb() const {
  const auto c = compared_kb();
  if (!c || !margin_kb || overcommit_mode == 1) return std::nullopt;
  int64_t room = 0;
  if (__builtin_add_overflow(*c, *margin_kb, &room)) return std::nullopt;  // figures no kernel wrote
  return room;
}

bool Rec::near_miss(int near_pct) const {
  // A charged call that went through unsubstituted with little room (or none: predicted refuse,
  // yet the kernel's approximate counter let it pass).
  if (!charged || verdict == "unknown" || failed() || substituted()) return false;
  if (!margin_kb || !allowed_kb || overcommit_mode == 1 || *allowed_kb <= 0) return false;
  return *margin_kb <= *allowed_kb / 100 * near_pct;
}

std::optional<int64_t> parse_iso8601_us(const std::string& t) {
  int y, mo, d, h, mi, s;
  int used = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) != 6) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  int64_t frac = 0;
  size_t i = static_cast<size_t>(used);
  if (i < t.size() && t[i] == '.') {
    int digits = 0;
    for (++i; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i, ++digits)
      if (digits < 6) frac = frac * 10 + (t[i] - '0');
    for (; digits < 6; ++digits) frac *= 10;
  }
  if (i >= t.size() || t[i] != 'Z' || i + 1 != t.size()) return std::nullopt;
  // Days from civil (H. Hinnant): no timegm, no time zone.
  const int yy = y - (mo <= 2);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned doy = (153 * static_cast<unsigned>(mo + (mo > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = int64_t{era} * 146097 + doe - 719468;
  return ((days * 86400 + h * 3600 + mi * 60 + s) * 1000000) + frac;
}

void read_records(std::istream& in, const std::string& name, ReadResult& out) {
  std::string line;
  size_t lineno = 0;
  auto warn = [&](const std::string& what) { out.warnings.push_back(name + ":" + std::to_string(lineno) + ": " + what); };
  while (std::getline(in, line)) {
    ++lineno;
    ++out.lines;
    const bool unterminated = in.eof();  // getline hit the end before a newline
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      if (line.rfind("forkguard: ", 0) == 0)
        warn("a text record, skipped (record with FORKGUARD_FORMAT=json for the report)");
      else if (unterminated)
        warn("truncated last line (the writer was cut off), skipped");
      else
        warn("not a JSON record, skipped");
      continue;
    }
    Rec r;
    r.file = name;
    r.line = lineno;
    r.call = opt_str(j, "call");
    r.site = opt_str(j, "site");
    if (r.call.empty() || r.site.empty()) {
      warn(std::string("a JSON object without \"") + (r.call.empty() ? "call" : "site") + "\", skipped");
      continue;
    }
    // What every record may carry, creation or not: its process, a notice, module descriptions.
    r.ts = opt_str(j, "ts");
    r.ts_us = parse_iso8601_us(r.ts);
    r.pid = opt_int(j, "pid").value_or(-1);
    r.ppid = opt_int(j, "ppid").value_or(-1);
    r.exe = opt_str(j, "exe");
    r.notice = opt_str(j, "notice");
    if (!r.notice.empty()) out.notices.push_back(Notice{name, lineno, r.pid, r.exe, r.call, r.ts, r.notice});
    auto mods = j.find("modules");
    if (mods != j.end() && mods->is_array()) {
      for (const json& m : *mods) {
        if (!m.is_object()) continue;
        ModuleIdentity id;
        id.name = opt_str(m, "name");
        id.path = opt_str(m, "path");
        id.build_id = opt_str(m, "build_id");
        for (char& c : id.build_id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        id.size = opt_int(m, "size");
        id.mtime = opt_int(m, "mtime");
        if (id.name.empty()) continue;
        out.described[image_key(name, r.pid, r.exe)].emplace_back(lineno, id);
        r.modules.push_back(std::move(id));
      }
    }
    const bool fault = r.call == "fault";
    if (!fault && !is_creation_call(r.call)) {
      ++out.other_calls;
      continue;
    }
    r.command = opt_str(j, "command");
    r.verdict = opt_str(j, "verdict");
    r.fork_verdict = opt_str(j, "fork_verdict");
    auto charged = j.find("charged");
    if (charged != j.end() && charged->is_boolean()) {
      r.charged = charged->get<bool>();
    } else {
      // Written before "charged" existed: "verdict" was the full fork's, whatever the call.
      r.charged = !(r.call == "vfork" || r.call == "posix_spawn" || r.call == "posix_spawnp");
      if (r.fork_verdict.empty()) r.fork_verdict = r.verdict;
      if (!r.charged && r.verdict != "unknown") r.verdict = "ok";
    }
    if (r.fork_verdict.empty()) r.fork_verdict = r.verdict;
    r.action = opt_str(j, "action");
    r.errno_name = opt_str(j, "errno");
    r.charge_method = opt_str(j, "charge_method");
    r.vm_size_kb = opt_int(j, "vm_size_kb");
    r.charge_kb = opt_int(j, "charge_kb");
    r.commit_limit_kb = opt_int(j, "commit_limit_kb");
    r.committed_as_kb = opt_int(j, "committed_as_kb");
    r.headroom_kb = opt_int(j, "headroom_kb");
    int64_t headroom = 0;  // computed only when it fits: a corrupt record must not overflow it
    if (!r.headroom_kb && r.commit_limit_kb && r.committed_as_kb &&
        !__builtin_sub_overflow(*r.commit_limit_kb, *r.committed_as_kb, &headroom))
      r.headroom_kb = headroom;
    r.margin_kb = opt_int(j, "margin_kb");
    r.allowed_kb = opt_int(j, "allowed_kb");
    r.largest_vma_kb = opt_int(j, "largest_vma_kb");
    r.result = opt_int(j, "result");
    r.duration_us = opt_int(j, "duration_us");
    r.overcommit_mode = static_cast<int>(opt_int(j, "overcommit_mode").value_or(-1));
    auto adv = j.find("advice");
    if (adv != j.end() && adv->is_object()) {
      r.shrink_kb = opt_int(*adv, "shrink_kb");
      r.slim_excludes_kb = opt_int(*adv, "slim_excludes_kb");
      r.slim_written_kb = opt_int(*adv, "slim_written_kb");
      auto enough = adv->find("slim_enough");
      if (enough != adv->end() && enough->is_boolean()) r.slim_enough = enough->get<bool>();
    }
    auto tr = j.find("truncated");
    r.truncated = tr != j.end() && tr->is_boolean() && tr->get<bool>();
    auto st = j.find("stack");
    if (st != j.end() && st->is_array()) {
      for (const json& f : *st) {
        if (!f.is_object()) continue;
        Frame fr;
        fr.module = opt_str(f, "module");
        auto off = f.find("offset");
        if (fr.module.empty() || off == f.end() || !parse_offset(*off, fr.offset)) continue;
        fr.symbol = opt_str(f, "symbol");
        r.stack.push_back(fr);
      }
    }
    if (r.stack.empty()) {  // FORKGUARD_STACK=0: the site alone is still a frame to resolve
      Frame fr;
      if (split_site(r.site, fr.module, fr.offset)) r.stack.push_back(fr);
    }
    (fault ? out.faults : out.records).push_back(std::move(r));
  }
}

void tie_modules(ReadResult& r) {
  const auto tie = [&r](Rec& rec) {
    auto it = r.described.find(image_key(rec.file, rec.pid, rec.exe));
    if (it == r.described.end()) return;
    for (Frame& f : rec.stack) {
      const ModuleIdentity* before = nullptr;
      const ModuleIdentity* after = nullptr;
      for (const auto& [line, id] : it->second) {  // in file order
        if (id.name != f.module) continue;
        if (line <= rec.line) {
          before = &id;
        } else if (after == nullptr) {
          after = &id;
        }
      }
      if (before != nullptr || after != nullptr) f.ident = before != nullptr ? *before : *after;
    }
  };
  for (Rec& rec : r.records) tie(rec);
  for (Rec& rec : r.faults) tie(rec);
}

std::string SiteSummary::attention() const {
  if (refused > 0) return "refused";
  if (predicted_refuse > 0) return "rescued";
  if (failures > 0) return "failed";
  if (near > 0) return "near";
  return "";
}

std::vector<SiteSummary> summarize(const std::vector<Rec>& records, int near_pct) {
  std::map<std::pair<std::string, std::string>, SiteSummary> groups;
  for (const Rec& r : records) {
    SiteSummary& s = groups[{r.site, r.call}];
    s.site = r.site;
    s.call = r.call;
    ++s.count;
    if (r.failed()) ++s.failures;
    if (r.refused()) ++s.refused;
    // The call itself was predicted to be refused, was substituted and worked: rescued.
    if (r.rescued()) ++s.predicted_refuse;
    if (r.fork_verdict == "refuse") ++s.fork_refuse;
    if (r.shrink_kb) {
      s.shrink_kb = r.shrink_kb;
      s.slim_enough = r.slim_enough;
      s.slim_excludes_kb = r.slim_excludes_kb;
      s.slim_written_kb = r.slim_written_kb;
    }
    if (r.near_miss(near_pct)) ++s.near;
    if (r.substituted()) ++s.substitutions[r.action];
    if (!r.errno_name.empty()) ++s.errnos[r.errno_name];
    if (r.charge_kb && (!s.max_charge_kb || *r.charge_kb > *s.max_charge_kb)) {
      s.max_charge_kb = r.charge_kb;
      s.headroom_at_max_kb = r.headroom_kb;
      s.room_at_max_kb = r.room_kb();
    }
    if (r.margin_kb && r.overcommit_mode != 1 && (!s.worst_margin_kb || *r.margin_kb < *s.worst_margin_kb)) {
      s.worst_margin_kb = r.margin_kb;
      s.allowed_at_worst_kb = r.allowed_kb;
      s.worst_ts = r.ts;
    }
    if (r.pid >= 0) s.pids.insert(r.pid);
    if (!r.exe.empty()) s.exes.insert(r.exe);
    if (!r.command.empty() && s.commands.size() < 3 &&
        std::find(s.commands.begin(), s.commands.end(), r.command) == s.commands.end())
      s.commands.push_back(r.command);
    if (r.stack.size() > s.stack.size()) {
      s.stack = r.stack;
      s.exe_for_stack = r.exe;
    }
  }
  std::vector<SiteSummary> out;
  out.reserve(groups.size());
  for (auto& g : groups) out.push_back(std::move(g.second));
  const auto rank = [](const SiteSummary& s) {
    const std::string a = s.attention();
    return a == "refused" ? 0 : a == "rescued" ? 1 : a == "failed" ? 2 : a == "near" ? 3 : 4;
  };
  std::stable_sort(out.begin(), out.end(), [&](const SiteSummary& a, const SiteSummary& b) {
    const int ra = rank(a), rb = rank(b);
    if (ra != rb) return ra < rb;
    if (a.refused != b.refused) return a.refused > b.refused;
    const int64_t ma = a.worst_margin_kb.value_or(INT64_MAX), mb = b.worst_margin_kb.value_or(INT64_MAX);
    if (ma != mb) return ma < mb;
    if (a.count != b.count) return a.count > b.count;
    return std::tie(a.site, a.call) < std::tie(b.site, b.call);
  });
  return out;
}

}  // namespace forkguard::report

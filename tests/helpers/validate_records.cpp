/// @file validate_records.cpp
/// @brief Checks JSON-lines record files against DESIGN.md's interface contract, and counts.
///
/// Usage: fg_test_validate_records [OPTIONS] FILE...
///   --max-line-bytes N          every line, newline included, is at most N bytes (default 4096,
///                               PIPE_BUF: the most one write(2) keeps whole between writers)
///   --only-exe NAME             count and check expectations only on records whose exe's
///                               basename is NAME (every record is still validated)
///   --only-call NAME            likewise, only records of this call
///   --expect-count N            exactly N selected records
///   --expect-call NAME=N        exactly N selected records with "call":NAME (repeatable)
///   --expect-failures N         exactly N selected records carry an "errno"
///   --expect-errno NAME=N       exactly N selected records carry "errno":NAME (repeatable)
///   --expect-degraded NAME=N    exactly N selected records carry "degraded":NAME; NAME "none":
///                               exactly N carry no "degraded" key (repeatable)
///   --expect-pids N             the selected records come from exactly N distinct pids
///   --expect-tids N             ... and from exactly N distinct (pid, tid) threads
///   --expect-site-module NAME   every selected record's site is NAME+0x...
///   --expect-stack empty|nonempty   every selected record's stack is [] / has frames
///   --expect-field KEY=VALUE    every selected record has KEY, and its value (a string's
///                               contents, or the JSON text of anything else) is VALUE (repeatable)
///   --print-sites               print "CALL SITE" for each selected record, in file order
/// Each record is checked against the contract, "attempts" included (check_attempts).
/// Exit status: 0 when everything holds; 1 on any violation (each named FILE:LINE: what);
/// 2 on a usage error.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using nlohmann::json;

namespace {

struct Options {
  size_t max_line_bytes = 4096;
  std::string only_exe, only_call;
  long expect_count = -1, expect_failures = -1, expect_pids = -1, expect_tids = -1;
  std::map<std::string, long> expect_call;
  std::map<std::string, long> expect_errno;
  std::map<std::string, long> expect_degraded;
  std::string expect_site_module, expect_stack;
  std::vector<std::pair<std::string, std::string>> expect_field;
  bool print_sites = false;
  std::vector<std::string> files;
};

int g_violations = 0;
constexpr int kMaxReported = 50;

void violation(const std::string& where, const std::string& what) {
  ++g_violations;
  if (g_violations <= kMaxReported) {
    std::fprintf(stderr, "validate_records: %s: %s\n", where.c_str(), what.c_str());
  } else if (g_violations == kMaxReported + 1) {
    std::fprintf(stderr, "validate_records: (further violations not shown)\n");
  }
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "validate_records: %s\n(see the comment at the top of validate_records.cpp)\n", why.c_str());
  std::exit(2);
}

long to_count(const std::string& opt, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || n < 0) usage(opt + ": not a count: '" + v + "'");
  return n;
}

std::pair<std::string, std::string> split_eq(const std::string& opt, const std::string& v) {
  const auto eq = v.find('=');
  if (eq == std::string::npos || eq == 0) usage(opt + ": expected NAME=VALUE, got '" + v + "'");
  return {v.substr(0, eq), v.substr(eq + 1)};
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--max-line-bytes") {
      o.max_line_bytes = static_cast<size_t>(to_count(a, value()));
    } else if (a == "--only-exe") {
      o.only_exe = value();
    } else if (a == "--only-call") {
      o.only_call = value();
    } else if (a == "--expect-count") {
      o.expect_count = to_count(a, value());
    } else if (a == "--expect-failures") {
      o.expect_failures = to_count(a, value());
    } else if (a == "--expect-pids") {
      o.expect_pids = to_count(a, value());
    } else if (a == "--expect-tids") {
      o.expect_tids = to_count(a, value());
    } else if (a == "--expect-call") {
      auto kv = split_eq(a, value());
      o.expect_call[kv.first] = to_count(a, kv.second);
    } else if (a == "--expect-errno") {
      auto kv = split_eq(a, value());
      o.expect_errno[kv.first] = to_count(a, kv.second);
    } else if (a == "--expect-degraded") {
      auto kv = split_eq(a, value());
      o.expect_degraded[kv.first] = to_count(a, kv.second);
    } else if (a == "--expect-site-module") {
      o.expect_site_module = value();
    } else if (a == "--expect-stack") {
      o.expect_stack = value();
      if (o.expect_stack != "empty" && o.expect_stack != "nonempty") usage("--expect-stack: empty or nonempty");
    } else if (a == "--expect-field") {
      o.expect_field.push_back(split_eq(a, value()));
    } else if (a == "--print-sites") {
      o.print_sites = true;
    } else if (a.rfind("--", 0) == 0) {
      usage("unknown option " + a);
    } else {
      o.files.push_back(a);
    }
  }
  if (o.files.empty()) usage("no record file given");
  return o;
}

const std::set<std::string> kCreationCalls = {"fork",  "vfork",       "_Fork",        "system",
                                              "popen", "posix_spawn", "posix_spawnp", "daemon"};
// Not creations, but DESIGN.md allows them to be recorded.
const std::set<std::string> kOtherCalls = {"pclose", "execve", "execv",  "execvp",  "execvpe",
                                           "execl",  "execlp", "execle", "fexecve", "execveat"};

const std::regex kTs(R"(^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$)");
const std::regex kSite(R"(^[^+]+\+0x[0-9a-f]+$)");
const std::regex kHex(R"(^0x[0-9a-f]+$)");
const std::regex kErrno(R"(^E[A-Z0-9]+$)");

std::string basename_of(const std::string& p) {
  const auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

bool is_int(const json& v) { return v.is_number_integer(); }

/// Parses one line as JSON, rejecting duplicate keys in any object (nlohmann keeps the last).
bool parse_strict(const std::string& line, json& out, std::string& err) {
  std::vector<std::set<std::string>> keys;
  std::string dup;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (ev == json::parse_event_t::key && !keys.empty()) {
      const std::string k = parsed.get<std::string>();
      if (!keys.back().insert(k).second && dup.empty()) dup = k;
    }
    return true;
  };
  try {
    out = json::parse(line, cb);
  } catch (const json::exception& e) {
    err = e.what();
    return false;
  }
  if (!dup.empty()) {
    err = "duplicate key \"" + dup + "\"";
    return false;
  }
  return true;
}

void check_ts(const std::string& where, const json& v) {
  if (!v.is_string()) return violation(where, "\"ts\" is not a string");
  const std::string s = v.get<std::string>();
  std::smatch m;
  if (!std::regex_match(s, m, kTs)) return violation(where, "\"ts\" is not ISO-8601 UTC with microseconds and Z: " + s);
  struct tm tm {};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = std::stoi(m[4]);
  tm.tm_min = std::stoi(m[5]);
  tm.tm_sec = std::stoi(m[6]);
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return violation(where, "\"ts\" has an impossible date or time: " + s);
  }
  // Records are written by the run that just happened: a time far off means a wrong clock/zone.
  const time_t t = timegm(&tm);
  const time_t now = time(nullptr);
  if (t > now + 60 || t < now - 86400) violation(where, "\"ts\" is not within the last day (UTC): " + s);
}

/// "attempts" (mitigate mode's fork and _Fork): each clone the fallback chain made, in order,
/// {"action": passthrough|slim_fork|vfork, "errno"?}. Every attempt but the last failed; the last
/// is the record's action (with the record's errno), or, when the record says refused, failed too.
void check_attempts(const std::string& where, const json& r, const std::string& call) {
  const json& a = r["attempts"];
  if (call != "fork" && call != "_Fork") violation(where, "\"attempts\" on a " + call + " record");
  if (!a.is_array() || a.empty() || a.size() > 4) return violation(where, "\"attempts\" is not an array of 1 to 4");
  static const std::set<std::string> ways = {"passthrough", "slim_fork", "vfork"};
  for (size_t i = 0; i < a.size(); ++i) {
    const json& e = a[i];
    const std::string at = "attempts[" + std::to_string(i) + "]";
    if (!e.is_object() || !e.contains("action") || !e["action"].is_string() ||
        ways.count(e["action"].get<std::string>()) == 0) {
      return violation(where, at + " is not {\"action\": passthrough|slim_fork|vfork}: " + e.dump());
    }
    for (const auto& kv : e.items()) {
      if (kv.key() != "action" && kv.key() != "errno") violation(where, at + " has an unknown key " + kv.key());
    }
    if (e.contains("errno") && (!e["errno"].is_string() || !std::regex_match(e["errno"].get<std::string>(), kErrno)))
      violation(where, at + ".errno is not a symbolic name E...");
    if (i + 1 < a.size() && !e.contains("errno")) violation(where, at + " made the child, yet another attempt follows");
  }
  const json& last = a.back();
  const json none;
  const json& last_errno = last.contains("errno") ? last["errno"] : none;
  const json& rec_errno = r.contains("errno") ? r["errno"] : none;
  if (r["action"] == "refused") {
    if (last_errno.is_null()) violation(where, "refused, but the last attempt made the child");
  } else if (last["action"] != r["action"]) {
    violation(where, "the last attempt is " + last["action"].dump() + ", the action " + r["action"].dump());
  }
  if (last_errno != rec_errno) {
    violation(where, "the last attempt's errno " + last_errno.dump() + " is not the record's " + rec_errno.dump());
  }
}

/// Validates one record; returns false when it is too broken to count.
bool check_record(const std::string& where, const json& r) {
  static const char* const required[] = {"ts",
                                         "pid",
                                         "ppid",
                                         "tid",
                                         "exe",
                                         "call",
                                         "vm_size_kb",
                                         "vm_rss_kb",
                                         "charge_kb",
                                         "charge_method",
                                         "commit_limit_kb",
                                         "committed_as_kb",
                                         "headroom_kb",
                                         "overcommit_mode",
                                         "verdict",
                                         "action",
                                         "result",
                                         "duration_us",
                                         "site",
                                         "stack"};
  bool complete = true;
  for (const char* k : required) {
    if (!r.contains(k)) {
      violation(where, std::string("missing key \"") + k + "\"");
      complete = false;
    }
  }
  if (!complete) return false;

  check_ts(where, r["ts"]);
  for (const char* k : {"pid", "tid"}) {
    if (!is_int(r[k]) || r[k].get<long long>() <= 0)
      violation(where, std::string("\"") + k + "\" is not a positive integer");
  }
  if (!is_int(r["ppid"]) || r["ppid"].get<long long>() < 0) violation(where, "\"ppid\" is not a non-negative integer");
  if (!r["exe"].is_string()) violation(where, "\"exe\" is not a string");

  if (!r["call"].is_string()) {
    violation(where, "\"call\" is not a string");
    return false;
  }
  const std::string call = r["call"].get<std::string>();
  const bool creation = kCreationCalls.count(call) != 0;
  if (!creation && kOtherCalls.count(call) == 0) violation(where, "\"call\" is not a known name: " + call);

  if (call == "popen" || call == "posix_spawn" || call == "posix_spawnp") {
    if (!r.contains("command") || !r["command"].is_string())
      violation(where, "\"command\" missing or not a string for " + call);
  } else if (call == "system") {
    // system(NULL) has no command line: the key may be absent or null, otherwise a string.
    if (r.contains("command") && !r["command"].is_string() && !r["command"].is_null()) {
      violation(where, "\"command\" is not a string for system");
    }
  }

  static const char* const kb_keys[] = {"vm_size_kb",      "vm_rss_kb",       "charge_kb",
                                        "commit_limit_kb", "committed_as_kb", "headroom_kb"};
  for (const char* k : kb_keys) {
    if (!is_int(r[k]) && !r[k].is_null()) violation(where, std::string("\"") + k + "\" is neither an integer nor null");
  }
  const json &lim = r["commit_limit_kb"], &com = r["committed_as_kb"], &head = r["headroom_kb"];
  if (is_int(lim) && is_int(com)) {
    if (!is_int(head) || head.get<long long>() != lim.get<long long>() - com.get<long long>()) {
      violation(where, "\"headroom_kb\" is not commit_limit_kb - committed_as_kb (" + head.dump() +
                           " != " + lim.dump() + " - " + com.dump() + ")");
    }
  } else if (!head.is_null()) {
    violation(where, "\"headroom_kb\" is known although commit_limit_kb or committed_as_kb is not");
  }

  const json& cm = r["charge_method"];
  if (!cm.is_string() || (cm != "estimate" && cm != "smaps"))
    violation(where, "\"charge_method\" is not estimate|smaps: " + cm.dump());
  const json& om = r["overcommit_mode"];
  const bool mode_ok = is_int(om) && om.get<long long>() >= 0 && om.get<long long>() <= 2;
  // A creation is always probed, but the probe may read nothing (no /proc): then the mode is null
  // and the verdict unknown. A pclose/exec record may carry no picture.
  const bool nothing_read = om.is_null() && r["verdict"] == "unknown";
  if (!mode_ok && !(om.is_null() && !creation) && !nothing_read)
    violation(where, "\"overcommit_mode\" is not 0, 1 or 2 (or null with verdict unknown): " + om.dump());
  const json& vd = r["verdict"];
  if (!vd.is_string() || (vd != "ok" && vd != "refuse" && vd != "unknown"))
    violation(where, "\"verdict\" is not ok|refuse|unknown: " + vd.dump());
  const json& ac = r["action"];
  static const std::set<std::string> actions = {"passthrough", "posix_spawn", "slim_fork", "vfork", "refused"};
  if (!ac.is_string() || actions.count(ac.get<std::string>()) == 0)
    violation(where, "\"action\" is not a known action: " + ac.dump());

  if (!is_int(r["result"])) {
    violation(where, "\"result\" is not an integer");
  } else {
    const long long res = r["result"].get<long long>();
    bool failed;
    if (call == "posix_spawn" || call == "posix_spawnp") {
      failed = res != 0;
    } else if (call == "popen") {
      failed = res == -1;
      if (res != 0 && res != -1) violation(where, "\"result\" of popen is not 0 or -1");
    } else {
      failed = res == -1;  // fork-like, system, pclose, exec*
    }
    if (failed && !r.contains("errno"))
      violation(where, "the call failed (result " + std::to_string(res) + ") but \"errno\" is absent");
    if (!failed && r.contains("errno"))
      violation(where, "the call succeeded (result " + std::to_string(res) + ") but \"errno\" is present");
    if ((call == "fork" || call == "vfork" || call == "_Fork") && !failed && res <= 0) {
      violation(where, "a fork-like parent record with result " + std::to_string(res));
    }
  }
  if (r.contains("errno")) {
    const json& e = r["errno"];
    if (!e.is_string() || !std::regex_match(e.get<std::string>(), kErrno))
      violation(where, "\"errno\" is not a symbolic name E...: " + e.dump());
  }
  if (r.contains("attempts")) check_attempts(where, r, call);
  if (r.contains("child_pid") && (!is_int(r["child_pid"]) || r["child_pid"].get<long long>() <= 0)) {
    violation(where, "\"child_pid\" is not a positive integer");
  }
  if (!is_int(r["duration_us"]) || r["duration_us"].get<long long>() < 0)
    violation(where, "\"duration_us\" is not an integer >= 0");
  if (r.contains("truncated") && r["truncated"] != true) violation(where, "\"truncated\" is present but not true");
  // "degraded" says why a record has no stack: present only with "stack":[].
  static const std::set<std::string> kDegraded = {"reentered"};
  if (r.contains("degraded")) {
    const json& d = r["degraded"];
    if (!d.is_string() || kDegraded.count(d.get<std::string>()) == 0)
      violation(where, "\"degraded\" is not reentered: " + d.dump());
    if (!r["stack"].is_array() || !r["stack"].empty()) violation(where, "a \"degraded\" record has a stack");
  }

  const json& site = r["site"];
  if (!site.is_string() || !std::regex_match(site.get<std::string>(), kSite))
    violation(where, "\"site\" is not MODULE+0xHEX: " + site.dump());

  const json& st = r["stack"];
  if (!st.is_array()) {
    violation(where, "\"stack\" is not an array");
  } else {
    for (size_t i = 0; i < st.size(); ++i) {
      const json& f = st[i];
      const std::string at = "stack[" + std::to_string(i) + "]";
      if (!f.is_object() || !f.contains("module") || !f.contains("offset") || !f.contains("symbol")) {
        violation(where, at + " is not an object with module, offset and symbol");
        continue;
      }
      if (!f["module"].is_string()) violation(where, at + ".module is not a string");
      if (!f["symbol"].is_string()) violation(where, at + ".symbol is not a string");
      if (!f["offset"].is_string() || !std::regex_match(f["offset"].get<std::string>(), kHex)) {
        violation(where, at + ".offset is not \"0x<hex>\": " + f["offset"].dump());
      }
    }
  }
  return true;
}

std::string field_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  long selected = 0, failures = 0;
  std::map<std::string, long> per_call;
  std::map<std::string, long> per_errno;
  std::map<std::string, long> per_degraded;
  std::set<long long> pids;
  std::set<std::pair<long long, long long>> tids;

  for (const std::string& file : o.files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      violation(file, std::string("cannot open: ") + std::strerror(errno));
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    if (!text.empty() && text.back() != '\n') violation(file, "the last line has no newline (a record was cut)");
    size_t pos = 0;
    long lineno = 0;
    while (pos < text.size()) {
      ++lineno;
      size_t nl = text.find('\n', pos);
      const size_t end = nl == std::string::npos ? text.size() : nl + 1;
      const std::string line = text.substr(pos, end - pos);
      pos = end;
      const std::string where = file + ":" + std::to_string(lineno);
      if (line.size() > o.max_line_bytes) {
        violation(where,
                  "line is " + std::to_string(line.size()) + " bytes, more than " + std::to_string(o.max_line_bytes));
      }
      json r;
      std::string err;
      const std::string body = line.back() == '\n' ? line.substr(0, line.size() - 1) : line;
      if (!parse_strict(body, r, err)) {
        violation(where, "not one JSON object: " + err);
        continue;
      }
      if (!r.is_object()) {
        violation(where, "not a JSON object");
        continue;
      }
      if (!check_record(where, r)) continue;

      if (!o.only_exe.empty() && (!r["exe"].is_string() || basename_of(r["exe"].get<std::string>()) != o.only_exe))
        continue;
      const std::string call = r["call"].get<std::string>();
      if (!o.only_call.empty() && call != o.only_call) continue;
      ++selected;
      ++per_call[call];
      if (r.contains("errno")) {
        ++failures;
        ++per_errno[field_text(r["errno"])];
      }
      ++per_degraded[r.contains("degraded") ? field_text(r["degraded"]) : "none"];
      if (is_int(r["pid"])) pids.insert(r["pid"].get<long long>());
      if (is_int(r["pid"]) && is_int(r["tid"])) tids.emplace(r["pid"].get<long long>(), r["tid"].get<long long>());
      const std::string site = r["site"].is_string() ? r["site"].get<std::string>() : "";
      if (!o.expect_site_module.empty() && site.rfind(o.expect_site_module + "+0x", 0) != 0) {
        violation(where, "site " + site + " is not in module " + o.expect_site_module);
      }
      if (o.expect_stack == "empty" && !(r["stack"].is_array() && r["stack"].empty()))
        violation(where, "\"stack\" is not []");
      if (o.expect_stack == "nonempty" && !(r["stack"].is_array() && !r["stack"].empty()))
        violation(where, "\"stack\" is empty");
      for (const auto& kv : o.expect_field) {
        if (!r.contains(kv.first)) {
          violation(where, "\"" + kv.first + "\" is absent, expected " + kv.second);
        } else if (field_text(r[kv.first]) != kv.second) {
          violation(where, "\"" + kv.first + "\" is " + r[kv.first].dump() + ", expected " + kv.second);
        }
      }
      if (o.print_sites) std::printf("%s %s\n", call.c_str(), site.c_str());
    }
  }

  const std::string scope = (o.only_exe.empty() ? std::string() : " of exe " + o.only_exe) +
                            (o.only_call.empty() ? std::string() : " of call " + o.only_call);
  if (o.expect_count >= 0 && selected != o.expect_count) {
    violation("totals", "expected " + std::to_string(o.expect_count) + " records" + scope + ", found " +
                            std::to_string(selected));
  }
  for (const auto& kv : o.expect_call) {
    const long got = per_call.count(kv.first) ? per_call.at(kv.first) : 0;
    if (got != kv.second) {
      violation("totals", "expected " + std::to_string(kv.second) + " \"" + kv.first + "\" records" + scope +
                              ", found " + std::to_string(got));
    }
  }
  for (const auto& kv : o.expect_errno) {
    const long got = per_errno.count(kv.first) ? per_errno.at(kv.first) : 0;
    if (got != kv.second) {
      violation("totals", "expected " + std::to_string(kv.second) + " records with errno " + kv.first + scope +
                              ", found " + std::to_string(got));
    }
  }
  for (const auto& kv : o.expect_degraded) {
    const long got = per_degraded.count(kv.first) ? per_degraded.at(kv.first) : 0;
    if (got != kv.second) {
      violation("totals", "expected " + std::to_string(kv.second) + " records with degraded " + kv.first + scope +
                              ", found " + std::to_string(got));
    }
  }
  if (o.expect_failures >= 0 && failures != o.expect_failures) {
    violation("totals", "expected " + std::to_string(o.expect_failures) + " records with errno" + scope + ", found " +
                            std::to_string(failures));
  }
  if (o.expect_pids >= 0 && static_cast<long>(pids.size()) != o.expect_pids) {
    violation("totals", "expected records" + scope + " from " + std::to_string(o.expect_pids) + " pids, found " +
                            std::to_string(pids.size()));
  }
  if (o.expect_tids >= 0 && static_cast<long>(tids.size()) != o.expect_tids) {
    violation("totals", "expected records" + scope + " from " + std::to_string(o.expect_tids) + " threads, found " +
                            std::to_string(tids.size()));
  }
  if (g_violations > 0) {
    std::fprintf(stderr, "validate_records: %d violation(s)\n", g_violations);
    return 1;
  }
  std::string summary;
  for (const auto& kv : per_call) summary += " " + kv.first + "=" + std::to_string(kv.second);
  std::fprintf(stderr, "validate_records: ok: %ld records%s:%s\n", selected, scope.c_str(), summary.c_str());
  return 0;
}

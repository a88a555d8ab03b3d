/// @file check_all.cpp
/// @brief `forkguard check --all`: every process on this machine that could not fork right now,
/// or is within a margin of it, largest charge first. The verdict is the shim's own: the
/// VmData + VmStk estimate, and the exact smaps walk when the estimate is near the limit.
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "forkguard/config.hpp"
#include "forkguard/picture.hpp"
#include "humanize.hpp"
#include "log.hpp"

namespace forkguard::cli {
namespace {

struct Entry {
  pid_t pid = 0;
  std::string comm, exe, user;
  int64_t uid = -1;
  Picture pic;
  bool exact = false;
  bool near = false;
};

std::string read_comm(pid_t pid) {
  char buf[64];
  long n = read_small_file(("/proc/" + std::to_string(pid) + "/comm").c_str(), buf, sizeof buf);
  if (n <= 0) return {};
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::string read_exe(pid_t pid) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

std::string user_name(int64_t uid) {
  if (uid < 0) return "?";
  struct passwd pw, *res = nullptr;
  char buf[1024];
  if (::getpwuid_r(static_cast<uid_t>(uid), &pw, buf, sizeof buf, &res) == 0 && res) return res->pw_name;
  return std::to_string(uid);
}

// "10%" of the limit, or a size ("512M"). false on garbage.
bool parse_margin(const std::string& text, int& pct, int64_t& kb) {
  pct = -1;
  kb = -1;
  if (!text.empty() && text.back() == '%') {
    int64_t v;
    if (!parse_int(text.substr(0, text.size() - 1).c_str(), 0, 100, v)) return false;
    pct = static_cast<int>(v);
    return true;
  }
  return parse_size_kb(text.c_str(), kb);
}

nlohmann::ordered_json kb_or_null(int64_t kb) { return kb >= 0 ? nlohmann::ordered_json(kb) : nullptr; }

}  // namespace

int check_all_command(const CheckArgs& args) {
  int pct;
  int64_t margin_kb;
  if (!parse_margin(args.margin, pct, margin_kb)) {
    spdlog::error("--margin \"{}\": give a percentage of the limit (10%) or a size (512M, 2G)", args.margin);
    return kUsageError;
  }
  DIR* dir = ::opendir("/proc");
  if (!dir) {
    spdlog::error("cannot read /proc: {}", ::strerror(errno));
    return 2;
  }
  const int precise_pct = Config().precise_margin_pct;  // the shim's default
  const pid_t self = ::getpid();
  std::vector<Entry> listed;
  size_t examined = 0, not_readable = 0, estimate_only = 0, kernel_threads = 0, refused = 0, near = 0;
  Picture system;
  bool have_system = false;
  while (struct dirent* de = ::readdir(dir)) {
    int64_t v;
    if (!parse_int(de->d_name, 1, INT_MAX, v)) continue;
    const auto pid = static_cast<pid_t>(v);
    if (pid == self) continue;
    Entry e;
    e.pid = pid;
    gather_picture(pid, Precision::automatic, precise_pct, e.pic);
    const int err = e.pic.read_errno;
    if (e.pic.status.vm_size_kb < 0) {
      if (err == ENOENT || err == ESRCH) continue;  // exited meanwhile
      if (err == 0) {
        ++kernel_threads;  // no user memory: nothing to fork
        continue;
      }
      ++not_readable;
      continue;
    }
    if (!have_system && e.pic.mem.complete()) {
      system = e.pic;
      have_system = true;
    }
    ++examined;
    e.exact = e.pic.used_smaps || e.pic.vm.overcommit_memory == 1;
    if (!e.pic.used_smaps && err != 0) ++estimate_only;  // needed smaps, could not read it
    const CommitVerdict& vd = e.pic.verdict;
    const int64_t threshold = pct >= 0 ? (vd.allowed_kb > 0 ? vd.allowed_kb / 100 * pct : -1) : margin_kb;
    e.near = vd.verdict == Verdict::ok && e.pic.vm.overcommit_memory != 1 && threshold >= 0 && vd.margin_kb <= threshold;
    if (vd.verdict == Verdict::refuse) ++refused;
    if (e.near) ++near;
    if (vd.verdict != Verdict::refuse && !e.near) continue;
    e.comm = read_comm(pid);
    e.exe = read_exe(pid);
    e.uid = e.pic.status.uid;
    e.user = user_name(e.uid);
    listed.push_back(std::move(e));
  }
  ::closedir(dir);
  std::sort(listed.begin(), listed.end(), [](const Entry& a, const Entry& b) {
    if (a.pic.inputs.charge_kb != b.pic.inputs.charge_kb) return a.pic.inputs.charge_kb > b.pic.inputs.charge_kb;
    return a.pid < b.pid;
  });
  if (!have_system) {
    gather_picture(0, Precision::automatic, precise_pct, system);
  }
  const int mode = system.vm.overcommit_memory;
  const std::string unread_note =
      not_readable + estimate_only == 0 ? ""
      : ::geteuid() == 0 ? "; access was denied even to root (a hidepid /proc or a security module)"
                         : "; run as root to read every process (/proc/PID/smaps needs ptrace access)";

  if (args.json) {
    nlohmann::ordered_json j;
    j["overcommit_mode"] = mode >= 0 ? nlohmann::ordered_json(mode) : nullptr;
    j["mem_total_kb"] = kb_or_null(system.mem.mem_total_kb);
    j["swap_total_kb"] = kb_or_null(system.mem.swap_total_kb);
    j["commit_limit_kb"] = kb_or_null(system.mem.commit_limit_kb);
    j["committed_as_kb"] = kb_or_null(system.mem.committed_as_kb);
    j["headroom_kb"] = system.mem.commit_limit_kb >= 0 && system.mem.committed_as_kb >= 0
                           ? nlohmann::ordered_json(system.mem.commit_limit_kb - system.mem.committed_as_kb) : nullptr;
    j["margin"] = args.margin;
    j["examined"] = examined;
    j["refused"] = refused;
    j["near"] = near;
    j["not_readable"] = not_readable;
    j["estimate_only"] = estimate_only;
    j["kernel_threads"] = kernel_threads;
    nlohmann::ordered_json procs = nlohmann::ordered_json::array();
    for (const Entry& e : listed) {
      const Picture& p = e.pic;
      procs.push_back({{"pid", e.pid}, {"comm", e.comm}, {"exe", e.exe.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(e.exe)},
                       {"uid", e.uid}, {"user", e.user},
                       {"vm_size_kb", kb_or_null(p.status.vm_size_kb)}, {"vm_rss_kb", kb_or_null(p.status.vm_rss_kb)},
                       {"charge_kb", kb_or_null(p.inputs.charge_kb)}, {"charge_method", p.charge_method()},
                       {"largest_vma_kb", kb_or_null(p.inputs.largest_vma_kb)},
                       {"verdict", verdict_name(p.verdict.verdict)}, {"near", e.near}, {"exact", e.exact},
                       {"margin_kb", p.verdict.margin_kb}, {"allowed_kb", kb_or_null(p.verdict.allowed_kb)},
                       {"rule", p.verdict.why ? p.verdict.why : ""}});
    }
    j["processes"] = procs;
    std::puts(j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  } else {
    fmt::print("overcommit mode {}; CommitLimit {}, Committed_AS {}, headroom {}; RAM + swap {}\n",
               mode >= 0 ? std::to_string(mode) : "unknown", human_kb(system.mem.commit_limit_kb),
               human_kb(system.mem.committed_as_kb),
               human_kb(system.mem.commit_limit_kb - system.mem.committed_as_kb, true),
               human_kb(system.mem.mem_total_kb >= 0 && system.mem.swap_total_kb >= 0
                            ? system.mem.mem_total_kb + system.mem.swap_total_kb : -1));
    if (mode == 1) fmt::print("mode 1 (always overcommit): the kernel refuses no fork for its commit charge\n");
    if (listed.empty()) {
      fmt::print("no process would be refused a fork right now, and none is within {} of the limit\n", args.margin);
    } else {
      fmt::print("{:>7}  {:<10} {:>10} {:>10} {:>11}  {:<8} {:<8} {}\n", "PID", "USER", "CHARGE",
                 mode == 0 ? "LARGEST" : "LIMIT", "MARGIN", "VERDICT", "METHOD", "COMMAND");
      for (const Entry& e : listed) {
        const Picture& p = e.pic;
        const std::string name = e.exe.empty() ? "[" + e.comm + "]" : e.exe;
        fmt::print("{:>7}  {:<10} {:>10} {:>10} {:>11}  {:<8} {:<8} {}\n", e.pid, e.user.substr(0, 10),
                   human_kb(p.inputs.charge_kb),
                   human_kb(mode == 0 ? p.inputs.largest_vma_kb : p.verdict.allowed_kb),
                   human_kb(p.verdict.margin_kb, true),
                   p.verdict.verdict == Verdict::refuse ? "REFUSE" : "near", p.charge_method(), name);
      }
      const Entry& top = listed.front();
      if (top.pic.verdict.why && *top.pic.verdict.why) fmt::print("rule: {}\n", top.pic.verdict.why);
    }
    fmt::print("{} processes examined: {} would be refused, {} within {} of the limit; {} kernel threads skipped",
               examined, refused, near, args.margin, kernel_threads);
    if (not_readable) fmt::print("; {} could not be read", not_readable);
    if (estimate_only) fmt::print("; {} judged by the estimate only, smaps unreadable", estimate_only);
    fmt::print("{}\n", unread_note);
  }
  std::fflush(stdout);
  if (mode < 0 || examined == 0) return 2;
  return refused > 0 ? 1 : 0;
}

}  // namespace forkguard::cli

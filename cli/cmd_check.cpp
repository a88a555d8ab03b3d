/// @file cmd_check.cpp
/// @brief `forkguard check [PID]`: would a fork of this process be refused right now, and why.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_report.hpp"
#include "commands.hpp"
#include "forkguard/charge.hpp"
#include "forkguard/config.hpp"
#include "log.hpp"

namespace forkguard::cli {
namespace {

std::string proc_path(pid_t pid, const char* leaf) {
  return "/proc/" + std::to_string(pid) + "/" + leaf;
}

std::string read_link(const std::string& path, int& err) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf) - 1);
  if (n < 0) {
    err = errno;
    return {};
  }
  err = 0;
  return std::string(buf, static_cast<size_t>(n));
}

std::string read_comm(pid_t pid) {
  char buf[64];
  long n = read_small_file(proc_path(pid, "comm").c_str(), buf, sizeof(buf));
  if (n <= 0) return {};
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// The picture does not say which file failed; opening smaps again names the reason exactly.
int smaps_open_errno(pid_t pid) {
  int fd = ::open(proc_path(pid, "smaps").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char c;
  int err = ::read(fd, &c, 1) < 0 ? errno : 0;
  ::close(fd);
  return err;
}

void fail(CheckReport& r, const std::string& message) {
  r.error = message;
  spdlog::error("{}", message);
}

void gather(CheckReport& r) {
  struct stat st;
  if (::stat(("/proc/" + std::to_string(r.pid)).c_str(), &st) != 0) {
    if (errno == ENOENT)
      fail(r, "no process " + std::to_string(r.pid));
    else
      fail(r, "cannot look at process " + std::to_string(r.pid) + ": " + ::strerror(errno));
    return;
  }
  r.exe = read_link(proc_path(r.pid, "exe"), r.exe_errno);
  r.comm = read_comm(r.pid);
  gather_picture(r.pid, Precision::exact, Config().precise_margin_pct, r.pic);
  if (r.pic.read_errno == ENOENT || r.pic.read_errno == ESRCH) {
    fail(r, "no process " + std::to_string(r.pid) + " (it exited while being read)");
    return;
  }
  if (r.pic.status.vm_size_kb < 0 && r.pic.read_errno == 0) {
    fail(r, "process " + std::to_string(r.pid) + " has no user memory (a kernel thread or a zombie): it cannot fork");
    return;
  }
  r.estimate_kb = estimate_charge_kb(r.pic.status);
  // The same walk again with each mapping's Rss and Swap: what must shrink, what a slim fork excludes.
  if (r.pic.used_smaps) {
    AdviceLimits lim;  // as for a fork from the main thread: another process's threads are not known
    lim.slim_min_kb = r.slim_min_kb;
    r.have_advice = advise_from_proc(proc_path(r.pid, "smaps").c_str(), proc_path(r.pid, "pagemap").c_str(),
                                     r.pic.inputs, lim, r.advice) == 0;
  }
  if (!r.pic.used_smaps) {
    r.smaps_errno = smaps_open_errno(r.pid);
    if (r.smaps_errno == 0) r.smaps_errno = r.pic.read_errno ? r.pic.read_errno : EIO;
    const std::string what = r.smaps_errno == EACCES || r.smaps_errno == EPERM
                                 ? "no permission to read " + proc_path(r.pid, "smaps") +
                                       " (it needs ptrace access: be the process's owner, or have CAP_SYS_PTRACE)"
                                 : "cannot read " + proc_path(r.pid, "smaps") + ": " + ::strerror(r.smaps_errno);
    spdlog::error("{}; the figures below use the estimate VmData + VmStk", what);
  }
}

}  // namespace

CLI::App* add_check_command(CLI::App& app, CheckArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "check", "Tell whether a fork of a process would be refused right now, and why.");
  args.pid_option =
      cmd->add_option("pid", args.pid, "Process to examine (default: the parent, i.e. the calling shell)");
  cmd->add_flag("--json", args.json, "Print one JSON object instead of text");
  cmd->add_flag("--all", args.all,
                "Every process on this machine that could not fork right now or is within --margin of it, largest "
                "charge first (what to run when \"Cannot allocate memory\" appears somewhere)");
  cmd->add_option("--margin", args.margin, "With --all: also list allowed processes this close to the limit: N% of the limit or a size (512M)")
      ->capture_default_str();
  cmd->footer(
      "Reads /proc/PID/status, /proc/PID/smaps (the exact charge), /proc/PID/pagemap, /proc/meminfo and\n"
      "/proc/sys/vm. Says by how much the charge must shrink for a fork to fit, lists the largest accountable\n"
      "mappings with their resident and swapped sizes, what a slim fork would leave out of each (never-written\n"
      "memory first, in mappings or runs of at least FORKGUARD_SLIM_MIN as set here; written memory only while\n"
      "the kernel would still refuse) and whether that is enough.\n"
      "Exit status: 0 a fork would be allowed, 1 it would be refused, 2 error or cannot tell.\n"
      "With --all: 0 no process would be refused, 1 at least one would, 2 error. Processes it may not read are\n"
      "counted and said; they do not make it fail.");
  return cmd;
}

int check_command(const CheckArgs& args) {
  if (args.all) {
    if (args.pid_option && args.pid_option->count() > 0) {
      spdlog::error("--all examines every process: give no pid with it");
      return kUsageError;
    }
    return check_all_command(args);
  }
  CheckReport r;
  int64_t pid = 0;
  if (!args.pid_option || args.pid_option->count() == 0) {
    r.pid = ::getppid();
  } else if (parse_int(args.pid.c_str(), 1, INT_MAX, pid)) {
    r.pid = static_cast<pid_t>(pid);
  } else {
    fail(r, "\"" + args.pid + "\" is not a process id (a positive whole number)");
  }
  // FORKGUARD_SLIM_MIN as set here (a bad value warns and keeps the default, as in the library).
  r.slim_min_kb = parse_config(nullptr, nullptr, false, [](const char* m, void*) { spdlog::warn("{}", m); }, nullptr)
                      .slim_min_kb;
  if (r.error.empty()) gather(r);
  if (args.json)
    print_check_json(r);
  else if (r.error.empty())
    print_check_text(r);
  return r.exit_status();
}

}  // namespace forkguard::cli

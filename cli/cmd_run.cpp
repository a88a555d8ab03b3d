/// @file cmd_run.cpp
/// @brief `forkguard run -- CMD ARGS...`: preload the library into CMD with the chosen settings and exec it.
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.hpp"
#include "locate.hpp"
#include "log.hpp"
#include "preload.hpp"

namespace forkguard::cli {
namespace {

// Relative log (and profile) paths become absolute: a child that changes directory must use the same file.
std::string absolute_log_target(const std::string& log) {
  if (log == "stderr" || log == "syslog" || log.empty() || log[0] == '/') return log;
  char cwd[PATH_MAX];
  if (!::getcwd(cwd, sizeof(cwd))) return log;
  std::string dir = cwd;
  return (dir == "/" ? "" : dir) + "/" + log;
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

void set_env(const char* name, const std::string& value) {
  if (::setenv(name, value.c_str(), 1) != 0)
    spdlog::warn("cannot set {}: {}", name, ::strerror(errno));
}

}  // namespace

CLI::App* add_run_command(CLI::App& app, RunArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "run", "Run a command with libforkguard.so preloaded; its exit status passes through.");
  cmd->add_option("--mode", args.mode, "observe (log only), mitigate (log and substitute) or off; sets FORKGUARD_MODE")
      ->check(CLI::IsMember({"observe", "mitigate", "off"}));
  cmd->add_option("--log", args.log,
                  "stderr, syslog or a file path (%p = pid; made absolute here); sets FORKGUARD_LOG");
  cmd->add_flag("--json", args.json, "One JSON object per record; sets FORKGUARD_FORMAT=json");
  cmd->add_option("--stack", args.stack, "Caller frames per record, 0 = none; sets FORKGUARD_STACK")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--trigger", args.trigger, "predicted or always; sets FORKGUARD_TRIGGER")
      ->check(CLI::IsMember({"predicted", "always"}));
  cmd->add_flag("--learn", args.learn,
                "Observe, and record in the profile which fork() sites are spawn-like (default profile: "
                "./forkguard.profile); a later --mode mitigate run with the same --profile may give those sites "
                "the vfork substitute");
  cmd->add_option("--profile", args.profile,
                  "The profile file (made absolute here); sets FORKGUARD_PROFILE");
  cmd->add_option("command", args.command, "The command and its arguments; everything from here on is the command's, its options included (`--` before it is optional)")->required();
  // Everything from the first positional on belongs to the command, its options included.
  cmd->positionals_at_end();
  cmd->footer(
      "Options override FORKGUARD_* variables already in the environment; the others pass through "
      "(see `forkguard options`).\nExit status: the command's own; 127 when the command or the "
      "library is not found, 126 when the command cannot be executed.");
  return cmd;
}

int run_command(const RunArgs& args) {
  const LibraryLookup lib = locate_library();
  if (lib.path.empty()) {
    if (lib.tried.empty())
      spdlog::error("cannot find libforkguard.so: /proc/self/exe is unreadable, so there is no directory to look in");
    else
      spdlog::error("cannot find libforkguard.so; looked at {}", join(lib.tried, ", "));
    return 127;
  }
  if (!preloadable_path(lib.path)) {
    spdlog::error("{} contains ':' or a blank, which LD_PRELOAD cannot carry; move or link it elsewhere", lib.path);
    return 127;
  }

  const Preload preload = compose_preload(lib.path, ::getenv("LD_PRELOAD"));
  if (!preload.earlier_shims.empty())
    spdlog::warn("already running under forkguard (LD_PRELOAD has {}); the command gets one copy, with this run's settings",
                 join(preload.earlier_shims, ", "));
  set_env("LD_PRELOAD", preload.value);
  if (args.learn && !args.mode.empty() && args.mode != "observe") {
    spdlog::error("--learn observes: it cannot be combined with --mode {}", args.mode);
    return 2;
  }
  if (args.learn) set_env("FORKGUARD_MODE", "observe");
  const std::string profile = !args.profile.empty() ? args.profile : args.learn ? "forkguard.profile" : "";
  if (!profile.empty()) set_env("FORKGUARD_PROFILE", absolute_log_target(profile));
  if (!args.mode.empty()) set_env("FORKGUARD_MODE", args.mode);
  if (!args.log.empty()) set_env("FORKGUARD_LOG", absolute_log_target(args.log));
  if (args.json) set_env("FORKGUARD_FORMAT", "json");
  if (args.stack >= 0) set_env("FORKGUARD_STACK", std::to_string(args.stack));
  if (!args.trigger.empty()) set_env("FORKGUARD_TRIGGER", args.trigger);

  std::vector<char*> argv;
  for (const std::string& a : args.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // exec, not fork+wait: no extra process stays around and the status is the command's own.
  ::execvp(argv[0], argv.data());
  const int err = errno;
  const std::string& name = args.command[0];
  // The shell's convention: 127 = not found, 126 = found but not executable.
  if (err == ENOENT || err == ENOTDIR) {
    if (name.find('/') == std::string::npos)
      spdlog::error("{}: command not found", name);
    else
      spdlog::error("{}: {}", name, ::strerror(err));
    return 127;
  }
  spdlog::error("cannot run {}: {}", name, ::strerror(err));
  return 126;
}

}  // namespace forkguard::cli

/// @file commands.hpp
/// @brief The subcommands: each registers itself on the CLI11 app and runs from its parsed arguments.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace forkguard::cli {

/// `forkguard run`: empty strings / -1 mean "not given, leave the environment's value".
struct RunArgs {
  bool learn = false;      // observe mode recording which fork sites are spawn-like
  std::string profile;     // FORKGUARD_PROFILE
  std::string mode, log, trigger;
  bool json = false;
  int stack = -1;
  std::vector<std::string> command;
};
CLI::App* add_run_command(CLI::App& app, RunArgs& args);
/// execs the command; returns only on failure, with the exit status to use (126/127).
int run_command(const RunArgs& args);

/// `forkguard check`: empty pid = the parent process (the shell it was typed in).
struct CheckArgs {
  std::string pid;
  bool json = false;
  bool all = false;           ///< --all: every process on the machine
  std::string margin = "10%"; ///< --all: also list processes within this of the limit (N% or a size)
  CLI::Option* pid_option = nullptr;  ///< its count() tells an explicit "" (an error) from no pid
};
CLI::App* add_check_command(CLI::App& app, CheckArgs& args);
/// 0 = a fork would be allowed, 1 = refused, 2 = error or cannot tell.
int check_command(const CheckArgs& args);
/// `forkguard check --all`: 0 = no process would be refused, 1 = some would, 2 = error.
int check_all_command(const CheckArgs& args);

/// `forkguard report`.
struct ReportArgs {
  std::vector<std::string> files, paths;
  bool json = false, no_symbols = false;
  std::string svg, html;
  int near_pct = 10;
};
CLI::App* add_report_command(CLI::App& app, ReportArgs& args);
/// 0 = report written, 1 = no record read, 2 = a file could not be read or written.
int report_command(const ReportArgs& args);

/// `forkguard options`.
struct OptionsArgs {
  bool markdown = false;
};
CLI::App* add_options_command(CLI::App& app, OptionsArgs& args);
int options_command(const OptionsArgs& args);

/// Exit status for usage errors, as shells and most tools use.
constexpr int kUsageError = 2;

}  // namespace forkguard::cli

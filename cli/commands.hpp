/// @file commands.hpp
/// @brief The subcommands: each registers itself on the CLI11 app and runs from its parsed arguments.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace forkguard::cli {

/// `forkguard run`: empty strings / -1 mean "not given, leave the environment's value".
struct RunArgs {
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
  CLI::Option* pid_option = nullptr;  ///< its count() tells an explicit "" (an error) from no pid
};
CLI::App* add_check_command(CLI::App& app, CheckArgs& args);
/// 0 = a fork would be allowed, 1 = refused, 2 = error or cannot tell.
int check_command(const CheckArgs& args);

/// `forkguard options`.
struct OptionsArgs {
  bool markdown = false;
};
CLI::App* add_options_command(CLI::App& app, OptionsArgs& args);
int options_command(const OptionsArgs& args);

/// Exit status for usage errors, as shells and most tools use.
constexpr int kUsageError = 2;

}  // namespace forkguard::cli

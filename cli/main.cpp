/// @file main.cpp
/// @brief `forkguard`: parse the command line and dispatch to run, check, report or options.
#include <string>

#include "commands.hpp"
#include "forkguard/config.hpp"
#include "log.hpp"

namespace {

// `forkguard --help` lists the environment briefly; `forkguard options` has the full table.
std::string environment_footer() {
  std::string out =
      "Environment (read by libforkguard.so; `forkguard options` explains each, "
      "`forkguard options --markdown` prints the README table):\n";
  for (size_t i = 0; i < forkguard::kOptionCount; ++i) {
    const forkguard::OptionSpec& o = forkguard::kOptions[i];
    std::string name = o.name;
    name.resize(std::max<size_t>(name.size() + 2, 27), ' ');
    out += "  " + name + o.values + "; default " + o.default_text + "\n";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace forkguard::cli;
  init_log();

  CLI::App app{"forkguard " FORKGUARD_VERSION
               ": explains and works around fork() refusals caused by the kernel's commit accounting."};
  app.name("forkguard");
  app.set_version_flag("--version", "forkguard " FORKGUARD_VERSION);
  app.require_subcommand(1);
  app.footer(environment_footer());

  RunArgs run_args;
  CheckArgs check_args;
  OptionsArgs options_args;
  ReportArgs report_args;
  CLI::App* run = add_run_command(app, run_args);
  CLI::App* check = add_check_command(app, check_args);
  CLI::App* report = add_report_command(app, report_args);
  CLI::App* options = add_options_command(app, options_args);

  if (argc < 2) {
    std::fputs(app.help().c_str(), stderr);
    return kUsageError;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::string where = "forkguard";
    for (CLI::App* sub : {run, check, report, options})
      if (sub->parsed()) where += " " + sub->get_name();
    spdlog::error("{}; see `{} --help`", e.what(), where);
    return kUsageError;
  }

  if (run->parsed()) return run_command(run_args);
  if (check->parsed()) return check_command(check_args);
  if (report->parsed()) return report_command(report_args);
  if (options->parsed()) return options_command(options_args);
  return kUsageError;
}

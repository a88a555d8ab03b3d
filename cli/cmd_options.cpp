/// @file cmd_options.cpp
/// @brief `forkguard options`: the FORKGUARD_* settings table, as text or as the README's Markdown.
#include <cstdio>

#include "commands.hpp"
#include "forkguard/config.hpp"

namespace forkguard::cli {

CLI::App* add_options_command(CLI::App& app, OptionsArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "options", "Describe every FORKGUARD_* environment variable (values, default, meaning).");
  cmd->add_flag("--markdown", args.markdown, "Print the table as Markdown (the README's table).");
  return cmd;
}

int options_command(const OptionsArgs& args) {
  const std::string text = args.markdown ? options_markdown() : options_help_text();
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace forkguard::cli

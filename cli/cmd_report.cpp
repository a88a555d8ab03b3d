/// @file cmd_report.cpp
/// @brief `forkguard report FILE...`: JSON records summarized by call site, as a table, JSON or a picture.
#include <errno.h>
#include <string.h>

#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "log.hpp"
#include "report_model.hpp"
#include "report_render.hpp"
#include "report_symbolize.hpp"

namespace forkguard::cli {
namespace {

bool write_output(const std::string& path, void (*render)(std::ostream&, const report::ReportInput&),
                  const report::ReportInput& in) {
  if (path == "-") {
    render(std::cout, in);
    std::cout.flush();
    return static_cast<bool>(std::cout);
  }
  std::ofstream f(path, std::ios::out | std::ios::trunc);
  if (!f) {
    spdlog::error("cannot write {}: {}", path, ::strerror(errno));
    return false;
  }
  render(f, in);
  f.close();
  if (!f) {
    spdlog::error("cannot write {}", path);
    return false;
  }
  return true;
}

}  // namespace

CLI::App* add_report_command(CLI::App& app, ReportArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "report", "Summarize JSON records by call site: failures, substitutions, charge, margin, stack; draw them.");
  cmd->add_option("files", args.files, "Record files (FORKGUARD_FORMAT=json), from any number of processes; - = stdin")
      ->required();
  cmd->add_flag("--json", args.json, "Print the summary as one JSON document instead of the table");
  cmd->add_option("--svg", args.svg, "Also draw the picture (charge per process over time against the room) into this SVG file (- = stdout, then no table)");
  cmd->add_option("--html", args.html, "Also write an HTML page with the picture and the table (- = stdout)");
  cmd->add_option("--path", args.paths,
                  "Where else to look for the modules named in stacks: a directory or a file; repeatable. Tried after "
                  "the path each record gives, before /usr/lib/debug/.build-id/; a file is used only when its build id "
                  "(or size and mtime) is the recorded one")
      ->allow_extra_args(false);
  cmd->add_flag("--no-symbols", args.no_symbols, "Do not read symbols: frames stay module+offset");
  cmd->add_option("--near", args.near_pct, "Percent of the limit within which an allowed call counts as a near miss")
      ->check(CLI::Range(0, 100));
  cmd->footer(
      "Lines that are cut or not JSON records are skipped with a warning naming file and line.\n"
      "Stacks are symbolized with elfutils, only from the file that ran: records name each module's path and\n"
      "build id (or size and mtime); the recorded path, each --path, then /usr/lib/debug/.build-id/ are tried,\n"
      "and a module whose file is nowhere to be found stays module+offset. Notices the library wrote into\n"
      "records and slim-fork children killed by a fault are listed after the sites.\n"
      "Exit status: 0 report written, 1 no record could be read, 2 a file could not be read or written.");
  return cmd;
}

int report_command(const ReportArgs& args) {
  report::ReadResult read;
  bool io_error = false;
  for (const std::string& file : args.files) {
    if (file == "-") {
      report::read_records(std::cin, "stdin", read);
      continue;
    }
    std::ifstream f(file, std::ios::in | std::ios::binary);
    if (!f) {
      spdlog::error("cannot read {}: {}", file, ::strerror(errno));
      io_error = true;
      continue;
    }
    report::read_records(f, file, read);
  }
  constexpr size_t kMaxShown = 20;
  for (size_t i = 0; i < read.warnings.size() && i < kMaxShown; ++i) spdlog::warn("{}", read.warnings[i]);
  if (read.warnings.size() > kMaxShown)
    spdlog::warn("... and {} more lines skipped (--json lists them all)", read.warnings.size() - kMaxShown);

  report::tie_modules(read);
  report::ReportInput in;
  in.files = args.files;
  in.read = &read;
  in.near_pct = args.near_pct;
  in.sites = report::summarize(read.records, args.near_pct);
  in.faults = read.faults;
  in.warnings = read.warnings;
  if (!args.no_symbols) {
    report::SymbolizeOptions opt;
    opt.paths = args.paths;
    std::vector<report::StackRef> stacks;
    for (report::SiteSummary& s : in.sites) stacks.push_back(report::StackRef{&s.stack, s.exe_for_stack});
    for (report::Rec& f : in.faults) stacks.push_back(report::StackRef{&f.stack, f.exe});
    for (const std::string& w : report::symbolize(stacks, opt)) {
      spdlog::warn("{}", w);
      in.warnings.push_back(w);
    }
  }

  bool ok = true;
  if (!args.svg.empty()) ok = write_output(args.svg, report::render_svg, in) && ok;
  if (!args.html.empty()) ok = write_output(args.html, report::render_html, in) && ok;
  if (args.svg != "-" && args.html != "-") {
    if (args.json)
      report::render_json(std::cout, in);
    else
      report::render_table(std::cout, in);
    std::cout.flush();
  }
  if (!ok || io_error) return 2;
  return read.records.empty() && read.other_calls == 0 && read.faults.empty() ? 1 : 0;
}

}  // namespace forkguard::cli

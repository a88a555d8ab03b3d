/// @file report_render.hpp
/// @brief `forkguard report` output: the table for people, JSON for machines, the SVG picture.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "report_model.hpp"

namespace forkguard::report {

struct ReportInput {
  std::vector<std::string> files;
  const ReadResult* read = nullptr;
  std::vector<SiteSummary> sites;
  std::vector<Rec> faults;            ///< slim-fork children killed by a fault, symbolized
  std::vector<std::string> warnings;  ///< reading and symbolization warnings
  int near_pct = 10;
};

void render_table(std::ostream& out, const ReportInput& in);
void render_json(std::ostream& out, const ReportInput& in);

/// A self-contained SVG: over time, each spawning process's charge (mode 0: its largest
/// mapping) against the room the kernel leaves it, every call marked, refusals standing out.
void render_svg(std::ostream& out, const ReportInput& in);
/// The same picture in an HTML page, with the table under it.
void render_html(std::ostream& out, const ReportInput& in);

}  // namespace forkguard::report

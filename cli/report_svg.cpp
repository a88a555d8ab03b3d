/// @file report_svg.cpp
/// @brief The report's picture: charge per process over time against the room the kernel leaves.
///
/// Self-contained SVG 1.1 (no script, no external font or style), so any browser, image viewer
/// or converter shows it. Every marker carries a <title> with the record's facts (hover).
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "humanize.hpp"
#include "report_render.hpp"

namespace forkguard::report {
namespace {

constexpr double kWidth = 1200, kHeight = 800;
constexpr double kLeft = 90, kRight = 280, kTop = 100, kBottom = 120;
constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;

// Colour-blind-friendly (Okabe-Ito without red/orange/green, which mark outcomes), then greys.
const char* const kPalette[] = {"#0072B2", "#CC79A7", "#56B4E9", "#8B5A2B", "#6A3D9A", "#1F78B4", "#B15928", "#777777"};

std::string esc(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default:
        if (c < 0x20 && c != '\t' && c != '\n') out += ' ';  // not allowed in XML 1.0
        else out += static_cast<char>(c);
    }
  }
  return out;
}

struct Unit {
  double kb;
  const char* name;
};

Unit unit_for(double max_kb) {
  if (max_kb >= 2.0 * 1024 * 1024) return {1024.0 * 1024, "GiB"};
  if (max_kb >= 2.0 * 1024) return {1024.0, "MiB"};
  return {1.0, "KiB"};
}

double nice_step(double range, int target) {
  const double raw = range / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

std::string basename_of(const std::string& p) {
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

enum class Mark { ok, near, rescued, refused, failed };

Mark mark_of(const Rec& r, int near_pct) {
  if (r.refused()) return Mark::refused;
  if (r.rescued()) return Mark::rescued;
  if (r.failed()) return Mark::failed;
  if (r.near_miss(near_pct)) return Mark::near;
  return Mark::ok;
}

void marker(std::ostream& o, Mark m, double x, double y, const char* colour) {
  switch (m) {
    case Mark::ok:
      o << fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="5" fill="{}" stroke="#ffffff" stroke-width="1.5"/>)", x, y, colour);
      break;
    case Mark::near:
      o << fmt::format(R"(<path d="M{:.1f} {:.1f} l8 8 l-8 8 l-8 -8 z" fill="#E69F00" stroke="#7a5200" stroke-width="1.5"/>)", x, y - 8);
      break;
    case Mark::rescued:
      o << fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="14" height="14" fill="#009E73" stroke="#00523b" stroke-width="2"/>)", x - 7, y - 7);
      break;
    case Mark::refused:
      o << fmt::format(R"(<circle cx="{0:.1f}" cy="{1:.1f}" r="12" fill="#D7191C" stroke="#7f0000" stroke-width="2"/>)"
                       R"(<path d="M{2:.1f} {3:.1f} l12 12 M{4:.1f} {3:.1f} l-12 12" stroke="#ffffff" stroke-width="3"/>)",
                       x, y, x - 6, y - 6, x + 6);
      break;
    case Mark::failed:
      o << fmt::format(R"(<path d="M{0:.1f} {1:.1f} l10 10 M{2:.1f} {1:.1f} l-10 10" stroke="#000000" stroke-width="3"/>)", x - 5, y - 5, x + 5);
      break;
  }
}

}  // namespace

void render_svg(std::ostream& o, const ReportInput& in) {
  const std::vector<Rec>& recs = in.read->records;
  // Time range.
  int64_t t0 = INT64_MAX, t1 = INT64_MIN;
  for (const Rec& r : recs)
    if (r.ts_us) {
      t0 = std::min(t0, *r.ts_us);
      t1 = std::max(t1, *r.ts_us);
    }
  const bool have_time = t0 != INT64_MAX;
  if (!have_time) t0 = 0, t1 = static_cast<int64_t>(recs.size());
  double span_s = static_cast<double>(t1 - t0) / (have_time ? 1e6 : 1.0);
  double pad_s = span_s > 0 ? span_s * 0.05 : 0.5;
  const double xmin = -pad_s, xmax = span_s + pad_s;
  auto time_of = [&](const Rec& r, size_t i) {
    return have_time ? (r.ts_us ? static_cast<double>(*r.ts_us - t0) / 1e6 : 0.0) : static_cast<double>(i);
  };
  // Value range.
  double ymax_kb = 0;
  bool clipped_negative = false;
  int mode = -1;
  for (const Rec& r : recs) {
    if (auto c = r.compared_kb()) ymax_kb = std::max(ymax_kb, static_cast<double>(*c));
    if (auto room = r.room_kb()) {
      ymax_kb = std::max(ymax_kb, static_cast<double>(*room));
      if (*room < 0) clipped_negative = true;
    }
    if (r.overcommit_mode >= 0) mode = mode == -1 || mode == r.overcommit_mode ? r.overcommit_mode : -2;
  }
  if (ymax_kb <= 0) ymax_kb = 1024 * 1024;
  const Unit unit = unit_for(ymax_kb);
  const double step = nice_step(ymax_kb / unit.kb * 1.08, 6);
  const double ytop = std::ceil(ymax_kb / unit.kb * 1.08 / step) * step;
  auto X = [&](double s) { return kLeft + (s - xmin) / (xmax - xmin) * kPlotW; };
  auto Y = [&](double kb) { return kTop + kPlotH - std::max(0.0, kb / unit.kb) / ytop * kPlotH; };

  o << R"(<?xml version="1.0" encoding="UTF-8"?>)" "\n";
  o << fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{0}" height="{1}" viewBox="0 0 {0} {1}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="13">)",
                   kWidth, kHeight) << "\n";
  o << "<title>forkguard: fork charge per process against the room the kernel leaves</title>\n";
  o << fmt::format(R"(<rect x="0" y="0" width="{}" height="{}" fill="#ffffff"/>)", kWidth, kHeight) << "\n";

  // Title and plain-words explanation.
  size_t refused = 0, rescued = 0, near = 0;
  for (const Rec& r : recs) {
    const Mark m = mark_of(r, in.near_pct);
    refused += m == Mark::refused;
    rescued += m == Mark::rescued;
    near += m == Mark::near;
  }
  std::string headline = fmt::format("{} process creation{}: {} refused, {} rescued by substitution, {} near the limit",
                                     recs.size(), recs.size() == 1 ? "" : "s", refused, rescued, near);
  o << fmt::format(R"(<text x="{}" y="34" font-size="20" font-weight="bold">Can these processes fork? Their charge against the room the kernel leaves</text>)", kLeft) << "\n";
  o << fmt::format(R"(<text x="{}" y="58" font-size="14" fill="{}">{}</text>)", kLeft, refused ? "#B00000" : "#333333", esc(headline)) << "\n";
  const std::string rule = mode == 0 ? "Overcommit mode 0: a fork is refused when one private writable mapping is larger than RAM + swap (grey line); lines show each process's largest mapping."
                         : mode == 2 ? "Overcommit mode 2: a fork is refused when its charge does not fit in the room left (grey line = CommitLimit - Committed_AS - reserves)."
                         : mode == 1 ? "Overcommit mode 1: the kernel never refuses a fork; lines show each process's charge."
                                     : "A fork is refused when a process's line (its charge) rises to the grey line (the room the kernel leaves).";
  o << fmt::format(R"(<text x="{}" y="80" font-size="12.5" fill="#333333">{}</text>)", kLeft, esc(rule)) << "\n";

  // Plot frame, grid, axes.
  o << fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="#fafafa" stroke="#999999"/>)", kLeft, kTop, kPlotW, kPlotH) << "\n";
  for (double v = 0; v <= ytop + step / 2; v += step) {
    const double y = Y(v * unit.kb);
    o << fmt::format(R"(<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" stroke="#e0e0e0"/>)", kLeft, y, kLeft + kPlotW, y);
    o << fmt::format(R"(<text x="{}" y="{:.1f}" text-anchor="end" fill="#333333">{:g} {}</text>)", kLeft - 8, y + 4, v, unit.name) << "\n";
  }
  const double xstep = nice_step(xmax - xmin, 8);
  for (double s = std::ceil(xmin / xstep) * xstep; s <= xmax; s += xstep) {
    const double x = X(s);
    o << fmt::format(R"(<line x1="{:.1f}" y1="{}" x2="{:.1f}" y2="{}" stroke="#e0e0e0"/>)", x, kTop, x, kTop + kPlotH);
    o << fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle" fill="#333333">{:g}</text>)", x, kTop + kPlotH + 18, std::abs(s) < 1e-9 ? 0.0 : s) << "\n";
  }
  const std::string start = !recs.empty() && have_time ? recs.front().ts : "";
  std::string first_ts;
  for (const Rec& r : recs)
    if (r.ts_us && *r.ts_us == t0) first_ts = r.ts;
  o << fmt::format(R"(<text x="{}" y="{}" text-anchor="middle" fill="#333333">{}</text>)", kLeft + kPlotW / 2, kTop + kPlotH + 40,
                   esc(have_time ? "seconds since " + first_ts : "record number (records carry no time stamps)")) << "\n";
  o << fmt::format(R"s(<text x="22" y="{}" transform="rotate(-90 22 {})" text-anchor="middle" fill="#333333">memory ({})</text>)s",
                   kTop + kPlotH / 2, kTop + kPlotH / 2, unit.name) << "\n";

  // The room line: per record, the limit the kernel's rule compared with, in time order.
  std::vector<std::pair<double, double>> room;
  for (size_t i = 0; i < recs.size(); ++i)
    if (auto r = recs[i].room_kb()) room.emplace_back(time_of(recs[i], i), static_cast<double>(*r));
  std::sort(room.begin(), room.end());
  if (!room.empty()) {
    std::string d = fmt::format("M{:.1f} {:.1f}", X(xmin), Y(room.front().second));
    std::string area = fmt::format("M{:.1f} {:.1f} L{:.1f} {:.1f}", X(xmin), Y(0), X(xmin), Y(room.front().second));
    for (const auto& [t, v] : room) {
      d += fmt::format(" H{:.1f} V{:.1f}", X(t), Y(v));
      area += fmt::format(" H{:.1f} V{:.1f}", X(t), Y(v));
    }
    d += fmt::format(" H{:.1f}", X(xmax));
    area += fmt::format(" H{:.1f} V{:.1f} Z", X(xmax), Y(0));
    o << fmt::format(R"(<path d="{}" fill="#9e9e9e" fill-opacity="0.18" stroke="none"/>)", area) << "\n";
    o << fmt::format(R"(<path d="{}" fill="none" stroke="#555555" stroke-width="3" stroke-dasharray="10 5"/>)", d) << "\n";
    o << fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="end" font-weight="bold" fill="#444444">{}</text>)",
                     X(xmax) - 6, Y(room.back().second) - 8, mode == 0 ? "limit: RAM + swap" : "room left for a fork's charge") << "\n";
  }

  // One line per spawning process, markers per call.
  std::map<int64_t, std::vector<size_t>> by_pid;
  for (size_t i = 0; i < recs.size(); ++i) by_pid[recs[i].pid].push_back(i);
  std::vector<std::pair<int64_t, double>> order;  // pid, its largest charge: legend order
  for (const auto& [pid, idx] : by_pid) {
    double mx = 0;
    for (size_t i : idx)
      if (auto c = recs[i].compared_kb()) mx = std::max(mx, static_cast<double>(*c));
    order.emplace_back(pid, mx);
  }
  std::stable_sort(order.begin(), order.end(), [](auto& a, auto& b) { return a.second > b.second; });
  std::map<int64_t, const char*> colour;
  for (size_t k = 0; k < order.size(); ++k) colour[order[k].first] = kPalette[std::min(k, std::size(kPalette) - 1)];

  size_t labels = 0;
  std::map<int64_t, bool> said_refused, said_rescued;
  std::vector<std::array<double, 4>> boxes;  // x0, y0, x1, y1 of labels placed
  std::ostringstream marks;
  for (const auto& [pid, idx] : by_pid) {
    std::vector<std::pair<double, const Rec*>> pts;
    for (size_t i : idx)
      if (recs[i].compared_kb()) pts.emplace_back(time_of(recs[i], i), &recs[i]);
    std::sort(pts.begin(), pts.end(), [](auto& a, auto& b) { return a.first < b.first; });
    if (pts.empty()) continue;
    std::string d;
    for (const auto& [t, r] : pts)
      d += fmt::format("{}{:.1f} {:.1f}", d.empty() ? "M" : " L", X(t), Y(static_cast<double>(*r->compared_kb())));
    o << fmt::format(R"(<path d="{}" fill="none" stroke="{}" stroke-width="2.5"/>)", d, colour[pid]) << "\n";
    for (const auto& [t, r] : pts) {
      const Mark m = mark_of(*r, in.near_pct);
      const double x = X(t), y = Y(static_cast<double>(*r->compared_kb()));
      marks << "<g>";
      marks << fmt::format("<title>{}</title>",
                           esc(fmt::format("{} {} at {} (pid {}, {})\ncharge {}{}, margin {}, verdict {}, action {}, result {}{}",
                                           r->ts, r->call, r->site, r->pid, basename_of(r->exe),
                                           r->charge_kb ? cli::human_kb(*r->charge_kb) : "unknown",
                                           r->overcommit_mode == 0 && r->largest_vma_kb ? ", largest mapping " + cli::human_kb(*r->largest_vma_kb) : "",
                                           r->margin_kb ? cli::human_kb(*r->margin_kb, true) : "unknown", r->verdict, r->action,
                                           r->result ? std::to_string(*r->result) : "?", r->errno_name.empty() ? "" : " " + r->errno_name)));
      marker(marks, m, x, y, colour[pid]);
      // One label for the first refusal and the first rescue of each process, placed where it
      // overlaps no earlier label: enough to name the site without burying the picture.
      bool& said = m == Mark::refused ? said_refused[pid] : said_rescued[pid];
      if ((m == Mark::refused || m == Mark::rescued) && !said && labels < 12) {
        said = true;
        ++labels;
        const std::string text = m == Mark::refused
                                     ? fmt::format("{} refused{} at {}", r->call, r->errno_name.empty() ? "" : " (" + r->errno_name + ")", r->site)
                                     : fmt::format("{} rescued by {} at {}", r->call, r->action, r->site);
        const double w = 7.6 * static_cast<double>(text.size());
        const bool left = x > kLeft + kPlotW * 0.5;
        double lx0 = left ? x - 18 - w : x + 18;
        double ly = y + 30;
        for (int tries = 0; tries < 40; ++tries) {
          bool clash = false;
          for (const auto& b : boxes)
            if (lx0 < b[2] && lx0 + w > b[0] && ly - 14 < b[3] && ly + 4 > b[1]) clash = true;
          if (!clash) break;
          ly += 18;
        }
        if (ly > kTop + kPlotH - 4) ly = kTop + kPlotH - 4;
        boxes.push_back({lx0, ly - 14, lx0 + w, ly + 4});
        const char* col = m == Mark::refused ? "#B00000" : "#006B4E";
        marks << fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="1"/>)", x, y,
                             left ? lx0 + w : lx0, ly - 5, col);
        marks << fmt::format(R"(<text x="{:.1f}" y="{:.1f}" font-weight="bold" fill="{}" stroke="#ffffff" stroke-width="4" paint-order="stroke">{}</text>)",
                             lx0, ly, col, esc(text));
      }
      marks << "</g>\n";
    }
  }
  o << marks.str();

  // Legend.
  double ly = kTop + 10;
  const double lx = kLeft + kPlotW + 24;
  o << fmt::format(R"(<text x="{}" y="{}" font-weight="bold">Each call</text>)", lx, ly) << "\n";
  const std::pair<Mark, const char*> legend[] = {{Mark::refused, "refused (fork failed)"},
                                                 {Mark::rescued, "would be refused: substituted"},
                                                 {Mark::near, "allowed, near the limit"},
                                                 {Mark::ok, "allowed"},
                                                 {Mark::failed, "failed otherwise"}};
  for (const auto& [m, text] : legend) {
    ly += 28;
    marker(o, m, lx + 12, ly - 4, "#555555");
    o << fmt::format(R"(<text x="{}" y="{}">{}</text>)", lx + 32, ly, text) << "\n";
  }
  ly += 36;
  o << fmt::format(R"(<text x="{}" y="{}" font-weight="bold">Processes (calls), largest first</text>)", lx, ly) << "\n";
  const size_t shown = std::min<size_t>(order.size(), 12);
  for (size_t k = 0; k < shown; ++k) {
    ly += 22;
    const int64_t pid = order[k].first;
    std::string exe = basename_of(recs[by_pid[pid].front()].exe);
    o << fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="4"/>)", lx, ly - 5, lx + 24, ly - 5, colour[pid]);
    o << fmt::format(R"(<text x="{}" y="{}">{}</text>)", lx + 32, ly,
                     esc(fmt::format("pid {} {} ({})", pid, exe.substr(0, 16), by_pid[pid].size()))) << "\n";
  }
  if (order.size() > shown) {
    ly += 22;
    o << fmt::format(R"(<text x="{}" y="{}" fill="#555555">and {} more</text>)", lx, ly, order.size() - shown) << "\n";
  }
  ly += 34;
  o << fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#555555" stroke-width="3" stroke-dasharray="10 5"/>)", lx, ly - 5, lx + 24, ly - 5);
  o << fmt::format(R"(<text x="{}" y="{}">{}</text>)", lx + 32, ly, mode == 0 ? "RAM + swap" : "room for a fork") << "\n";

  // Footnotes.
  std::string foot = "Hover a mark for the record. Made by forkguard report from " + std::to_string(in.files.size()) + " file" +
                     (in.files.size() == 1 ? "" : "s") + ".";
  if (clipped_negative) foot += " Negative room is drawn at 0.";
  o << fmt::format(R"(<text x="{}" y="{}" font-size="12" fill="#555555">{}</text>)", kLeft, kHeight - 40, esc(foot)) << "\n";
  o << "</svg>\n";
}

void render_html(std::ostream& o, const ReportInput& in) {
  std::ostringstream svg, table;
  render_svg(svg, in);
  render_table(table, in);
  std::string s = svg.str();
  s.erase(0, s.find("<svg"));  // the XML declaration is not allowed inside HTML
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>forkguard report</title></head>\n<body>\n"
    << s << "<pre>" << esc(table.str()) << "</pre>\n</body></html>\n";
}

}  // namespace forkguard::report

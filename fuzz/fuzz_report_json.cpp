/// @file fuzz_report_json.cpp
/// @brief libFuzzer target: the report's reader (read_records over JSON lines), tie_modules() and
/// summarize().
/// Input: byte 0 = the near-miss percentage (mod 101), the rest = the record file's text.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "fuzz_check.hpp"
#include "report_model.hpp"

using namespace forkguard::report;

namespace {

int attention_rank(const std::string& a) {
  return a == "refused" ? 0 : a == "rescued" ? 1 : a == "failed" ? 2 : a == "near" ? 3 : 4;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int near_pct = data[0] % 101;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

  std::istringstream in(text);
  ReadResult rr;
  read_records(in, "fuzz.jsonl", rr);

  // Every line is counted once; each is a record, a warning, another call, or blank.
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  if (!text.empty() && text.back() != '\n') ++lines;
  FG_FUZZ_CHECK(rr.lines == lines);
  FG_FUZZ_CHECK(rr.records.size() + rr.faults.size() + rr.warnings.size() + rr.other_calls <= rr.lines);
  for (const Rec& f : rr.faults) FG_FUZZ_CHECK(f.call == "fault");
  for (const Notice& n : rr.notices) FG_FUZZ_CHECK(!n.text.empty() && n.line >= 1 && n.line <= rr.lines);
  // Every frame tied to a module gets the identity of a module of its own name.
  tie_modules(rr);
  for (const Rec& r : rr.records)
    for (const Frame& f : r.stack)
      if (f.ident) FG_FUZZ_CHECK(f.ident->name == f.module);
  for (const std::string& w : rr.warnings) FG_FUZZ_CHECK(w.rfind("fuzz.jsonl:", 0) == 0);
  size_t last_line = 0;
  for (const Rec& r : rr.records) {
    FG_FUZZ_CHECK(!r.call.empty() && !r.site.empty() && is_creation_call(r.call));
    FG_FUZZ_CHECK(r.line > last_line && r.line <= rr.lines);  // in file order, one record per line
    last_line = r.line;
    FG_FUZZ_CHECK(!r.refused() || r.failed() || r.action == "refused");  // a refusal is a failure
    if (r.ts_us) FG_FUZZ_CHECK(!r.ts.empty() && r.ts.back() == 'Z');
  }

  // The summary accounts for every record exactly once and ranks what needs attention first.
  const auto sums = summarize(rr.records, near_pct);
  size_t total = 0;
  int rank = 0;
  for (const SiteSummary& s : sums) {
    total += s.count;
    FG_FUZZ_CHECK(s.count > 0 && s.failures <= s.count && s.refused <= s.count && s.near <= s.count &&
                  s.predicted_refuse <= s.count);
    FG_FUZZ_CHECK(s.commands.size() <= 3);
    const int r = attention_rank(s.attention());
    FG_FUZZ_CHECK(r >= rank);
    rank = r;
  }
  FG_FUZZ_CHECK(total == rr.records.size());

  // Timestamps alone: never a crash; an accepted one ends in Z.
  if (parse_iso8601_us(text)) FG_FUZZ_CHECK(!text.empty() && text.back() == 'Z');
  return 0;
}

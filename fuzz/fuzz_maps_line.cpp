/// @file fuzz_maps_line.cpp
/// @brief libFuzzer target: parse_maps_line and parse_vmflags_line over one maps/smaps line.
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "forkguard/probe.hpp"
#include "fuzz_check.hpp"

using namespace forkguard;

namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// The canonical spelling of a parsed header; parsing it again must give the same VMA.
std::string canonical(const Vma& v) {
  char head[128];
  std::snprintf(head, sizeof head, "%" PRIx64 "-%" PRIx64 " %c%c%c%c %" PRIx64 " 00:00 0 ", v.start, v.end,
                v.readable ? 'r' : '-', v.writable ? 'w' : '-', v.executable ? 'x' : '-', v.is_private ? 'p' : 's',
                v.offset);
  return std::string(head) + std::string(v.path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::as_text(data, size);

  Vma v;
  if (parse_maps_line(text, v)) {
    FG_FUZZ_CHECK(v.start <= v.end);
    FG_FUZZ_CHECK(fuzz::within(v.path, text));  // the path views the line, nowhere else
    FG_FUZZ_CHECK(v.path.empty() || !blank(v.path.front()));
    FG_FUZZ_CHECK(!v.have_flags && !v.accountable && !v.dontcopy && !v.noreserve);  // maps has no flags
    const std::string again_text = canonical(v);
    Vma again;
    FG_FUZZ_CHECK(parse_maps_line(again_text, again));
    FG_FUZZ_CHECK(again.start == v.start && again.end == v.end && again.offset == v.offset &&
                  again.readable == v.readable && again.writable == v.writable &&
                  again.executable == v.executable && again.is_private == v.is_private && again.path == v.path);
  }

  // A VmFlags line is recognised by its key alone, after optional blanks.
  Vma f;
  const bool flags = parse_vmflags_line(text, f);
  size_t i = 0;
  while (i < text.size() && blank(text[i])) ++i;
  FG_FUZZ_CHECK(flags == (text.substr(i).substr(0, 8) == "VmFlags:"));
  if (flags) {
    FG_FUZZ_CHECK(f.have_flags);
    // "ac", "dc" and "nr" come from whole tokens of the line only.
    if (text.find("ac") == std::string_view::npos) FG_FUZZ_CHECK(!f.accountable);
    if (text.find("dc") == std::string_view::npos) FG_FUZZ_CHECK(!f.dontcopy);
    if (text.find("nr") == std::string_view::npos) FG_FUZZ_CHECK(!f.noreserve);
    FG_FUZZ_CHECK(f.charged_by_fork() == (f.accountable && !f.dontcopy));
  } else {
    FG_FUZZ_CHECK(!f.have_flags);
  }
  return 0;
}

/// @file fuzz_statm.cpp
/// @brief libFuzzer target: parse_statm over /proc/PID/statm text (six positional page counts).
#include <cstddef>
#include <cstdint>

#include "forkguard/probe.hpp"
#include "fuzz_check.hpp"

using namespace forkguard;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  ProcStatm sm;
  const bool found = parse_statm(text, sm);
  const int64_t fields[] = {sm.size, sm.resident, sm.shared, sm.text, sm.lib, sm.data};
  FG_FUZZ_CHECK(found == (sm.size >= 0));  // found means the first field was read
  bool gap = false;
  for (int64_t v : fields) {
    FG_FUZZ_CHECK(v >= -1);
    // Positional: once a field is unknown, every later one is too (no field shifts left).
    if (gap) FG_FUZZ_CHECK(v == -1);
    gap |= v < 0;
    if (v >= 0) FG_FUZZ_CHECK(fuzz::spelled_in(text, v));
  }
  // Only the first line counts: whatever follows the first newline changes nothing.
  const size_t nl = text.find('\n');
  if (nl != std::string_view::npos) {
    ProcStatm first;
    FG_FUZZ_CHECK(parse_statm(text.substr(0, nl + 1), first) == found);
    FG_FUZZ_CHECK(first.size == sm.size && first.resident == sm.resident && first.shared == sm.shared &&
                  first.text == sm.text && first.lib == sm.lib && first.data == sm.data);
  }
  return 0;
}

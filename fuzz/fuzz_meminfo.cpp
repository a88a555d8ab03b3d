/// @file fuzz_meminfo.cpp
/// @brief libFuzzer target: parse_meminfo over /proc/meminfo text.
#include <cstddef>
#include <cstdint>

#include "forkguard/probe.hpp"
#include "fuzz_check.hpp"

using namespace forkguard;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  MemInfo mi;
  const bool found = parse_meminfo(text, mi);
  const int64_t fields[] = {mi.mem_total_kb, mi.swap_total_kb, mi.swap_free_kb, mi.commit_limit_kb,
                            mi.committed_as_kb};
  bool known = false;
  for (int64_t v : fields) {
    FG_FUZZ_CHECK(v >= -1);
    if (v >= 0) FG_FUZZ_CHECK(fuzz::spelled_in(text, v));
    known |= v >= 0;
  }
  FG_FUZZ_CHECK(!known || found);
  FG_FUZZ_CHECK(!mi.complete() || found);
  if (text.find(':') == std::string_view::npos) FG_FUZZ_CHECK(!found);

  // A field is only ever read from a line with its own key.
  const char* const keys[] = {"MemTotal", "SwapTotal", "SwapFree", "CommitLimit", "Committed_AS"};
  for (size_t i = 0; i < 5; ++i)
    if (text.find(keys[i]) == std::string_view::npos) FG_FUZZ_CHECK(fields[i] == -1);
  return 0;
}

/// @file fuzz_status.cpp
/// @brief libFuzzer target: parse_status over /proc/PID/status text.
#include <cstddef>
#include <cstdint>

#include "forkguard/probe.hpp"
#include "fuzz_check.hpp"

using namespace forkguard;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  ProcStatus st;
  const bool found = parse_status(text, st);
  const int64_t decimal[] = {st.vm_size_kb, st.vm_rss_kb, st.vm_data_kb, st.vm_stk_kb, st.ppid, st.uid};
  bool known = st.cap_eff >= 0;
  FG_FUZZ_CHECK(st.cap_eff >= -1);
  for (int64_t v : decimal) {
    FG_FUZZ_CHECK(v >= -1);  // a value or "unknown", never anything else
    if (v >= 0) FG_FUZZ_CHECK(fuzz::spelled_in(text, v));
    known |= v >= 0;
  }
  FG_FUZZ_CHECK(!known || found);  // a known field means something was found
  FG_FUZZ_CHECK(!st.complete() || found);
  if (text.find(':') == std::string_view::npos) FG_FUZZ_CHECK(!found);  // every field is "Key:"

  // No hidden state: the same text gives the same answer.
  ProcStatus again;
  FG_FUZZ_CHECK(parse_status(text, again) == found);
  FG_FUZZ_CHECK(again.vm_size_kb == st.vm_size_kb && again.vm_rss_kb == st.vm_rss_kb &&
                again.vm_data_kb == st.vm_data_kb && again.vm_stk_kb == st.vm_stk_kb &&
                again.cap_eff == st.cap_eff && again.ppid == st.ppid && again.uid == st.uid);
  return 0;
}

/// @file fuzz_sysctl.cpp
/// @brief libFuzzer target: parse_sysctl_value over one /proc/sys/vm file's text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "forkguard/probe.hpp"
#include "fuzz_check.hpp"

using namespace forkguard;

namespace {
bool blank_or_newline(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n'; }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const int64_t v = parse_sysctl_value(text);
  FG_FUZZ_CHECK(v >= -1);
  // The reference: blanks around one run of decimal digits, nothing else; leading zeros allowed.
  size_t b = 0, e = text.size();
  while (b < e && blank_or_newline(text[b])) ++b;
  while (e > b && blank_or_newline(text[e - 1])) --e;
  std::string_view digits = text.substr(b, e - b);
  bool all_digits = !digits.empty();
  for (char c : digits) all_digits &= c >= '0' && c <= '9';
  if (!all_digits) {
    FG_FUZZ_CHECK(v == -1);
    return 0;
  }
  while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
  // Up to INT64_MAX the value round-trips exactly; beyond it the parser must say unknown.
  const std::string max = std::to_string(INT64_MAX);
  const bool fits = digits.size() < max.size() || (digits.size() == max.size() && digits <= max);
  if (fits)
    FG_FUZZ_CHECK(v >= 0 && std::to_string(v) == digits);
  else
    FG_FUZZ_CHECK(v == -1);
  return 0;
}

/// @file fuzz_check.hpp
/// @brief FG_FUZZ_CHECK: an invariant of a fuzz target; aborts (libFuzzer keeps the input) even under NDEBUG.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FG_FUZZ_CHECK(cond)                                                                     \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "forkguard fuzz: invariant failed: %s (%s:%d)\n", #cond, __FILE__, \
                   __LINE__);                                                                   \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

namespace forkguard::fuzz {

/// The input as text. libFuzzer hands over an exactly sized heap copy, so ASan catches any read past it.
inline std::string_view as_text(const unsigned char* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

/// True when `inner` lies within `outer` (a parser's view must never point elsewhere).
inline bool within(std::string_view inner, std::string_view outer) {
  return inner.empty() || (inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size());
}

/// A parsed number must be spelled in the text it came from ("7" is found in "007" too).
inline bool spelled_in(std::string_view text, long long value) {
  const std::string digits = std::to_string(value);
  return text.find(digits) != std::string_view::npos;
}

}  // namespace forkguard::fuzz

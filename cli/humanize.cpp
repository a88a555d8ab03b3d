/// @file humanize.cpp
/// @brief Binary-unit formatting of kB figures.
#include "humanize.hpp"

#include <fmt/format.h>

namespace forkguard::cli {

std::string human_kb(int64_t kb, bool signed_value) {
  if (kb < 0 && !signed_value) return "unknown";
  // Unsigned magnitude: -INT64_MIN does not fit in int64_t.
  const uint64_t mag = kb < 0 ? 0 - static_cast<uint64_t>(kb) : static_cast<uint64_t>(kb);
  const char* sign = kb < 0 ? "-" : "";
  if (mag < 1024) return fmt::format("{}{} KiB", sign, mag);
  static const char* const units[] = {"MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(mag) / 1024.0;
  size_t u = 0;
  // Round first so 1023.96 MiB prints as "1.0 GiB", not "1024.0 MiB".
  while (u + 1 < sizeof(units) / sizeof(units[0]) && v >= 1023.95) {
    v /= 1024.0;
    ++u;
  }
  return fmt::format("{}{:.1f} {}", sign, v, units[u]);
}

}  // namespace forkguard::cli

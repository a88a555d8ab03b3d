/// @file humanize.hpp
/// @brief Sizes for people: kB figures as "512 KiB", "1.5 MiB", "23.4 GiB".
#pragma once

#include <cstdint>
#include <string>

namespace forkguard::cli {

/// Binary units with one decimal above KiB; negative sizes keep their sign; "unknown" for -1
/// unless `signed_value` (then -1 is the real figure -1 KiB).
std::string human_kb(int64_t kb, bool signed_value = false);

}  // namespace forkguard::cli

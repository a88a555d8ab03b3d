/// @file preload.hpp
/// @brief Composing LD_PRELOAD: our library first, the user's entries kept, never two copies of ours.
#pragma once

#include <string>
#include <vector>

namespace forkguard::cli {

struct Preload {
  std::string value;                       ///< the new LD_PRELOAD
  std::vector<std::string> earlier_shims;  ///< libforkguard.so entries found (and dropped) in the old value
};

/// `ours` first, then every entry of `existing` (split on ':' and blanks, as ld.so does) except
/// those whose basename is libforkguard.so: a second copy would intercept every call twice.
Preload compose_preload(const std::string& ours, const char* existing);

/// ld.so splits LD_PRELOAD on ':' and blanks, so a path containing them cannot be carried.
bool preloadable_path(const std::string& path);

}  // namespace forkguard::cli

/// @file preload.cpp
/// @brief LD_PRELOAD composition for `forkguard run`.
#include "preload.hpp"

namespace forkguard::cli {
namespace {

bool is_separator(char c) { return c == ':' || c == ' ' || c == '\t' || c == '\n'; }

bool is_forkguard_library(const std::string& entry) {
  size_t slash = entry.rfind('/');
  std::string base = slash == std::string::npos ? entry : entry.substr(slash + 1);
  return base == "libforkguard.so";
}

}  // namespace

Preload compose_preload(const std::string& ours, const char* existing) {
  Preload out;
  out.value = ours;
  if (!existing) return out;
  const std::string old = existing;
  size_t i = 0;
  while (i < old.size()) {
    while (i < old.size() && is_separator(old[i])) ++i;
    size_t start = i;
    while (i < old.size() && !is_separator(old[i])) ++i;
    if (start == i) continue;
    std::string entry = old.substr(start, i - start);
    if (is_forkguard_library(entry)) {
      out.earlier_shims.push_back(entry);
      continue;
    }
    out.value += ':';
    out.value += entry;
  }
  return out;
}

bool preloadable_path(const std::string& path) {
  for (char c : path)
    if (is_separator(c)) return false;
  return !path.empty();
}

}  // namespace forkguard::cli

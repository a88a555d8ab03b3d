/// @file locate.hpp
/// @brief Finding libforkguard.so relative to the forkguard executable (build tree or install prefix).
#pragma once

#include <string>
#include <vector>

namespace forkguard::cli {

struct LibraryLookup {
  std::string path;                ///< canonical path of the library; empty when not found
  std::vector<std::string> tried;  ///< every candidate looked at, in order (for the error message)
};

/// Looks next to /proc/self/exe, then in ../lib/<multiarch>, ../lib and ../lib64 of its directory.
LibraryLookup locate_library();

/// The directory of the running executable (readlink /proc/self/exe); empty when unreadable.
std::string self_dir();

}  // namespace forkguard::cli

/// @file log.hpp
/// @brief The CLI's own messages: a synchronous spdlog logger on stderr, every line "forkguard: ...".
#pragma once

#include <spdlog/spdlog.h>

namespace forkguard::cli {

/// Installs the default logger (stderr, synchronous, pattern "forkguard: %v"). Call once, first.
void init_log();

}  // namespace forkguard::cli

/// @file diag.hpp
/// @brief The library's own diagnostics: "forkguard: ..." lines on stderr, one write(2) each.
///
/// Never used on the fork path in a child, nor for records: records go through the sink.
#pragma once

namespace forkguard {

/// One "forkguard: <message>" line on stderr (synchronous spdlog logger, created on first use).
void diag_warn(const char* message);

}  // namespace forkguard

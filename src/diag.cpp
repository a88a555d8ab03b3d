/// @file diag.cpp
/// @brief The library's own "forkguard: ..." diagnostics through one synchronous spdlog logger.
#include "forkguard/diag.hpp"

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cerrno>
#include <memory>

namespace forkguard {

namespace {
spdlog::logger& logger() {
  // Synchronous and unregistered: no background thread (fork-hazardous), no global registry.
  static spdlog::logger* instance = [] {
    auto* l = new spdlog::logger("forkguard", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("forkguard: %v");
    return l;
  }();
  return *instance;
}
}  // namespace

void diag_warn(const char* message) {
  const int saved = errno;  // the host's errno is never ours to change
  logger().warn("{}", message);
  errno = saved;
}

void diag_warn_once(bool& once_flag, const char* message) {
  if (once_flag) return;
  once_flag = true;
  diag_warn(message);
}

}  // namespace forkguard

/// @file log.cpp
/// @brief The CLI's stderr logger.
#include "log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

namespace forkguard::cli {

void init_log() {
  // Synchronous and unlocked: the CLI is single-threaded and execs right after logging.
  auto logger = spdlog::stderr_logger_st("forkguard");
  logger->set_pattern("forkguard: %v");
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace forkguard::cli

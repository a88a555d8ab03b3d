/// @file diag.cpp
/// @brief The library's own "forkguard: ..." diagnostics, one write(2) each on stderr.
///
/// Inside host programs the shim does not use spdlog: linking it (and the parts of libstdc++ it
/// needs: locales, the exception pool) into the shim added static constructors and ~2,300
/// relocations to every exec'd child (bench/README.md). The CLI logs through spdlog (cli/log.cpp).
#include "forkguard/diag.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace forkguard {

void diag_warn(const char* message) {
  const int saved = errno;  // the host's errno is never ours to change
  char line[1024];
  static const char kPrefix[] = "forkguard: ";
  size_t n = sizeof kPrefix - 1;
  std::memcpy(line, kPrefix, n);
  const size_t len = std::strlen(message);
  const size_t room = sizeof line - n - 1;
  std::memcpy(line + n, message, len < room ? len : room);
  n += len < room ? len : room;
  line[n++] = '\n';
  ssize_t w;
  do {
    w = write(STDERR_FILENO, line, n);  // one write: the line never splits among other output
  } while (w < 0 && errno == EINTR);
  errno = saved;
}

}  // namespace forkguard

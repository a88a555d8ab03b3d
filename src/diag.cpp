/// @file diag.cpp
/// @brief Settings warnings on stderr (one write(2) each) and the board of notices for the log.
///
/// Inside host programs the shim does not use spdlog: linking it (and the parts of libstdc++ it
/// needs: locales, the exception pool) into the shim added static constructors and ~2,300
/// relocations to every exec'd child (bench/README.md). The CLI logs through spdlog (cli/log.cpp).
#include "forkguard/diag.hpp"

#include <unistd.h>

#include <atomic>
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

namespace {

// A slot is free (0), being written or read by one thread (1), or holds a posted notice (2).
// Zero-initialised: no constructor runs and no page is touched until something is said.
struct NoticeSlot {
  std::atomic<int> state;
  char text[kNoticeMax + 1];
};
NoticeSlot g_notices[kNoticeSlots];

}  // namespace

void diag_notice(const char* text) {
  for (NoticeSlot& s : g_notices) {
    int expected = 0;
    if (!s.state.compare_exchange_strong(expected, 1, std::memory_order_acquire)) continue;
    const size_t len = strnlen(text, kNoticeMax);
    std::memcpy(s.text, text, len);
    s.text[len] = '\0';
    s.state.store(2, std::memory_order_release);
    return;
  }
}

size_t diag_take_notices(char* out, size_t cap, size_t used) {
  if (cap == 0) return 0;
  if (used >= cap) used = cap - 1;
  for (NoticeSlot& s : g_notices) {
    // Read first: x86's compare-exchange writes even when it fails, and a fork's record comes right
    // after the fork, when writing the board's page would cost the parent a copy-on-write fault.
    if (s.state.load(std::memory_order_relaxed) != 2) continue;
    int expected = 2;
    if (!s.state.compare_exchange_strong(expected, 1, std::memory_order_acquire)) continue;
    const size_t len = std::strlen(s.text);
    const size_t sep = used > 0 ? 2 : 0;
    if (used + sep + len >= cap) {  // no room in this record: the next one carries it
      s.state.store(2, std::memory_order_release);
      continue;
    }
    if (sep > 0) std::memcpy(out + used, "; ", 2);
    std::memcpy(out + used + sep, s.text, len);
    used += sep + len;
    s.state.store(0, std::memory_order_release);
  }
  out[used] = '\0';
  return used;
}

}  // namespace forkguard

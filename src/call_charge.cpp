/// @file call_charge.cpp
/// @brief Which calls a libc makes with a copying (charged) fork; the running libc's version.
#include "forkguard/call_charge.hpp"

#include <spawn.h>

#include <atomic>

// glibc's; weak so that the library loads on a libc without it (then the pointer is null).
extern "C" const char* gnu_get_libc_version(void) __attribute__((weak));

namespace forkguard {

LibcVersion parse_libc_version(const char* text) {
  LibcVersion v;
  if (text == nullptr) return v;
  v.glibc = true;
  int major = 0, minor = 0;
  const char* p = text;
  if (*p < '0' || *p > '9') return v;
  while (*p >= '0' && *p <= '9' && major < 1000) major = major * 10 + (*p++ - '0');
  if (*p != '.') return v;
  ++p;
  if (*p < '0' || *p > '9') return v;
  while (*p >= '0' && *p <= '9' && minor < 1000) minor = minor * 10 + (*p++ - '0');
  v.major = major;
  v.minor = minor;
  return v;
}

const LibcVersion& running_libc() {
  static std::atomic<int> state{0};  // 0 unread, 1 read (the value is the same for every reader)
  static LibcVersion libc;
  if (state.load(std::memory_order_acquire) == 0) {
    libc = parse_libc_version(gnu_get_libc_version != nullptr ? gnu_get_libc_version() : nullptr);
    state.store(1, std::memory_order_release);
  }
  return libc;
}

namespace {
// The attributes that made glibc before 2.24 fork rather than vfork (sysdeps/posix/spawni.c).
constexpr short kForkingFlags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSCHEDPARAM |
                                POSIX_SPAWN_SETSCHEDULER | POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_RESETIDS;
}  // namespace

bool call_is_charged(CallKind kind, const LibcVersion& libc, const SpawnShape& spawn) {
  if (kind == CallKind::vfork || kind == CallKind::pclose) return false;
  if (kind == CallKind::system || kind == CallKind::popen) return libc.glibc && !libc.at_least(2, 29);
  if (kind == CallKind::posix_spawn || kind == CallKind::posix_spawnp) {
    if (!libc.glibc || libc.at_least(2, 24)) return false;
    if ((spawn.flags & POSIX_SPAWN_USEVFORK) != 0) return false;
    return spawn.file_actions || (spawn.flags & kForkingFlags) != 0;
  }
  return true;  // fork, _Fork, daemon: a copying fork
}

}  // namespace forkguard

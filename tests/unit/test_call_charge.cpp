/// @file test_call_charge.cpp
/// @brief Which calls are charged for the parent's memory, by libc version and spawn attributes.
/// Only glibc 2.36 runs here: the rules for older glibc and for musl are proven on these pure functions.
#include <catch2/catch.hpp>
#include <spawn.h>

#include "forkguard/call_charge.hpp"

using forkguard::call_is_charged;
using forkguard::CallKind;
using forkguard::LibcVersion;
using forkguard::parse_libc_version;
using forkguard::SpawnShape;

TEST_CASE("gnu_get_libc_version texts parse, and no function means not glibc") {
  const LibcVersion v236 = parse_libc_version("2.36");
  CHECK(v236.glibc);
  CHECK(v236.major == 2);
  CHECK(v236.minor == 36);
  const LibcVersion v217 = parse_libc_version("2.17");
  CHECK((v217.glibc && v217.minor == 17));
  CHECK(parse_libc_version("2.28.9000").minor == 28);  // development snapshots
  CHECK_FALSE(parse_libc_version(nullptr).glibc);      // musl and others: no gnu_get_libc_version
  const LibcVersion garbage = parse_libc_version("banana");
  CHECK(garbage.glibc);  // a glibc whose version cannot be read counts as the oldest
  CHECK_FALSE(garbage.at_least(2, 0));
}

TEST_CASE("the running libc is this machine's glibc") {
  const LibcVersion& v = forkguard::running_libc();
  CHECK(v.glibc);
  CHECK(v.at_least(2, 29));
}

TEST_CASE("fork, _Fork and daemon are always charged, vfork never") {
  for (const char* text : {"2.17", "2.28", "2.36", static_cast<const char*>(nullptr)}) {
    const LibcVersion v = parse_libc_version(text);
    CHECK(call_is_charged(CallKind::fork, v));
    CHECK(call_is_charged(CallKind::_Fork, v));
    CHECK(call_is_charged(CallKind::daemon, v));
    CHECK_FALSE(call_is_charged(CallKind::vfork, v));
  }
}

TEST_CASE("system() and popen() fork before glibc 2.29, spawn from 2.29 and on musl") {
  for (CallKind k : {CallKind::system, CallKind::popen}) {
    CHECK(call_is_charged(k, parse_libc_version("2.17")));
    CHECK(call_is_charged(k, parse_libc_version("2.28")));
    CHECK_FALSE(call_is_charged(k, parse_libc_version("2.29")));
    CHECK_FALSE(call_is_charged(k, parse_libc_version("2.36")));
    CHECK_FALSE(call_is_charged(k, parse_libc_version("3.0")));
    CHECK_FALSE(call_is_charged(k, parse_libc_version(nullptr)));
  }
}

TEST_CASE("posix_spawn before glibc 2.24 forks unless USEVFORK, or no file actions and no forking flags") {
  const LibcVersion old = parse_libc_version("2.23");
  for (CallKind k : {CallKind::posix_spawn, CallKind::posix_spawnp}) {
    CHECK_FALSE(call_is_charged(k, old, SpawnShape{false, 0}));  // vfork: nothing to do in the child
    CHECK(call_is_charged(k, old, SpawnShape{true, 0}));          // file actions, even empty ones: fork
    CHECK_FALSE(call_is_charged(k, old, SpawnShape{true, POSIX_SPAWN_USEVFORK}));
    for (short f : {POSIX_SPAWN_SETSIGMASK, POSIX_SPAWN_SETSIGDEF, POSIX_SPAWN_SETSCHEDPARAM, POSIX_SPAWN_SETSCHEDULER,
                    POSIX_SPAWN_SETPGROUP, POSIX_SPAWN_RESETIDS}) {
      INFO(f);
      CHECK(call_is_charged(k, old, SpawnShape{false, f}));
      CHECK_FALSE(call_is_charged(k, old, SpawnShape{false, static_cast<short>(f | POSIX_SPAWN_USEVFORK)}));
    }
    CHECK_FALSE(call_is_charged(k, old, SpawnShape{false, POSIX_SPAWN_SETSID}));  // not one the old rule looked at
    // From 2.24 (clone with CLONE_VM|CLONE_VFORK) and on musl: never.
    CHECK_FALSE(call_is_charged(k, parse_libc_version("2.24"), SpawnShape{true, POSIX_SPAWN_SETSIGMASK}));
    CHECK_FALSE(call_is_charged(k, parse_libc_version(nullptr), SpawnShape{true, POSIX_SPAWN_SETSIGMASK}));
  }
}

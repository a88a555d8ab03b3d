// Tests for smaps_cache.cpp and its use by gather_picture(): the last smaps walk is reused only
// while maps reads the same, in the same generation and within its age.
#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "forkguard/picture.hpp"
#include "forkguard/smaps_cache.hpp"

using namespace forkguard;

namespace {

std::string write_temp(const char* text) {
  char path[] = "/tmp/fg-maps-key.XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  const size_t len = std::char_traits<char>::length(text);
  REQUIRE(write(fd, text, len) == static_cast<ssize_t>(len));
  close(fd);
  return path;
}

ChargeSummary summary_of(int64_t charge_kb) {
  ChargeSummary s;
  s.charge_kb = charge_kb;
  s.largest_kb = charge_kb;
  return s;
}

}  // namespace

TEST_CASE("smaps cache: the key is the maps text, byte for byte", "[smaps_cache]") {
  static const char kLine[] = "00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/dbus-daemon\n";
  const std::string a = write_temp(kLine);
  const std::string b = write_temp(kLine);
  const std::string c = write_temp("00400000-00453000 r-xp 00000000 08:02 173521 /usr/bin/dbus-daemon\n");
  MapsKey ka, kb, kc;
  REQUIRE(read_maps_key(a.c_str(), ka) == 0);
  REQUIRE(read_maps_key(b.c_str(), kb) == 0);
  REQUIRE(read_maps_key(c.c_str(), kc) == 0);
  CHECK(ka == kb);
  CHECK_FALSE(ka == kc);
  CHECK(ka.len == sizeof kLine - 1);
  unlink(a.c_str());
  unlink(b.c_str());
  unlink(c.c_str());
  MapsKey none;
  errno = 0;
  CHECK(read_maps_key("/nonexistent/maps", none) == -1);
  CHECK(errno == ENOENT);
}

TEST_CASE("smaps cache: a walk is reused under its key, in its generation, within its age", "[smaps_cache]") {
  SmapsCache cache(1000);
  const MapsKey k1{100, 1}, k2{100, 2};
  ChargeSummary out;
  CHECK_FALSE(cache.lookup(k1, 0, out));  // nothing kept yet

  cache.store(k1, 5000, cache.generation(), summary_of(42));
  out = ChargeSummary{};
  CHECK(cache.lookup(k1, 5000, out));
  CHECK(out.charge_kb == 42);
  CHECK(cache.lookup(k1, 6000, out));        // exactly the age
  CHECK_FALSE(cache.lookup(k1, 6001, out));  // older
  CHECK_FALSE(cache.lookup(k1, 4999, out));  // a clock that went back is no reason to trust it
  CHECK_FALSE(cache.lookup(k2, 5000, out));  // another map

  cache.clear();
  CHECK_FALSE(cache.lookup(k1, 5000, out));  // forgotten

  // A walk begun before a clear() is not kept: it may have seen the flags the clear was about.
  const uint64_t before = cache.generation();
  cache.clear();
  cache.store(k1, 5000, before, summary_of(7));
  CHECK_FALSE(cache.lookup(k1, 5000, out));
  cache.store(k1, 5000, cache.generation(), summary_of(8));
  CHECK(cache.lookup(k1, 5000, out));
  CHECK(out.charge_kb == 8);
}

TEST_CASE("smaps cache: real kernel: gather_picture reuses this process's walk until a mapping changes",
          "[smaps_cache][kernel]") {
  constexpr size_t kLen = size_t(64) << 20;
  // margin 100%: every automatic gather walks (or reuses). No Catch2 assertion between the
  // gathers (it may grow the heap and change maps); an attempt another thread disturbed is retried.
  struct Attempt {
    Picture first, again, mapped, marked, forgotten;
    bool mapped_ok = false;
    int adv = -1;
  };
  static Attempt a;  // five Pictures: too large for the test thread's stack
  for (int attempt = 0; attempt < 5; ++attempt) {
    a = Attempt{};
    forget_smaps_walks();
    gather_picture(0, Precision::automatic, 100, a.first);
    gather_picture(0, Precision::automatic, 100, a.again);
    void* p = mmap(nullptr, kLen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    a.mapped_ok = p != MAP_FAILED;
    gather_picture(0, Precision::automatic, 100, a.mapped);
    a.adv = a.mapped_ok ? madvise(p, kLen, MADV_DONTFORK) : -1;
    gather_picture(0, Precision::automatic, 100, a.marked);
    forget_smaps_walks();
    gather_picture(0, Precision::automatic, 100, a.forgotten);
    if (a.mapped_ok) munmap(p, kLen);
    if (!a.mapped_ok || a.adv != 0) break;
    if (a.again.smaps_reused && a.mapped.smaps.charge_kb - a.first.smaps.charge_kb == 65536) break;  // undisturbed
  }
  REQUIRE(a.mapped_ok);
  REQUIRE(a.adv == 0);
  REQUIRE(a.first.used_smaps);
  CHECK_FALSE(a.first.smaps_reused);
  CHECK(a.again.smaps_reused);  // maps read the same: no second walk
  CHECK(a.again.smaps.charge_kb == a.first.smaps.charge_kb);
  CHECK_FALSE(a.mapped.smaps_reused);  // a new mapping: walked again, and charged exactly
  CHECK(a.mapped.smaps.charge_kb - a.first.smaps.charge_kb == 65536);
  // MADV_DONTFORK of a whole mapping does not show in maps: within the age the walk may be the
  // old one (the documented limit); when the marking split a merged mapping, maps changed.
  if (a.marked.smaps_reused) {
    CHECK(a.marked.smaps.charge_kb == a.mapped.smaps.charge_kb);
  } else {
    CHECK(a.marked.smaps.charge_kb == a.first.smaps.charge_kb);
  }
  CHECK_FALSE(a.forgotten.smaps_reused);  // forget_smaps_walks(): read again, the mark seen
  CHECK(a.forgotten.smaps.charge_kb == a.first.smaps.charge_kb);
  CHECK(a.forgotten.smaps.dontfork_kb - a.first.smaps.dontfork_kb == 65536);
}

/// @file test_site_profile.cpp
/// @brief The profile format: observations parsed and judged; foreign or cut text rejected.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "forkguard/site_profile.hpp"

namespace {
struct Seen {
  std::map<std::string, std::pair<int, int>> sites;  // children, spawn-like
};
void visit(std::string_view site, bool spawn_like, std::string_view, void* ctx) {
  auto& s = static_cast<Seen*>(ctx)->sites[std::string(site)];
  ++s.first;
  if (spawn_like) ++s.second;
}
}  // namespace

TEST_CASE("profile observations: only exec/_exit with nothing written, judged by uffd-wp, are spawn-like") {
  Seen seen;
  REQUIRE(forkguard::parse_profile("fgp1 app+0x10 exec 0 uffd-wp\n"
                                   "fgp1 app+0x10 _exit 0 uffd-wp\n"
                                   "fgp1 app+0x20 _exit 3 uffd-wp\n"
                                   "fgp1 app+0x30 exit 0 uffd-wp\n"
                                   "fgp1 app+0x40 exec 0 exec-only\n",
                                   visit, &seen));
  CHECK(seen.sites["app+0x10"] == std::make_pair(2, 2));
  CHECK(seen.sites["app+0x20"] == std::make_pair(1, 0));
  CHECK(seen.sites["app+0x30"] == std::make_pair(1, 0));
  CHECK(seen.sites["app+0x40"] == std::make_pair(1, 0));  // writes unseen: never learned
}

TEST_CASE("a foreign, damaged or cut profile is rejected") {
  Seen seen;
  CHECK_FALSE(forkguard::parse_profile("not a profile\n", visit, &seen));
  CHECK_FALSE(forkguard::parse_profile("fgp1 app+0x10 exec 0 uffd-wp", visit, &seen));  // no newline
  CHECK_FALSE(forkguard::parse_profile("fgp1 app+0x10 fork 0 uffd-wp\n", visit, &seen));
  CHECK_FALSE(forkguard::parse_profile("fgp1 app+0x10 exec -1 uffd-wp\n", visit, &seen));
  CHECK_FALSE(forkguard::parse_profile("fgp1 app+0x10 exec 0 uffd-wp extra\n", visit, &seen));
  CHECK_FALSE(forkguard::parse_profile("fgp2 app+0x10 exec 0 uffd-wp\n", visit, &seen));
  CHECK(forkguard::parse_profile("", visit, &seen));
}

TEST_CASE("SiteStats: learned only when every observed child was spawn-like") {
  forkguard::SiteStats s;
  CHECK_FALSE(s.learned());
  s.children = 3;
  s.spawn_like = 3;
  CHECK(s.learned());
  s.spawn_like = 2;
  CHECK_FALSE(s.learned());
}

/// @file test_diag.cpp
/// @brief The notice board: posted notices are taken by the next record, in one piece, each once.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "forkguard/diag.hpp"

using forkguard::diag_notice;
using forkguard::diag_take_notices;

namespace {
std::string take(size_t cap = 4096) {
  std::vector<char> buf(cap);
  const size_t n = diag_take_notices(buf.data(), buf.size(), 0);
  return std::string(buf.data(), n);
}
}  // namespace

TEST_CASE("notices are taken once, joined by a semicolon and a space") {
  take();
  CHECK(take().empty());
  diag_notice("first");
  diag_notice("second");
  const std::string got = take();
  CHECK((got == "first; second" || got == "second; first"));
  CHECK(take().empty());
}

TEST_CASE("a notice that does not fit the record waits for the next one") {
  take();
  diag_notice(std::string(100, 'a').c_str());
  diag_notice("short");
  const std::string first = take(40);
  CHECK(first == "short");
  CHECK(take() == std::string(100, 'a'));
}

TEST_CASE("a notice is cut at kNoticeMax, and a full board drops what it cannot hold") {
  take();
  diag_notice(std::string(5000, 'x').c_str());
  CHECK(take().size() == forkguard::kNoticeMax);
  for (int i = 0; i < forkguard::kNoticeSlots + 3; ++i) diag_notice(std::to_string(i).c_str());
  const std::string all = take();
  int parts = 1;
  for (char c : all) parts += c == ';';
  CHECK(parts == forkguard::kNoticeSlots);
}

TEST_CASE("notices posted by many threads are each taken exactly once [concurrency]") {
  take();
  std::vector<std::thread> posters;
  std::string taken;
  for (int t = 0; t < 4; ++t) posters.emplace_back([t] { diag_notice(("n" + std::to_string(t)).c_str()); });
  for (auto& th : posters) th.join();
  taken = take();
  for (int t = 0; t < 4; ++t) CHECK(taken.find("n" + std::to_string(t)) != std::string::npos);
  CHECK(take().empty());
}

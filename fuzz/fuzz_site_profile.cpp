/// @file fuzz_site_profile.cpp
/// @brief libFuzzer target: parse_profile over FORKGUARD_PROFILE text ("fgp1 site outcome pages method").
#include <cstddef>
#include <cstdint>

#include "forkguard/site_profile.hpp"
#include "fuzz_check.hpp"

using namespace forkguard;

namespace {

struct Ctx {
  std::string_view text;
  size_t visits = 0;
};

void visit(std::string_view site, bool spawn_like, std::string_view method, void* p) {
  Ctx& c = *static_cast<Ctx*>(p);
  ++c.visits;
  FG_FUZZ_CHECK(!site.empty() && fuzz::within(site, c.text) && fuzz::within(method, c.text));
  FG_FUZZ_CHECK(site.find(' ') == std::string_view::npos && site.find('\n') == std::string_view::npos);
  FG_FUZZ_CHECK(method == "uffd-wp" || method == "exec-only");
  FG_FUZZ_CHECK(!spawn_like || method == "uffd-wp");  // exec-only cannot see writes, so never learns
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Ctx c{fuzz::as_text(data, size)};
  const bool ok = parse_profile(c.text, visit, &c);
  size_t lines = 0;
  for (char ch : c.text) lines += ch == '\n';
  if (ok) {
    // Accepted: every line was one observation, and the text ended with a whole line.
    FG_FUZZ_CHECK(c.visits == lines);
    FG_FUZZ_CHECK(c.text.empty() || c.text.back() == '\n');
  } else {
    FG_FUZZ_CHECK(c.visits <= lines);
  }
  return 0;
}

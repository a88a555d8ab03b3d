/// @file fuzz_config.cpp
/// @brief libFuzzer target: parse_config over FORKGUARD_* values, and parse_int / parse_size_kb.
/// Input: byte 0 = flags (bit 0: secure execution), then values separated by NUL; value i sets
/// option i % kOptionCount, and a later value of the same option replaces the earlier one.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <climits>
#include <map>
#include <string>
#include <vector>

#include "forkguard/config.hpp"
#include "fuzz_check.hpp"

using namespace forkguard;

namespace {

using Env = std::map<std::string, std::string>;

const char* lookup(const char* name, void* ctx) {
  const Env& env = *static_cast<Env*>(ctx);
  auto it = env.find(name);
  return it == env.end() ? nullptr : it->second.c_str();
}

void collect(const char* message, void* ctx) { static_cast<std::vector<std::string>*>(ctx)->push_back(message); }

bool terminated(const char* s, size_t cap) { return strnlen(s, cap) < cap; }

// Reference parse_int: an optional '-', decimal digits, nothing else, inside int64 and [lo, hi].
bool ref_int(const std::string& v, int64_t lo, int64_t hi, int64_t& out) {
  size_t i = v.size() > 0 && v[0] == '-' ? 1 : 0;
  const bool neg = i == 1;
  if (i >= v.size()) return false;
  __int128 m = 0;
  for (; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') return false;
    m = m * 10 + (v[i] - '0');
    if (m > (static_cast<__int128>(INT64_MAX) + 1)) return false;
  }
  const __int128 value = neg ? -m : m;
  if (value > INT64_MAX || value < lo || value > hi) return false;
  out = static_cast<int64_t>(value);
  return true;
}

// Reference parse_size_kb: digits, then at most one of k K m M g G; plain bytes round up to kB.
bool ref_size_kb(const std::string& v, int64_t& kb) {
  size_t i = 0;
  __int128 n = 0;
  for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) {
    n = n * 10 + (v[i] - '0');
    if (n > INT64_MAX) return false;
  }
  if (i == 0) return false;
  __int128 mult = 0;
  if (i < v.size()) {
    const char s = v[i++];
    mult = (s == 'k' || s == 'K') ? 1 : (s == 'm' || s == 'M') ? 1024 : (s == 'g' || s == 'G') ? 1024 * 1024 : -1;
    if (mult < 0) return false;
  }
  if (i != v.size()) return false;
  const __int128 r = mult == 0 ? (n + 1023) / 1024 : n * mult;
  if (r > INT64_MAX) return false;
  kb = static_cast<int64_t>(r);
  return true;
}

// The number parsers against their references (differential: same verdict, same value).
void check_numbers(const std::string& v) {
  int64_t got = 0, want = 0;
  const bool ok = parse_int(v.c_str(), -1000, 1000000, got);
  FG_FUZZ_CHECK(ok == ref_int(v, -1000, 1000000, want));
  if (ok) FG_FUZZ_CHECK(got == want);
  const bool wide = parse_int(v.c_str(), INT64_MIN, INT64_MAX, got);
  FG_FUZZ_CHECK(wide == ref_int(v, INT64_MIN, INT64_MAX, want));
  if (wide) FG_FUZZ_CHECK(got == want);
  const bool sized = parse_size_kb(v.c_str(), got);
  FG_FUZZ_CHECK(sized == ref_size_kb(v, want));
  if (sized) FG_FUZZ_CHECK(got == want);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool secure = data[0] & 1;
  Env env;
  size_t i = 1, index = 0;
  while (i <= size && index < 4 * kOptionCount) {
    const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(data + i, 0, size - i));
    const size_t end = nul ? static_cast<size_t>(nul - data) : size;
    env[kOptions[index % kOptionCount].name] = std::string(reinterpret_cast<const char*>(data + i), end - i);
    ++index;
    i = end + 1;
  }

  std::vector<std::string> warnings;
  const Config c = parse_config(lookup, &env, secure, collect, &warnings);

  // One warning at most per variable set, each one line with control bytes escaped.
  FG_FUZZ_CHECK(warnings.size() <= env.size());
  for (const std::string& w : warnings) {
    FG_FUZZ_CHECK(!w.empty() && w.size() < 512);
    for (char ch : w) FG_FUZZ_CHECK(static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f);
    FG_FUZZ_CHECK(w.rfind("FORKGUARD_", 0) == 0);  // names the variable it is about
  }
  // Every field in its documented range, every string terminated within its array.
  FG_FUZZ_CHECK(c.stack_depth >= 0 && c.stack_depth <= 64);
  FG_FUZZ_CHECK(c.precise_margin_pct >= 0 && c.precise_margin_pct <= 100);
  FG_FUZZ_CHECK(c.vfork_timeout_s >= 1 && c.vfork_timeout_s <= 3600);
  FG_FUZZ_CHECK(c.slim_min_kb >= 4);
  FG_FUZZ_CHECK(terminated(c.log_path, sizeof c.log_path) && terminated(c.profile_path, sizeof c.profile_path) &&
                terminated(c.vfork_site_list, sizeof c.vfork_site_list));
  FG_FUZZ_CHECK((c.log_kind == LogKind::file) == (c.log_path[0] != '\0'));
  FG_FUZZ_CHECK((c.vfork_sites == VforkSites::list) == (c.vfork_site_list[0] != '\0'));
  if (secure) FG_FUZZ_CHECK(c.log_kind != LogKind::file && c.profile_path[0] == '\0');  // AT_SECURE: no env paths
  if (c.log_kind == LogKind::file) FG_FUZZ_CHECK(env["FORKGUARD_LOG"] == c.log_path);
  if (c.profile_path[0]) FG_FUZZ_CHECK(env["FORKGUARD_PROFILE"] == c.profile_path);
  // An unset variable keeps its default and says nothing.
  if (!env.count("FORKGUARD_MODE")) FG_FUZZ_CHECK(c.mode == Mode::observe);
  if (!env.count("FORKGUARD_STACK")) FG_FUZZ_CHECK(c.stack_depth == 16);

  // No hidden state: the same environment gives the same settings and warnings.
  std::vector<std::string> warnings2;
  const Config c2 = parse_config(lookup, &env, secure, collect, &warnings2);
  FG_FUZZ_CHECK(warnings2 == warnings);
  FG_FUZZ_CHECK(c2.mode == c.mode && c2.trigger == c.trigger && c2.log_kind == c.log_kind &&
                c2.format == c.format && c2.stack_depth == c.stack_depth && c2.vfork_sites == c.vfork_sites &&
                c2.slim_min_kb == c.slim_min_kb && std::strcmp(c2.log_path, c.log_path) == 0 &&
                std::strcmp(c2.vfork_site_list, c.vfork_site_list) == 0 &&
                std::strcmp(c2.profile_path, c.profile_path) == 0);

  for (const auto& kv : env)
    check_numbers(kv.second);
  return 0;
}

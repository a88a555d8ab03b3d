/// @file test_config.cpp
/// @brief FORKGUARD_* parsing: defaults, every valid value, one warning per bad value, secure mode.
#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "forkguard/config.hpp"

using namespace forkguard;

namespace {

struct FakeEnv {
  std::map<std::string, std::string> vars;
  std::vector<std::string> warnings;
};

const char* lookup(const char* name, void* ctx) {
  auto* env = static_cast<FakeEnv*>(ctx);
  auto it = env->vars.find(name);
  return it == env->vars.end() ? nullptr : it->second.c_str();
}

void collect(const char* message, void* ctx) { static_cast<FakeEnv*>(ctx)->warnings.push_back(message); }

Config parse(FakeEnv& env, bool secure = false) {
  return parse_config(lookup, &env, secure, collect, &env);
}

Config parse_one(const std::string& name, const std::string& value, FakeEnv& env, bool secure = false) {
  env.vars[name] = value;
  return parse(env, secure);
}

// Every field of `c` equals the defaults.
void require_defaults(const Config& c) {
  const Config d;
  CHECK(c.mode == Mode::observe);
  CHECK(c.trigger == Trigger::predicted);
  CHECK(c.log_kind == LogKind::stderr_stream);
  CHECK(c.log_path[0] == '\0');
  CHECK(c.format == Format::text);
  CHECK(c.stack_depth == 16);
  CHECK(c.vfork_sites == VforkSites::learned);
  CHECK(c.vfork_site_list[0] == '\0');
  CHECK(c.profile_path[0] == '\0');
  CHECK(c.slim_min_kb == 64 * 1024);
  CHECK(c.precise_margin_pct == 10);
  CHECK(c.vfork_timeout_s == 5);
  CHECK(d.slim_min_kb == c.slim_min_kb);
}

const std::vector<std::string>& option_names() {
  static const std::vector<std::string> names = {
      "FORKGUARD_MODE",  "FORKGUARD_TRIGGER",      "FORKGUARD_LOG",      "FORKGUARD_FORMAT",
      "FORKGUARD_STACK", "FORKGUARD_VFORK_SITES",  "FORKGUARD_PROFILE",  "FORKGUARD_SLIM_MIN",
      "FORKGUARD_PRECISE_MARGIN", "FORKGUARD_VFORK_TIMEOUT"};
  return names;
}

}  // namespace

TEST_CASE("config: nothing set gives the defaults and no warning", "[config]") {
  FakeEnv env;
  Config c = parse(env);
  require_defaults(c);
  CHECK(env.warnings.empty());
}

TEST_CASE("config: the table lists every option once, each with a one-sentence help", "[config]") {
  REQUIRE(kOptionCount == option_names().size());
  for (size_t i = 0; i < kOptionCount; ++i) {
    CHECK(std::string(kOptions[i].name) == option_names()[i]);
    std::string help = kOptions[i].help;
    CHECK(!help.empty());
    CHECK(help.back() == '.');
    CHECK(std::string(kOptions[i].values).size() > 0);
    CHECK(std::string(kOptions[i].default_text).size() > 0);
  }
}

TEST_CASE("config: every valid word is accepted without a warning", "[config]") {
  FakeEnv env;
  SECTION("mode") {
    CHECK(parse_one("FORKGUARD_MODE", "observe", env).mode == Mode::observe);
    CHECK(parse_one("FORKGUARD_MODE", "mitigate", env).mode == Mode::mitigate);
    CHECK(parse_one("FORKGUARD_MODE", "off", env).mode == Mode::off);
  }
  SECTION("trigger") {
    CHECK(parse_one("FORKGUARD_TRIGGER", "predicted", env).trigger == Trigger::predicted);
    CHECK(parse_one("FORKGUARD_TRIGGER", "always", env).trigger == Trigger::always);
  }
  SECTION("format") {
    CHECK(parse_one("FORKGUARD_FORMAT", "text", env).format == Format::text);
    CHECK(parse_one("FORKGUARD_FORMAT", "json", env).format == Format::json);
  }
  SECTION("log") {
    CHECK(parse_one("FORKGUARD_LOG", "stderr", env).log_kind == LogKind::stderr_stream);
    CHECK(parse_one("FORKGUARD_LOG", "syslog", env).log_kind == LogKind::syslog);
    Config c = parse_one("FORKGUARD_LOG", "/tmp/fg.%p.jsonl", env);
    CHECK(c.log_kind == LogKind::file);
    CHECK(std::string(c.log_path) == "/tmp/fg.%p.jsonl");
    c = parse_one("FORKGUARD_LOG", "relative.log", env);
    CHECK(c.log_kind == LogKind::file);
    CHECK(std::string(c.log_path) == "relative.log");
  }
  SECTION("vfork sites") {
    CHECK(parse_one("FORKGUARD_VFORK_SITES", "learned", env).vfork_sites == VforkSites::learned);
    CHECK(parse_one("FORKGUARD_VFORK_SITES", "all", env).vfork_sites == VforkSites::all);
    CHECK(parse_one("FORKGUARD_VFORK_SITES", "none", env).vfork_sites == VforkSites::none);
    Config c = parse_one("FORKGUARD_VFORK_SITES", "app+0x1a2B, spawn_helper ,libx.so.1+0x10", env);
    CHECK(c.vfork_sites == VforkSites::list);
    CHECK(std::string(c.vfork_site_list) == "app+0x1a2B,spawn_helper,libx.so.1+0x10");
  }
  SECTION("profile") {
    CHECK(std::string(parse_one("FORKGUARD_PROFILE", "/var/tmp/app.profile", env).profile_path) ==
          "/var/tmp/app.profile");
  }
  SECTION("numbers") {
    CHECK(parse_one("FORKGUARD_STACK", "0", env).stack_depth == 0);
    CHECK(parse_one("FORKGUARD_STACK", "64", env).stack_depth == 64);
    CHECK(parse_one("FORKGUARD_PRECISE_MARGIN", "0", env).precise_margin_pct == 0);
    CHECK(parse_one("FORKGUARD_PRECISE_MARGIN", "100", env).precise_margin_pct == 100);
    CHECK(parse_one("FORKGUARD_VFORK_TIMEOUT", "1", env).vfork_timeout_s == 1);
    CHECK(parse_one("FORKGUARD_VFORK_TIMEOUT", "3600", env).vfork_timeout_s == 3600);
    CHECK(parse_one("FORKGUARD_SLIM_MIN", "1G", env).slim_min_kb == 1024 * 1024);
    CHECK(parse_one("FORKGUARD_SLIM_MIN", "4k", env).slim_min_kb == 4);
  }
  CHECK(env.warnings.empty());
}

TEST_CASE("config: a bad value warns exactly once and keeps the default", "[config]") {
  const std::string huge(1024 * 1024, 'x');
  struct Case {
    const char* name;
    std::string value;
  };
  const std::vector<Case> cases = {
      {"FORKGUARD_MODE", "bogus"},      {"FORKGUARD_MODE", "Observe"},  {"FORKGUARD_MODE", ""},
      {"FORKGUARD_MODE", " observe"},   {"FORKGUARD_MODE", huge},       {"FORKGUARD_TRIGGER", "never"},
      {"FORKGUARD_TRIGGER", ""},        {"FORKGUARD_TRIGGER", huge},    {"FORKGUARD_LOG", ""},
      {"FORKGUARD_LOG", huge},          {"FORKGUARD_FORMAT", "JSON"},   {"FORKGUARD_FORMAT", ""},
      {"FORKGUARD_FORMAT", huge},       {"FORKGUARD_STACK", "-1"},      {"FORKGUARD_STACK", "65"},
      {"FORKGUARD_STACK", "16x"},       {"FORKGUARD_STACK", ""},        {"FORKGUARD_STACK", " 8"},
      {"FORKGUARD_STACK", "99999999999999999999999"},                   {"FORKGUARD_STACK", huge},
      {"FORKGUARD_VFORK_SITES", ""},    {"FORKGUARD_VFORK_SITES", "a,,b"},
      {"FORKGUARD_VFORK_SITES", "all,app+0x10"},                        {"FORKGUARD_VFORK_SITES", "app+0x"},
      {"FORKGUARD_VFORK_SITES", "+0x10"},                               {"FORKGUARD_VFORK_SITES", "app+0xzz"},
      {"FORKGUARD_VFORK_SITES", huge},  {"FORKGUARD_PROFILE", ""},      {"FORKGUARD_PROFILE", huge},
      {"FORKGUARD_SLIM_MIN", "-64M"},   {"FORKGUARD_SLIM_MIN", "64X"},  {"FORKGUARD_SLIM_MIN", ""},
      {"FORKGUARD_SLIM_MIN", "0"},      {"FORKGUARD_SLIM_MIN", "1k"},   {"FORKGUARD_SLIM_MIN", "9223372036854775807G"},
      {"FORKGUARD_SLIM_MIN", huge},     {"FORKGUARD_PRECISE_MARGIN", "101"},
      {"FORKGUARD_PRECISE_MARGIN", "ten"},                              {"FORKGUARD_VFORK_TIMEOUT", "0"},
      {"FORKGUARD_VFORK_TIMEOUT", "3601"},                              {"FORKGUARD_VFORK_TIMEOUT", "5s"},
  };
  for (const Case& c : cases) {
    INFO(c.name << "=\"" << c.value.substr(0, 40) << "\" (" << c.value.size() << " bytes)");
    FakeEnv env;
    Config cfg = parse_one(c.name, c.value, env);
    require_defaults(cfg);
    REQUIRE(env.warnings.size() == 1);
    const std::string& w = env.warnings[0];
    CHECK(w.rfind(c.name, 0) == 0);   // names the variable first
    CHECK(w.size() < 400);            // a 1 MiB value is not echoed back
    CHECK(w.find('\n') == std::string::npos);
  }
}

TEST_CASE("config: warning wording", "[config]") {
  FakeEnv env;
  parse_one("FORKGUARD_MODE", "bogus", env);
  REQUIRE(env.warnings.size() == 1);
  CHECK(env.warnings[0] == "FORKGUARD_MODE=\"bogus\" is not one of observe, mitigate, off; using observe");

  FakeEnv env2;
  parse_one("FORKGUARD_FORMAT", std::string("a\nb\x1b"), env2);
  REQUIRE(env2.warnings.size() == 1);
  CHECK(env2.warnings[0].find("\"a\\x0ab\\x1b\"") != std::string::npos);  // control bytes escaped

  FakeEnv env3;
  parse_one("FORKGUARD_LOG", std::string(5000, 'p'), env3);
  REQUIRE(env3.warnings.size() == 1);
  CHECK(env3.warnings[0] == "FORKGUARD_LOG is longer than 1023 bytes; using stderr");
}

TEST_CASE("config: the longest value that fits is kept whole", "[config]") {
  FakeEnv env;
  const std::string path = "/" + std::string(sizeof(Config::log_path) - 2, 'a');
  Config c = parse_one("FORKGUARD_LOG", path, env);
  CHECK(env.warnings.empty());
  CHECK(c.log_kind == LogKind::file);
  CHECK(std::string(c.log_path) == path);

  FakeEnv env2;
  Config c2 = parse_one("FORKGUARD_LOG", path + "a", env2);
  CHECK(env2.warnings.size() == 1);
  CHECK(c2.log_kind == LogKind::stderr_stream);
}

TEST_CASE("config: several bad values give one warning each", "[config]") {
  FakeEnv env;
  env.vars = {{"FORKGUARD_MODE", "x"}, {"FORKGUARD_STACK", "y"}, {"FORKGUARD_FORMAT", "json"}};
  Config c = parse(env);
  CHECK(env.warnings.size() == 2);
  CHECK(c.format == Format::json);
  CHECK(c.mode == Mode::observe);
}

TEST_CASE("config: secure execution ignores paths from the environment", "[config]") {
  FakeEnv env;
  env.vars = {{"FORKGUARD_LOG", "/etc/evil"}, {"FORKGUARD_PROFILE", "/etc/evil.profile"},
              {"FORKGUARD_MODE", "mitigate"}};
  Config c = parse(env, /*secure=*/true);
  CHECK(c.log_kind == LogKind::stderr_stream);
  CHECK(c.log_path[0] == '\0');
  CHECK(c.profile_path[0] == '\0');
  CHECK(c.mode == Mode::mitigate);
  REQUIRE(env.warnings.size() == 2);
  CHECK(env.warnings[0].rfind("FORKGUARD_LOG", 0) == 0);
  CHECK(env.warnings[1].rfind("FORKGUARD_PROFILE", 0) == 0);

  SECTION("the vfork substitute cannot be granted from the environment") {
    for (const char* v : {"all", "app+0x10,main"}) {
      FakeEnv s;
      Config sc = parse_one("FORKGUARD_VFORK_SITES", v, s, true);
      CHECK(sc.vfork_sites == VforkSites::learned);
      CHECK(sc.vfork_site_list[0] == '\0');
      REQUIRE(s.warnings.size() == 1);
      CHECK(s.warnings[0] ==
            "FORKGUARD_VFORK_SITES is ignored in a setuid/setgid (secure-execution) program; using learned");
    }
    FakeEnv n;
    CHECK(parse_one("FORKGUARD_VFORK_SITES", "none", n, true).vfork_sites == VforkSites::none);
    CHECK(n.warnings.empty());
    FakeEnv plain;
    CHECK(parse_one("FORKGUARD_VFORK_SITES", "all", plain, false).vfork_sites == VforkSites::all);
  }

  SECTION("stderr and syslog are still allowed") {
    FakeEnv s;
    CHECK(parse_one("FORKGUARD_LOG", "syslog", s, true).log_kind == LogKind::syslog);
    CHECK(parse_one("FORKGUARD_LOG", "stderr", s, true).log_kind == LogKind::stderr_stream);
    CHECK(s.warnings.empty());
  }
}

TEST_CASE("config: parse_size_kb", "[config]") {
  int64_t kb = -7;
  CHECK(parse_size_kb("0", kb));
  CHECK(kb == 0);
  CHECK(parse_size_kb("1", kb));
  CHECK(kb == 1);  // bytes round up
  CHECK(parse_size_kb("1024", kb));
  CHECK(kb == 1);
  CHECK(parse_size_kb("1025", kb));
  CHECK(kb == 2);
  CHECK(parse_size_kb("64k", kb));
  CHECK(kb == 64);
  CHECK(parse_size_kb("64K", kb));
  CHECK(kb == 64);
  CHECK(parse_size_kb("64M", kb));
  CHECK(kb == 64 * 1024);
  CHECK(parse_size_kb("3m", kb));
  CHECK(kb == 3 * 1024);
  CHECK(parse_size_kb("2G", kb));
  CHECK(kb == 2 * 1024 * 1024);
  CHECK(parse_size_kb("9223372036854775807", kb));
  CHECK(kb == 9223372036854775807 / 1024 + 1);
  CHECK(parse_size_kb("8796093022207G", kb));  // (2^63 - 1) / 2^20, the largest G that fits
  CHECK(kb == int64_t(8796093022207) * 1024 * 1024);

  kb = 42;
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1KB", "1T", "k", "0x10", "1.5G", "G1",
                          "9223372036854775808", "8796093022208G", "99999999999999999999k"}) {
    INFO("\"" << bad << "\"");
    CHECK_FALSE(parse_size_kb(bad, kb));
  }
  CHECK_FALSE(parse_size_kb(nullptr, kb));
  CHECK(kb == 42);  // untouched on failure
}

TEST_CASE("config: parse_int bounds and garbage", "[config]") {
  int64_t n = 0;
  CHECK(parse_int("0", 0, 64, n));
  CHECK(n == 0);
  CHECK(parse_int("64", 0, 64, n));
  CHECK(n == 64);
  CHECK(parse_int("-5", -10, 10, n));
  CHECK(n == -5);
  CHECK(parse_int("007", 0, 10, n));
  CHECK(n == 7);
  CHECK(parse_int("9223372036854775807", INT64_MIN, INT64_MAX, n));
  CHECK(n == INT64_MAX);
  CHECK(parse_int("-9223372036854775808", INT64_MIN, INT64_MAX, n));
  CHECK(n == INT64_MIN);
  n = 99;
  for (const char* bad : {"", "-", "+1", " 1", "1 ", "1x", "0x1", "65", "-1", "9223372036854775808",
                          "-9223372036854775809", "1e3"}) {
    INFO("\"" << bad << "\"");
    CHECK_FALSE(parse_int(bad, 0, 64, n));
  }
  CHECK_FALSE(parse_int(nullptr, 0, 64, n));
  CHECK(n == 99);
}

TEST_CASE("config: names", "[config]") {
  CHECK(std::string(mode_name(Mode::observe)) == "observe");
  CHECK(std::string(mode_name(Mode::mitigate)) == "mitigate");
  CHECK(std::string(mode_name(Mode::off)) == "off");
  CHECK(std::string(format_name(Format::text)) == "text");
  CHECK(std::string(format_name(Format::json)) == "json");
}

TEST_CASE("config: the generated tables name every option", "[config]") {
  const std::string md = options_markdown();
  const std::string text = options_help_text();
  CHECK(md.rfind("| variable | values | default | meaning |\n|---|---|---|---|\n", 0) == 0);
  for (const std::string& name : option_names()) {
    CHECK(md.find("`" + name + "`") != std::string::npos);
    CHECK(text.find(name) != std::string::npos);
  }
  // One header, one rule and one row per option: no cell text broke a row.
  size_t rows = 0;
  for (char ch : md) rows += ch == '\n';
  CHECK(rows == kOptionCount + 2);
  for (size_t i = 0, start = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      CHECK(i - start <= 78);
      start = i + 1;
    }
  }
}

namespace {
// An environment block as the kernel hands it over: NAME=VALUE strings, NULL-terminated.
struct Block {
  std::vector<std::string> entries;
  std::vector<char*> ptrs;
  char* const* envp() {
    ptrs.clear();
    for (auto& e : entries) ptrs.push_back(e.data());
    ptrs.push_back(nullptr);
    return ptrs.data();
  }
};
bool same_config(const Config& a, const Config& b) {
  return a.mode == b.mode && a.trigger == b.trigger && a.log_kind == b.log_kind &&
         std::strcmp(a.log_path, b.log_path) == 0 && a.format == b.format && a.stack_depth == b.stack_depth &&
         a.vfork_sites == b.vfork_sites && std::strcmp(a.vfork_site_list, b.vfork_site_list) == 0 &&
         std::strcmp(a.profile_path, b.profile_path) == 0 && a.slim_min_kb == b.slim_min_kb &&
         a.precise_margin_pct == b.precise_margin_pct && a.vfork_timeout_s == b.vfork_timeout_s;
}
}  // namespace

TEST_CASE("config: one pass over the environment finds what getenv finds", "[config]") {
  Block block;
  block.entries = {"PATH=/usr/bin:/bin",
                   "FORKGUARD_MODEX=mitigate",        // a longer name is another variable
                   "FORKGUARD_MOD=mitigate",          // so is a shorter one
                   "FORKGUARD_STACK",                 // no '=': not a variable
                   "FORKGUARD_VFORK_TIMEOUT=9",       // shares its first letters with VFORK_SITES
                   "FORKGUARD_VFORK_SITES=all",
                   "FORKGUARD_FORMAT=json",
                   "FORKGUARD_FORMAT=text",           // a second entry: getenv takes the first
                   "FORKGUARD_LOG=",                  // set and empty is not unset
                   "HOME=/root"};
  EnvSnapshot snap;
  snapshot_environment(block.envp(), snap);
  CHECK(snapshot_lookup("FORKGUARD_MODE", &snap) == nullptr);
  CHECK(snapshot_lookup("FORKGUARD_STACK", &snap) == nullptr);
  CHECK(std::string(snapshot_lookup("FORKGUARD_VFORK_TIMEOUT", &snap)) == "9");
  CHECK(std::string(snapshot_lookup("FORKGUARD_VFORK_SITES", &snap)) == "all");
  CHECK(std::string(snapshot_lookup("FORKGUARD_FORMAT", &snap)) == "json");
  REQUIRE(snapshot_lookup("FORKGUARD_LOG", &snap) != nullptr);
  CHECK(std::string(snapshot_lookup("FORKGUARD_LOG", &snap)).empty());
  CHECK(snapshot_lookup("PATH", &snap) == nullptr);  // only the table's names are looked up
  std::string copy = "FORKGUARD_FORMAT";             // a name that is not the table's own pointer
  CHECK(std::string(snapshot_lookup(copy.c_str(), &snap)) == "json");

  EnvSnapshot empty;
  snapshot_environment(nullptr, empty);
  for (size_t i = 0; i < kOptionCount; ++i) CHECK(empty.values[i] == nullptr);
}

TEST_CASE("config: parsing a snapshot gives the same settings and warnings as parsing by name", "[config]") {
  // Every option, valid and invalid values, each parsed both ways.
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"FORKGUARD_MODE=mitigate", "FORKGUARD_TRIGGER=always", "FORKGUARD_LOG=/tmp/x.%p", "FORKGUARD_FORMAT=json",
       "FORKGUARD_STACK=3", "FORKGUARD_VFORK_SITES=a+0x1,b", "FORKGUARD_PROFILE=p", "FORKGUARD_SLIM_MIN=8M",
       "FORKGUARD_PRECISE_MARGIN=50", "FORKGUARD_VFORK_TIMEOUT=20"},
      {"FORKGUARD_MODE=bogus", "FORKGUARD_STACK=-1", "FORKGUARD_SLIM_MIN=1", "FORKGUARD_VFORK_SITES=all,x",
       "FORKGUARD_LOG=", "FORKGUARD_PROFILE=", "FORKGUARD_VFORK_TIMEOUT=0"},
  };
  for (const auto& entries : cases) {
    for (bool secure : {false, true}) {
      FakeEnv by_name;
      Block block;
      for (const auto& e : entries) {
        by_name.vars[e.substr(0, e.find('='))] = e.substr(e.find('=') + 1);
        block.entries.push_back(e);
      }
      block.entries.push_back("UNRELATED=1");
      EnvSnapshot snap;
      snapshot_environment(block.envp(), snap);
      std::vector<std::string> warnings;
      const Config a = parse(by_name, secure);
      const Config b = parse_config(snapshot_lookup, &snap, secure, [](const char* m, void* ctx) {
        static_cast<std::vector<std::string>*>(ctx)->push_back(m);
      }, &warnings);
      CHECK(same_config(a, b));
      CHECK(warnings == by_name.warnings);
    }
  }
}

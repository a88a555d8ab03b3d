/// @file test_record.cpp
/// @brief Records: JSON validity, every contract key, PIPE_BUF bound with truncation, text line.
#include <catch2/catch.hpp>
#include <limits.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <string>

#include "forkguard/fixed_writer.hpp"
#include "forkguard/record.hpp"

using forkguard::Record;

namespace {

Record sample() {
  Record r;
  r.ts_sec = 1795877408;  // 2026-11-28T14:50:08Z
  r.ts_usec = 123456;
  r.pid = 42;
  r.ppid = 1;
  r.tid = 43;
  r.exe = "/usr/bin/legacy app";
  r.call = forkguard::CallKind::system;
  r.command = "echo \"hi\"\n\x01";
  r.vm_size_kb = 1000;
  r.vm_rss_kb = 10;
  r.charge_kb = 800;
  r.charge_method = "smaps";
  r.commit_limit_kb = 5000;
  r.committed_as_kb = 6000;
  r.overcommit_mode = 2;
  r.verdict = forkguard::Verdict::refuse;
  r.margin_kb = -1800;
  r.action = forkguard::Action::passthrough;
  r.result = -1;
  r.err = ENOMEM;
  r.duration_us = 17;
  r.site_module = "app";
  r.site_offset = 0x1234;
  for (int i = 0; i < 3; ++i) {
    auto& f = r.frames[r.nframes++];
    f.module = "libc.so.6";
    f.offset = 0x100 + i;
    f.symbol = i == 0 ? "main" : "";
  }
  return r;
}

nlohmann::json parse_line(const char* buf, size_t n) {
  REQUIRE(n > 0);
  REQUIRE(buf[n - 1] == '\n');
  return nlohmann::json::parse(std::string(buf, n - 1));
}

}  // namespace

TEST_CASE("a JSON record carries every contract key with its meaning") {
  char buf[PIPE_BUF];
  const Record r = sample();
  const auto j = parse_line(buf, forkguard::format_json(r, buf, sizeof buf));
  for (const char* k : {"ts", "pid", "ppid", "tid", "exe", "call", "command", "vm_size_kb", "vm_rss_kb", "charge_kb",
                        "charge_method", "commit_limit_kb", "committed_as_kb", "headroom_kb", "overcommit_mode",
                        "verdict", "action", "result", "errno", "duration_us", "site", "stack"}) {
    INFO(k);
    CHECK(j.contains(k));
  }
  CHECK(j["ts"] == "2026-11-28T14:50:08.123456Z");
  CHECK(j["headroom_kb"] == -1000);  // limit - committed, negative allowed
  CHECK(j["command"] == "echo \"hi\"\n\x01");
  CHECK(j["errno"] == "ENOMEM");
  CHECK(j["site"] == "app+0x1234");
  CHECK(j["verdict"] == "refuse");
  CHECK(j["overcommit_mode"] == 2);
  CHECK(j["stack"].size() == 3);
  CHECK(j["stack"][0]["symbol"] == "main");
  CHECK(j["stack"][1]["offset"] == "0x101");
  CHECK_FALSE(j.contains("truncated"));
}

TEST_CASE("success omits errno, unknown figures are null, no stack is []") {
  char buf[PIPE_BUF];
  Record r = sample();
  r.err = 0;
  r.result = 99;
  r.child_pid = 99;
  r.commit_limit_kb = -1;
  r.overcommit_mode = -1;
  r.verdict = forkguard::Verdict::unknown;
  r.nframes = 0;
  r.command = nullptr;
  const auto j = parse_line(buf, forkguard::format_json(r, buf, sizeof buf));
  CHECK_FALSE(j.contains("errno"));
  CHECK_FALSE(j.contains("command"));
  CHECK(j["child_pid"] == 99);
  CHECK(j["headroom_kb"].is_null());
  CHECK(j["overcommit_mode"].is_null());
  CHECK(j["stack"] == nlohmann::json::array());
  CHECK(j["site"] == "app+0x1234");
}

TEST_CASE("a record too long for PIPE_BUF is cut to one valid object marked truncated") {
  char buf[PIPE_BUF];
  Record r = sample();
  std::string huge(1 << 20, 'x');
  huge[100] = '\xff';  // invalid UTF-8 stays valid JSON
  r.command = huge.c_str();
  static const char* long_symbol = nullptr;
  std::string sym(300, 's');
  long_symbol = sym.c_str();
  r.nframes = Record::kMaxFrames;
  for (auto& f : r.frames) {
    f.module = "libverylongmodulename.so.1";
    f.offset = 0xffffffff;
    f.symbol = long_symbol;
  }
  const size_t n = forkguard::format_json(r, buf, sizeof buf);
  CHECK(n <= PIPE_BUF);
  const auto j = parse_line(buf, n);
  CHECK(j["truncated"] == true);
  CHECK(j["stack"].size() < static_cast<size_t>(Record::kMaxFrames));
  CHECK(j["command"].get<std::string>().size() < huge.size());
  CHECK(j["site"] == "app+0x1234");
}

TEST_CASE("the text format is one line starting with forkguard:") {
  char buf[PIPE_BUF];
  const Record r = sample();
  const size_t n = forkguard::format_text(r, buf, sizeof buf);
  const std::string line(buf, n);
  CHECK(line.rfind("forkguard: system at app+0x1234 pid 42", 0) == 0);
  CHECK(line.find('\n') == line.size() - 1);
  CHECK(line.find("verdict refuse (short by 1.7 MiB)") != std::string::npos);
  CHECK(line.find("ENOMEM") != std::string::npos);
}

TEST_CASE("FixedWriter formats integers, hex and timestamps without allocating") {
  char buf[64];
  forkguard::FixedWriter w(buf, sizeof buf);
  w.put_int(INT64_MIN);
  w.put(' ');
  w.put_hex(0xdeadbeef);
  w.put(' ');
  w.put_iso8601_utc(0, 5);
  CHECK(std::string(buf, w.size()) == "-9223372036854775808 deadbeef 1970-01-01T00:00:00.000005Z");
  forkguard::FixedWriter small(buf, 4);
  small.put("abcdef");
  CHECK(small.size() == 4);
  CHECK(small.overflowed());
  char scratch[16];
  CHECK(std::string(forkguard::errno_name(ENOMEM, scratch)) == "ENOMEM");
  CHECK(std::string(forkguard::errno_name(4095, scratch)) == "E4095");
}

TEST_CASE("a degraded record says why it has no stack, in JSON and in text, and only then") {
  char buf[PIPE_BUF];
  Record r = sample();
  r.nframes = 0;
  auto j = parse_line(buf, forkguard::format_json(r, buf, sizeof buf));
  CHECK_FALSE(j.contains("degraded"));  // a whole record never carries the key
  r.degraded = "reentered";
  j = parse_line(buf, forkguard::format_json(r, buf, sizeof buf));
  CHECK(j["degraded"] == "reentered");
  CHECK(j["stack"].is_array());
  CHECK(j["stack"].empty());
  CHECK(j.contains("site"));  // the site needs no unwinding: always there
  const size_t n = forkguard::format_text(r, buf, sizeof buf);
  const std::string line(buf, n);
  CHECK(line.find("degraded (reentered): no stack") != std::string::npos);
}

TEST_CASE("the fallback chain's attempts: in order, each with its errno, only when there were any") {
  char buf[PIPE_BUF];
  Record r = sample();
  r.call = forkguard::CallKind::fork;
  r.command = nullptr;
  auto j = parse_line(buf, forkguard::format_json(r, buf, sizeof buf));
  CHECK_FALSE(j.contains("attempts"));  // observe mode and other calls: no key
  r.action = forkguard::Action::vfork;
  r.result = 77;
  r.err = 0;
  r.attempts[r.nattempts++] = forkguard::Attempt{forkguard::Action::slim_fork, ENOMEM};
  r.attempts[r.nattempts++] = forkguard::Attempt{forkguard::Action::vfork, 0};
  j = parse_line(buf, forkguard::format_json(r, buf, sizeof buf));
  CHECK(j["attempts"] == nlohmann::json::parse(R"([{"action":"slim_fork","errno":"ENOMEM"},{"action":"vfork"}])"));
  const size_t n = forkguard::format_text(r, buf, sizeof buf);
  CHECK(std::string(buf, n).find("; tried slim_fork ENOMEM, vfork") != std::string::npos);
}

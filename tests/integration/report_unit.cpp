/// @file report_unit.cpp
/// @brief Catch2 tests of `forkguard report`'s logic (cli/report_*.cpp): reading cut and garbage
/// lines, grouping and ordering by site, the JSON and SVG outputs, addr2line symbolization.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "report_model.hpp"
#include "report_render.hpp"
#include "report_symbolize.hpp"

using namespace forkguard::report;

namespace {

ReadResult read_fixture(const std::string& name) {
  ReadResult r;
  std::ifstream f(std::string(FG_RECORD_FIXTURES) + "/" + name);
  REQUIRE(f);
  read_records(f, name, r);
  return r;
}

ReadResult read_text(const std::string& text, const std::string& name = "t.jsonl") {
  ReadResult r;
  std::istringstream in(text);
  read_records(in, name, r);
  return r;
}

const char* kRecord =
    R"({"ts":"2026-11-28T17:15:56.253989Z","pid":25265,"exe":"/x/forkguard-demo","call":"fork","charge_kb":100,)"
    R"("commit_limit_kb":1000,"committed_as_kb":400,"headroom_kb":600,"overcommit_mode":2,"verdict":"ok",)"
    R"("margin_kb":500,"allowed_kb":900,"action":"passthrough","result":42,"site":"forkguard-demo+0x1380","stack":[]})";

}  // namespace

TEST_CASE("timestamps parse to microseconds since the epoch") {
  CHECK(parse_iso8601_us("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_iso8601_us("1970-01-01T00:00:01.5Z") == 1500000);
  CHECK(parse_iso8601_us("2026-11-28T14:50:08.123456Z") == int64_t{1795877408} * 1000000 + 123456);
  CHECK(parse_iso8601_us("2000-02-29T00:00:00.000001Z") == int64_t{951782400} * 1000000 + 1);
  CHECK_FALSE(parse_iso8601_us("yesterday"));
  CHECK_FALSE(parse_iso8601_us("2026-11-28T14:50:08"));  // no zone: not ours
}

TEST_CASE("a cut last line and a garbage line give a warning with file and line, the rest is read") {
  const ReadResult r = read_text(std::string(kRecord) + "\nnot json\n" + kRecord + "\n" + std::string(kRecord).substr(0, 50));
  REQUIRE(r.records.size() == 2);
  REQUIRE(r.warnings.size() == 2);
  CHECK(r.warnings[0] == "t.jsonl:2: not a JSON record, skipped");
  CHECK(r.warnings[1] == "t.jsonl:4: truncated last line (the writer was cut off), skipped");
  CHECK(r.records[1].line == 3);
}

TEST_CASE("text records, objects without site, unknown calls and blank lines") {
  const ReadResult r = read_text(
      "forkguard: fork at a+0x1 pid 1 -> 2\n{\"call\":\"fork\"}\n\n{\"call\":\"pclose\",\"site\":\"a+0x2\"}\n[1,2]\n");
  CHECK(r.records.empty());
  CHECK(r.other_calls == 1);
  REQUIRE(r.warnings.size() == 3);
  CHECK(r.warnings[0].find("t.jsonl:1: a text record") == 0);
  CHECK(r.warnings[1] == "t.jsonl:2: a JSON object without \"site\", skipped");
  CHECK(r.warnings[2] == "t.jsonl:5: not a JSON record, skipped");
}

TEST_CASE("a record without a stack still has its site as a frame") {
  const ReadResult r = read_text(std::string(kRecord) + "\n");
  REQUIRE(r.records.size() == 1);
  REQUIRE(r.records[0].stack.size() == 1);
  CHECK(r.records[0].stack[0].module == "forkguard-demo");
  CHECK(r.records[0].stack[0].offset == 0x1380);
}

TEST_CASE("failure and refusal per call kind") {
  Rec r;
  r.call = "posix_spawn";
  r.result = 12;
  CHECK(r.failed());
  CHECK(r.refused());
  r.call = "system";
  r.result = 256;  // the command's exit status 1: the child was created
  CHECK_FALSE(r.failed());
  r.call = "fork";
  r.result = -1;
  r.errno_name = "EAGAIN";
  CHECK(r.failed());
  CHECK_FALSE(r.refused());
  r.errno_name = "ENOMEM";
  CHECK(r.refused());
}

TEST_CASE("the fleet fixture groups by site and call, refusals first") {
  ReadResult r = read_fixture("fleet_observe.jsonl");
  std::ifstream more(std::string(FG_RECORD_FIXTURES) + "/fleet_mitigate.jsonl");
  read_records(more, "fleet_mitigate.jsonl", r);
  CHECK(r.records.size() == 26);
  CHECK(r.warnings.size() == 2);
  const auto sites = summarize(r.records, 10);
  REQUIRE(sites.size() == 2);
  const SiteSummary& idx = sites[0];
  CHECK(idx.site == "indexer+0x4a2f1");
  CHECK(idx.call == "fork");
  CHECK(idx.attention() == "refused");
  CHECK(idx.count == 19);
  CHECK(idx.failures == 4);
  CHECK(idx.refused == 4);
  CHECK(idx.predicted_refuse == 6);
  CHECK(idx.substitutions.at("slim_fork") == 6);
  CHECK(idx.near == 2);
  CHECK(idx.pids.size() == 2);
  CHECK(*idx.worst_margin_kb < 0);
  CHECK(*idx.max_charge_kb == 7 * 1048576 + 5 * 100000);
  CHECK(sites[1].site == "libjobs.so.2+0x25c3d1");
  CHECK(sites[1].attention().empty());
  CHECK(sites[1].commands.at(0) == "gzip -9 /var/log/indexer/old.log");
}

TEST_CASE("ordering: refused, rescued, failed, near, then the rest by count") {
  auto mk = [](const std::string& site, const std::string& verdict, const std::string& action, int64_t result,
               const std::string& err, int64_t margin) {
    Rec r;
    r.call = "fork";
    r.site = site;
    r.verdict = verdict;
    r.action = action;
    r.result = result;
    r.errno_name = err;
    r.margin_kb = margin;
    r.allowed_kb = 1000;
    r.overcommit_mode = 2;
    return r;
  };
  std::vector<Rec> recs = {mk("plain+0x1", "ok", "passthrough", 5, "", 900), mk("plain+0x1", "ok", "passthrough", 5, "", 900),
                           mk("near+0x1", "ok", "passthrough", 5, "", 50), mk("eagain+0x1", "ok", "passthrough", -1, "EAGAIN", 900),
                           mk("rescued+0x1", "refuse", "slim_fork", 7, "", -5), mk("refused+0x1", "refuse", "passthrough", -1, "ENOMEM", -5),
                           mk("alone+0x1", "ok", "passthrough", 5, "", 800)};
  const auto sites = summarize(recs, 10);
  std::vector<std::string> order;
  for (const auto& s : sites) order.push_back(s.site);
  CHECK(order == std::vector<std::string>{"refused+0x1", "rescued+0x1", "eagain+0x1", "near+0x1", "alone+0x1", "plain+0x1"});
}

TEST_CASE("the JSON output is one document with every site") {
  ReadResult r = read_fixture("fleet_observe.jsonl");
  ReportInput in;
  in.files = {"fleet_observe.jsonl"};
  in.read = &r;
  in.sites = summarize(r.records, 10);
  in.warnings = r.warnings;
  std::ostringstream out;
  render_json(out, in);
  const auto j = nlohmann::json::parse(out.str());
  CHECK(j["records"] == 20);
  REQUIRE(j["sites"].size() == 2);
  CHECK(j["sites"][0]["attention"] == "refused");
  CHECK(j["sites"][0]["errnos"]["ENOMEM"] == 4);
  CHECK(j["sites"][0]["stack"][1]["symbol"] == "run_job");
  CHECK(j["warnings"][0] == "fleet_observe.jsonl:21: not a JSON record, skipped");
}

TEST_CASE("the SVG names refusals and escapes what records contain") {
  ReadResult r = read_text(std::string(kRecord) + "\n" +
                           R"({"ts":"2026-11-28T17:15:57Z","pid":7,"exe":"/x/a<b>&c","call":"fork","charge_kb":800,)"
                           R"("overcommit_mode":2,"verdict":"refuse","margin_kb":-100,"allowed_kb":900,"action":"passthrough",)"
                           R"("result":-1,"errno":"ENOMEM","site":"a<b>&c+0x10","stack":[]})" "\n");
  ReportInput in;
  in.files = {"t.jsonl"};
  in.read = &r;
  in.sites = summarize(r.records, 10);
  std::ostringstream out;
  render_svg(out, in);
  const std::string svg = out.str();
  CHECK(svg.rfind("<?xml", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(svg.find("fork refused (ENOMEM) at a&lt;b&gt;&amp;c+0x10") != std::string::npos);
  CHECK(svg.find("a<b>") == std::string::npos);
  CHECK(svg.find("1 refused") != std::string::npos);
}

TEST_CASE("symbolization: the exe by basename, --path directories and files, and the ELF load start") {
  SymbolizeOptions opt;
  opt.system_dirs = false;
  const std::string self = "/proc/self/exe";
  CHECK(find_module("exe", self, opt) == self);
  CHECK(find_module("other", self, opt).empty());
  opt.paths = {"/proc/self"};
  CHECK(find_module("exe", "", opt) == "/proc/self/exe");
  opt.paths = {"/nonexistent/dir", "/proc/self/exe"};
  CHECK(find_module("exe", "", opt) == "/proc/self/exe");
  uint64_t addr = 0;
  REQUIRE(address_for("/proc/self/exe", 0x1380, addr));
  CHECK(addr == 0x137f);  // a PIE: load start 0, and the call is just before the return address
  CHECK_FALSE(address_for(std::string(FG_RECORD_FIXTURES) + "/fleet_observe.jsonl", 0x10, addr));
}

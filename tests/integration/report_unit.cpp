/// @file report_unit.cpp
/// @brief Catch2 tests of `forkguard report`'s logic (cli/report_*.cpp): reading cut and garbage
/// lines, grouping and ordering by site (by the call's own verdict), module identities tied to
/// frames, notices and faults, the JSON and SVG outputs, finding only the file that ran.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include <dlfcn.h>

#include "report_dwarf.hpp"
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

namespace {

std::string readelf_build_id(const std::string& path) {
  FILE* f = popen(("readelf -n '" + path + "' 2>/dev/null").c_str(), "r");
  REQUIRE(f != nullptr);
  char line[512];
  std::string id;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    const char* at = std::strstr(line, "Build ID: ");
    if (at != nullptr) id = std::string(at + 10, std::strcspn(at + 10, " \n"));
  }
  pclose(f);
  return id;
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/fg-report-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  REQUIRE(n > 0);
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

// A function with internal linkage: dladdr cannot name it, the symbol table and the DWARF can.
static __attribute__((noinline)) int static_probe_for_symbols(int x) {
  asm volatile("" ::: "memory");
  return x * 3 + 1;
}

TEST_CASE("elfutils names a static function and its file:line in the very file that ran") {
  CHECK(static_probe_for_symbols(1) == 4);
  Dl_info info{};
  const auto fn = reinterpret_cast<uintptr_t>(&static_probe_for_symbols);
  REQUIRE(dladdr(reinterpret_cast<void*>(fn), &info) != 0);
  const uint64_t offset = fn - reinterpret_cast<uintptr_t>(info.dli_fbase) + 4;  // inside it, as a return address would be
  uint64_t addr = 0;
  REQUIRE(address_for(self_exe(), offset, addr));
  DwarfFile file(self_exe());
  REQUIRE(file.ok());
  const Resolved r = file.resolve(addr);
  CHECK(r.function.find("static_probe_for_symbols") != std::string::npos);
  CHECK(r.location.find("report_unit.cpp:") != std::string::npos);
  std::string hex;
  REQUIRE(elf_build_id(self_exe(), hex));
  CHECK(hex == readelf_build_id(self_exe()));
}

TEST_CASE("a file's identity: build id as readelf says, or size and mtime without one") {
  const std::string exe = self_exe();
  ModuleIdentity id;
  REQUIRE(file_identity(exe, id));
  CHECK(id.build_id == readelf_build_id(exe));
  CHECK_FALSE(id.build_id.empty());
  ModuleIdentity recorded;
  recorded.build_id = id.build_id;
  CHECK(same_module(recorded, id));
  recorded.build_id[0] = recorded.build_id[0] == 'a' ? 'b' : 'a';
  CHECK_FALSE(same_module(recorded, id));
  // A binary without a build id: size and mtime decide.
  TempDir dir;
  const std::string plain = dir.path + "/plain";
  REQUIRE(std::system(("objcopy --remove-section .note.gnu.build-id '" + exe + "' '" + plain + "'").c_str()) == 0);
  ModuleIdentity got;
  REQUIRE(file_identity(plain, got));
  CHECK(got.build_id.empty());
  ModuleIdentity by_stat;
  by_stat.size = got.size;
  by_stat.mtime = got.mtime;
  CHECK(same_module(by_stat, got));
  by_stat.mtime = *got.mtime - 1;  // rebuilt since
  CHECK_FALSE(same_module(by_stat, got));
  by_stat.mtime = got.mtime;
  CHECK_FALSE(same_module(by_stat, id));  // a file with a build id is not one recorded without
  CHECK_FALSE(file_identity(std::string(FG_RECORD_FIXTURES) + "/fleet_observe.jsonl", got));  // not ELF
}

TEST_CASE("the file that ran: the recorded path, then --path, then the build-id debug directory, never another") {
  const std::string exe = self_exe();
  ModuleIdentity want;
  want.name = "fg_report_unit";
  want.path = exe;
  want.build_id = readelf_build_id(exe);
  SymbolizeOptions opt;
  opt.debug_root = "/nonexistent";
  CHECK(find_identical(want, opt) == exe);
  // Recorded somewhere that now holds another build (here: the unstripped file is elsewhere).
  TempDir dir;
  mkdir((dir.path + "/other").c_str(), 0700);
  mkdir((dir.path + "/same").c_str(), 0700);
  REQUIRE(std::system(("objcopy --remove-section .note.gnu.build-id '" + exe + "' '" + dir.path +
                       "/other/fg_report_unit'").c_str()) == 0);
  REQUIRE(std::system(("cp '" + exe + "' '" + dir.path + "/same/'").c_str()) == 0);
  want.path = dir.path + "/other/fg_report_unit";
  std::vector<std::string> tried;
  CHECK(find_identical(want, opt, &tried).empty());
  REQUIRE(tried.size() == 1);
  CHECK(tried[0].find(want.path + " (size ") == 0);
  opt.paths = {dir.path + "/other", dir.path + "/same"};
  CHECK(find_identical(want, opt) == dir.path + "/same/fg_report_unit");
  // By build id under the debug root, as Debian's -dbgsym packages install files.
  opt.paths.clear();
  opt.debug_root = dir.path + "/debug";
  const std::string by_id = opt.debug_root + "/.build-id/" + want.build_id.substr(0, 2);
  REQUIRE(std::system(("mkdir -p '" + by_id + "' && cp '" + exe + "' '" + by_id + "/" + want.build_id.substr(2) +
                       ".debug'").c_str()) == 0);
  CHECK(find_identical(want, opt) == by_id + "/" + want.build_id.substr(2) + ".debug");
  uint64_t addr = 0;
  REQUIRE(address_for(exe, 0x1380, addr));
  CHECK(addr == 0x137f);  // a PIE: load start 0, and the call is just before the return address
  CHECK_FALSE(address_for(std::string(FG_RECORD_FIXTURES) + "/fleet_observe.jsonl", 0x10, addr));
}

TEST_CASE("frames get the identity described for the same pid and exe in the same file, and an exec starts afresh") {
  const std::string head = R"({"ts":"2026-11-28T17:15:56Z","call":"fork","verdict":"ok","action":"passthrough",)"
                           R"("result":9,"site":"app+0x10",)";
  const std::string stack = R"("stack":[{"module":"app","offset":"0x10","symbol":""},{"module":"libx.so","offset":"0x20","symbol":""}])";
  const std::string mods_a = R"(,"modules":[{"name":"app","path":"/bin/app","build_id":"aa"}])";
  const std::string mods_x = R"(,"modules":[{"name":"libx.so","path":"/lib/libx.so","size":5,"mtime":6}])";
  const std::string mods_b = R"(,"modules":[{"name":"app","path":"/bin/app","build_id":"bb"}])";
  ReadResult r = read_text(
      head + R"("pid":1,"exe":"/bin/app",)" + stack + mods_a + "}\n" +    // 1: describes app
      head + R"("pid":1,"exe":"/bin/app",)" + stack + "}\n" +             // 2: app from line 1
      head + R"("pid":1,"exe":"/bin/app",)" + stack + mods_x + "}\n" +    // 3: libx (late for 1 and 2)
      head + R"("pid":2,"exe":"/bin/app",)" + stack + "}\n" +             // 4: another process: nothing
      head + R"("pid":1,"exe":"/bin/other",)" + stack + "}\n" +           // 5: pid 1 after exec: nothing
      head + R"("pid":1,"exe":"/bin/app",)" + stack + mods_b + "}\n" +    // 6: app rebuilt (a re-exec)
      head + R"("pid":1,"exe":"/bin/app",)" + stack + "}\n");             // 7: app from line 6
  REQUIRE(r.records.size() == 7);
  tie_modules(r);
  auto id = [&](size_t rec, size_t frame) {
    const auto& f = r.records[rec].stack[frame];
    return f.ident ? f.ident->describe() : std::string("none");
  };
  CHECK(id(0, 0) == "build-id aa");
  CHECK(id(1, 0) == "build-id aa");
  CHECK(id(0, 1) == "size 5, mtime 6");  // described by a later record of the same image
  CHECK(r.records[0].stack[1].ident->path == "/lib/libx.so");
  CHECK(id(3, 0) == "none");
  CHECK(id(4, 0) == "none");
  CHECK(id(5, 0) == "build-id bb");
  CHECK(id(6, 0) == "build-id bb");
  CHECK(id(6, 1) == "size 5, mtime 6");
}

TEST_CASE("the call's own verdict ranks it: an uncharged spawn is neither rescued nor near, fork_verdict is counted") {
  auto mk = [](const std::string& call, const std::string& site, const std::string& verdict, const std::string& fork_verdict,
               bool charged, const std::string& action) {
    std::string rec = R"({"ts":"2026-11-28T17:15:56Z","pid":3,"exe":"/x/app","call":")" + call + R"(","command":"true",)";
    rec += R"("overcommit_mode":2,"verdict":")" + verdict + R"(","fork_verdict":")" + fork_verdict + R"(","charged":)";
    rec += std::string(charged ? "true" : "false") + R"(,"margin_kb":-5,"allowed_kb":1000,"action":")" + action;
    rec += R"(","result":)" + std::string(call == "posix_spawn" ? "0" : "9") + R"(,"site":")" + site + R"(","stack":[]})";
    return rec + "\n";
  };
  const ReadResult r = read_text(mk("posix_spawn", "spawn+0x1", "ok", "refuse", false, "passthrough") +
                                 mk("vfork", "vfork+0x1", "ok", "refuse", false, "passthrough") +
                                 mk("fork", "fork+0x1", "refuse", "refuse", true, "slim_fork"));
  const auto sites = summarize(r.records, 10);
  REQUIRE(sites.size() == 3);
  CHECK(sites[0].site == "fork+0x1");
  CHECK(sites[0].attention() == "rescued");
  for (size_t i = 1; i < 3; ++i) {
    INFO(sites[i].site);
    CHECK(sites[i].attention().empty());
    CHECK(sites[i].fork_refuse == 1);
    CHECK(sites[i].near == 0);
  }
  // Records of an older forkguard: "verdict" was the full fork's; vfork and posix_spawn are not charged.
  const ReadResult old = read_text(
      R"({"ts":"2026-11-28T17:15:56Z","pid":3,"exe":"/x/app","call":"vfork","overcommit_mode":2,"verdict":"refuse",)"
      R"("margin_kb":-5,"allowed_kb":1000,"action":"passthrough","result":9,"site":"v+0x1","stack":[]})" "\n");
  REQUIRE(old.records.size() == 1);
  CHECK(old.records[0].verdict == "ok");
  CHECK(old.records[0].fork_verdict == "refuse");
  CHECK_FALSE(old.records[0].charged);
  CHECK(summarize(old.records, 10)[0].attention().empty());
}

TEST_CASE("notices of any record and slim-fork faults are read and shown, in the table and in JSON") {
  ReadResult r = read_text(
      std::string(kRecord).substr(0, std::string(kRecord).size() - 1) + R"(,"notice":"the log was reopened"})" "\n" +
      R"({"ts":"2026-11-28T17:15:57Z","pid":5,"exe":"/x/app","call":"pclose","result":0,"site":"app+0x9","stack":[],)"
      R"("notice":"libunwind.so.8 is not available"})" "\n" +
      R"({"ts":"2026-11-28T17:15:58Z","pid":6,"ppid":5,"exe":"/x/app","call":"fault","vm_size_kb":null,"verdict":"unknown",)"
      R"("action":"slim_fork","result":11,"site":"app+0x77","stack":[{"module":"app","offset":"0x77","symbol":"worker"}],)"
      R"("notice":"SIGSEGV at 0x7f0000001000 in a region the slim fork excluded"})" "\n");
  tie_modules(r);
  CHECK(r.records.size() == 1);
  CHECK(r.other_calls == 1);
  REQUIRE(r.faults.size() == 1);
  CHECK(r.faults[0].pid == 6);
  REQUIRE(r.notices.size() == 3);
  CHECK(r.notices[1].call == "pclose");
  ReportInput in;
  in.files = {"t.jsonl"};
  in.read = &r;
  in.sites = summarize(r.records, 10);
  in.faults = r.faults;
  std::ostringstream table;
  render_table(table, in);
  CHECK(table.str().find("FAULTS: 1 slim-fork child killed in a region the slim fork excluded") != std::string::npos);
  CHECK(table.str().find("pid 6 (app) at app+0x77: SIGSEGV at 0x7f0000001000") != std::string::npos);
  CHECK(table.str().find("#0  worker (app+0x77)") != std::string::npos);
  CHECK(table.str().find("NOTICES: what the library said in 3 records") != std::string::npos);
  CHECK(table.str().find("t.jsonl:2: pid 5 (app), pclose: libunwind.so.8 is not available") != std::string::npos);
  std::ostringstream out;
  render_json(out, in);
  const auto j = nlohmann::json::parse(out.str());
  CHECK(j["faults"].size() == 1);
  CHECK(j["faults"][0]["notice"] == "SIGSEGV at 0x7f0000001000 in a region the slim fork excluded");
  CHECK(j["notices"].size() == 3);
}

TEST_CASE("a refused call's advice is shown under its site, the written part a slim fork would leave out too") {
  const std::string rec =
      R"({"ts":"2026-11-28T17:15:56Z","pid":3,"exe":"/x/app","call":"fork","overcommit_mode":2,"verdict":"refuse",)"
      R"("fork_verdict":"refuse","charged":true,"margin_kb":-5,"allowed_kb":1000,"action":"passthrough","result":-1,)"
      R"("errno":"ENOMEM","advice":{"shrink_kb":2048,"slim_excludes_kb":3145728,"slim_written_kb":1048576,)"
      R"("slim_mappings":2,"slim_enough":true,"mappings":[]},"site":"app+0x5","stack":[]})" "\n";
  ReadResult r = read_text(rec);
  ReportInput in;
  in.files = {"t.jsonl"};
  in.read = &r;
  in.sites = summarize(r.records, 10);
  REQUIRE(in.sites.size() == 1);
  CHECK(in.sites[0].slim_written_kb == 1048576);
  std::ostringstream table;
  render_table(table, in);
  CHECK(table.str().find("advice (latest refusal): shrink by 2.0 MiB; a slim fork would leave out 3.0 GiB (1.0 GiB of "
                         "it written): enough") != std::string::npos);
  std::ostringstream out;
  render_json(out, in);
  const auto j = nlohmann::json::parse(out.str());
  CHECK(j["sites"][0]["slim_written_kb"] == 1048576);
}

/// @file test_probe.cpp
/// @brief Fixture-driven tests of the /proc parsers and the allocation-free readers.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "forkguard/kept_proc_file.hpp"
#include "forkguard/owned_fd.hpp"
#include "forkguard/picture.hpp"
#include "forkguard/probe.hpp"

using namespace forkguard;

namespace {

std::string fixture_path(const char* name) { return std::string(FORKGUARD_FIXTURES) + "/" + name; }

std::string load(const char* name) {
  std::ifstream f(fixture_path(name), std::ios::binary);
  REQUIRE(f.good());
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// A VMA as the tests keep it: the parser's path view only lives during the callback.
struct SeenVma {
  Vma v;
  std::string path;
};

void collect(const Vma& v, void* ctx) {
  auto* out = static_cast<std::vector<SeenVma>*>(ctx);
  out->push_back({v, std::string(v.path)});
}

/// Feeds `text` to a SmapsParser in chunks of `chunk` bytes.
std::vector<SeenVma> parse_smaps(const std::string& text, size_t chunk) {
  std::vector<SeenVma> out;
  SmapsParser p(&collect, &out);
  for (size_t i = 0; i < text.size(); i += chunk) p.feed(text.data() + i, std::min(chunk, text.size() - i));
  p.finish();
  return out;
}

struct Sum {
  int64_t charged = 0, dontfork = 0, largest = 0;
  int charged_n = 0;
};
Sum sum(const std::vector<SeenVma>& vmas) {
  Sum s;
  for (const auto& e : vmas) {
    if (e.v.charged_by_fork()) {
      s.charged += static_cast<int64_t>(e.v.size_kb());
      s.largest = std::max<int64_t>(s.largest, static_cast<int64_t>(e.v.size_kb()));
      ++s.charged_n;
    } else if (e.v.accountable && e.v.dontcopy) {
      s.dontfork += static_cast<int64_t>(e.v.size_kb());
    }
  }
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// /proc/PID/status

TEST_CASE("probe: status captured on this machine", "[probe][status]") {
  ProcStatus st;
  REQUIRE(parse_status(load("status_real.txt"), st));
  CHECK(st.complete());
  CHECK(st.vm_size_kb == 3060);
  CHECK(st.vm_rss_kb == 1720);
  CHECK(st.vm_data_kb == 360);
  CHECK(st.vm_stk_kb == 132);
  CHECK(st.cap_eff == 0x000001fffeffffffLL);
  CHECK(st.ppid == 3468);
  CHECK(st.uid == 0);
}

TEST_CASE("probe: status of the smaps_flags_real capture", "[probe][status]") {
  ProcStatus st;
  REQUIRE(parse_status(load("status_flags_real.txt"), st));
  CHECK(st.vm_data_kb == 62556);
  CHECK(st.vm_stk_kb == 132);
  CHECK(st.vm_size_kb == 73000);
}

TEST_CASE("probe: status with odd spacing, tabs, CRLF, missing or odd-case unit", "[probe][status]") {
  ProcStatus st;
  REQUIRE(parse_status(load("status_odd_spacing.txt"), st));
  CHECK(st.ppid == 42);
  CHECK(st.uid == 1000);        // the real uid: first of four
  CHECK(st.vm_size_kb == 123456);
  CHECK(st.vm_rss_kb == 1000);  // no unit at all
  CHECK(st.vm_data_kb == 2048); // "VmData :" and "KB"
  CHECK(st.vm_stk_kb == 132);   // "kb" with trailing blank and CR
  CHECK(st.cap_eff == (1LL << 21));  // CAP_SYS_ADMIN
}

TEST_CASE("probe: status with fields missing leaves them unknown", "[probe][status]") {
  ProcStatus st;
  REQUIRE(parse_status(load("status_missing_fields.txt"), st));
  CHECK(st.vm_size_kb == 3060);
  CHECK(st.vm_rss_kb == 1756);
  CHECK(st.vm_data_kb == -1);
  CHECK(st.vm_stk_kb == -1);
  CHECK(st.uid == -1);
  CHECK(st.cap_eff == 0);
  CHECK_FALSE(st.complete());
}

TEST_CASE("probe: status cut mid-number without newline: that field is unknown", "[probe][status]") {
  ProcStatus st;
  REQUIRE(parse_status(load("status_truncated.txt"), st));
  CHECK(st.vm_data_kb == 360);
  CHECK(st.vm_stk_kb == -1);  // "13" may have been "132"
  CHECK_FALSE(st.complete());
}

TEST_CASE("probe: an unterminated last line whose number is followed by its unit is trusted",
          "[probe][status]") {
  ProcStatus st;
  REQUIRE(parse_status(load("status_unterminated_complete.txt"), st));
  CHECK(st.vm_stk_kb == 132);
  CHECK(st.complete());

  ProcStatus a;
  parse_status("VmStk:\t 132 k", a);  // cut inside the unit: the number itself ended
  CHECK(a.vm_stk_kb == 132);
  ProcStatus b;
  parse_status("VmStk:\t 132 k\n", b);  // a complete line with a broken unit is malformed
  CHECK(b.vm_stk_kb == -1);
  ProcStatus c;
  parse_status("CapEff:\t00000000002", c);  // hex cut at the end
  CHECK(c.cap_eff == -1);
  ProcStatus d;
  parse_status("Uid:\t1000", d);  // may have been 10000
  CHECK(d.uid == -1);
  ProcStatus e;
  parse_status("Uid:\t1000\t", e);
  CHECK(e.uid == 1000);
}

TEST_CASE("probe: malformed status values stay unknown", "[probe][status]") {
  ProcStatus st;
  CHECK_FALSE(parse_status(load("status_malformed.txt"), st));
  CHECK(st.ppid == -1);
  CHECK(st.uid == -1);
  CHECK(st.vm_size_kb == -1);
  CHECK(st.vm_rss_kb == -1);  // overflows int64
  CHECK(st.vm_data_kb == -1); // "MB"
  CHECK(st.vm_stk_kb == -1);  // trailing garbage
  CHECK(st.cap_eff == -1);    // 17 hex digits
}

TEST_CASE("probe: empty and garbage text find nothing", "[probe][status][meminfo]") {
  for (const char* name : {"empty.txt", "garbage.bin"}) {
    INFO(name);
    std::string t = load(name);
    ProcStatus st;
    MemInfo mi;
    ProcStatm sm;
    CHECK_FALSE(parse_status(t, st));
    CHECK_FALSE(parse_meminfo(t, mi));
    CHECK_FALSE(st.complete());
    CHECK_FALSE(mi.complete());
    if (t.empty()) CHECK_FALSE(parse_statm(t, sm));
    CHECK(parse_sysctl_value(t) == -1);
  }
}

// ---------------------------------------------------------------------------------------------
// /proc/meminfo, statm, sysctl

TEST_CASE("probe: meminfo captured on this machine", "[probe][meminfo]") {
  MemInfo mi;
  REQUIRE(parse_meminfo(load("meminfo_real.txt"), mi));
  CHECK(mi.complete());
  CHECK(mi.mem_total_kb > 0);
  CHECK(mi.swap_total_kb >= 0);
  CHECK(mi.commit_limit_kb > 0);
  CHECK(mi.committed_as_kb > 0);
}

TEST_CASE("probe: meminfo with CRLF and a missing unit", "[probe][meminfo]") {
  MemInfo mi;
  REQUIRE(parse_meminfo(load("meminfo_crlf.txt"), mi));
  CHECK(mi.mem_total_kb == 24731708);
  CHECK(mi.swap_total_kb == 0);
  CHECK(mi.swap_free_kb == 0);
  CHECK(mi.commit_limit_kb == 12365852);
  CHECK(mi.committed_as_kb == 49548);
}

TEST_CASE("probe: meminfo cut mid-number or without commit fields", "[probe][meminfo]") {
  MemInfo cut;
  REQUIRE(parse_meminfo(load("meminfo_truncated.txt"), cut));
  CHECK(cut.commit_limit_kb == 12365852);
  CHECK(cut.committed_as_kb == -1);
  CHECK_FALSE(cut.complete());

  MemInfo old;
  REQUIRE(parse_meminfo(load("meminfo_missing_commit.txt"), old));
  CHECK(old.mem_total_kb == 1000000);
  CHECK(old.swap_total_kb == 200000);
  CHECK(old.commit_limit_kb == -1);
  CHECK_FALSE(old.complete());
}

TEST_CASE("probe: statm", "[probe][statm]") {
  ProcStatm a;
  REQUIRE(parse_statm(load("statm_real.txt"), a));
  CHECK(a.size == 765);
  CHECK(a.resident == 444);
  CHECK(a.shared == 416);
  CHECK(a.text == 5);
  CHECK(a.lib == 0);
  CHECK(a.data == 123);

  ProcStatm b;  // no newline, but "data" is followed by " 0": complete
  REQUIRE(parse_statm(load("statm_unterminated.txt"), b));
  CHECK(b.data == 123);

  ProcStatm c;
  REQUIRE(parse_statm(load("statm_truncated.txt"), c));
  CHECK(c.resident == 443);
  CHECK(c.shared == -1);  // "41" may be cut
  CHECK(c.data == -1);

  ProcStatm d;
  REQUIRE(parse_statm(load("statm_malformed.txt"), d));
  CHECK(d.resident == 443);
  CHECK(d.shared == -1);
  CHECK(d.data == -1);
}

TEST_CASE("probe: sysctl values", "[probe][sysctl]") {
  CHECK(parse_sysctl_value(load("sysctl_2.txt")) == 2);
  CHECK(parse_sysctl_value(load("sysctl_spaces.txt")) == 100446);
  CHECK(parse_sysctl_value(load("sysctl_garbage.txt")) == -1);
  CHECK(parse_sysctl_value(load("sysctl_negative.txt")) == -1);
  CHECK(parse_sysctl_value("0") == 0);  // whole-file read: no newline needed
  CHECK(parse_sysctl_value("") == -1);
  CHECK(parse_sysctl_value("12 34\n") == -1);
  CHECK(parse_sysctl_value("99999999999999999999\n") == -1);
}

// ---------------------------------------------------------------------------------------------
// maps / smaps

TEST_CASE("probe: maps header lines", "[probe][maps]") {
  Vma v;
  REQUIRE(parse_maps_line(
      "7f908a800000-7f908ab00000 rw-p 00001000 fe:00 10952790                   /tmp/h1/dir with spaces/my file.dat",
      v));
  CHECK(v.start == 0x7f908a800000ULL);
  CHECK(v.end == 0x7f908ab00000ULL);
  CHECK(v.size_kb() == 3072);
  CHECK(v.readable);
  CHECK(v.writable);
  CHECK_FALSE(v.executable);
  CHECK(v.is_private);
  CHECK(v.offset == 0x1000);
  CHECK(v.path == "/tmp/h1/dir with spaces/my file.dat");
  CHECK_FALSE(v.have_flags);

  REQUIRE(parse_maps_line("7f908ab00000-7f908ac00000 rw-s 00000000 00:01 1025   /dev/zero (deleted)\r\n", v));
  CHECK_FALSE(v.is_private);
  CHECK(v.path == "/dev/zero (deleted)");

  REQUIRE(parse_maps_line("7fe0b3bda000-7fe0b3bfc000 rw-p 00000000 00:00 0 ", v));
  CHECK(v.path.empty());
  REQUIRE(parse_maps_line("7fe0b3bda000-7fe0b3bfc000 rw-p 00000000 00:00 0", v));
  CHECK(v.path.empty());
  REQUIRE(parse_maps_line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]", v));
  CHECK(v.executable);
  CHECK_FALSE(v.readable);
  CHECK(v.path == "[vsyscall]");
  REQUIRE(parse_maps_line("561e7c704000-561e7c725000 rw-p 00000000 00:00 0   [heap]", v));
  CHECK(v.path == "[heap]");

  // Not header lines.
  Vma u;
  CHECK_FALSE(parse_maps_line("Size:                  8 kB", u));
  CHECK_FALSE(parse_maps_line("AnonHugePages:         0 kB", u));
  CHECK_FALSE(parse_maps_line("VmFlags: rd mr mw me ac", u));
  CHECK_FALSE(parse_maps_line("", u));
  CHECK_FALSE(parse_maps_line("7f00-7e00 rw-p 00000000 00:00 0", u));  // end < start
  CHECK_FALSE(parse_maps_line("7f00-7f10 rwzp 00000000 00:00 0", u));  // bad perms
  CHECK_FALSE(parse_maps_line("7f00-7f10 rw-p 00000000 00:00", u));    // no inode
  CHECK_FALSE(parse_maps_line("7f00-7f1", u));                          // cut
  CHECK_FALSE(parse_maps_line("7f00-7f10 rw-p 00000000 0000 0", u));   // bad dev
  CHECK_FALSE(parse_maps_line("11111111111111111-7f10 rw-p 0 00:00 0", u));  // 17 hex digits
}

TEST_CASE("probe: VmFlags lines", "[probe][smaps]") {
  Vma v;
  REQUIRE(parse_vmflags_line("VmFlags: rd wr mr mw me dc ac nr ", v));
  CHECK(v.have_flags);
  CHECK(v.accountable);
  CHECK(v.dontcopy);
  CHECK(v.noreserve);
  CHECK_FALSE(v.charged_by_fork());

  REQUIRE(parse_vmflags_line("VmFlags:\trd  wr\tmr mw   me ac\t", v));
  CHECK(v.accountable);
  CHECK_FALSE(v.dontcopy);  // reset by the new line
  CHECK_FALSE(v.noreserve);
  CHECK(v.charged_by_fork());

  REQUIRE(parse_vmflags_line("VmFlags: rd wr mr mw me acc dcx", v));  // not two-letter codes
  CHECK_FALSE(v.accountable);
  CHECK_FALSE(v.dontcopy);

  Vma u;
  CHECK_FALSE(parse_vmflags_line("Size: 4 kB", u));
  CHECK_FALSE(u.have_flags);
}

TEST_CASE("probe: smaps captured on this machine (cat)", "[probe][smaps]") {
  std::string t = load("smaps_real.txt");
  auto vmas = parse_smaps(t, 4096);
  REQUIRE(vmas.size() == 38);
  for (const auto& e : vmas) CHECK(e.v.have_flags);
  Sum s = sum(vmas);
  // Independent count with grep over the fixture: 12 "ac" VMAs, none "dc".
  CHECK(s.charged_n == 12);
  CHECK(s.dontfork == 0);
  CHECK(vmas.front().path == "/usr/bin/cat");
  CHECK(vmas.back().path == "[vsyscall]");
}

TEST_CASE("probe: smaps with nr, dc, mprotect'ed, spaces and (deleted), any chunking",
          "[probe][smaps]") {
  std::string t = load("smaps_flags_real.txt");
  // Expected values computed independently (python over the fixture) when it was captured.
  for (size_t chunk : {size_t(1), size_t(7), size_t(100), size_t(4096), t.size()}) {
    INFO("chunk " << chunk);
    auto vmas = parse_smaps(t, chunk);
    REQUIRE(vmas.size() == 32);
    Sum s = sum(vmas);
    CHECK(s.charged == 40188);
    CHECK(s.largest == 32768);
    CHECK(s.dontfork == 16384);
    CHECK(s.charged_n == 15);
  }
  auto vmas = parse_smaps(t, 4096);
  bool saw_spaces = false, saw_deleted = false, saw_nr = false, saw_wf_ac = false;
  for (const auto& e : vmas) {
    if (e.path == "/tmp/h1/dir with spaces/my file.dat") {
      saw_spaces = true;
      CHECK(e.v.charged_by_fork());  // private writable file mapping
    }
    if (e.path == "/tmp/h1/gone.bin (deleted)") saw_deleted = true;
    if (e.v.noreserve) {
      saw_nr = true;
      CHECK_FALSE(e.v.accountable);  // captured in mode 0: MAP_NORESERVE means no VM_ACCOUNT
      CHECK(e.v.size_kb() == 8192);
    }
    if (e.path == "/dev/zero (deleted)") CHECK_FALSE(e.v.accountable);  // MAP_SHARED
    if (e.v.size_kb() == 1024 && e.path.empty()) saw_wf_ac = e.v.accountable;  // MADV_WIPEONFORK: still charged
  }
  CHECK(saw_spaces);
  CHECK(saw_deleted);
  CHECK(saw_nr);
  CHECK(saw_wf_ac);
}

TEST_CASE("probe: hand-made smaps edge cases", "[probe][smaps]") {
  std::string t = load("smaps_edge.txt");
  for (size_t chunk : {size_t(1), size_t(3), size_t(64), size_t(4096)}) {
    INFO("chunk " << chunk);
    auto vmas = parse_smaps(t, chunk);
    REQUIRE(vmas.size() == 12);
    Sum s = sum(vmas);
    CHECK(s.charged == 4 + 4 + 132 + 1024 + 256 + 132);
    CHECK(s.largest == 1024);
    CHECK(s.dontfork == 4096);
    CHECK(s.charged_n == 6);
    // The VMA without a VmFlags line is still reported, flagged as such.
    CHECK_FALSE(vmas[7].v.have_flags);
    CHECK(vmas[7].v.size_kb() == 512);
    CHECK_FALSE(vmas[7].v.charged_by_fork());
    CHECK(vmas[4].path == "/opt/my app/data file.bin (deleted)");
    CHECK(vmas[3].path == "[heap]");
    CHECK(vmas[10].path == "[vdso]");
    CHECK(vmas[11].path == "[stack]");
    CHECK(vmas[5].v.noreserve);
    CHECK(vmas[6].v.dontcopy);
  }
}

TEST_CASE("probe: smaps with CRLF line ends", "[probe][smaps]") {
  auto vmas = parse_smaps(load("smaps_crlf.txt"), 50);
  REQUIRE(vmas.size() == 4);
  CHECK(vmas[0].path == "/usr/bin/prog");  // no stray '\r'
  CHECK(sum(vmas).charged == 4 + 4 + 132);
}

TEST_CASE("probe: smaps cut inside the last VmFlags line", "[probe][smaps]") {
  auto vmas = parse_smaps(load("smaps_truncated.txt"), 4096);
  REQUIRE(vmas.size() == 4);
  CHECK_FALSE(vmas[3].v.have_flags);  // the cut flags line is not trusted
  CHECK(sum(vmas).charged == 8);
}

TEST_CASE("probe: lines longer than the parser's buffer do not corrupt parsing", "[probe][smaps]") {
  std::string t = load("smaps_longlines.txt");
  for (size_t chunk : {size_t(1), size_t(500), size_t(1024), size_t(4096)}) {
    INFO("chunk " << chunk);
    auto vmas = parse_smaps(t, chunk);
    REQUIRE(vmas.size() == 4);
    // 1: header with a 1500-char path: kept, path truncated to the internal buffer.
    CHECK(vmas[0].v.start == 0x7f0000000000ULL);
    CHECK(vmas[0].v.charged_by_fork());
    CHECK(vmas[0].path.size() == 511);
    CHECK(vmas[0].path.rfind("/very/long/xxx", 0) == 0);
    // 2: a 3000-char field line inside the entry is skipped.
    CHECK(vmas[1].v.start == 0x7f0000100000ULL);
    CHECK(vmas[1].v.charged_by_fork());
    // 3: a VmFlags line too long to hold is dropped: no flags rather than wrong flags.
    CHECK(vmas[2].v.start == 0x7f0000200000ULL);
    CHECK_FALSE(vmas[2].v.have_flags);
    // 4: parsing resumes normally.
    CHECK(vmas[3].path == "[stack]");
    CHECK(vmas[3].v.charged_by_fork());
    CHECK(sum(vmas).charged == 16 + 32 + 4);
  }
}

TEST_CASE("probe: maps text through the smaps parser", "[probe][maps]") {
  auto real = parse_smaps(load("maps_real.txt"), 4096);
  CHECK(real.size() == 38);
  auto edge = parse_smaps(load("maps_edge.txt"), 17);
  REQUIRE(edge.size() == 12);  // the unterminated last header line is still a whole VMA
  CHECK(edge[11].path == "[stack]");
  CHECK(edge[4].path == "/opt/my app/data file.bin (deleted)");
  for (const auto& e : edge) CHECK_FALSE(e.v.have_flags);
}

TEST_CASE("probe: empty and garbage smaps yield no VMA", "[probe][smaps]") {
  CHECK(parse_smaps(load("empty.txt"), 10).empty());
  CHECK(parse_smaps(load("garbage.bin"), 10).empty());
}

// ---------------------------------------------------------------------------------------------
// Readers against the real /proc

TEST_CASE("probe: read_small_file on /proc/self/status", "[probe][reader]") {
  char buf[8192];
  long n = read_small_file("/proc/self/status", buf, sizeof(buf));
  REQUIRE(n > 0);
  CHECK(buf[n] == '\0');
  ProcStatus st;
  REQUIRE(parse_status(std::string_view(buf, static_cast<size_t>(n)), st));
  CHECK(st.complete());
  CHECK(st.ppid == getppid());
  CHECK(st.uid == static_cast<int64_t>(getuid()));

  // A buffer too small: truncated, still NUL-terminated, and the parser reports the cut field
  // as unknown rather than wrong.
  char small[64];
  long m = read_small_file("/proc/self/status", small, sizeof(small));
  CHECK(m == 63);
  CHECK(small[63] == '\0');

  errno = 0;
  CHECK(read_small_file("/nonexistent/forkguard", buf, sizeof(buf)) == -1);
  CHECK(errno == ENOENT);
  CHECK(read_small_file("/proc/self/status", buf, 0) == -1);
}

TEST_CASE("probe: read_small_file leaves no descriptor behind", "[probe][reader]") {
  char buf[256];
  int before = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(before >= 0);
  ::close(before);
  for (int i = 0; i < 50; ++i) read_small_file("/proc/self/statm", buf, sizeof(buf));
  int after = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ::close(after);
  CHECK(after == before);
}

namespace {
void count_chunk(const char* data, size_t len, void* ctx) {
  (void)data;
  *static_cast<size_t*>(ctx) += len;
}
}  // namespace

TEST_CASE("probe: stream_file and read_vm_sysctl on the real /proc", "[probe][reader]") {
  size_t total = 0;
  REQUIRE(stream_file("/proc/self/maps", &count_chunk, &total) == 0);
  CHECK(total > 0);
  CHECK(stream_file("/nonexistent/forkguard", &count_chunk, &total) == -1);

  VmSysctl s = read_vm_sysctl();
  CHECK(s.overcommit_memory >= 0);
  CHECK(s.overcommit_memory <= 2);
  CHECK(s.overcommit_ratio >= 0);
  CHECK(s.overcommit_kbytes >= 0);
  CHECK(s.admin_reserve_kbytes >= 0);
  CHECK(s.user_reserve_kbytes >= 0);

  VmSysctl none = read_vm_sysctl("/nonexistent");
  CHECK(none.overcommit_memory == -1);
  CHECK(none.user_reserve_kbytes == -1);
}

// ---------------------------------------------------------------------------------------------
// Hostile input (issue 6, item 5): what the integration tests cannot put in a real /proc.

TEST_CASE("probe: numbers too large for int64, NUL bytes and huge lines leave fields unknown", "[probe][hostile]") {
  ProcStatus st;
  parse_status("VmSize:\t99999999999999999999999 kB\nVmRSS:\t12 kB\n", st);
  CHECK(st.vm_size_kb == -1);
  CHECK(st.vm_rss_kb == 12);

  const std::string with_nul("VmData:\t1\0 kB\nVmStk:\t132 kB\n", 28);
  ProcStatus sn;
  parse_status(with_nul, sn);
  CHECK(sn.vm_data_kb == -1);  // "1\0" is not a number followed by its unit
  CHECK(sn.vm_stk_kb == 132);

  // A 1 MiB line before the fields does not hide them or run past the text.
  const std::string huge = std::string(1024 * 1024, 'A') + "\nVmSize:\t2048 kB\n";
  ProcStatus sh;
  parse_status(huge, sh);
  CHECK(sh.vm_size_kb == 2048);

  MemInfo m;
  parse_meminfo("CommitLimit:    -5 kB\nCommitted_AS:   99999999999999999999999 kB\nMemTotal: 100 kB\n", m);
  CHECK(m.commit_limit_kb == -1);
  CHECK(m.committed_as_kb == -1);
  CHECK(m.mem_total_kb == 100);
  CHECK_FALSE(m.complete());
}

TEST_CASE("probe: read_vm_sysctl on a tree of garbage, out-of-range and unreadable files", "[probe][hostile]") {
  char tmpl[] = "/tmp/fg-probe-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string root = tmpl;
  REQUIRE(system(("mkdir -p " + root + "/sys/vm").c_str()) == 0);
  auto put = [&](const char* name, const std::string& text) {
    std::ofstream(root + "/sys/vm/" + name, std::ios::binary) << text;
  };
  put("overcommit_memory", "3\n");  // not a mode the kernel has
  put("overcommit_ratio", "abc\n");
  put("overcommit_kbytes", std::string(100, '9') + "\n");
  put("admin_reserve_kbytes", "8192\n");
  REQUIRE(mkdir((root + "/sys/vm/user_reserve_kbytes").c_str(), 0700) == 0);  // a directory: read fails
  const VmSysctl s = read_vm_sysctl(root.c_str());
  CHECK(s.overcommit_memory == -1);  // unknown, so the verdict is unknown
  CHECK(s.overcommit_ratio == -1);
  CHECK(s.overcommit_kbytes == -1);
  CHECK(s.admin_reserve_kbytes == 8192);
  CHECK(s.user_reserve_kbytes == -1);
  REQUIRE(system(("rm -rf " + root).c_str()) == 0);
}

TEST_CASE("probe: this process's picture reads CapEff only where the rule uses it (mode 2)", "[probe][picture]") {
  // A /proc of fixtures for statm and meminfo; capget(2) is the real one.
  char tmpl[] = "/tmp/fg-picture-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string root = tmpl;
  REQUIRE(mkdir((root + "/self").c_str(), 0700) == 0);
  std::ofstream(root + "/self/statm", std::ios::binary) << load("statm_real.txt");
  std::ofstream(root + "/meminfo", std::ios::binary) << load("meminfo_real.txt");
  ProcStatus real_status;
  char buf[8192];
  REQUIRE(read_small_file("/proc/self/status", buf, sizeof buf) > 0);
  REQUIRE(parse_status(buf, real_status));
  REQUIRE(real_status.cap_eff >= 0);
  const bool has_admin = ((real_status.cap_eff >> 21) & 1) != 0;

  for (int mode : {0, 1, 2, -1}) {
    CAPTURE(mode);
    VmSysctl vm;
    vm.overcommit_memory = mode;
    vm.overcommit_ratio = 50;
    vm.overcommit_kbytes = 0;
    vm.admin_reserve_kbytes = 8192;
    vm.user_reserve_kbytes = 131072;
    Picture p;
    gather_picture(0, Precision::automatic, 10, p, root.c_str(), &vm);
    CHECK(p.status.vm_size_kb > 0);          // statm came from the fixture
    CHECK(p.mem.committed_as_kb > 0);        // and meminfo
    if (mode == 0 || mode == 1) {
      CHECK(p.status.cap_eff == -1);         // not read: these rules never look at it
      CHECK_FALSE(p.inputs.cap_sys_admin);
      CommitInputs with_admin = p.inputs;    // and the verdict cannot depend on it
      with_admin.cap_sys_admin = true;
      CHECK(predict_fork(with_admin).verdict == p.verdict.verdict);
      CHECK(predict_fork(with_admin).margin_kb == p.verdict.margin_kb);
    } else {
      CHECK(p.status.cap_eff == real_status.cap_eff);
      CHECK(p.inputs.cap_sys_admin == has_admin);
    }
  }
  REQUIRE(system(("rm -rf " + root).c_str()) == 0);
}

TEST_CASE("probe: a kept /proc file reads what a fresh open reads, through one high close-on-exec descriptor",
          "[probe][kept]") {
  KeptProcFile meminfo{"/proc/meminfo", false};
  char buf[8192];
  for (int i = 0; i < 3; ++i) {
    errno = 1234;  // the first read opens the file, the others pread the kept one: errno untouched by both
    REQUIRE(meminfo.read(buf, sizeof buf, 0) > 0);
    CHECK(errno == 1234);
    MemInfo m;
    REQUIRE(parse_meminfo(buf, m));
    CHECK(m.complete());
  }
  const int fd = meminfo.current_fd();
  REQUIRE(fd >= high_descriptor_floor());
  CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  REQUIRE(meminfo.read(buf, sizeof buf, 0) > 0);
  CHECK(meminfo.current_fd() == fd);  // the same one, not a new one per read

  KeptProcFile statm{"/proc/self/statm", true};
  REQUIRE(statm.read(buf, sizeof buf, getpid()) > 0);
  ProcStatm sm;
  CHECK(parse_statm(buf, sm));
  CHECK(sm.size > 0);
  char small[4];  // cut like read_small_file: cap - 1 bytes and a NUL
  CHECK(statm.read(small, sizeof small, getpid()) == 3);
  CHECK(small[3] == '\0');
  close(statm.current_fd());  // leave no descriptor behind for the other tests
  close(meminfo.current_fd());
}

TEST_CASE("probe: a kept /proc file never reads or closes a number the program reused", "[probe][kept]") {
  KeptProcFile meminfo{"/proc/meminfo", false};
  char buf[8192];
  REQUIRE(meminfo.read(buf, sizeof buf, 0) > 0);
  const int kept = meminfo.current_fd();
  REQUIRE(kept >= 0);
  // The program closes every descriptor and gets our number back for a file of its own.
  char path[] = "/tmp/fg-kept-XXXXXX";
  const int mine = mkstemp(path);
  REQUIRE(mine >= 0);
  REQUIRE(write(mine, "the program's data\n", 19) == 19);
  REQUIRE(lseek(mine, 4, SEEK_SET) == 4);
  REQUIRE(close(kept) == 0);
  REQUIRE(dup2(mine, kept) == kept);
  REQUIRE(meminfo.read(buf, sizeof buf, 0) > 0);
  CHECK(std::string(buf).rfind("MemTotal:", 0) == 0);  // meminfo, not the program's file
  CHECK(meminfo.current_fd() != kept);
  CHECK(fcntl(kept, F_GETFD) >= 0);          // still open: not ours to close
  CHECK(lseek(kept, 0, SEEK_CUR) == 4);      // its offset untouched
  char back[32] = {};
  CHECK(pread(kept, back, sizeof back - 1, 0) == 19);
  CHECK(std::string(back) == "the program's data\n");
  close(kept);
  close(mine);
  unlink(path);
  close(meminfo.current_fd());
}

TEST_CASE("probe: a fork child reads its own kept /proc/self file, not its parent's", "[probe][kept]") {
  KeptProcFile statm{"/proc/self/statm", true};
  char buf[256];
  REQUIRE(statm.read(buf, sizeof buf, getpid()) > 0);
  const int parent_fd = statm.current_fd();
  struct stat parent_st {};
  REQUIRE(fstat(parent_fd, &parent_st) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // In the child: the read must come from /proc/<child>/statm, through a descriptor of its own.
    int status = 0;
    if (statm.read(buf, sizeof buf, getpid()) <= 0) status |= 1;
    struct stat mine {}, want {};
    if (fstat(statm.current_fd(), &mine) != 0 || stat("/proc/self/statm", &want) != 0) status |= 2;
    if (mine.st_ino != want.st_ino || mine.st_ino == parent_st.st_ino) status |= 4;
    // The inherited copy of the parent's descriptor was closed (or its number now holds ours).
    struct stat at_old {};
    if (fstat(parent_fd, &at_old) == 0 && at_old.st_ino == parent_st.st_ino) status |= 8;
    _exit(status);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  struct stat still {};
  CHECK(fstat(parent_fd, &still) == 0);  // the parent's own is untouched
  CHECK(still.st_ino == parent_st.st_ino);
  close(parent_fd);
}

TEST_CASE("probe: a kept /proc file is not adopted again when the program put the same file at its number",
          "[probe][kept]") {
  // Same device and inode but no close-on-exec: the program's own descriptor of the same file
  // (owned_fd.hpp's rule), so it is neither read nor closed, and the kept one is opened anew.
  KeptProcFile meminfo{"/proc/meminfo", false};
  char buf[8192];
  REQUIRE(meminfo.read(buf, sizeof buf, 0) > 0);
  const int kept = meminfo.current_fd();
  REQUIRE(kept >= 0);
  const int mine = open("/proc/meminfo", O_RDONLY);
  REQUIRE(mine >= 0);
  REQUIRE(close(kept) == 0);
  REQUIRE(dup2(mine, kept) == kept);  // dup2 leaves the flag off
  REQUIRE(meminfo.read(buf, sizeof buf, 0) > 0);
  CHECK(std::string(buf).rfind("MemTotal:", 0) == 0);
  CHECK(meminfo.current_fd() != kept);
  CHECK(meminfo.current_fd() >= 0);
  CHECK(fcntl(kept, F_GETFD) == 0);  // still open, still the program's: not ours to close
  close(kept);
  close(mine);
  close(meminfo.current_fd());
}

TEST_CASE("probe: a kept /proc file holds no low number when the program leaves no high one free",
          "[probe][kept]") {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Every number but one taken under a small limit: the read must still work, through that
    // one number, and give it back (nothing kept) instead of holding it across calls.
    struct rlimit rl {64, 64};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(100);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0) _exit(101);
    for (int fd = 3; fd < 64; ++fd) {
      if (fcntl(fd, F_GETFD) < 0 && dup2(null_fd, fd) != fd) _exit(102);
    }
    const int spare = 40;
    close(spare);
    KeptProcFile meminfo{"/proc/meminfo", false};
    char buf[8192];
    int status = 0;
    for (int i = 0; i < 2; ++i) {
      if (meminfo.read(buf, sizeof buf, 0) <= 0) status |= 1;
      if (std::string(buf).rfind("MemTotal:", 0) != 0) status |= 2;
      if (meminfo.current_fd() != -1) status |= 4;     // nothing kept
      if (fcntl(spare, F_GETFD) >= 0) status |= 8;     // the one free number given back
    }
    _exit(status);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

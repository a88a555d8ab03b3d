/// @file engine_pieces.cpp
/// @brief The user-space pieces of one recorded call, timed one at a time over the core library
/// itself (no preload): the probe (gather_picture), stack capture and cached symbol lookup, JSON
/// and text formatting, the sink's write, parsing the settings. piece_costs.c times the syscalls
/// and faults; this times what forkguard's own code adds around them. Prints figures only.
///
///   engine_pieces [-n BATCHES]
///
/// Each figure: median and 10th percentile per call over BATCHES batches of 10 calls (the 10th
/// percentile is the closer view of the unloaded cost on a busy machine).
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include "forkguard/config.hpp"
#include "forkguard/picture.hpp"
#include "forkguard/probe.hpp"
#include "forkguard/record.hpp"
#include "forkguard/sink.hpp"
#include "forkguard/stack.hpp"

using namespace forkguard;

namespace {

int g_batches = 300;
constexpr int kBatch = 10;

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

template <typename Fn>
void measure(const char* label, Fn&& fn) {
  std::vector<int64_t> s(static_cast<size_t>(g_batches));
  for (int i = 0; i < kBatch; ++i) fn();  // warm: caches filled, descriptors opened
  for (auto& v : s) {
    const int64_t t0 = now_ns();
    for (int i = 0; i < kBatch; ++i) fn();
    v = (now_ns() - t0) / kBatch;
  }
  std::sort(s.begin(), s.end());
  std::printf("  %-62s %8.2f us  (p10 %.2f)\n", label, static_cast<double>(s[s.size() / 2]) / 1000.0,
              static_cast<double>(s[s.size() / 10]) / 1000.0);
}

// A stack of `depth` frames of this program under the capture, as a fork site deep in a program.
volatile int g_sink_int;
__attribute__((noinline)) int capture_at_depth(int depth, uintptr_t* pcs, int max) {
  if (depth > 0) {
    const int n = capture_at_depth(depth - 1, pcs, max);
    g_sink_int = depth;  // work after the call: no tail call, one real frame per level
    return n;
  }
  return capture_pcs(pcs, max, 0);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
      g_batches = std::max(10, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: engine_pieces [-n BATCHES]\n");
      return 2;
    }
  }
  std::printf("forkguard engine pieces: median per call over %d batches of %d (10th percentile)\n", g_batches,
              kBatch);

  std::printf("probe\n");
  const VmSysctl vm = read_vm_sysctl("/proc");
  Picture pic;
  measure("gather_picture, this process (statm, meminfo kept open; capget in mode 2)",
          [&] { gather_picture(0, Precision::automatic, 10, pic, "/proc", &vm); });
  // "/proc/." names the same files but is not "/proc": the path that opens them anew each time.
  measure("gather_picture, the same files opened and closed on every call",
          [&] { gather_picture(0, Precision::automatic, 10, pic, "/proc/.", &vm); });
  VmSysctl mode2 = vm;
  mode2.overcommit_memory = 2;
  measure("gather_picture as in mode 2 (capget added)", [&] { gather_picture(0, Precision::automatic, 10, pic, "/proc", &mode2); });
  measure("read_vm_sysctl (the five sysctls; the engine re-reads them once a second)",
          [&] { (void)read_vm_sysctl("/proc"); });
  char exe[PATH_MAX];
  measure("main_program_path (readlink /proc/self/exe; cached once per image)",
          [&] { main_program_path(exe, sizeof exe); });

  std::printf("stack and symbols\n");
  uintptr_t pcs[Record::kMaxFrames + 16];
  int n = capture_at_depth(14, pcs, 28);  // first call: loads libunwind
  measure("capture_pcs, about 16 frames (libunwind's unw_backtrace)", [&] { n = capture_at_depth(14, pcs, 28); });
  std::printf("    (%d frames)\n", n);
  Record rec;
  measure("resolve_frame x 16, cached (module, offset, symbol per pc)", [&] {
    rec.nframes = 0;
    for (int i = 0; i < n && rec.nframes < 16; ++i) {
      Frame& f = rec.frames[rec.nframes++];
      f.pc = pcs[i];
      resolve_frame(f);
    }
  });
  const char* mod = nullptr;
  uintptr_t off = 0;
  measure("resolve_site (the call site, cached)", [&] { resolve_site(pcs[0], mod, off); });

  std::printf("record\n");
  rec.pid = getpid();
  rec.ppid = getppid();
  rec.tid = rec.pid;
  rec.exe = exe;
  rec.vm_size_kb = pic.status.vm_size_kb;
  rec.vm_rss_kb = pic.status.vm_rss_kb;
  rec.charge_kb = pic.inputs.charge_kb;
  rec.commit_limit_kb = pic.mem.commit_limit_kb;
  rec.committed_as_kb = pic.mem.committed_as_kb;
  rec.overcommit_mode = pic.vm.overcommit_memory;
  rec.verdict = pic.verdict.verdict;
  rec.margin_kb = pic.verdict.margin_kb;
  rec.allowed_kb = pic.verdict.allowed_kb;
  rec.rule = pic.verdict.why;
  rec.site_module = mod;
  rec.site_offset = off;
  rec.result = 12345;
  rec.child_pid = 12345;
  rec.duration_us = 87;
  char line[PIPE_BUF];
  size_t len = 0;
  measure("format_json, 16 frames", [&] { len = format_json(rec, line, sizeof line); });
  std::printf("    (%zu bytes)\n", len);
  measure("format_text", [&] { (void)format_text(rec, line, sizeof line); });

  char dir[] = "/tmp/forkguard-engine-pieces.XXXXXX";
  if (mkdtemp(dir) != nullptr) {
    Config cfg;
    cfg.log_kind = LogKind::file;
    std::snprintf(cfg.log_path, sizeof cfg.log_path, "%s/records.jsonl", dir);
    Sink sink;
    sink.configure(cfg);
    len = format_json(rec, line, sizeof line);
    measure("Sink::write_record to a file (identity check, SIGPIPE guard, write)", [&] { sink.write_record(line, len); });
    close(sink.current_fd());
    unlink(cfg.log_path);
    rmdir(dir);
  }

  std::printf("settings (the shim's constructor, in every exec'd child)\n");
  char e1[] = "PATH=/usr/bin:/bin", e2[] = "HOME=/root", e3[] = "FORKGUARD_MODE=observe", e4[] = "FORKGUARD_FORMAT=json",
       e5[] = "FORKGUARD_LOG=/tmp/x.%p.jsonl", e6[] = "FORKGUARD_STACK=16", e7[] = "LANG=C.UTF-8";
  char* envp[] = {e1, e2, e3, e4, e5, e6, e7, nullptr};
  measure("snapshot_environment + parse_config (4 settings among 7 variables)", [&] {
    EnvSnapshot snap;
    snapshot_environment(envp, snap);
    (void)parse_config(snapshot_lookup, &snap, false, nullptr, nullptr);
  });
  return 0;
}

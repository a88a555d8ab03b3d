/// @file commit_sweep.cpp
/// @brief Prediction sweep on a strict-accounting kernel (run inside the QEMU guest by
/// scripts/vm-test): the parent's accountable memory is varied so that its fork's charge spans
/// 50% to 150% of the room left for it, and at each step the shim's verdict is compared with what
/// the kernel actually does with a plain fork().
///
/// The program runs under LD_PRELOAD=libforkguard.so in observe mode (FORKGUARD_FORMAT=json,
/// FORKGUARD_LOG=<file>): every fork() it makes goes through the shim, which gathers its picture,
/// predicts, and calls the real fork unchanged. After each fork the program reads the shim's
/// record back from the log, so the "shim" column is the library's verdict end to end, on the
/// very call the kernel judged. The "core" column is a cross-check: the same core code
/// (forkguard_core, gather_picture(Precision::exact) + predict_fork) called directly just before.
///
/// Definitions (all in kB, measured from the guest's /proc):
///   allowed  = CommitLimit - admin reserve (not for CAP_SYS_ADMIN) - min(VmSize/32, user reserve)
///   room     = allowed - Committed_AS          (what is left for the fork after the parent's own
///                                               allocations, the mapping included)
///   charge   = sum of the VMAs with "ac" and without "dc" in /proc/self/smaps
///   ratio    = charge / room                   (the kernel refuses from 100% on)
///   margin   = room - charge                   (positive: fits; <= 0: refused)
///   band     = |margin| <= 1% of allowed  (within 1% of the limit)
///   after    = charge of the VMAs above the test mapping (dup_mmap copies in address order)
///
/// Why there is a band. __vm_enough_memory() adds each VMA's pages to vm_committed_as, a percpu
/// counter, then compares percpu_counter_read_positive() - the central count, without what each
/// CPU holds back - with the limit. A CPU holds back up to vm_committed_as_batch pages (in mode
/// 2: max(RAM pages / CPUs / 256, 32), 457 pages = 1.8 MiB for this 512 MiB guest, even with one
/// CPU). The test mapping is larger than the batch, so adding it folds everything into the
/// central count (exact at that point); the small VMAs that follow it stay held back, so the
/// kernel judges committed + charge - after, not committed + charge. The "model" column applies
/// that: refused iff margin + after <= 0 (valid while after < batch).
///
/// Usage: fg_vm_commit_sweep --label NAME [--user UID] [--steps N]
/// Prints one "SWEEP" line per step, then one "SUMMARY" line. Exit status: 0 when every step
/// outside the band agrees, 1 otherwise, 2 when the setup is impossible.
#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "forkguard/picture.hpp"

using forkguard::gather_picture;
using forkguard::Picture;
using forkguard::Precision;
using forkguard::Verdict;

namespace {

// The system's page size (4 KiB, or 16/64 KiB on some arm64 kernels): mappings are sized in it.
const long kPage = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;

struct Mapping {
  char* addr = nullptr;
  size_t len = 0;
};

struct Measure {
  int64_t charge = 0, committed = 0, allowed = 0, limit = 0, total_vm = 0;
  int64_t room() const { return allowed - committed; }
  int64_t margin() const { return room() - charge; }
  double ratio() const { return room() > 0 ? 100.0 * static_cast<double>(charge) / static_cast<double>(room()) : 1e9; }
  Verdict verdict = Verdict::unknown;
  bool vm32_active = false;  ///< the user reserve is VmSize/32 (grows with the mapping)
};

bool measure(Measure& m) {
  static Picture p;  // large: keep it off the stack
  gather_picture(0, Precision::exact, 0, p);
  if (!p.used_smaps || p.verdict.verdict == Verdict::unknown || p.vm.overcommit_memory != 2) return false;
  m.charge = p.inputs.charge_kb;
  m.committed = p.mem.committed_as_kb;
  m.allowed = p.verdict.allowed_kb;
  m.limit = p.mem.commit_limit_kb;
  m.total_vm = p.status.vm_size_kb;
  m.verdict = p.verdict.verdict;
  m.vm32_active = p.inputs.total_vm_kb / 4 / 32 < p.inputs.user_reserve_kb / 4;
  return true;
}

/// Charge of the accountable VMAs that dup_mmap() visits after the one holding `addr` (it walks
/// in address order). See the note on vm_committed_as in main(): these are the pages the
/// kernel's approximate counter may not show when it judges the fork.
struct AfterCtx {
  uint64_t addr = 0, big_end = 0;
  int64_t after_kb = 0;
};
void after_vma(const forkguard::Vma& v, void* ctx) {
  auto* c = static_cast<AfterCtx*>(ctx);
  if (c->addr >= v.start && c->addr < v.end) c->big_end = v.end;
  if (c->big_end != 0 && v.start >= c->big_end && v.charged_by_fork()) c->after_kb += static_cast<int64_t>(v.size_kb());
}
void after_chunk(const char* data, size_t len, void* ctx) { static_cast<forkguard::SmapsParser*>(ctx)->feed(data, len); }
int64_t charge_after(const void* addr) {
  AfterCtx ctx;
  ctx.addr = reinterpret_cast<uint64_t>(addr);
  forkguard::SmapsParser parser(after_vma, &ctx);
  if (forkguard::stream_file("/proc/self/smaps", after_chunk, &parser) != 0) return -1;
  parser.finish();
  return ctx.after_kb;
}

/// Resizes the test mapping to `kb` (page-rounded; 0 unmaps). False when the kernel refuses.
bool resize(Mapping& map, int64_t kb) {
  size_t len = static_cast<size_t>(kb < 0 ? 0 : kb) * 1024;
  len = (len + kPage - 1) / kPage * kPage;
  if (len == map.len) return true;
  if (len == 0) {
    munmap(map.addr, map.len);
    map = Mapping{};
    return true;
  }
  void* p;
  if (map.len == 0) {
    p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  } else {
    p = mremap(map.addr, map.len, len, MREMAP_MAYMOVE);
  }
  if (p == MAP_FAILED) return false;
  map.addr = static_cast<char*>(p);
  map.len = len;
  map.addr[0] = 1;  // mostly untouched, like the user's program: one page resident
  return true;
}

/// Moves the mapping until the picture hits the target: a ratio (percent) or a margin (kB).
/// One page added adds a page to Committed_AS and a page to the charge (and VmSize/32 to the
/// user reserve when that is the smaller reserve), so the margin moves by about 2 pages a page.
bool aim(Mapping& map, bool by_margin, double target, Measure& m) {
  for (int iter = 0; iter < 8; ++iter) {
    if (!measure(m)) return false;
    const double s = m.vm32_active ? 1.0 / 32 : 0.0;
    double d;
    if (by_margin) {
      d = (static_cast<double>(m.margin()) - target) / (2 + s);
    } else {
      const double r = target / 100.0;
      d = (r * static_cast<double>(m.room()) - static_cast<double>(m.charge)) / (1 + r * (1 + s));
    }
    const int64_t dkb = static_cast<int64_t>(std::llround(d / 4)) * 4;
    if (dkb == 0) return true;
    const int64_t cur = static_cast<int64_t>(map.len / 1024);
    if (!resize(map, cur + dkb)) {
      fprintf(stderr, "sweep: cannot resize the mapping to %lld kB: %s\n", static_cast<long long>(cur + dkb),
              strerror(errno));
      return false;
    }
  }
  return measure(m);
}

/// The shim's record of the fork just made: the last JSON line with "call":"fork" in the log
/// after `from`. Raw read(2) into a static buffer: no allocation between measurement and fork.
struct ShimView {
  bool found = false;
  char verdict[16] = "-";
  long long margin = 0, charge = 0, headroom = 0;
  char method[16] = "-";
  char err[16] = "";
};

bool json_field(const char* line, const char* key, char* out, size_t cap) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char* p = strstr(line, pat);
  if (p == nullptr) return false;
  p += strlen(pat);
  if (*p == '"') ++p;
  size_t n = 0;
  while (*p != '\0' && *p != '"' && *p != ',' && *p != '}' && n + 1 < cap) out[n++] = *p++;
  out[n] = '\0';
  return true;
}

ShimView read_shim(int fd, off_t& from) {
  static char buf[1 << 16];
  ShimView v;
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= from) return v;
  size_t want = static_cast<size_t>(st.st_size - from);
  if (want > sizeof buf - 1) {
    from = st.st_size - static_cast<off_t>(sizeof buf - 1);
    want = sizeof buf - 1;
  }
  const ssize_t n = pread(fd, buf, want, from);
  if (n <= 0) return v;
  from += n;
  buf[n] = '\0';
  char* last = nullptr;
  for (char* line = strtok(buf, "\n"); line != nullptr; line = strtok(nullptr, "\n")) {
    if (strstr(line, "\"call\":\"fork\"") != nullptr) last = line;
  }
  if (last == nullptr) return v;
  char tmp[32];
  v.found = json_field(last, "verdict", v.verdict, sizeof v.verdict);
  if (json_field(last, "margin_kb", tmp, sizeof tmp)) v.margin = atoll(tmp);
  if (json_field(last, "charge_kb", tmp, sizeof tmp)) v.charge = atoll(tmp);
  if (json_field(last, "headroom_kb", tmp, sizeof tmp)) v.headroom = atoll(tmp);
  json_field(last, "charge_method", v.method, sizeof v.method);
  json_field(last, "errno", v.err, sizeof v.err);
  return v;
}

/// A plain fork: the child exits at once. Returns "ok", "ENOMEM" or another errno name.
const char* do_fork() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  if (pid < 0) return errno == ENOMEM ? "ENOMEM" : "error";
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return "ok";
}

const char* verdict_word(Verdict v) { return v == Verdict::ok ? "ok" : v == Verdict::refuse ? "refuse" : "unknown"; }

}  // namespace

int main(int argc, char** argv) {
  std::string label = "sweep";
  long uid = -1;
  int steps = 41;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--label") == 0 && i + 1 < argc) {
      label = argv[++i];
    } else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
      uid = strtol(argv[++i], nullptr, 10);
    } else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) {
      steps = atoi(argv[++i]);
    } else {
      fprintf(stderr, "usage: %s --label NAME [--user UID] [--steps N]\n", argv[0]);
      return 2;
    }
  }
  if (steps < 2) steps = 2;
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (uid >= 0) {  // an ordinary user: no CAP_SYS_ADMIN, so the admin reserve applies
    if (setgroups(0, nullptr) != 0 || setgid(static_cast<gid_t>(uid)) != 0 || setuid(static_cast<uid_t>(uid)) != 0) {
      fprintf(stderr, "sweep: cannot become uid %ld: %s\n", uid, strerror(errno));
      return 2;
    }
  }
  const char* log = getenv("FORKGUARD_LOG");
  const char* preload = getenv("LD_PRELOAD");
  if (log == nullptr || strchr(log, '%') != nullptr || preload == nullptr || strstr(preload, "forkguard") == nullptr) {
    fprintf(stderr, "sweep: run me under LD_PRELOAD=libforkguard.so with FORKGUARD_FORMAT=json FORKGUARD_LOG=FILE\n");
    return 2;
  }
  // Warm-up fork: the shim's first record loads libunwind (stacks), which adds mappings.
  do_fork();
  const int fd = open(log, O_RDONLY | O_CLOEXEC);
  off_t from = 0;
  {
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0) {
      fprintf(stderr, "sweep: cannot read the shim's log %s: %s\n", log, strerror(errno));
      return 2;
    }
    from = st.st_size;
  }
  Measure m0;
  if (!measure(m0)) {
    fprintf(stderr, "sweep: no exact picture (is vm.overcommit_memory 2?)\n");
    return 2;
  }
  // vm_committed_as_batch in mode 2 (mm/util.c mm_compute_batch): max(RAM pages/CPUs/256, max(2*CPUs, 32)).
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
  int64_t batch_pages = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) / cpus / 256;
  const int64_t floor_pages = 2 * cpus > 32 ? 2 * cpus : 32;
  if (batch_pages < floor_pages) batch_pages = floor_pages;
  const int64_t batch_kb = batch_pages * (kPage / 1024);
  printf("INFO %s cpus=%ld committed_as_batch_kb=%lld\n", label.c_str(), cpus, static_cast<long long>(batch_kb));
  printf("INFO %s uid=%d commit_limit_kb=%lld committed_as_kb=%lld allowed_kb=%lld base_charge_kb=%lld room_kb=%lld\n",
         label.c_str(), static_cast<int>(getuid()), static_cast<long long>(m0.limit),
         static_cast<long long>(m0.committed), static_cast<long long>(m0.allowed), static_cast<long long>(m0.charge),
         static_cast<long long>(m0.room()));
  printf("HEAD %s step target ratio_pct margin_kb room_kb charge_kb shim_margin_kb headroom_kb method after_kb shim core model kernel agree band\n",
         label.c_str());

  // Coarse steps from 50% to 150%, then probes inside the +-1% band, aimed by margin.
  struct Target {
    bool by_margin;
    double value;
  };
  Target targets[256];
  int nt = 0;
  for (int i = 0; i < steps && nt < 200; ++i) targets[nt++] = {false, 50.0 + 100.0 * i / (steps - 1)};
  static const double kBand[] = {-2048, -1024, -512, -256, -128, -64, -32, -16, -8, -4, 0,
                                 4,     8,     16,   32,   64,   128, 256, 512, 1024, 2048};
  for (double b : kBand) targets[nt++] = {true, b};

  int model_agree = 0, out_total = 0, out_agree = 0, band_total = 0, band_agree = 0, core_agree = 0, shim_core_agree = 0, failed = 0;
  for (int i = 0; i < nt; ++i) {
    Mapping map;
    Measure m;
    if (!aim(map, targets[i].by_margin, targets[i].value, m)) {
      printf("SWEEP %s %d setup-failed\n", label.c_str(), i);
      ++failed;
      resize(map, 0);
      continue;
    }
    const int64_t after = charge_after(map.addr);
    const char* kernel = do_fork();
    const ShimView shim = read_shim(fd, from);
    resize(map, 0);
    const bool kernel_refused = strcmp(kernel, "ENOMEM") == 0;
    const bool shim_refuse = strcmp(shim.verdict, "refuse") == 0;
    const bool agree = shim.found && strcmp(shim.verdict, "unknown") != 0 && shim_refuse == kernel_refused &&
                       strcmp(kernel, "error") != 0;
    const bool core_ok = (m.verdict == Verdict::refuse) == kernel_refused && m.verdict != Verdict::unknown;
    const double ratio = m.ratio();
    const bool band = std::llabs(m.margin()) * 100 <= m.allowed;
    const bool model_refuse = after >= 0 && after < batch_kb ? m.margin() + after <= 0 : m.margin() <= 0;
    model_agree += model_refuse == kernel_refused;
    if (band) {
      ++band_total;
      band_agree += agree;
    } else {
      ++out_total;
      out_agree += agree;
    }
    core_agree += core_ok;
    shim_core_agree += shim.found && strcmp(shim.verdict, verdict_word(m.verdict)) == 0;
    char target[32];
    if (targets[i].by_margin) {
      snprintf(target, sizeof target, "m%+.0f", targets[i].value);
    } else {
      snprintf(target, sizeof target, "r%.1f", targets[i].value);
    }
    printf("SWEEP %s %d %s %.3f %lld %lld %lld %lld %lld %s %lld %s %s %s %s %s %s\n", label.c_str(), i, target, ratio,
           static_cast<long long>(m.margin()), static_cast<long long>(m.room()), static_cast<long long>(m.charge),
           shim.margin, shim.headroom, shim.method, static_cast<long long>(after), shim.verdict, verdict_word(m.verdict),
           model_refuse ? "refuse" : "ok", kernel_refused ? "refuse" : kernel,
           agree ? "yes" : "NO", band ? "band" : "out");
  }
  printf("SUMMARY %s uid=%d steps=%d outside_agree=%d/%d band_agree=%d/%d core_agree=%d/%d shim_core_same=%d/%d "
         "model_agree=%d/%d setup_failed=%d\n",
         label.c_str(), static_cast<int>(getuid()), nt, out_agree, out_total, band_agree, band_total, core_agree, nt,
         shim_core_agree, nt, model_agree, nt, failed);
  return out_agree == out_total && failed == 0 ? 0 : 1;
}

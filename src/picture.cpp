/// @file picture.cpp
/// @brief Gathers a process's commit picture and predicts the kernel's verdict on its fork.
#include "forkguard/picture.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "forkguard/fixed_writer.hpp"
#include "forkguard/kept_proc_file.hpp"
#include "forkguard/smaps_cache.hpp"

namespace forkguard {

namespace {

constexpr int kCapSysAdmin = 21;

// The two files every recorded call reads, kept open between calls (this process, real /proc).
KeptProcFile g_self_statm{"/proc/self/statm", true};
KeptProcFile g_meminfo{"/proc/meminfo", false};

// This process's last smaps walk: a second at most, so a flag change maps cannot show is seen soon.
constexpr int64_t kWalkMaxAgeNs = 1000000000;
SmapsCache g_walks{kWalkMaxAgeNs};

int64_t monotonic_ns() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO: no syscall, async-signal-safe
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// This process's smaps walk, or the last one while maps reads the same (smaps_cache.hpp): a
// walk is kept only when maps read the same before and after it (no mapping changed meanwhile).
int walk_self(const char* smaps_path, const char* maps_path, ChargeSummary& out, bool& reused) {
  reused = false;
  MapsKey before;
  const bool keyed = read_maps_key(maps_path, before) == 0;
  const int64_t now = monotonic_ns();
  if (keyed && g_walks.lookup(before, now, out)) {
    reused = true;
    return 0;
  }
  const uint64_t gen = g_walks.generation();
  if (measure_charge_smaps(smaps_path, out) != 0) return -1;
  MapsKey after;
  if (keyed && read_maps_key(maps_path, after) == 0 && after == before) g_walks.store(before, now, gen, out);
  return 0;
}

// A whole small /proc file: kept open when it is this process's real /proc, else opened anew.
long read_proc(KeptProcFile* kept, const char* path, char* buf, size_t cap) {
  if (kept == nullptr) return read_small_file(path, buf, cap);
  return kept->read(buf, cap, kept == &g_self_statm ? getpid() : 0);
}

void proc_path(char* out, size_t cap, const char* root, pid_t pid, const char* leaf) {
  FixedWriter w(out, cap - 1);
  w.put(root);
  w.put('/');
  if (pid == 0) {
    w.put("self");
  } else {
    w.put_int(pid);
  }
  w.put('/');
  w.put(leaf);
  out[w.size()] = '\0';
}

void note_errno(Picture& out) {
  if (out.read_errno == 0) out.read_errno = errno != 0 ? errno : EIO;
}

// Whether the cheap estimate leaves the verdict in doubt, so the smaps walk is worth its cost.
bool estimate_is_near_limit(const CommitInputs& in, const CommitVerdict& v, int margin_pct) {
  if (v.verdict == Verdict::unknown) return in.charge_kb >= 0;  // mode 0 without a largest VMA yet
  if (v.allowed_kb <= 0) return true;
  const int64_t band = v.allowed_kb / 100 * margin_pct;
  return v.margin_kb <= band;
}


// This process's figures the cheap way: statm's `data` is VmData + VmStk, capget gives CapEff,
// only where the rule uses it (mode 2's admin reserve): one syscall less per call elsewhere.
void read_self_fast(const char* proc_root, bool real_proc, int64_t page_kb, Picture& out, bool need_caps) {
  char path[256];
  char buf[256];
  proc_path(path, sizeof path, proc_root, 0, "statm");
  ProcStatm statm;
  if (read_proc(real_proc ? &g_self_statm : nullptr, path, buf, sizeof buf) >= 0 && parse_statm(buf, statm)) {
    out.status.vm_size_kb = statm.size >= 0 ? statm.size * page_kb : -1;
    out.status.vm_rss_kb = statm.resident >= 0 ? statm.resident * page_kb : -1;
    out.status.vm_data_kb = statm.data >= 0 ? statm.data * page_kb : -1;
    out.status.vm_stk_kb = statm.data >= 0 ? 0 : -1;  // statm folds the stack into `data`
  } else {
    note_errno(out);
  }
  if (!need_caps) return;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) == 0) out.status.cap_eff = data[0].effective | (int64_t{data[1].effective} << 32);
}

}  // namespace

void forget_smaps_walks() { g_walks.clear(); }

void gather_picture(pid_t pid, Precision precision, int margin_pct, Picture& out, const char* proc_root,
                    const VmSysctl* known_vm) {
  out = Picture{};
  char path[256];
  char buf[4096];
  const long page = sysconf(_SC_PAGESIZE);
  const bool real_proc = std::strcmp(proc_root, "/proc") == 0;
  const int64_t page_kb = page >= 1024 ? page / 1024 : 4;

  out.vm = known_vm != nullptr ? *known_vm : read_vm_sysctl(proc_root);
  if (pid == 0 && precision == Precision::automatic) {
    const int mode = out.vm.overcommit_memory;
    read_self_fast(proc_root, real_proc, page_kb, out, mode != 0 && mode != 1);
  } else {
    proc_path(path, sizeof path, proc_root, pid, "status");
    if (read_small_file(path, buf, sizeof buf) >= 0) {
      parse_status(buf, out.status);
    } else {
      note_errno(out);
    }
  }
  FixedWriter w(path, sizeof path - 1);
  w.put(proc_root);
  w.put("/meminfo");
  path[w.size()] = '\0';
  if (read_proc(real_proc ? &g_meminfo : nullptr, path, buf, sizeof buf) >= 0) {
    parse_meminfo(buf, out.mem);
  } else {
    note_errno(out);
  }

  CommitInputs& in = out.inputs;
  in.overcommit_mode = out.vm.overcommit_memory;
  in.mem_total_kb = out.mem.mem_total_kb;
  in.swap_total_kb = out.mem.swap_total_kb;
  in.commit_limit_kb = out.mem.commit_limit_kb;
  in.committed_as_kb = out.mem.committed_as_kb;
  in.admin_reserve_kb = out.vm.admin_reserve_kbytes;
  in.user_reserve_kb = out.vm.user_reserve_kbytes;
  in.total_vm_kb = out.status.vm_size_kb;
  in.charge_kb = estimate_charge_kb(out.status);
  in.cap_sys_admin = out.status.cap_eff >= 0 && ((out.status.cap_eff >> kCapSysAdmin) & 1) != 0;
  in.page_kb = page_kb;

  // Mode 0 judges the largest single VMA: the estimate bounds it when far below RAM + swap.
  if (in.overcommit_mode == 0 && in.charge_kb >= 0) in.largest_vma_kb = in.charge_kb;
  out.verdict = predict_fork(in);

  const bool walk = precision == Precision::exact ||
                    (in.overcommit_mode != 1 && in.overcommit_mode >= 0 &&
                     estimate_is_near_limit(in, out.verdict, margin_pct));
  if (!walk) return;
  proc_path(path, sizeof path, proc_root, pid, "smaps");
  // Only this process's automatic walks are reused: `forkguard check` and Precision::exact walk.
  const bool reusable = pid == 0 && real_proc && precision == Precision::automatic;
  char maps[256];
  proc_path(maps, sizeof maps, proc_root, pid, "maps");
  const int walked = reusable ? walk_self(path, maps, out.smaps, out.smaps_reused) : measure_charge_smaps(path, out.smaps);
  if (walked != 0) {
    note_errno(out);
    return;  // keep the estimate's verdict
  }
  out.used_smaps = true;
  in.charge_kb = out.smaps.charge_kb;
  in.largest_vma_kb = out.smaps.largest_kb;
  out.verdict = predict_fork(in);
}

}  // namespace forkguard

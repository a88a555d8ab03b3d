/// @file site_profile.cpp
/// @brief Learning spawn-like fork sites: a sampled child's writes, tracked with userfaultfd
/// async write-protect and read back with PAGEMAP_SCAN, appended to the profile; and the
/// profile read back in mitigate mode.
#include "forkguard/site_profile.hpp"

#include <fcntl.h>
#include <dlfcn.h>
#include <link.h>
#include <linux/userfaultfd.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "forkguard/diag.hpp"
#include "forkguard/fixed_writer.hpp"
#include "forkguard/libc_features.hpp"
#include "forkguard/owned_fd.hpp"
#include "forkguard/probe.hpp"

// Debian 12's kernel headers (6.1) predate these (6.4 and 6.7): defined from the kernel's uapi.
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef PAGEMAP_SCAN
struct page_region {
  uint64_t start, end, categories;
};
struct pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
      category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WRITTEN (1 << 1)
#endif

namespace forkguard {

namespace {

// The system's page size (4, 16 or 64 KiB on ARM), set in the parent by learn_prepare().
uintptr_t g_page = 4096;

// struct rseq as the kernel writes it (cpu_id_start .. mm_cid, padded to its 32-byte alignment).
constexpr uintptr_t kRseqAreaBytes = 32;

// This thread's rseq area, registered by glibc >= 2.35 at thread pointer + __rseq_offset; 0 when
// glibc registers none. Looked up at each learned fork, in the parent (libc_features.hpp).
uintptr_t rseq_area() {
  const auto* offset = static_cast<const ptrdiff_t*>(libc_optional("__rseq_offset"));
  const auto* size = static_cast<const unsigned*>(libc_optional("__rseq_size"));
  if (offset == nullptr || size == nullptr || *size == 0) return 0;
  return reinterpret_cast<uintptr_t>(__builtin_thread_pointer()) + static_cast<uintptr_t>(*offset);
}
constexpr int kMaxRanges = 512;
constexpr int kMaxWhite = 256;
constexpr int kMaxSnap = 64;

struct Range {
  uintptr_t start, end;
};

// What prepare() sets in the parent; the child reads its own copy after the fork.
struct LearnState {
  bool armed = false;
  char site[160] = {};
  char path[1024] = {};
  uintptr_t stack_address = 0;
  Range white[kMaxWhite] = {};  // pages that are this library's own state: never the program's writes
  int nwhite = 0;
  Range exact[kMaxWhite] = {};  // bytes a spawn-like child writes anyway: GOT slots, errno, link maps
  int nexact = 0;
  // Child only: copies of the pages holding `exact` ranges, to tell those writes from others.
  uintptr_t snap_pages[kMaxSnap] = {};
  int nsnap = 0;
  unsigned char* snap = nullptr;
  pid_t parent_pid = 0;
  // Child only:
  bool in_child = false;
  int uffd = 0;          // at or above the high base; valid only while `tracking` and still ours
  FdIdentity uffd_id;
  bool tracking = false;  // zero-initialised state keeps this table in .bss, not .data
  Range tracked[kMaxRanges] = {};
  int ntracked = 0;
  bool finished = false;
};
LearnState g_learn;

std::atomic<int> g_method{-1};

int open_uffd() {
  // UFFD_USER_MODE_ONLY lets an unprivileged process use it (vm.unprivileged_userfaultfd=0).
  return static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY));
}

// Close-on-exec and moved to the high base at once: the child runs the program's code (closefrom,
// dup2, opens) until it execs, and none of that may meet a descriptor of ours at a low number.
int open_uffd_high(FdIdentity& id) { return adopt_high(open_uffd(), id); }

bool enable_wp_async(int uffd) {
  struct uffdio_api api {};
  api.api = UFFD_API;
  api.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
  return ioctl(uffd, UFFDIO_API, &api) == 0;
}

void add_white(uintptr_t start, uintptr_t end) {
  if (g_learn.nwhite >= kMaxWhite || end <= start) return;
  g_learn.white[g_learn.nwhite++] = Range{start & ~(g_page - 1), (end + g_page - 1) & ~(g_page - 1)};
}

void add_exact(uintptr_t start, uintptr_t end) {
  if (g_learn.nexact >= kMaxWhite || end <= start) return;
  g_learn.exact[g_learn.nexact++] = Range{start, end};
}

bool in_ranges(const Range* r, int n, uintptr_t a) {
  for (int i = 0; i < n; ++i) {
    if (a >= r[i].start && a < r[i].end) return true;
  }
  return false;
}

// Child: copies every page that holds an exact range (they are compared at the end).
void snapshot_exact_pages() {
  g_learn.nsnap = 0;
  for (int i = 0; i < g_learn.nexact; ++i) {
    for (uintptr_t p = g_learn.exact[i].start & ~(g_page - 1); p < g_learn.exact[i].end; p += g_page) {
      bool seen = in_ranges(g_learn.white, g_learn.nwhite, p);
      for (int k = 0; k < g_learn.nsnap && !seen; ++k) seen = g_learn.snap_pages[k] == p;
      unsigned char resident = 0;
      // A range may run past its mapping (a link map near a mapping's end): unmapped pages fail mincore.
      const bool mapped = mincore(reinterpret_cast<void*>(p), g_page, &resident) == 0;
      if (!seen && mapped && g_learn.nsnap < kMaxSnap) g_learn.snap_pages[g_learn.nsnap++] = p;
    }
  }
  if (g_learn.nsnap == 0) return;
  void* mem = mmap(nullptr, g_learn.nsnap * g_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    g_learn.nsnap = 0;
    return;
  }
  g_learn.snap = static_cast<unsigned char*>(mem);
  for (int k = 0; k < g_learn.nsnap; ++k) {
    std::memcpy(g_learn.snap + k * g_page, reinterpret_cast<const void*>(g_learn.snap_pages[k]), g_page);
  }
}

// A written page counts unless it is our own state, or only its expected bytes changed.
bool page_really_written(uintptr_t page) {
  if (in_ranges(g_learn.white, g_learn.nwhite, page)) return false;
  for (int k = 0; k < g_learn.nsnap; ++k) {
    if (g_learn.snap_pages[k] != page) continue;
    const unsigned char* before = g_learn.snap + k * g_page;
    const auto* now = reinterpret_cast<const unsigned char*>(page);
    for (uintptr_t off = 0; off < g_page; ++off) {
      if (before[off] != now[off] && !in_ranges(g_learn.exact, g_learn.nexact, page + off)) return true;
    }
    return false;
  }
  return true;
}

// Lazy binding writes .got.plt slots (DT_PLTGOT, 3 reserved + one per PLT relocation); and the
// object holding this code keeps its own state (what is being learned) in its writable segments.
// The loader's own data (symbol-lookup counters bumped by lazy binding) is treated the same way.
struct Owners {
  uintptr_t own_base, loader_base;
};

int white_got(struct dl_phdr_info* info, size_t, void* ctx) {
  const auto* owners = static_cast<const Owners*>(ctx);
  const bool ours = info->dlpi_addr == owners->own_base || info->dlpi_addr == owners->loader_base;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ours && ph.p_type == PT_LOAD && (ph.p_flags & PF_W) != 0) {
      add_white(info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
    }
    // Our own thread-locals (the engine's re-entry depth, the substitute's slot) live in this
    // thread's static TLS block, beside the TCB page or not depending on the TLS layout: byte-exact.
    if (info->dlpi_addr == owners->own_base && ph.p_type == PT_TLS && info->dlpi_tls_data != nullptr) {
      const auto tls = reinterpret_cast<uintptr_t>(info->dlpi_tls_data);
      add_exact(tls, tls + ph.p_memsz);
    }
    if (info->dlpi_phdr[i].p_type != PT_DYNAMIC) continue;
    const auto* dyn = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    uintptr_t pltgot = 0, pltrelsz = 0;
    for (; dyn->d_tag != DT_NULL; ++dyn) {
      if (dyn->d_tag == DT_PLTGOT) pltgot = dyn->d_un.d_ptr;
      if (dyn->d_tag == DT_PLTRELSZ) pltrelsz = dyn->d_un.d_val;
    }
    if (pltgot == 0) continue;
    if (pltgot < info->dlpi_addr) pltgot += info->dlpi_addr;  // not relocated in place by ld.so
    add_exact(pltgot, pltgot + 8 * (3 + pltrelsz / sizeof(ElfW(Rela))));
  }
  return 0;
}

uint64_t pages_really_written(uintptr_t start, uintptr_t end) {
  uint64_t n = 0;
  for (uintptr_t p = start; p < end; p += g_page) n += page_really_written(p) ? 1 : 0;
  return n;
}

struct MapsCtx {
  char line[1024];
  size_t used = 0;
};

void track_line(std::string_view line) {
  Vma v;
  if (!parse_maps_line(line, v) || !v.writable || !v.is_private) return;
  if (g_learn.stack_address >= v.start && g_learn.stack_address < v.end) return;  // its own stack
  const auto snap = reinterpret_cast<uintptr_t>(g_learn.snap);
  if (snap != 0 && snap >= v.start && snap < v.end) return;  // our copies, made after the fork
  if (g_learn.ntracked >= kMaxRanges) return;
  struct uffdio_register reg {};
  reg.range.start = v.start;
  reg.range.len = v.end - v.start;
  reg.mode = UFFDIO_REGISTER_MODE_WP;
  if (ioctl(g_learn.uffd, UFFDIO_REGISTER, &reg) != 0) return;
  struct uffdio_writeprotect wp {};
  wp.range = reg.range;
  wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
  if (ioctl(g_learn.uffd, UFFDIO_WRITEPROTECT, &wp) != 0) return;
  g_learn.tracked[g_learn.ntracked++] = Range{static_cast<uintptr_t>(v.start), static_cast<uintptr_t>(v.end)};
}

void maps_chunk(const char* data, size_t len, void* ctx) {
  auto* m = static_cast<MapsCtx*>(ctx);
  for (size_t i = 0; i < len; ++i) {
    if (data[i] == '\n') {
      track_line(std::string_view(m->line, m->used));
      m->used = 0;
    } else if (m->used < sizeof m->line) {
      m->line[m->used++] = data[i];
    }
  }
}

void encode_site(FixedWriter& w, const char* site) {
  for (const char* p = site; *p != '\0'; ++p) {
    if (*p == ' ' || *p == '%' || *p == '\n') {  // one token per field
      w.put('%');
      w.put("0123456789abcdef"[(*p >> 4) & 15]);
      w.put("0123456789abcdef"[*p & 15]);
    } else {
      w.put(*p);
    }
  }
}

}  // namespace

const char* learn_method_name(LearnMethod m) { return m == LearnMethod::uffd_wp ? "uffd-wp" : "exec-only"; }

LearnMethod learn_method_available() {
  int m = g_method.load(std::memory_order_acquire);
  if (m >= 0) return static_cast<LearnMethod>(m);
  LearnMethod found = LearnMethod::exec_only;
  const int uffd = open_uffd();
  if (uffd >= 0) {
    const int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    struct pm_scan_arg probe {};
    probe.size = sizeof probe;
    // An empty range: EINVAL/ENOTTY when PAGEMAP_SCAN does not exist, 0 when it does.
    if (enable_wp_async(uffd) && pagemap >= 0 && ioctl(pagemap, PAGEMAP_SCAN, &probe) == 0) found = LearnMethod::uffd_wp;
    if (pagemap >= 0) close(pagemap);
    close(uffd);
  }
  g_method.store(static_cast<int>(found), std::memory_order_release);
  return found;
}

void learn_prepare(const char* site, const char* profile_path, uintptr_t stack_address) {
  const unsigned long page = getauxval(AT_PAGESZ);
  if (page != 0) g_page = page;
  g_learn.nwhite = 0;
  g_learn.nexact = 0;
  copy_cstr(g_learn.site, sizeof g_learn.site, site);
  copy_cstr(g_learn.path, sizeof g_learn.path, profile_path);
  g_learn.stack_address = stack_address;
  // errno: a failed call before exec (execvp trying PATH entries) sets it.
  add_exact(reinterpret_cast<uintptr_t>(&errno), reinterpret_cast<uintptr_t>(&errno) + sizeof(int));
  Dl_info self{}, loader{};
  dladdr(reinterpret_cast<void*>(&learn_prepare), &self);
  dladdr(reinterpret_cast<void*>(&_r_debug), &loader);
  // dli_fbase is the lowest mapped address; dlpi_addr the load bias: equal for PIC objects.
  Owners owners{reinterpret_cast<uintptr_t>(self.dli_fbase), reinterpret_cast<uintptr_t>(loader.dli_fbase)};
  dl_iterate_phdr(white_got, &owners);
  // The thread's TCB page: glibc updates fields of it on the way to exec (DESIGN.md).
  const auto tcb = reinterpret_cast<uintptr_t>(__builtin_thread_pointer()) & ~(g_page - 1);
  add_white(tcb, tcb + g_page);
  // The kernel rewrites the thread's rseq area (cpu_id, mm_cid) whenever the child is preempted or
  // migrated; it may lie on the page after the TCB's, so a loaded machine saw "exec 1".
  const uintptr_t rseq = rseq_area();
  if (rseq != 0) add_exact(rseq, rseq + kRseqAreaBytes);
  // Symbol lookups during lazy binding update the loader's per-object caches in the link maps.
  for (const link_map* lm = _r_debug.r_map; lm != nullptr; lm = lm->l_next) {
    add_exact(reinterpret_cast<uintptr_t>(lm), reinterpret_cast<uintptr_t>(lm) + 2048);
  }
  learn_method_available();  // probed here, in the parent: the child only reads the cached answer
  g_learn.parent_pid = getpid();
  g_learn.armed = true;  // with exec-only the outcome is still recorded
}

void learn_parent_done() { g_learn.armed = false; }

void learn_child_start() {
  if (!g_learn.armed || getpid() == g_learn.parent_pid) return;
  g_learn.in_child = true;
  g_learn.finished = false;
  g_learn.ntracked = 0;
  g_learn.tracking = false;
  g_learn.snap = nullptr;
  g_learn.nsnap = 0;
  if (learn_method_available() != LearnMethod::uffd_wp) return;  // probed in the parent: a cached read
  const int uffd = open_uffd_high(g_learn.uffd_id);
  if (uffd < 0) return;
  if (!enable_wp_async(uffd)) {
    close(uffd);  // ours: created a moment ago in this call
    return;
  }
  g_learn.uffd = uffd;
  g_learn.tracking = true;
  snapshot_exact_pages();
  MapsCtx ctx;
  stream_file("/proc/self/maps", maps_chunk, &ctx);
}

void learn_child_finish(const char* outcome) {
  if (!g_learn.in_child || g_learn.finished) return;  // the parent's own exec/exit is no observation
  g_learn.finished = true;
  const int saved = errno;
  // The program may have closed our descriptor (closefrom) or put its own at its number: then the
  // kernel dropped the write-protection with it, writes cannot be told, and that number is not ours.
  const bool tracking = g_learn.tracking && still_ours(g_learn.uffd, g_learn.uffd_id);
  g_learn.tracking = false;
  uint64_t written = 0;
  if (tracking) {
    const int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    page_region vec[64];
    for (int i = 0; i < g_learn.ntracked && pagemap >= 0; ++i) {
      uintptr_t start = g_learn.tracked[i].start;
      while (start < g_learn.tracked[i].end) {
        pm_scan_arg arg{};
        arg.size = sizeof arg;
        arg.start = start;
        arg.end = g_learn.tracked[i].end;
        arg.vec = reinterpret_cast<uintptr_t>(vec);
        arg.vec_len = sizeof vec / sizeof vec[0];
        arg.category_mask = PAGE_IS_WRITTEN;
        arg.return_mask = PAGE_IS_WRITTEN;
        const long n = ioctl(pagemap, PAGEMAP_SCAN, &arg);
        if (n < 0) break;
        for (long k = 0; k < n; ++k) written += pages_really_written(vec[k].start, vec[k].end);
        if (arg.walk_end <= start || arg.walk_end >= g_learn.tracked[i].end) break;
        start = arg.walk_end;
      }
    }
    if (pagemap >= 0) close(pagemap);
    close(g_learn.uffd);  // checked above: still ours
  }
  char line[512];
  FixedWriter w(line, sizeof line);
  w.put("fgp1 ");
  encode_site(w, g_learn.site);
  w.put(' ');
  w.put(outcome);
  w.put(' ');
  w.put_uint(written);
  w.put(' ');
  w.put(learn_method_name(tracking ? LearnMethod::uffd_wp : LearnMethod::exec_only));
  w.put('\n');
  const int fd = open(g_learn.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
  if (fd >= 0) {
    ssize_t ignored = write(fd, line, w.size());  // one append: observations never interleave
    (void)ignored;
    close(fd);
  }
  errno = saved;
}

bool parse_profile(std::string_view text,
                   void (*visit)(std::string_view site, bool spawn_like, std::string_view method, void* ctx),
                   void* ctx) {
  // string_view::substr can throw: the shim has no exceptions, so fields are cut by hand.
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return false;  // a cut last line: not ours to trust
    std::string_view line(text.data(), nl);
    text.remove_prefix(nl + 1);
    std::string_view fields[5];
    int n = 0;
    while (!line.empty() && n < 5) {
      const size_t sp = line.find(' ');
      const size_t len = sp == std::string_view::npos ? line.size() : sp;
      fields[n++] = std::string_view(line.data(), len);
      line.remove_prefix(sp == std::string_view::npos ? line.size() : sp + 1);
    }
    if (n != 5 || !line.empty() || fields[0] != "fgp1" || fields[1].empty()) return false;
    const std::string_view outcome = fields[2], method = fields[4];
    if (outcome != "exec" && outcome != "_exit" && outcome != "exit") return false;
    if (method != "uffd-wp" && method != "exec-only") return false;
    if (fields[3].empty() || fields[3].find_first_not_of("0123456789") != std::string_view::npos) return false;
    const bool clean = fields[3] == "0";
    visit(fields[1], outcome != "exit" && clean && method == "uffd-wp", method, ctx);
  }
  return true;
}

namespace {

// The profile as read once in mitigate mode: a small table of sites.
struct SiteRow {
  char site[160] = {};
  SiteStats stats;
};
constexpr int kMaxSites = 256;
SiteRow g_sites[kMaxSites];
int g_nsites = 0;
std::atomic<int> g_loaded{0};  // 0 not yet, 1 loading, 2 loaded

void count_observation(std::string_view site, bool spawn_like, std::string_view method, void*) {
  char decoded[160];
  size_t n = 0;
  for (size_t i = 0; i < site.size() && n + 1 < sizeof decoded; ++i) {
    if (site[i] == '%' && i + 2 < site.size()) {
      auto hex = [](char c) { return c >= 'a' ? c - 'a' + 10 : c - '0'; };
      decoded[n++] = static_cast<char>(hex(site[i + 1]) * 16 + hex(site[i + 2]));
      i += 2;
    } else {
      decoded[n++] = site[i];
    }
  }
  decoded[n] = '\0';
  SiteRow* row = nullptr;
  for (int i = 0; i < g_nsites && row == nullptr; ++i) {
    if (std::strcmp(g_sites[i].site, decoded) == 0) row = &g_sites[i];
  }
  if (row == nullptr) {
    if (g_nsites >= kMaxSites) return;
    row = &g_sites[g_nsites++];
    copy_cstr(row->site, sizeof row->site, decoded);
  }
  ++row->stats.children;
  if (spawn_like) ++row->stats.spawn_like;
  if (method == "uffd-wp") row->stats.method = "uffd-wp";
  if (row->stats.method == nullptr) row->stats.method = "exec-only";
}

struct Loader {
  char pending[1024];
  size_t used = 0;
  bool ok = true;
};

void load_chunk(const char* data, size_t len, void* ctx) {
  auto* l = static_cast<Loader*>(ctx);
  for (size_t i = 0; i < len && l->ok; ++i) {
    if (l->used >= sizeof l->pending) {
      l->ok = false;
      return;
    }
    l->pending[l->used++] = data[i];
    if (data[i] == '\n') {
      l->ok = parse_profile(std::string_view(l->pending, l->used), count_observation, nullptr);
      l->used = 0;
    }
  }
}

}  // namespace

SiteStats profile_site(const char* path, std::string_view site) {
  int state = g_loaded.load(std::memory_order_acquire);
  if (state == 0 && g_loaded.compare_exchange_strong(state, 1)) {
    Loader loader;
    const int rc = stream_file(path, load_chunk, &loader);
    if (rc != 0 && errno != ENOENT) loader.ok = false;
    if (!loader.ok || loader.used != 0) {
      g_nsites = 0;
      char msg[1200];
      FixedWriter w(msg, sizeof msg - 1);
      w.put("FORKGUARD_PROFILE ");
      w.put(path);
      w.put(" is not a forkguard profile (or is damaged); no site counts as learned");
      msg[w.size()] = '\0';
      diag_notice(msg);  // a notice for the log: the program's stderr is not ours
    }
    g_loaded.store(2, std::memory_order_release);
  } else if (state != 2) {
    return SiteStats{};  // another thread is reading it: nothing learned this time
  }
  for (int i = 0; i < g_nsites; ++i) {
    if (site == g_sites[i].site) return g_sites[i].stats;
  }
  return SiteStats{};
}

}  // namespace forkguard

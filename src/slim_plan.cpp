/// @file slim_plan.cpp
/// @brief The slim fork's layout (smaps walk + never-written scan) and its choice of regions.
#include "forkguard/slim_plan.hpp"

#include <link.h>
#include <unistd.h>

#include <cerrno>

#include "forkguard/never_written.hpp"

namespace forkguard {

namespace {

constexpr uintptr_t kGlibcHeapMax = 64ull << 20;  // glibc's non-main arenas: 64 MiB-aligned heaps
// Never left out of a mapping that is split: a thread stack's struct pthread (2.3 KiB in glibc
// 2.36, at the very top), which glibc's fork child writes for every thread, with room to spare.
constexpr uintptr_t kKeepTop = 16 * 1024;

int64_t kb(uintptr_t bytes) { return static_cast<int64_t>(bytes / 1024); }

struct BuildCtx {
  const SlimLimits* limits;
  SlimLayout* layout;
  int pagemap_fd;
  void (*also)(const Vma&, void*);
  void* also_ctx;
  uint64_t prev_end = 0;  // the previous mapping's end, and whether it was a ---p guard
  bool prev_guard = false;
  int scan_errno = 0;
};

// Turns the written runs of one mapping into its never-written runs of at least min_kb, below
// the kept top.
struct RunCollector {
  SlimLayout* layout;
  uintptr_t next;    // start of the not yet covered part
  uintptr_t limit;   // the mapping's end less the kept top
  uintptr_t min_bytes;
  void gap(uintptr_t end) {
    if (end > limit) end = limit;
    if (end > next && end - next >= min_bytes && layout->nruns < SlimLayout::kMaxRuns) {
      layout->runs[layout->nruns++] = SlimRegion{next, end, false, false};
    } else if (end > next && end - next >= min_bytes) {
      layout->truncated = true;
    }
  }
};

void add_vma(const Vma& v, void* p) {
  auto* c = static_cast<BuildCtx*>(p);
  SlimLayout& layout = *c->layout;
  if (c->also != nullptr) c->also(v, c->also_ctx);
  // smaps is read a page of text at a time and the layout may change between two reads: a
  // mapping that merged with a new neighbour meanwhile is printed again from its old start (a
  // thread stack and another thread's posix_spawn stack mapped right above it). Such a repeat is
  // not a mapping of its own: it stays in the child, uncounted twice.
  if (v.start < c->prev_end) {
    layout.walk_changed = true;
    if (v.end > c->prev_end) {
      if (v.charged_by_fork()) {
        const int64_t more = static_cast<int64_t>((v.end - c->prev_end) / 1024);
        layout.charge_kb += more;
        if (static_cast<int64_t>(v.size_kb()) > layout.other_largest_kb) layout.other_largest_kb = static_cast<int64_t>(v.size_kb());
      }
      c->prev_end = v.end;
    }
    c->prev_guard = false;
    return;
  }
  // Directly above a ---p guard: maybe a thread stack, whose descriptor glibc's fork child
  // writes. The kernel may have merged it with a neighbour above, so its top is not the
  // mapping's: its written pages never leave.
  const bool after_guard = c->prev_guard && c->prev_end == v.start;
  c->prev_guard = !v.readable && !v.writable && !v.executable && v.is_private;
  c->prev_end = v.end;
  if (!v.charged_by_fork()) return;
  const int64_t size = static_cast<int64_t>(v.size_kb());
  layout.charge_kb += size;
  if (!slim_candidate(v, *c->limits) || layout.nmaps == SlimLayout::kMaxMappings) {
    if (slim_candidate(v, *c->limits)) layout.truncated = true;
    if (size > layout.other_largest_kb) layout.other_largest_kb = size;
    return;
  }
  SlimMapping& m = layout.maps[layout.nmaps++];
  m = SlimMapping{};
  m.start = static_cast<uintptr_t>(v.start);
  m.end = static_cast<uintptr_t>(v.end);
  m.executable = v.executable;
  m.keep_written = after_guard;
  m.first_run = layout.nruns;
  RunCollector runs{&layout, m.start, m.end - kKeepTop, static_cast<uintptr_t>(c->limits->min_kb) * 1024};
  if (v.rss_kb == 0 && v.swap_kb == 0) {  // nothing resident, nothing swapped: never written
    if (!after_guard) {
      m.never_written = true;
      return;
    }
    // Maybe the stack of a thread pthread_create is making now: its struct pthread at the top is
    // written before the fork (the thread list) and glibc's fork child writes it: the top stays.
    runs.gap(m.end);
    m.nruns = layout.nruns - m.first_run;
    return;
  }
  // Partly written: its never-written runs, from the page tables.
  const int rc = scan_written(
      c->pagemap_fd, m.start, m.end,
      [](uintptr_t s, uintptr_t e, void* r) {
        auto* rc = static_cast<RunCollector*>(r);
        rc->gap(s);
        rc->next = e;
      },
      &runs);
  if (rc != 0) {
    c->scan_errno = errno;
    layout.nruns = m.first_run;  // unknown: nothing of it is never-written
  } else {
    runs.gap(m.end);
  }
  m.nruns = layout.nruns - m.first_run;
}

void smaps_chunk(const char* data, size_t len, void* ctx) { static_cast<SmapsParser*>(ctx)->feed(data, len); }

// ---- the choice ----

bool contains(const SlimMapping& m, uintptr_t a) { return a >= m.start && a < m.end; }

void add_region(SlimPlan& plan, uintptr_t start, uintptr_t end, bool written, bool exec) {
  plan.regions[plan.n++] = SlimRegion{start, end, written, exec};
  plan.excluded_kb += kb(end - start);
  if (written) plan.excluded_written_kb += kb(end - start);
}

// The plan's regions inside `m`, sorted by address (the plan holds at most kMax).
int regions_in(const SlimPlan& plan, const SlimMapping& m, SlimRegion (&out)[SlimPlan::kMax]) {
  int n = 0;
  for (int i = 0; i < plan.n; ++i) {
    if (plan.regions[i].start < m.start || plan.regions[i].start >= m.end) continue;
    int j = n++;
    for (; j > 0 && out[j - 1].start > plan.regions[i].start; --j) out[j] = out[j - 1];
    out[j] = plan.regions[i];
  }
  return n;
}

// Calls f(start, end) for every piece of `m` the plan leaves in the child.
template <typename F>
void kept_pieces(const SlimPlan& plan, const SlimMapping& m, F f) {
  SlimRegion rs[SlimPlan::kMax];
  const int n = regions_in(plan, m, rs);
  uintptr_t at = m.start;
  for (int i = 0; i < n; ++i) {
    if (rs[i].start > at) f(at, rs[i].start);
    at = rs[i].end;
  }
  if (m.end > at) f(at, m.end);
}

// What remains charged with the plan as it is, and the rule's verdict on it.
void judge(const SlimLayout& layout, const CommitInputs& rule, SlimPlan& plan) {
  plan.remaining_charge_kb = layout.charge_kb - plan.excluded_kb;
  int64_t largest = layout.other_largest_kb;
  plan.mappings = 0;
  for (int i = 0; i < layout.nmaps; ++i) {
    const SlimMapping& m = layout.maps[i];
    int64_t kept = 0;
    kept_pieces(plan, m, [&](uintptr_t s, uintptr_t e) {
      kept += kb(e - s);
      if (kb(e - s) > largest) largest = kb(e - s);
    });
    if (kept != kb(m.end - m.start)) ++plan.mappings;
  }
  plan.remaining_largest_kb = largest;
  CommitInputs in = rule;
  in.charge_kb = plan.remaining_charge_kb;
  in.largest_vma_kb = largest;
  plan.verdict = predict_fork(in).verdict;
}

// The parts of `m` whose written pages never leave, sorted: around a thread pointer (its TLS
// below it, its descriptor and ld.so's data above: SlimLimits::tls_keep_below, up to the
// mapping's end) and the loaded objects' .bss merged into it (SlimLayout::keep).
struct Windows {
  static constexpr int kMax = SlimLayout::kMaxKeep + 2;
  uintptr_t lo[kMax], hi[kMax];
  int n = 0;
  void add(uintptr_t l, uintptr_t h) {
    if (h <= l || n == kMax) return;
    int j = n++;
    for (; j > 0 && lo[j - 1] > l; --j) {
      lo[j] = lo[j - 1];
      hi[j] = hi[j - 1];
    }
    lo[j] = l;
    hi[j] = h;
  }
};

void add_tls_window(Windows& w, const SlimMapping& m, const SlimLimits& limits, uintptr_t tp) {
  if (tp == 0 || !contains(m, tp)) return;
  uintptr_t lo = tp - m.start > limits.tls_keep_below ? tp - limits.tls_keep_below : m.start;
  lo &= ~(page_bytes() - 1);
  w.add(lo < m.start ? m.start : lo, m.end);
}

Windows windows_of(const SlimLayout& layout, const SlimMapping& m, const SlimLimits& limits) {
  Windows w;
  add_tls_window(w, m, limits, limits.tls_address);
  add_tls_window(w, m, limits, limits.main_tp);
  for (int i = 0; i < layout.nkeep; ++i) {
    const uintptr_t lo = layout.keep[i].start > m.start ? layout.keep[i].start : m.start;
    const uintptr_t hi = layout.keep[i].end < m.end ? layout.keep[i].end : m.end;
    w.add(lo, hi);
  }
  return w;
}

// Calls f(start, end) for each part of [s, e) outside every window.
template <typename F>
void outside(uintptr_t s, uintptr_t e, const Windows& w, F f) {
  for (int i = 0; i < w.n && s < e; ++i) {
    if (w.hi[i] <= s) continue;
    if (w.lo[i] >= e) break;
    if (w.lo[i] > s) f(s, w.lo[i]);
    s = w.hi[i];
  }
  if (e > s) f(s, e);
}

bool whole(const SlimPlan& plan, const SlimMapping& m) {
  for (int i = 0; i < plan.n; ++i)
    if (plan.regions[i].start == m.start && plan.regions[i].end == m.end) return true;
  return false;
}

// Whether `m` already lost part of itself (a split).
bool split(const SlimPlan& plan, const SlimMapping& m) {
  for (int i = 0; i < plan.n; ++i)
    if (plan.regions[i].start >= m.start && plan.regions[i].start < m.end && !whole(plan, m)) return true;
  return false;
}

}  // namespace

bool slim_candidate(const Vma& v, const SlimLimits& limits) {
  if (!v.have_flags || !v.charged_by_fork() || !v.is_private || !v.writable) return false;
  if (static_cast<int64_t>(v.size_kb()) < limits.min_kb) return false;
  if (!v.path.empty()) return false;  // [heap], [stack], files: their contents are the child's too
  if (limits.keep_address >= v.start && limits.keep_address < v.end) return false;
  // A glibc arena heap (64 MiB-aligned, at most 64 MiB): allocator free space the child's malloc writes.
  if (v.start % kGlibcHeapMax == 0 && v.end - v.start <= kGlibcHeapMax) return false;
  return true;
}

int build_slim_layout(const char* smaps_path, int pagemap_fd, const SlimLimits& limits, SlimLayout& layout,
                      void (*also)(const Vma& v, void* ctx), void* also_ctx) {
  layout.nmaps = layout.nruns = layout.nkeep = 0;
  layout.charge_kb = layout.other_largest_kb = 0;
  layout.truncated = false;
  SlimLimits any_caller = limits;
  any_caller.keep_address = 0;  // the layout serves every thread: the caller's stack is left out at the choice
  BuildCtx ctx{&any_caller, &layout, pagemap_fd, also, also_ctx};
  SmapsParser parser(add_vma, &ctx);
  if (stream_file(smaps_path, smaps_chunk, &parser) != 0) return -1;
  parser.finish();
  return 0;
}

void split_never_written(SlimPlan& plan, int pagemap_fd) {
  constexpr uintptr_t kMinZeros = 1 << 20;  // smaller never-written runs stay with the written ones
  struct Splitter {
    SlimRegion out[SlimPlan::kMax];
    int n = 0;
    bool full = false;
    SlimRegion cur;         // the written region being split
    uintptr_t done = 0;     // [cur.start, done) is in `out` already
    void emit(uintptr_t s, uintptr_t e, bool written) {
      if (e <= s) return;
      if (n > 0 && out[n - 1].end == s && out[n - 1].written == written) {
        out[n - 1].end = e;
      } else if (n < SlimPlan::kMax) {
        out[n++] = SlimRegion{s, e, written, cur.executable};
      } else {
        full = true;
      }
    }
    void written_run(uintptr_t s, uintptr_t e) {  // [s, e) written; [done, s) never written
      if (s - done >= kMinZeros) {
        emit(done, s, false);
        emit(s, e, true);
      } else {
        emit(done, e, true);
      }
      done = e;
    }
  };
  bool any = false;
  for (int i = 0; i < plan.n; ++i) any |= plan.regions[i].written;
  if (!any || pagemap_fd < 0) return;
  static Splitter sp;  // 1.5 KiB; under the fork turn
  sp.n = 0;
  sp.full = false;
  for (int i = 0; i < plan.n && !sp.full; ++i) {
    const SlimRegion& r = plan.regions[i];
    sp.cur = r;
    sp.done = r.start;
    if (!r.written) {
      sp.emit(r.start, r.end, false);
      continue;
    }
    const int mark = sp.n;
    const int rc = scan_written(
        pagemap_fd, r.start, r.end, [](uintptr_t s, uintptr_t e, void* c) { static_cast<Splitter*>(c)->written_run(s, e); },
        &sp);
    if (rc != 0) {  // unknown: all of it counts as written
      sp.n = mark;
      sp.emit(r.start, r.end, true);
      continue;
    }
    sp.written_run(r.end, r.end);  // the never-written tail, if any
  }
  if (sp.full) return;  // no room: the plan stays as it was (written memory, no zeros)
  plan.n = sp.n;
  plan.excluded_written_kb = 0;
  for (int i = 0; i < plan.n; ++i) {
    plan.regions[i] = sp.out[i];
    if (sp.out[i].written) plan.excluded_written_kb += kb(sp.out[i].end - sp.out[i].start);
  }
}

void add_loaded_bss(SlimLayout& layout) {
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* ctx) {
        auto* l = static_cast<SlimLayout*>(ctx);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || ph.p_memsz <= ph.p_filesz) continue;
          // The anonymous part: from the page after the file's last byte to the segment's end.
          const uintptr_t page = page_bytes();
          const uintptr_t lo = (info->dlpi_addr + ph.p_vaddr + ph.p_filesz + page - 1) & ~(page - 1);
          const uintptr_t hi = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + page - 1) & ~(page - 1);
          for (int m = 0; m < l->nmaps && hi > lo; ++m) {
            if (lo >= l->maps[m].end || hi <= l->maps[m].start) continue;
            if (l->nkeep == SlimLayout::kMaxKeep) {
              l->truncated = true;
              return 1;
            }
            l->keep[l->nkeep++] = SlimRegion{lo, hi, true, false};
            break;
          }
        }
        return 0;
      },
      &layout);
}

void choose_slim_regions(const SlimLayout& layout, const SlimLimits& limits, const CommitInputs& rule, SlimPlan& plan) {
  plan = SlimPlan{};
  // Never-written first, largest first: whole mappings (no split), and the runs of a partly
  // written mapping together (one split each, at most max_split).
  struct Item {
    int map;
    int64_t kb;
  };
  Item items[SlimLayout::kMaxMappings];
  int nitems = 0;
  for (int i = 0; i < layout.nmaps; ++i) {
    const SlimMapping& m = layout.maps[i];
    if (contains(m, limits.keep_address) || (!m.never_written && m.nruns == 0)) continue;
    int64_t bytes = 0;
    if (m.never_written) {
      bytes = kb(m.end - m.start);
    } else {
      for (int r = m.first_run; r < m.first_run + m.nruns; ++r) bytes += kb(layout.runs[r].end - layout.runs[r].start);
    }
    int j = nitems++;
    for (; j > 0 && items[j - 1].kb < bytes; --j) items[j] = items[j - 1];
    items[j] = Item{i, bytes};
  }
  // Strict overcommit (mode 2) gives the child read-only zeros (writable ones would be charged),
  // and a child writing there would fault where a full fork's child would not: there
  // never-written memory goes only while the rule refuses. Elsewhere the zeros are writable and
  // the child cannot tell: all of it goes.
  const bool only_needed = rule.overcommit_mode == 2;
  int splits = 0;
  if (only_needed) judge(layout, rule, plan);
  for (int k = 0; k < nitems; ++k) {
    if (only_needed && plan.verdict != Verdict::refuse) break;
    const SlimMapping& m = layout.maps[items[k].map];
    if (m.never_written) {
      if (plan.n == SlimPlan::kMax) continue;
      add_region(plan, m.start, m.end, false, m.executable);
    } else {
      if (splits >= limits.max_split || plan.n + m.nruns > SlimPlan::kMax) continue;
      for (int r = m.first_run; r < m.first_run + m.nruns; ++r) {
        if (layout.runs[r].end > layout.runs[r].start)  // (a run found written at a check is emptied)
          add_region(plan, layout.runs[r].start, layout.runs[r].end, false, m.executable);
      }
      ++splits;
    }
    if (only_needed) judge(layout, rule, plan);
  }
  judge(layout, rule, plan);
  if (plan.verdict != Verdict::refuse || (rule.overcommit_mode != 0 && rule.overcommit_mode != 2)) return;

  // The rule still refuses: written pieces, largest first, until it allows the fork.
  plan.written_rule = rule.overcommit_mode == 0
                          ? "heuristic overcommit: a mapping larger than RAM + swap is left"
                          : "strict overcommit: what is left does not fit the commit limit with the reserves";
  while (plan.verdict == Verdict::refuse && plan.n < SlimPlan::kMax) {
    // How much more must go: mode 2, what the charge is short by (the kernel's test is strict);
    // mode 0, what the largest kept mapping has beyond RAM + swap (judged per mapping below).
    CommitInputs in = rule;
    in.charge_kb = plan.remaining_charge_kb;
    in.largest_vma_kb = plan.remaining_largest_kb;
    const CommitVerdict now = predict_fork(in);
    const int64_t page_kb = rule.page_kb > 0 ? rule.page_kb : 4;
    uintptr_t best_start = 0, best_end = 0;
    int64_t best_need_kb = 0;
    bool best_exec = false;
    for (int i = 0; i < layout.nmaps; ++i) {
      const SlimMapping& m = layout.maps[i];
      if (m.keep_written || contains(m, limits.keep_address)) continue;
      if (!split(plan, m) && splits >= limits.max_split) continue;
      const uintptr_t limit = m.end - kKeepTop;
      const Windows keep = windows_of(layout, m, limits);
      kept_pieces(plan, m, [&](uintptr_t s0, uintptr_t e0) {
        // Mode 0 refuses a mapping larger than RAM + swap: only such a one need lose anything.
        const int64_t need_kb = rule.overcommit_mode == 0 ? kb(e0 - s0) - now.allowed_kb : -now.margin_kb + page_kb;
        if (need_kb <= 0) return;
        if (e0 > limit) e0 = limit;
        outside(s0, e0, keep, [&](uintptr_t s, uintptr_t e) {
          if (e - s > best_end - best_start) {
            best_start = s;
            best_end = e;
            best_need_kb = need_kb;
            best_exec = m.executable;
          }
        });
      });
    }
    if (best_end == best_start) break;  // nothing more may go, or nothing that would help: the fork stays refused
    for (int i = 0; i < layout.nmaps; ++i) {
      const SlimMapping& m = layout.maps[i];
      if (best_start >= m.start && best_start < m.end && !split(plan, m)) ++splits;
    }
    // Only as much as needed, from the piece's low end (the far side from a stack's or TLS's top).
    const uintptr_t page = static_cast<uintptr_t>(page_kb) * 1024;
    const uintptr_t need = (static_cast<uintptr_t>(best_need_kb) * 1024 + page - 1) / page * page;
    if (best_end - best_start > need) best_end = best_start + need;
    add_region(plan, best_start, best_end, true, best_exec);
    judge(layout, rule, plan);
  }
}

}  // namespace forkguard

/// @file slim_plan.cpp
/// @brief The slim fork's layout (smaps walk + never-written scan) and its choice of regions.
#include "forkguard/slim_plan.hpp"

#include <unistd.h>

#include <cerrno>

#include "forkguard/never_written.hpp"
#include "forkguard/slim_child.hpp"

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
  uintptr_t main_tp;
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
  const auto holds = [&](uintptr_t a) { return a >= m.start && a < m.end; };
  m.keep_written = after_guard || holds(c->limits->tls_address) || holds(c->main_tp);
  m.first_run = layout.nruns;
  if (v.rss_kb == 0 && v.swap_kb == 0) {  // nothing resident, nothing swapped: never written
    m.never_written = true;
    return;
  }
  // Partly written: its never-written runs, from the page tables.
  RunCollector runs{&layout, m.start, m.end - kKeepTop, static_cast<uintptr_t>(c->limits->min_kb) * 1024};
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
  layout.nmaps = layout.nruns = 0;
  layout.charge_kb = layout.other_largest_kb = 0;
  layout.truncated = false;
  SlimLimits any_caller = limits;
  any_caller.keep_address = 0;  // the layout serves every thread: the caller's stack is left out at the choice
  BuildCtx ctx{&any_caller, &layout, pagemap_fd, slim_main_thread_pointer(), also, also_ctx};
  SmapsParser parser(add_vma, &ctx);
  if (stream_file(smaps_path, smaps_chunk, &parser) != 0) return -1;
  parser.finish();
  return 0;
}

void choose_slim_regions(const SlimLayout& layout, const SlimLimits& limits, const CommitInputs& rule, SlimPlan& plan) {
  plan = SlimPlan{};
  // Never-written first: whole mappings (no split), then the runs of the mappings with the most.
  for (int i = 0; i < layout.nmaps && plan.n < SlimPlan::kMax; ++i) {
    const SlimMapping& m = layout.maps[i];
    if (m.never_written && !contains(m, limits.keep_address)) add_region(plan, m.start, m.end, false, m.executable);
  }
  int order[SlimLayout::kMaxMappings];
  int64_t nw[SlimLayout::kMaxMappings];
  int norder = 0;
  for (int i = 0; i < layout.nmaps; ++i) {
    const SlimMapping& m = layout.maps[i];
    if (m.never_written || m.nruns == 0 || contains(m, limits.keep_address)) continue;
    int64_t bytes = 0;
    for (int r = m.first_run; r < m.first_run + m.nruns; ++r) bytes += kb(layout.runs[r].end - layout.runs[r].start);
    int j = norder++;
    for (; j > 0 && nw[j - 1] < bytes; --j) {
      order[j] = order[j - 1];
      nw[j] = nw[j - 1];
    }
    order[j] = i;
    nw[j] = bytes;
  }
  int splits = 0;
  for (int k = 0; k < norder && splits < limits.max_split; ++k) {
    const SlimMapping& m = layout.maps[order[k]];
    if (plan.n + m.nruns > SlimPlan::kMax) continue;
    for (int r = m.first_run; r < m.first_run + m.nruns; ++r) {
      if (layout.runs[r].end > layout.runs[r].start)  // (a run found written at a check is emptied)
        add_region(plan, layout.runs[r].start, layout.runs[r].end, false, m.executable);
    }
    ++splits;
  }
  judge(layout, rule, plan);
  if (plan.verdict != Verdict::refuse || (rule.overcommit_mode != 0 && rule.overcommit_mode != 2)) return;

  // The rule still refuses: written pieces, largest first, until it allows the fork.
  plan.written_rule = rule.overcommit_mode == 0
                          ? "heuristic overcommit: a mapping larger than RAM + swap is left"
                          : "strict overcommit: what is left does not fit the commit limit with the reserves";
  while (plan.verdict == Verdict::refuse && plan.n < SlimPlan::kMax) {
    uintptr_t best_start = 0, best_end = 0;
    bool best_exec = false;
    for (int i = 0; i < layout.nmaps; ++i) {
      const SlimMapping& m = layout.maps[i];
      if (m.keep_written || contains(m, limits.keep_address) || contains(m, limits.tls_address)) continue;
      if (!split(plan, m) && splits >= limits.max_split) continue;
      const uintptr_t limit = m.end - kKeepTop;
      kept_pieces(plan, m, [&](uintptr_t s, uintptr_t e) {
        if (e > limit) e = limit;
        if (e > s && e - s > best_end - best_start) {
          best_start = s;
          best_end = e;
          best_exec = m.executable;
        }
      });
    }
    if (best_end == best_start) break;  // nothing more may go: the fork stays refused
    for (int i = 0; i < layout.nmaps; ++i) {
      const SlimMapping& m = layout.maps[i];
      if (best_start >= m.start && best_start < m.end && !split(plan, m)) ++splits;
    }
    add_region(plan, best_start, best_end, true, best_exec);
    judge(layout, rule, plan);
  }
}

}  // namespace forkguard

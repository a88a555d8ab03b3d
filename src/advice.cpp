/// @file advice.cpp
/// @brief Advice for a refused fork, from one walk of smaps that also reads each mapping's Rss and
/// Swap, and the slim fork's choice modelled on what it finds.
#include "forkguard/advice.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "forkguard/owned_fd.hpp"

namespace forkguard {

namespace {

constexpr uint64_t kGlibcHeapMax = 64ull << 20;  // glibc's non-main arenas: 64 MiB-aligned heaps
// Never left out of a mapping that is split: a thread stack's struct pthread at its very top,
// which glibc's fork child writes (slim_fork.cpp keeps the same).
constexpr uint64_t kKeepTop = 16 * 1024;

int64_t kb(uint64_t bytes) { return static_cast<int64_t>(bytes / 1024); }
bool holds(const SlimCandidate& m, uintptr_t a) { return a >= m.start && a < m.end; }

void add_top(Advice& a, const Vma& v, int64_t rss_kb, int64_t swap_kb) {
  const int64_t size = kb(v.end - v.start);
  int pos = a.ntop;
  while (pos > 0 && a.top[pos - 1].size_kb < size) --pos;  // stable: the earlier mapping wins ties
  if (pos >= Advice::kTop) return;
  const int last = a.ntop < Advice::kTop ? a.ntop : Advice::kTop - 1;
  for (int i = last; i > pos; --i) a.top[i] = a.top[i - 1];
  MappingAdvice& m = a.top[pos];
  m = MappingAdvice{};
  m.start = v.start;
  m.end = v.end;
  m.size_kb = size;
  m.rss_kb = rss_kb;
  m.swap_kb = swap_kb;
  const std::string_view name = v.path.empty() ? std::string_view("[anon]") : v.path;
  const size_t n = name.size() < sizeof m.path - 1 ? name.size() : sizeof m.path - 1;
  std::memcpy(m.path, name.data(), n);
  m.path[n] = '\0';
  if (a.ntop < Advice::kTop) ++a.ntop;
}

// ---- the slim fork's choice, as slim_fork plans it ----

void choose(Advice& a, uint64_t start, uint64_t end, bool written) {
  if (a.nchosen == Advice::kMaxChosen) {
    a.slim_partial = true;
    return;
  }
  a.chosen[a.nchosen++] = SlimRange{start, end, written};
}

// Calls f(start, end) for every piece of `m` the choice leaves in the child.
template <typename F>
void kept_pieces(const Advice& a, const SlimCandidate& m, F f) {
  uint64_t at = m.start;
  for (;;) {  // the chosen ranges inside m, in address order (a few: a quadratic pass is fine)
    const SlimRange* next = nullptr;
    for (int i = 0; i < a.nchosen; ++i) {
      const SlimRange& r = a.chosen[i];
      if (r.start >= at && r.start < m.end && (next == nullptr || r.start < next->start)) next = &r;
    }
    if (next == nullptr) break;
    if (next->start > at) f(at, next->start);
    at = next->end;
  }
  if (m.end > at) f(at, m.end);
}

bool lost_memory(const Advice& a, const SlimCandidate& m) {
  for (int i = 0; i < a.nchosen; ++i)
    if (a.chosen[i].start >= m.start && a.chosen[i].start < m.end) return true;
  return false;
}
bool whole(const Advice& a, const SlimCandidate& m) {
  for (int i = 0; i < a.nchosen; ++i)
    if (a.chosen[i].start == m.start && a.chosen[i].end == m.end) return true;
  return false;
}
bool split(const Advice& a, const SlimCandidate& m) { return lost_memory(a, m) && !whole(a, m); }

// What remains charged with the choice as it is, and the rule's verdict on it.
void judge(Advice& a, CommitInputs in) {
  int64_t excluded = 0, largest = a.other_largest_kb;
  for (int i = 0; i < a.nchosen; ++i) excluded += kb(a.chosen[i].end - a.chosen[i].start);
  for (int i = 0; i < a.ncand; ++i) {
    kept_pieces(a, a.cand[i], [&](uint64_t s, uint64_t e) {
      if (kb(e - s) > largest) largest = kb(e - s);
    });
  }
  a.slim_kept_largest_kb = largest;
  in.charge_kb = a.charge_kb - excluded;
  in.largest_vma_kb = largest;
  a.slim = predict_fork(in);
}

void choose_slim(Advice& a, const CommitInputs& in, const AdviceLimits& lim) {
  a.nchosen = 0;
  a.slim_written_rule = nullptr;
  // Never-written first: whole mappings (no split), then the runs of the mappings with the most.
  for (int i = 0; i < a.ncand; ++i) {
    if (a.cand[i].never_written && !holds(a.cand[i], lim.keep_address)) choose(a, a.cand[i].start, a.cand[i].end, false);
  }
  int order[Advice::kMaxCandidates];
  int64_t nw[Advice::kMaxCandidates];
  int norder = 0;
  for (int i = 0; i < a.ncand; ++i) {
    const SlimCandidate& m = a.cand[i];
    if (m.never_written || m.nruns == 0 || holds(m, lim.keep_address)) continue;
    int64_t bytes = 0;
    for (int r = m.first_run; r < m.first_run + m.nruns; ++r) bytes += kb(a.runs[r].end - a.runs[r].start);
    int j = norder++;
    for (; j > 0 && nw[j - 1] < bytes; --j) {
      order[j] = order[j - 1];
      nw[j] = nw[j - 1];
    }
    order[j] = i;
    nw[j] = bytes;
  }
  int splits = 0;
  for (int k = 0; k < norder && splits < lim.max_split; ++k) {
    const SlimCandidate& m = a.cand[order[k]];
    for (int r = m.first_run; r < m.first_run + m.nruns; ++r) choose(a, a.runs[r].start, a.runs[r].end, false);
    ++splits;
  }
  judge(a, in);
  if (a.slim.verdict != Verdict::refuse || (in.overcommit_mode != 0 && in.overcommit_mode != 2)) return;

  // The rule still refuses: written pieces, largest first, until it allows the fork.
  a.slim_written_rule = in.overcommit_mode == 0
                            ? "heuristic overcommit: a mapping larger than RAM + swap is left"
                            : "strict overcommit: what is left does not fit the commit limit with the reserves";
  while (a.slim.verdict == Verdict::refuse && a.nchosen < Advice::kMaxChosen) {
    uint64_t best_start = 0, best_end = 0;
    int best = -1;
    for (int i = 0; i < a.ncand; ++i) {
      const SlimCandidate& m = a.cand[i];
      if (m.keep_written || holds(m, lim.keep_address) || holds(m, lim.tls_address)) continue;
      if (!split(a, m) && splits >= lim.max_split) continue;
      const uint64_t limit = m.end - kKeepTop;
      kept_pieces(a, m, [&](uint64_t s, uint64_t e) {
        if (e > limit) e = limit;
        if (e > s && e - s > best_end - best_start) {
          best_start = s;
          best_end = e;
          best = i;
        }
      });
    }
    if (best < 0) break;  // nothing more may go: the fork stays refused
    if (!split(a, a.cand[best])) ++splits;
    choose(a, best_start, best_end, true);
    judge(a, in);
  }
}

// ---- never-written runs, from /proc/PID/pagemap ----

constexpr uint64_t kPresent = 1ull << 63, kSwapped = 1ull << 62;
constexpr uint64_t kScanBudgetPages = 1ull << 24;  // 64 GiB of partly written mappings: 128 MiB of pagemap

// Feeds the never-written runs of [start, end) into candidate `c`. False when the pages could not
// be read (the candidate then has no run: all of it counts as written).
bool scan_runs(Advice& a, int c, int pagemap_fd, const AdviceLimits& lim, uint64_t& budget) {
  const SlimCandidate& m = a.cand[c];
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t pages = (m.end - m.start) / page;
  if (pagemap_fd < 0 || pages > budget) return false;
  budget -= pages;
  uint64_t entries[256];
  uint64_t gap = m.start;  // start of the never-written stretch being followed
  for (uint64_t done = 0; done < pages;) {
    const uint64_t want = pages - done < 256 ? pages - done : 256;
    const off_t at = static_cast<off_t>((m.start / page + done) * sizeof(uint64_t));
    ssize_t n;
    do {
      n = pread(pagemap_fd, entries, want * sizeof(uint64_t), at);
    } while (n < 0 && errno == EINTR);
    if (n <= 0 || n % sizeof(uint64_t) != 0) return false;
    const uint64_t got = static_cast<uint64_t>(n) / sizeof(uint64_t);
    for (uint64_t i = 0; i < got; ++i) {
      if ((entries[i] & (kPresent | kSwapped)) == 0) continue;  // no page, no swap entry: never written
      const uint64_t addr = m.start + (done + i) * page;
      if (addr > gap) advice_add_run(a, c, gap, addr, lim);
      gap = addr + page;
    }
    done += got;
  }
  if (m.end > gap) advice_add_run(a, c, gap, m.end, lim);
  return true;
}

// "Rss:   1234 kB" -> 1234; -1 when `line` is not `key`.
int64_t field_kb(std::string_view line, std::string_view key) {
  if (line.size() <= key.size() || line.compare(0, key.size(), key) != 0) return -1;
  size_t i = key.size();
  while (i < line.size() && line[i] == ' ') ++i;
  if (i >= line.size() || line[i] < '0' || line[i] > '9') return -1;
  int64_t v = 0;
  for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
    if (v > (INT64_MAX - 9) / 10) return -1;
    v = v * 10 + (line[i] - '0');
  }
  return v;
}

// One VMA at a time, from its header line to its VmFlags line (the last of each block).
struct Walk {
  const AdviceLimits* lim;
  Advice* a;
  int pagemap_fd = -1;
  uint64_t budget = kScanBudgetPages;
  Vma vma;
  bool have = false;
  int64_t rss = -1, swap = -1;
  uint64_t prev_end = 0;  // the previous mapping's end, and whether it was a ---p guard
  bool prev_guard = false;
  char path[512];
  char line[1024];
  size_t used = 0;
  bool overlong = false;

  void on_vma() {
    // smaps is read a page of text at a time: a mapping that merged with a new neighbour between
    // two reads is printed again from its old start. Only its new part is counted.
    if (vma.start < prev_end) {
      if (vma.end > prev_end && vma.charged_by_fork()) a->charge_kb += kb(vma.end - prev_end);
      if (vma.end > prev_end) prev_end = vma.end;
      prev_guard = false;
      return;
    }
    const bool after_guard = prev_guard && prev_end == vma.start;
    prev_guard = !vma.readable && !vma.writable && !vma.executable && vma.is_private;
    prev_end = vma.end;
    const int c = advice_add(*a, vma, rss, swap, *lim, after_guard);
    if (c >= 0 && !scan_runs(*a, c, pagemap_fd, *lim, budget)) a->slim_partial = true;
  }
  void on_line(std::string_view l) {
    Vma v;
    if (parse_maps_line(l, v)) {
      // Keep a copy: the header's path views the line buffer, reused for the next line.
      const size_t n = v.path.size() < sizeof path - 1 ? v.path.size() : sizeof path - 1;
      std::memcpy(path, v.path.data(), n);
      v.path = std::string_view(path, n);
      vma = v;
      have = true;
      rss = swap = -1;
      return;
    }
    if (!have) return;
    int64_t k;
    if ((k = field_kb(l, "Rss:")) >= 0) rss = k;
    if ((k = field_kb(l, "Swap:")) >= 0) swap = k;
    if (parse_vmflags_line(l, vma)) {
      on_vma();
      have = false;
    }
  }
  void feed(const char* data, size_t len) {
    for (size_t i = 0; i < len; ++i) {
      if (data[i] == '\n') {
        if (!overlong) on_line(std::string_view(line, used));
        used = 0;
        overlong = false;
      } else if (used < sizeof line) {
        line[used++] = data[i];
      } else {
        overlong = true;  // a header keeps its prefix only through the parser's own rules: skip it whole
      }
    }
  }
};

void feed_walk(const char* data, size_t len, void* ctx) { static_cast<Walk*>(ctx)->feed(data, len); }

}  // namespace

bool slim_may_take(const Vma& v, const AdviceLimits& lim) {
  if (!v.have_flags || !v.charged_by_fork() || !v.is_private || !v.writable) return false;
  if (kb(v.end - v.start) < lim.slim_min_kb) return false;
  if (!v.path.empty()) return false;  // [heap], [stack], files: their contents are the child's too
  if (lim.keep_address >= v.start && lim.keep_address < v.end) return false;
  if (v.start % kGlibcHeapMax == 0 && v.end - v.start <= kGlibcHeapMax) return false;  // a glibc arena heap
  return true;
}

int advice_add(Advice& a, const Vma& v, int64_t rss_kb, int64_t swap_kb, const AdviceLimits& lim, bool after_guard) {
  if (!v.charged_by_fork()) return -1;
  const int64_t size = kb(v.end - v.start);
  a.charge_kb += size;
  if (size > a.largest_kb) a.largest_kb = size;
  add_top(a, v, rss_kb, swap_kb);
  if (!slim_may_take(v, lim) || a.ncand == Advice::kMaxCandidates) {
    if (slim_may_take(v, lim)) a.slim_partial = true;
    if (size > a.other_largest_kb) a.other_largest_kb = size;
    return -1;
  }
  SlimCandidate& m = a.cand[a.ncand];
  m = SlimCandidate{};
  m.start = v.start;
  m.end = v.end;
  m.keep_written = after_guard || (lim.tls_address >= v.start && lim.tls_address < v.end);
  m.first_run = a.nruns;
  m.never_written = rss_kb == 0 && swap_kb == 0;
  return m.never_written ? (++a.ncand, -1) : a.ncand++;
}

void advice_add_run(Advice& a, int c, uint64_t start, uint64_t end, const AdviceLimits& lim) {
  SlimCandidate& m = a.cand[c];
  if (end > m.end - kKeepTop) end = m.end - kKeepTop;
  if (start < m.start) start = m.start;
  if (end <= start || kb(end - start) < lim.slim_min_kb) return;
  if (a.nruns == Advice::kMaxRuns || m.first_run + m.nruns != a.nruns) {
    a.slim_partial = true;
    return;
  }
  a.runs[a.nruns++] = SlimRange{start, end, false};
  ++m.nruns;
}

void advice_finish(Advice& a, CommitInputs in, const AdviceLimits& lim) {
  in.charge_kb = a.charge_kb;
  in.largest_vma_kb = a.largest_kb;
  const CommitVerdict full = predict_fork(in);
  if (full.verdict == Verdict::unknown) {
    a.shrink_kb = -1;
  } else if (full.verdict == Verdict::ok) {
    a.shrink_kb = 0;
  } else if (in.overcommit_mode == 0) {
    a.shrink_kb = -full.margin_kb;  // refused while the margin is negative
  } else {
    a.shrink_kb = in.page_kb - full.margin_kb;  // refused while the margin is 0 or less: one page more
  }
  choose_slim(a, in, lim);
  a.slim_kb = a.slim_written_kb = 0;
  a.slim_mappings = 0;
  for (int i = 0; i < a.nchosen; ++i) {
    a.slim_kb += kb(a.chosen[i].end - a.chosen[i].start);
    if (a.chosen[i].written) a.slim_written_kb += kb(a.chosen[i].end - a.chosen[i].start);
  }
  for (int i = 0; i < a.ncand; ++i) a.slim_mappings += lost_memory(a, a.cand[i]) ? 1 : 0;
  for (int t = 0; t < a.ntop; ++t) {
    MappingAdvice& m = a.top[t];
    m.slim_kb = m.slim_written_kb = 0;
    for (int i = 0; i < a.nchosen; ++i) {
      const SlimRange& r = a.chosen[i];
      if (r.start < m.start || r.start >= m.end) continue;
      m.slim_kb += kb(r.end - r.start);
      if (r.written) m.slim_written_kb += kb(r.end - r.start);
    }
  }
}

int advise_from_proc(const char* smaps_path, const char* pagemap_path, const CommitInputs& in,
                     const AdviceLimits& lim, Advice& a) {
  a = Advice{};
  Walk w;
  w.lim = &lim;
  w.a = &a;
  // High and close-on-exec for the walk: the program's other threads keep their low numbers.
  if (pagemap_path != nullptr) {
    const int fd = open(pagemap_path, O_RDONLY | O_CLOEXEC);
    w.pagemap_fd = fd >= 0 ? move_high(fd) : -1;
  }
  const int rc = stream_file(smaps_path, &feed_walk, &w);
  const int err = errno;
  if (w.pagemap_fd >= 0) close(w.pagemap_fd);
  if (rc != 0) {
    errno = err;
    return -1;
  }
  advice_finish(a, in, lim);
  return 0;
}

}  // namespace forkguard

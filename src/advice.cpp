/// @file advice.cpp
/// @brief Advice for a refused fork, from one walk of smaps that also reads each mapping's Rss and Swap.
#include "forkguard/advice.hpp"

#include <cerrno>
#include <cstring>
#include <string_view>

namespace forkguard {

bool slim_would_exclude(const Vma& v, int64_t rss_kb, int64_t swap_kb, int64_t slim_min_kb) {
  if (!v.charged_by_fork() || !v.is_private || !v.writable || !v.path.empty()) return false;
  if (static_cast<int64_t>(v.size_kb()) < slim_min_kb) return false;
  return rss_kb == 0 && swap_kb == 0;
}

void advice_add(Advice& a, const Vma& v, int64_t rss_kb, int64_t swap_kb, int64_t slim_min_kb) {
  if (!v.charged_by_fork()) return;
  const int64_t kb = static_cast<int64_t>(v.size_kb());
  a.charge_kb += kb;
  if (kb > a.largest_kb) a.largest_kb = kb;
  const bool slim = slim_would_exclude(v, rss_kb, swap_kb, slim_min_kb);
  if (slim) {
    a.slim_kb += kb;
    ++a.slim_mappings;
  } else if (kb > a.slim_kept_largest_kb) {
    a.slim_kept_largest_kb = kb;
  }
  int pos = a.ntop;
  while (pos > 0 && a.top[pos - 1].size_kb < kb) --pos;  // stable: the earlier mapping wins ties
  if (pos >= Advice::kTop) return;
  const int last = a.ntop < Advice::kTop ? a.ntop : Advice::kTop - 1;
  for (int i = last; i > pos; --i) a.top[i] = a.top[i - 1];
  MappingAdvice& m = a.top[pos];
  m = MappingAdvice{};
  m.start = v.start;
  m.end = v.end;
  m.size_kb = kb;
  m.rss_kb = rss_kb;
  m.swap_kb = swap_kb;
  m.slim = slim;
  const std::string_view name = v.path.empty() ? std::string_view("[anon]") : v.path;
  const size_t n = name.size() < sizeof m.path - 1 ? name.size() : sizeof m.path - 1;
  std::memcpy(m.path, name.data(), n);
  m.path[n] = '\0';
  if (a.ntop < Advice::kTop) ++a.ntop;
}

void advice_finish(Advice& a, CommitInputs in) {
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
  in.charge_kb = a.charge_kb - a.slim_kb;
  in.largest_vma_kb = a.slim_kept_largest_kb;
  a.slim = predict_fork(in);
}

namespace {

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
  const CommitInputs* in;
  int64_t slim_min_kb;
  Advice* a;
  Vma vma;
  bool have = false;
  int64_t rss = -1, swap = -1;
  char path[512];
  char line[1024];
  size_t used = 0;
  bool overlong = false;

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
    int64_t kb;
    if ((kb = field_kb(l, "Rss:")) >= 0) rss = kb;
    if ((kb = field_kb(l, "Swap:")) >= 0) swap = kb;
    if (parse_vmflags_line(l, vma)) {
      advice_add(*a, vma, rss, swap, slim_min_kb);
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

int advise_from_smaps(const char* smaps_path, const CommitInputs& in, int64_t slim_min_kb, Advice& a) {
  a = Advice{};
  Walk w;
  w.in = &in;
  w.slim_min_kb = slim_min_kb;
  w.a = &a;
  if (stream_file(smaps_path, &feed_walk, &w) != 0) return -1;
  advice_finish(a, in);
  return 0;
}

}  // namespace forkguard

/// @file charge.cpp
/// @brief fork()'s commit charge: the VmData + VmStk estimate and the exact sum walked from smaps.
#include "forkguard/charge.hpp"

#include <cstring>

namespace forkguard {

int64_t estimate_charge_kb(const ProcStatus& st) {
  if (st.vm_data_kb < 0 || st.vm_stk_kb < 0) return -1;
  return st.vm_data_kb + st.vm_stk_kb;
}

namespace {

void fill_summary(MappingSummary& m, const Vma& v) {
  m.start = v.start;
  m.end = v.end;
  m.size_kb = static_cast<int64_t>(v.size_kb());
  std::string_view name = v.path.empty() ? std::string_view("[anon]") : v.path;
  size_t n = name.size() < sizeof(m.path) - 1 ? name.size() : sizeof(m.path) - 1;
  std::memcpy(m.path, name.data(), n);
  m.path[n] = '\0';
}

void add_top(ChargeSummary& s, const Vma& v) {
  const int64_t size = static_cast<int64_t>(v.size_kb());
  int pos = s.ntop;
  while (pos > 0 && s.top[pos - 1].size_kb < size) --pos;  // stable: earlier VMA wins ties
  if (pos >= ChargeSummary::kTop) return;
  int last = s.ntop < ChargeSummary::kTop ? s.ntop : ChargeSummary::kTop - 1;
  for (int i = last; i > pos; --i) s.top[i] = s.top[i - 1];
  fill_summary(s.top[pos], v);
  if (s.ntop < ChargeSummary::kTop) ++s.ntop;
}

void on_smaps_vma(const Vma& v, void* ctx) { add_vma(*static_cast<ChargeSummary*>(ctx), v); }

void feed_parser(const char* data, size_t len, void* ctx) {
  static_cast<SmapsParser*>(ctx)->feed(data, len);
}

struct Largest {
  int64_t kb = 0;
};

void on_maps_vma(const Vma& v, void* ctx) {
  // maps has no VmFlags: private + writable is what makes a VMA accountable at mmap time.
  if (!v.is_private || !v.writable) return;
  auto* l = static_cast<Largest*>(ctx);
  int64_t kb = static_cast<int64_t>(v.size_kb());
  if (kb > l->kb) l->kb = kb;
}

}  // namespace

void add_vma(ChargeSummary& s, const Vma& v) {
  ++s.vmas;
  const int64_t kb = static_cast<int64_t>(v.size_kb());
  if (v.charged_by_fork()) {
    s.charge_kb += kb;
    ++s.charged_vmas;
    if (kb > s.largest_kb) s.largest_kb = kb;
    add_top(s, v);
  } else if (v.accountable && v.dontcopy) {
    s.dontfork_kb += kb;
  }
}

int measure_charge_smaps(const char* smaps_path, ChargeSummary& out) {
  out = ChargeSummary{};
  SmapsParser parser(&on_smaps_vma, &out);
  if (stream_file(smaps_path, &feed_parser, &parser) != 0) return -1;
  parser.finish();
  return 0;
}

int64_t largest_private_writable_kb(const char* maps_path) {
  Largest l;
  SmapsParser parser(&on_maps_vma, &l);
  if (stream_file(maps_path, &feed_parser, &parser) != 0) return -1;
  parser.finish();
  return l.kb;
}

}  // namespace forkguard

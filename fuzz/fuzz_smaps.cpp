/// @file fuzz_smaps.cpp
/// @brief libFuzzer target: the streaming SmapsParser (smaps and maps text), fed whole and in
/// chunks whose sizes the input chooses: the VMAs seen must not depend on how reads split the text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "forkguard/probe.hpp"
#include "fuzz_check.hpp"

using namespace forkguard;

namespace {

struct Seen {
  uint64_t start, end, offset;
  bool r, w, x, p, have_flags, ac, dc, nr;
  std::string path;
  bool operator==(const Seen& o) const {
    return start == o.start && end == o.end && offset == o.offset && r == o.r && w == o.w && x == o.x && p == o.p &&
           have_flags == o.have_flags && ac == o.ac && dc == o.dc && nr == o.nr && path == o.path;
  }
};

void collect(const Vma& v, void* ctx) {
  FG_FUZZ_CHECK(v.start <= v.end);
  FG_FUZZ_CHECK(v.path.size() < 512);  // the parser's own copy, NUL included
  FG_FUZZ_CHECK(v.have_flags || (!v.accountable && !v.dontcopy && !v.noreserve));
  static_cast<std::vector<Seen>*>(ctx)->push_back(Seen{v.start, v.end, v.offset, v.readable, v.writable, v.executable,
                                                       v.is_private, v.have_flags, v.accountable, v.dontcopy,
                                                       v.noreserve, std::string(v.path)});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // First byte: the chunking pattern; the rest: the text.
  const unsigned pattern = data[0];
  const std::string_view text = fuzz::as_text(data + 1, size - 1);

  std::vector<Seen> whole;
  {
    SmapsParser p(collect, &whole);
    p.feed(text.data(), text.size());
    p.finish();
  }

  std::vector<Seen> chunked;
  {
    SmapsParser p(collect, &chunked);
    size_t pos = 0, k = 0;
    while (pos < text.size()) {
      // Chunk sizes 1..(pattern+1), varying: every line end lands at some chunk edge over the corpus.
      size_t n = 1 + (pattern + k * 7) % (pattern + 1);
      if (n > text.size() - pos) n = text.size() - pos;
      p.feed(text.data() + pos, n);
      pos += n;
      ++k;
    }
    p.feed(text.data(), 0);  // an empty read changes nothing
    p.finish();
  }
  FG_FUZZ_CHECK(whole.size() == chunked.size());
  for (size_t i = 0; i < whole.size(); ++i) FG_FUZZ_CHECK(whole[i] == chunked[i]);

  // At most one VMA per header line.
  size_t lines = 1;
  for (char c : text) lines += c == '\n';
  FG_FUZZ_CHECK(whole.size() <= lines);
  return 0;
}

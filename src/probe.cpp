/// @file probe.cpp
/// @brief Allocation-free parsers and readers for /proc status, statm, meminfo, maps/smaps and vm sysctls.
///
/// Truncation rule shared by every parser: /proc text always ends with '\n'. A number is trusted
/// only when something follows it on its line (whitespace, a unit, '\r') or when its line ends
/// with '\n'. A number that runs into the end of the text may have been cut mid-way (a short
/// read, a truncated fixture), so its field stays -1.
#include "forkguard/probe.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace forkguard {

namespace {

constexpr int64_t kInt64Max = 0x7fffffffffffffffLL;

/// string_view::substr without its throwing bounds check (the fork path must not throw).
std::string_view sub(std::string_view s, size_t pos, size_t n = std::string_view::npos) {
  if (pos > s.size()) pos = s.size();
  if (n > s.size() - pos) n = s.size() - pos;
  return std::string_view(s.data() + pos, n);
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Cursor over one line of text (no '\n' inside). `terminated` says whether the line ended
/// with '\n' in the input, i.e. whether its last token can be trusted to be complete.
struct Cursor {
  std::string_view s;
  size_t i = 0;
  bool terminated = true;

  bool at_end() const { return i >= s.size(); }
  void skip_blanks() {
    while (i < s.size() && is_blank(s[i])) ++i;
  }
  /// After a number: true when it is provably complete (followed by a character or a '\n').
  bool number_complete() const { return i < s.size() || terminated; }
};

/// Parses unsigned decimal at the cursor. -1 on no digits, overflow, or possible truncation.
int64_t take_decimal(Cursor& c) {
  size_t start = c.i;
  int64_t v = 0;
  while (c.i < c.s.size() && c.s[c.i] >= '0' && c.s[c.i] <= '9') {
    int d = c.s[c.i] - '0';
    if (v > (kInt64Max - d) / 10) return -1;
    v = v * 10 + d;
    ++c.i;
  }
  if (c.i == start || !c.number_complete()) return -1;
  return v;
}

/// Parses unsigned hex (no 0x) at the cursor into `out`. False on no digits / overflow / truncation.
bool take_hex(Cursor& c, uint64_t& out) {
  size_t start = c.i;
  uint64_t v = 0;
  int d;
  while (c.i < c.s.size() && (d = hex_value(c.s[c.i])) >= 0) {
    if (v >> 60) return false;  // a 17th significant digit would overflow
    v = (v << 4) | static_cast<uint64_t>(d);
    ++c.i;
  }
  if (c.i == start || !c.number_complete()) return false;
  out = v;
  return true;
}

/// "   123 kB" (unit optional, any blanks). -1 when malformed or possibly cut.
int64_t parse_kb_field(Cursor c) {
  c.skip_blanks();
  int64_t v = take_decimal(c);
  if (v < 0) return -1;
  c.skip_blanks();
  if (!c.at_end() && (c.s[c.i] == 'k' || c.s[c.i] == 'K')) {
    ++c.i;
    if (c.at_end()) return c.terminated ? -1 : v;  // "12 k" cut inside the unit: number is whole
    if (c.s[c.i] != 'B' && c.s[c.i] != 'b') return -1;
    ++c.i;
    c.skip_blanks();
  }
  return c.at_end() ? v : -1;
}

/// A plain decimal that must be the whole value ("PPid:\t1").
int64_t parse_plain_field(Cursor c) {
  c.skip_blanks();
  int64_t v = take_decimal(c);
  if (v < 0) return -1;
  c.skip_blanks();
  return c.at_end() ? v : -1;
}

/// First decimal of a blank-separated list ("Uid:\t1000\t1000\t1000\t1000").
int64_t parse_first_field(Cursor c) {
  c.skip_blanks();
  return take_decimal(c);
}

/// CapEff: 16 hex digits. Masks above INT64_MAX cannot be told apart from -1, so they are unknown.
int64_t parse_hex_field(Cursor c) {
  c.skip_blanks();
  uint64_t v = 0;
  if (!take_hex(c, v)) return -1;
  c.skip_blanks();
  if (!c.at_end() || v > static_cast<uint64_t>(kInt64Max)) return -1;
  return static_cast<int64_t>(v);
}

/// Splits "Key:value" lines; calls fn(key, value_cursor) for each line that has a colon.
template <typename Fn>
void for_each_field(std::string_view text, Fn&& fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    bool terminated = nl != std::string_view::npos;
    size_t end = terminated ? nl : text.size();
    std::string_view line = sub(text, pos, end - pos);
    pos = terminated ? nl + 1 : text.size();

    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    size_t kb = 0, ke = colon;
    while (kb < ke && is_blank(line[kb])) ++kb;
    while (ke > kb && is_blank(line[ke - 1])) --ke;
    Cursor value{sub(line, colon + 1), 0, terminated};
    fn(sub(line, kb, ke - kb), value);
  }
}

bool assign(int64_t& field, int64_t v) {
  field = v;
  return v >= 0;
}

}  // namespace

bool parse_status(std::string_view text, ProcStatus& out) {
  bool found = false;
  for_each_field(text, [&](std::string_view key, const Cursor& v) {
    if (key == "VmSize") found |= assign(out.vm_size_kb, parse_kb_field(v));
    else if (key == "VmRSS") found |= assign(out.vm_rss_kb, parse_kb_field(v));
    else if (key == "VmData") found |= assign(out.vm_data_kb, parse_kb_field(v));
    else if (key == "VmStk") found |= assign(out.vm_stk_kb, parse_kb_field(v));
    else if (key == "CapEff") found |= assign(out.cap_eff, parse_hex_field(v));
    else if (key == "PPid") found |= assign(out.ppid, parse_plain_field(v));
    else if (key == "Uid") found |= assign(out.uid, parse_first_field(v));
  });
  return found;
}

bool parse_meminfo(std::string_view text, MemInfo& out) {
  bool found = false;
  for_each_field(text, [&](std::string_view key, const Cursor& v) {
    if (key == "MemTotal") found |= assign(out.mem_total_kb, parse_kb_field(v));
    else if (key == "SwapTotal") found |= assign(out.swap_total_kb, parse_kb_field(v));
    else if (key == "SwapFree") found |= assign(out.swap_free_kb, parse_kb_field(v));
    else if (key == "CommitLimit") found |= assign(out.commit_limit_kb, parse_kb_field(v));
    else if (key == "Committed_AS") found |= assign(out.committed_as_kb, parse_kb_field(v));
  });
  return found;
}

bool parse_statm(std::string_view text, ProcStatm& out) {
  size_t nl = text.find('\n');
  Cursor c{sub(text, 0, nl), 0,
           nl != std::string_view::npos};
  int64_t* fields[] = {&out.size, &out.resident, &out.shared, &out.text, &out.lib, &out.data};
  bool found = false;
  for (int64_t* f : fields) {
    c.skip_blanks();
    int64_t v = take_decimal(c);
    // A field glued to garbage ("12x") is malformed; positional fields after it are unknown too.
    if (v < 0 || (!c.at_end() && !is_blank(c.s[c.i]))) break;
    *f = v;
    found = true;
  }
  return found;
}

int64_t parse_sysctl_value(std::string_view text) {
  // Whole-file read: a missing '\n' is not a sign of truncation here.
  Cursor c{text, 0, true};
  while (!c.at_end() && (is_blank(c.s[c.i]) || c.s[c.i] == '\n')) ++c.i;
  int64_t v = take_decimal(c);
  if (v < 0) return -1;
  while (!c.at_end() && (is_blank(c.s[c.i]) || c.s[c.i] == '\n')) ++c.i;
  return c.at_end() ? v : -1;
}

bool parse_maps_line(std::string_view line, Vma& out) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  Cursor c{line, 0, true};
  Vma v;
  if (!take_hex(c, v.start) || c.at_end() || c.s[c.i] != '-') return false;
  ++c.i;
  if (!take_hex(c, v.end) || v.end < v.start) return false;
  if (c.at_end() || !is_blank(c.s[c.i])) return false;
  c.skip_blanks();
  if (c.s.size() - c.i < 4) return false;
  const char* p = c.s.data() + c.i;
  if ((p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') || (p[2] != 'x' && p[2] != '-') ||
      (p[3] != 'p' && p[3] != 's'))
    return false;
  v.readable = p[0] == 'r';
  v.writable = p[1] == 'w';
  v.executable = p[2] == 'x';
  v.is_private = p[3] == 'p';
  c.i += 4;
  if (c.at_end() || !is_blank(c.s[c.i])) return false;
  c.skip_blanks();
  if (!take_hex(c, v.offset) || c.at_end() || !is_blank(c.s[c.i])) return false;
  c.skip_blanks();
  uint64_t major = 0, minor = 0;
  if (!take_hex(c, major) || c.at_end() || c.s[c.i] != ':') return false;
  ++c.i;
  if (!take_hex(c, minor) || c.at_end() || !is_blank(c.s[c.i])) return false;
  c.skip_blanks();
  if (take_decimal(c) < 0) return false;  // inode
  if (!c.at_end() && !is_blank(c.s[c.i])) return false;
  c.skip_blanks();
  // The rest is the path verbatim: it may contain spaces and end in " (deleted)".
  v.path = sub(c.s, c.i);
  out = v;
  return true;
}

bool parse_vmflags_line(std::string_view line, Vma& out) {
  size_t i = 0;
  while (i < line.size() && is_blank(line[i])) ++i;
  constexpr std::string_view kKey = "VmFlags:";
  if (sub(line, i, kKey.size()) != kKey) return false;
  i += kKey.size();
  bool ac = false, dc = false, nr = false;
  while (i < line.size()) {
    while (i < line.size() && (is_blank(line[i]) || line[i] == '\n')) ++i;
    size_t s = i;
    while (i < line.size() && !is_blank(line[i]) && line[i] != '\n') ++i;
    std::string_view tok = sub(line, s, i - s);
    if (tok == "ac") ac = true;
    else if (tok == "dc") dc = true;
    else if (tok == "nr") nr = true;
  }
  out.have_flags = true;
  out.accountable = ac;
  out.dontcopy = dc;
  out.noreserve = nr;
  return true;
}

// ---------------------------------------------------------------------------------------------
// SmapsParser

void SmapsParser::feed(const char* data, size_t len) {
  while (len > 0) {
    const char* nl = static_cast<const char*>(std::memchr(data, '\n', len));
    size_t seg = nl ? static_cast<size_t>(nl - data) : len;
    if (!overflow_) {
      size_t room = sizeof(buf_) - used_;
      if (seg <= room) {
        std::memcpy(buf_ + used_, data, seg);
        used_ += seg;
      } else {
        // Line longer than the buffer: keep its prefix if it is a VMA header (the path gets
        // truncated, the addresses and perms are intact); any other line is dropped whole,
        // since a cut VmFlags list could lose "ac" or "dc".
        std::memcpy(buf_ + used_, data, room);
        used_ = sizeof(buf_);
        Vma probe;
        if (parse_maps_line(std::string_view(buf_, used_), probe)) line(std::string_view(buf_, used_));
        overflow_ = true;
        used_ = 0;
      }
    }
    if (!nl) return;
    if (!overflow_) line(std::string_view(buf_, used_));
    used_ = 0;
    overflow_ = false;
    data = nl + 1;
    len -= seg + 1;
  }
}

void SmapsParser::finish() {
  // An unterminated last line may be cut. A header survives a cut (a cut before the inode fails
  // to parse; after it only the path shortens); a VmFlags line does not, so it is ignored.
  if (!overflow_ && used_ > 0) {
    std::string_view l(buf_, used_);
    Vma probe;
    if (parse_maps_line(l, probe)) line(l);
  }
  used_ = 0;
  overflow_ = false;
  if (have_cur_) {
    emit();
    have_cur_ = false;
  }
}

void SmapsParser::line(std::string_view l) {
  while (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  Vma v;
  if (parse_maps_line(l, v)) {
    if (have_cur_) emit();  // previous VMA had no VmFlags line (maps input, or an old kernel)
    size_t n = v.path.size() < sizeof(path_) - 1 ? v.path.size() : sizeof(path_) - 1;
    std::memcpy(path_, v.path.data(), n);
    path_[n] = '\0';
    cur_ = v;
    cur_.path = std::string_view(path_, n);  // the line buffer is reused; the copy outlives it
    have_cur_ = true;
    return;
  }
  if (have_cur_ && parse_vmflags_line(l, cur_)) {
    emit();
    have_cur_ = false;
    return;
  }
  // The slim fork tells never-written mappings by these two (slim_plan.cpp).
  if (have_cur_ && l.substr(0, 4) == "Rss:") cur_.rss_kb = parse_kb_field(Cursor{l.substr(4)});
  if (have_cur_ && l.substr(0, 5) == "Swap:") cur_.swap_kb = parse_kb_field(Cursor{l.substr(5)});
}

void SmapsParser::emit() {
  if (cb_) cb_(cur_, ctx_);
}

// ---------------------------------------------------------------------------------------------
// Readers: open/read/close only, so they are async-signal-safe and allocation-free.

namespace {

int open_ro(const char* path) {
  int fd;
  do {
    fd = ::open(path, O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

ssize_t read_retry(int fd, char* buf, size_t n) {
  ssize_t r;
  do {
    r = ::read(fd, buf, n);
  } while (r < 0 && errno == EINTR);
  return r;
}

void close_keep_errno(int fd) {
  int e = errno;
  ::close(fd);
  errno = e;
}

/// Concatenates a and b into out (cap bytes). False when it does not fit.
bool join_path(char* out, size_t cap, const char* a, const char* b) {
  size_t la = std::strlen(a), lb = std::strlen(b);
  if (la + lb + 1 > cap) return false;
  std::memcpy(out, a, la);
  std::memcpy(out + la, b, lb + 1);
  return true;
}

int64_t read_sysctl(const char* root, const char* rel) {
  char path[256];
  char buf[64];
  if (!join_path(path, sizeof(path), root, rel)) return -1;
  long n = read_small_file(path, buf, sizeof(buf));
  if (n < 0 || static_cast<size_t>(n) >= sizeof(buf) - 1) return -1;  // error, or suspiciously long
  return parse_sysctl_value(std::string_view(buf, static_cast<size_t>(n)));
}

}  // namespace

long read_small_file(const char* path, char* buf, size_t cap) {
  if (buf == nullptr || cap == 0) {
    errno = EINVAL;
    return -1;
  }
  int fd = open_ro(path);
  if (fd < 0) return -1;
  size_t used = 0;
  while (used < cap - 1) {
    const size_t want = cap - 1 - used;
    ssize_t r = read_retry(fd, buf + used, want);
    if (r < 0) {
      close_keep_errno(fd);
      buf[0] = '\0';
      return -1;
    }
    if (r == 0) break;
    used += static_cast<size_t>(r);
    // A /proc seq file hands over all it has when it fits: a short read is its end, and not
    // making the read that would return 0 saves a syscall on every intercepted call.
    if (static_cast<size_t>(r) < want && std::strncmp(path, "/proc/", 6) == 0) break;
  }
  buf[used] = '\0';
  close_keep_errno(fd);
  return static_cast<long>(used);
}

int stream_file(const char* path, void (*chunk)(const char* data, size_t len, void* ctx), void* ctx) {
  int fd = open_ro(path);
  if (fd < 0) return -1;
  char buf[4096];
  for (;;) {
    ssize_t r = read_retry(fd, buf, sizeof(buf));
    if (r < 0) {
      close_keep_errno(fd);
      return -1;
    }
    if (r == 0) break;
    chunk(buf, static_cast<size_t>(r), ctx);
  }
  close_keep_errno(fd);
  return 0;
}

VmSysctl read_vm_sysctl(const char* proc_root) {
  VmSysctl s;
  if (proc_root == nullptr) proc_root = "/proc";
  int64_t mode = read_sysctl(proc_root, "/sys/vm/overcommit_memory");
  s.overcommit_memory = (mode >= 0 && mode <= 2) ? static_cast<int>(mode) : -1;
  s.overcommit_ratio = read_sysctl(proc_root, "/sys/vm/overcommit_ratio");
  s.overcommit_kbytes = read_sysctl(proc_root, "/sys/vm/overcommit_kbytes");
  s.admin_reserve_kbytes = read_sysctl(proc_root, "/sys/vm/admin_reserve_kbytes");
  s.user_reserve_kbytes = read_sysctl(proc_root, "/sys/vm/user_reserve_kbytes");
  return s;
}

}  // namespace forkguard

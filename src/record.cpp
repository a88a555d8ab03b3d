/// @file record.cpp
/// @brief Renders a Record as one JSON object or one human line, each at most `cap` bytes.
#include "forkguard/record.hpp"

#include <cstring>

#include "forkguard/fixed_writer.hpp"

namespace forkguard {

const char* call_name(CallKind k) {
  switch (k) {
    case CallKind::fork: return "fork";
    case CallKind::vfork: return "vfork";
    case CallKind::_Fork: return "_Fork";
    case CallKind::system: return "system";
    case CallKind::popen: return "popen";
    case CallKind::pclose: return "pclose";
    case CallKind::posix_spawn: return "posix_spawn";
    case CallKind::posix_spawnp: return "posix_spawnp";
    case CallKind::daemon: return "daemon";
  }
  return "unknown";
}

const char* action_name(Action a) {
  switch (a) {
    case Action::passthrough: return "passthrough";
    case Action::posix_spawn: return "posix_spawn";
    case Action::slim_fork: return "slim_fork";
    case Action::vfork: return "vfork";
    case Action::refused: return "refused";
  }
  return "unknown";
}

namespace {

// Room kept for the closing `],"truncated":true}\n` so a cut record is still one JSON object.
constexpr size_t kTailReserve = 32;

// Escapes `s` into `w` one character at a time, never past `limit` bytes of output, so a cut
// never splits an escape sequence. Returns false when `s` was cut.
bool put_json_limited(FixedWriter& w, std::string_view s, size_t limit) {
  const size_t start = w.size();
  for (size_t i = 0; i < s.size(); ++i) {
    size_t n = 1;
    if (static_cast<unsigned char>(s[i]) >= 0x80) {  // keep a UTF-8 sequence whole
      while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xc0) == 0x80 && n < 4) ++n;
    }
    char tmp[32];
    FixedWriter one(tmp, sizeof tmp);
    one.put_json_escaped(s.substr(i, n));
    if (w.size() - start + one.size() > limit || w.size() + one.size() > w.capacity()) return false;
    w.put(std::string_view(tmp, one.size()));
    i += n - 1;
  }
  return true;
}

void key(FixedWriter& w, const char* k) {
  w.put(",\"");
  w.put(k);
  w.put("\":");
}

void num_or_null(FixedWriter& w, const char* k, int64_t v, bool known) {
  key(w, k);
  if (known) {
    w.put_int(v);
  } else {
    w.put("null");
  }
}

void str(FixedWriter& w, const char* k, std::string_view v) {
  key(w, k);
  w.put('"');
  w.put_json_escaped(v);
  w.put('"');
}

void site_text(FixedWriter& w, const char* module, uintptr_t offset) {
  w.put(module);
  w.put("+0x");
  w.put_hex(offset);
}

// "attempts":[{"action":"slim_fork","errno":"ENOMEM"},{"action":"vfork"}]
void put_attempts(FixedWriter& w, const Record& r) {
  key(w, "attempts");
  w.put('[');
  for (int i = 0; i < r.nattempts && i < Record::kMaxAttempts; ++i) {
    const Attempt& a = r.attempts[i];
    if (i > 0) w.put(',');
    w.put("{\"action\":\"");
    w.put(action_name(a.action));
    w.put('"');
    if (a.err != 0) {
      char scratch[16];
      str(w, "errno", errno_name(a.err, scratch));
    }
    w.put('}');
  }
  w.put(']');
}

}  // namespace

size_t format_json(const Record& r, char* buf, size_t cap) {
  if (cap <= kTailReserve + 64) return 0;
  FixedWriter w(buf, cap - kTailReserve);
  bool truncated = false;
  w.put("{\"ts\":\"");
  w.put_iso8601_utc(r.ts_sec, r.ts_usec);
  w.put('"');
  num_or_null(w, "pid", r.pid, true);
  num_or_null(w, "ppid", r.ppid, true);
  num_or_null(w, "tid", r.tid, true);
  key(w, "exe");
  w.put('"');
  truncated |= !put_json_limited(w, r.exe, 512);
  w.put('"');
  str(w, "call", call_name(r.call));
  if (r.command != nullptr) {
    key(w, "command");
    w.put('"');
    truncated |= !put_json_limited(w, r.command, 1536);
    w.put('"');
  }
  num_or_null(w, "vm_size_kb", r.vm_size_kb, r.vm_size_kb >= 0);
  num_or_null(w, "vm_rss_kb", r.vm_rss_kb, r.vm_rss_kb >= 0);
  num_or_null(w, "charge_kb", r.charge_kb, r.charge_kb >= 0);
  str(w, "charge_method", r.charge_method);
  num_or_null(w, "commit_limit_kb", r.commit_limit_kb, r.commit_limit_kb >= 0);
  num_or_null(w, "committed_as_kb", r.committed_as_kb, r.committed_as_kb >= 0);
  num_or_null(w, "headroom_kb", r.commit_limit_kb - r.committed_as_kb, r.known_headroom());
  num_or_null(w, "overcommit_mode", r.overcommit_mode, r.overcommit_mode >= 0);
  str(w, "verdict", verdict_name(r.verdict));
  num_or_null(w, "margin_kb", r.margin_kb, r.verdict != Verdict::unknown);
  num_or_null(w, "allowed_kb", r.allowed_kb, r.allowed_kb >= 0 && r.overcommit_mode != 1);
  num_or_null(w, "largest_vma_kb", r.largest_vma_kb, r.largest_vma_kb >= 0);
  if (r.rule != nullptr && r.rule[0] != '\0') str(w, "rule", r.rule);
  str(w, "action", action_name(r.action));
  if (r.reason != nullptr) str(w, "reason", r.reason);
  if (r.nattempts > 0) put_attempts(w, r);
  if (r.degraded != nullptr) str(w, "degraded", r.degraded);
  if (r.learned_by != nullptr) {
    str(w, "learned_by", r.learned_by);
    num_or_null(w, "learned_children", r.learned_children, true);
  }
  num_or_null(w, "result", r.result, true);
  if (r.child_pid > 0) num_or_null(w, "child_pid", r.child_pid, true);
  if (r.err != 0) {
    char scratch[16];
    str(w, "errno", errno_name(r.err, scratch));
  }
  num_or_null(w, "duration_us", r.duration_us, true);
  key(w, "site");
  w.put('"');
  site_text(w, r.site_module, r.site_offset);
  w.put('"');
  key(w, "stack");
  w.put('[');
  if (w.overflowed()) return 0;  // cannot happen with the limits above; never emit broken JSON
  for (int i = 0; i < r.nframes; ++i) {
    const size_t before = w.size();
    const Frame& f = r.frames[i];
    if (i > 0) w.put(',');
    w.put("{\"module\":\"");
    w.put_json_escaped(f.module);
    w.put("\",\"offset\":\"0x");
    w.put_hex(f.offset);
    w.put("\",\"symbol\":\"");
    w.put_json_escaped(f.symbol);
    w.put("\"}");
    if (w.overflowed()) {  // drop this and every outer frame
      w.truncate(before);
      truncated = true;
      break;
    }
  }
  // The reserve kept at the end guarantees room for the closing bytes.
  const size_t len = w.size();
  const char* end = truncated ? "],\"truncated\":true}\n" : "]}\n";
  const size_t end_len = std::strlen(end);
  std::memcpy(buf + len, end, end_len);
  return len + end_len;
}

namespace {

void human_kb(FixedWriter& w, int64_t kb) {
  if (kb < 0) {
    w.put('-');
    kb = -kb;
  }
  static const char* const units[] = {"KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  int64_t whole = kb, tenths = 0;
  while (whole >= 1024 && u < 3) {
    tenths = (whole % 1024) * 10 / 1024;
    whole /= 1024;
    ++u;
  }
  w.put_int(whole);
  if (u > 0) {
    w.put('.');
    w.put_int(tenths);
  }
  w.put(' ');
  w.put(units[u]);
}

}  // namespace

size_t format_text(const Record& r, char* buf, size_t cap) {
  if (cap < 64) return 0;
  FixedWriter w(buf, cap - 2);  // keep room for the newline
  w.put("forkguard: ");
  w.put(call_name(r.call));
  w.put(" at ");
  site_text(w, r.site_module, r.site_offset);
  w.put(" pid ");
  w.put_int(r.pid);
  if (r.command != nullptr) {
    w.put(" \"");
    put_json_limited(w, r.command, 256);
    w.put('"');
  }
  w.put(" -> ");
  w.put_int(r.result);
  if (r.err != 0) {
    char scratch[16];
    w.put(' ');
    w.put(errno_name(r.err, scratch));
  }
  w.put(" in ");
  w.put_int(r.duration_us);
  w.put("us; ");
  if (r.overcommit_mode == 0 && r.largest_vma_kb >= 0 && r.allowed_kb >= 0) {
    // Mode 0 judges one mapping at a time against RAM + swap.
    w.put("largest mapping ");
    human_kb(w, r.largest_vma_kb);
    w.put(" vs RAM+swap ");
    human_kb(w, r.allowed_kb);
    w.put(", charge ");
  } else {
    w.put("charge ");
  }
  if (r.charge_kb >= 0) {
    human_kb(w, r.charge_kb);
  } else {
    w.put('?');
  }
  w.put(" (");
  w.put(r.charge_method);
  w.put("), commit limit ");
  if (r.commit_limit_kb >= 0) {
    human_kb(w, r.commit_limit_kb);
  } else {
    w.put('?');
  }
  w.put(", committed ");
  if (r.committed_as_kb >= 0) {
    human_kb(w, r.committed_as_kb);
  } else {
    w.put('?');
  }
  w.put(", headroom ");
  if (r.known_headroom()) {
    human_kb(w, r.commit_limit_kb - r.committed_as_kb);
  } else {
    w.put('?');
  }
  w.put(", overcommit ");
  if (r.overcommit_mode >= 0) {
    w.put_int(r.overcommit_mode);
  } else {
    w.put('?');
  }
  w.put(", verdict ");
  w.put(verdict_name(r.verdict));
  if (r.verdict != Verdict::unknown && r.overcommit_mode != 1) {
    w.put(r.verdict == Verdict::refuse ? " (short by " : " (room ");
    human_kb(w, r.margin_kb >= 0 ? r.margin_kb : -r.margin_kb);
    w.put(')');
  }
  if (r.rule != nullptr && r.rule[0] != '\0') {
    w.put(": ");
    w.put(r.rule);
  }
  w.put(", action ");
  w.put(action_name(r.action));
  if (r.reason != nullptr) {
    w.put(" (");
    w.put(r.reason);
    w.put(')');
  }
  if (r.nattempts > 1) {  // the fallback chain went past its first way
    w.put("; tried");
    for (int i = 0; i < r.nattempts && i < Record::kMaxAttempts; ++i) {
      const Attempt& a = r.attempts[i];
      w.put(i > 0 ? ", " : " ");
      w.put(action_name(a.action));
      if (a.err != 0) {
        char scratch[16];
        w.put(' ');
        w.put(errno_name(a.err, scratch));
      }
    }
  }
  if (r.degraded != nullptr) {
    w.put("; degraded (");
    w.put(r.degraded);
    w.put("): no stack");
  }
  if (r.nframes > 0) w.put("; stack:");
  for (int i = 0; i < r.nframes; ++i) {
    const size_t before = w.size();
    const Frame& f = r.frames[i];
    w.put(' ');
    if (f.symbol[0] != '\0') {
      w.put(f.symbol);
      w.put(" (");
    }
    site_text(w, f.module, f.offset);
    if (f.symbol[0] != '\0') w.put(')');
    if (w.overflowed()) {
      w.truncate(before);
      w.put(" ...");
      break;
    }
  }
  size_t len = w.size();
  buf[len++] = '\n';
  return len;
}

}  // namespace forkguard

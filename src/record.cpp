/// @file record.cpp
/// @brief Renders a Record as one JSON object or one human line, each at most `cap` bytes.
#include "forkguard/record.hpp"

#include <cstring>

#include "forkguard/advice.hpp"
#include "forkguard/fixed_writer.hpp"
#include "forkguard/module_id.hpp"

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
    case CallKind::fault: return "fault";
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

void boolean(FixedWriter& w, const char* k, bool v) {
  key(w, k);
  w.put(v ? "true" : "false");
}

// "advice":{"shrink_kb":N,"slim_excludes_kb":N,"slim_written_kb":N,"slim_mappings":N,"slim_enough":B,
// ["slim_partial":true,]"mappings":[{...,"slim_kb":N,"slim_written_kb":N}]}
void put_advice(FixedWriter& w, const Advice& a) {
  key(w, "advice");
  w.put("{\"shrink_kb\":");
  if (a.shrink_kb >= 0) {
    w.put_int(a.shrink_kb);
  } else {
    w.put("null");
  }
  num_or_null(w, "slim_excludes_kb", a.slim_kb, true);
  num_or_null(w, "slim_written_kb", a.slim_written_kb, true);
  num_or_null(w, "slim_mappings", a.slim_mappings, true);
  key(w, "slim_enough");
  w.put(a.slim.verdict == Verdict::unknown ? "null" : a.enough() ? "true" : "false");
  if (a.slim_partial) boolean(w, "slim_partial", true);
  key(w, "mappings");
  w.put('[');
  for (int i = 0; i < a.ntop; ++i) {
    const MappingAdvice& m = a.top[i];
    if (i > 0) w.put(',');
    w.put("{\"start\":\"0x");
    w.put_hex(m.start);
    w.put('"');
    num_or_null(w, "size_kb", m.size_kb, true);
    num_or_null(w, "rss_kb", m.rss_kb, m.rss_kb >= 0);
    num_or_null(w, "swap_kb", m.swap_kb, m.swap_kb >= 0);
    str(w, "path", m.path);
    num_or_null(w, "slim_kb", m.slim_kb, true);
    num_or_null(w, "slim_written_kb", m.slim_written_kb, true);
    w.put('}');
  }
  w.put("]}");
}

// One element of "modules": {"name":..,"path":..,"build_id":"hex"} or {..,"size":N,"mtime":N}.
void put_module(FixedWriter& w, const ModuleDesc& d) {
  w.put("{\"name\":\"");
  w.put_json_escaped(d.name);
  w.put("\",\"path\":\"");
  w.put_json_escaped(d.path);
  w.put('"');
  if (d.build_id_len > 0) {
    key(w, "build_id");
    w.put('"');
    static const char kHex[] = "0123456789abcdef";
    for (int i = 0; i < d.build_id_len; ++i) {
      w.put(kHex[d.build_id[i] >> 4]);
      w.put(kHex[d.build_id[i] & 15]);
    }
    w.put('"');
  } else {
    num_or_null(w, "size", d.size, d.size >= 0);
    num_or_null(w, "mtime", d.mtime, d.size >= 0);
  }
  w.put('}');
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

size_t format_json(const Record& r, char* buf, size_t cap, int* modules_written) {
  if (modules_written != nullptr) *modules_written = 0;
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
  str(w, "fork_verdict", verdict_name(r.fork_verdict));
  boolean(w, "charged", r.charged);
  num_or_null(w, "margin_kb", r.margin_kb, r.fork_verdict != Verdict::unknown);
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
  if (r.excluded_kb >= 0) {  // a slim fork: what it left out of the child
    num_or_null(w, "excluded_kb", r.excluded_kb, true);
    num_or_null(w, "excluded_written_kb", r.excluded_written_kb, true);
    num_or_null(w, "excluded_mappings", r.excluded_mappings, true);
    if (r.excluded_written_rule != nullptr) str(w, "excluded_written_rule", r.excluded_written_rule);
  }
  num_or_null(w, "result", r.result, true);
  if (r.child_pid > 0) num_or_null(w, "child_pid", r.child_pid, true);
  if (r.err != 0) {
    char scratch[16];
    str(w, "errno", errno_name(r.err, scratch));
  }
  num_or_null(w, "duration_us", r.duration_us, true);
  if (r.notice != nullptr && r.notice[0] != '\0') {
    key(w, "notice");
    w.put('"');
    truncated |= !put_json_limited(w, r.notice, 1024);
    w.put('"');
  }
  if (r.advice != nullptr) {  // a refused call's advice, whole or not at all
    const size_t before = w.size();
    put_advice(w, *r.advice);
    if (w.overflowed()) {
      w.truncate(before);
      truncated = true;
    }
  }
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
  // Module descriptions last, as many as fit: the rest go with this process's next record.
  if (r.nmodules > 0 && r.modules != nullptr) {
    const size_t before = w.size();
    w.put("],\"modules\":[");
    int written = 0;
    for (int i = 0; i < r.nmodules; ++i) {
      const size_t at = w.size();
      if (i > 0) w.put(',');
      put_module(w, *r.modules[i]);
      if (w.overflowed()) {
        w.truncate(at);
        break;
      }
      ++written;
    }
    if (written == 0) w.truncate(before);
    if (modules_written != nullptr) *modules_written = written;
  }
  // The reserve kept at the end guarantees room for the closing bytes (of "stack" or "modules").
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

// "; advice: the charge must shrink by X; largest mappings: ...; a slim fork would leave out X in N
// mappings (Y written): enough"
void advice_text(FixedWriter& w, const Advice& a, int overcommit_mode) {
  w.put("; advice: ");
  if (a.shrink_kb > 0) {
    w.put(overcommit_mode == 0 ? "the largest mapping must shrink by " : "the charge must shrink by ");
    human_kb(w, a.shrink_kb);
  } else if (a.shrink_kb == 0) {
    w.put("the charge fits now");
  } else {
    w.put("how much the charge must shrink is unknown");
  }
  for (int i = 0; i < a.ntop; ++i) {
    const MappingAdvice& m = a.top[i];
    w.put(i == 0 ? "; largest mappings: " : ", ");
    human_kb(w, m.size_kb);
    w.put(' ');
    w.put(m.path);
    w.put(" (resident ");
    if (m.rss_kb >= 0) human_kb(w, m.rss_kb); else w.put('?');
    w.put(", swapped ");
    if (m.swap_kb >= 0) human_kb(w, m.swap_kb); else w.put('?');
    if (m.slim_kb > 0 && m.slim_kb == m.size_kb && m.slim_written_kb == 0) {
      w.put(", a slim fork leaves it out: never written");
    } else if (m.slim_kb > 0) {
      w.put(", a slim fork leaves out ");
      human_kb(w, m.slim_kb);
      w.put(" of it");
      if (m.slim_written_kb > 0) {
        w.put(", ");
        human_kb(w, m.slim_written_kb);
        w.put(" written");
      }
    }
    w.put(')');
  }
  w.put("; a slim fork would leave out ");
  human_kb(w, a.slim_kb);
  w.put(" in ");
  w.put_int(a.slim_mappings);
  w.put(a.slim_mappings == 1 ? " mapping" : " mappings");
  if (a.slim_written_kb > 0) {
    w.put(" (");
    human_kb(w, a.slim_written_kb);
    w.put(" of it written: the child would have nothing there)");
  }
  w.put(a.slim.verdict == Verdict::unknown ? ": cannot tell whether that is enough"
                                           : a.enough() ? ": enough" : ": not enough");
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
  if (!r.charged && r.call != CallKind::pclose) {
    w.put(" (not charged for the parent's memory); a full fork now: ");
    w.put(verdict_name(r.fork_verdict));
  }
  if (r.fork_verdict != Verdict::unknown && r.overcommit_mode != 1) {
    w.put(r.fork_verdict == Verdict::refuse ? " (short by " : " (room ");
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
  if (r.advice != nullptr) advice_text(w, *r.advice, r.overcommit_mode);
  if (r.excluded_kb >= 0) {
    w.put("; excluded ");
    human_kb(w, r.excluded_kb);
    w.put(" in ");
    w.put_int(r.excluded_mappings);
    w.put(r.excluded_mappings == 1 ? " mapping" : " mappings");
    if (r.excluded_written_kb > 0) {
      w.put(", of which written ");
      human_kb(w, r.excluded_written_kb);
      if (r.excluded_written_rule != nullptr) {
        w.put(" (");
        w.put(r.excluded_written_rule);
        w.put(')');
      }
    }
  }
  if (r.notice != nullptr && r.notice[0] != '\0') {
    w.put("; notice: ");
    w.put(r.notice);
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

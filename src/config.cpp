/// @file config.cpp
/// @brief The FORKGUARD_* settings table and its allocation-free parser (runs in the shim's init).
#include "forkguard/config.hpp"

#include <cstdlib>
#include <cstring>

namespace forkguard {

// Row order is the documentation order; the Opt enum below indexes it.
const OptionSpec kOptions[] = {
    {"FORKGUARD_MODE", "observe, mitigate, off", "observe",
     "observe logs every child creation and changes nothing, mitigate also substitutes a cheaper "
     "way of making the child when FORKGUARD_TRIGGER fires, off passes every call through and "
     "logs nothing."},
    {"FORKGUARD_TRIGGER", "predicted, always", "predicted",
     "In mitigate mode, predicted substitutes when the kernel is predicted to refuse the fork and "
     "retries with substitution when the real call fails with ENOMEM, always substitutes on "
     "every call."},
    {"FORKGUARD_LOG", "stderr, syslog, or a file path (%p = pid)", "stderr",
     "Where records go: stderr, syslog, or a file path in which %p becomes the pid so each "
     "process, children included, has its own file (without %p processes share the file and "
     "records never interleave)."},
    {"FORKGUARD_FORMAT", "text, json", "text",
     "text writes one human line per event, json writes one JSON object per line."},
    {"FORKGUARD_STACK", "0 to 64 (frames)", "16",
     "How many frames of the caller's stack each record carries; 0 turns unwinding off (the "
     "record's site is still given)."},
    {"FORKGUARD_VFORK_SITES", "learned, all, none, or a comma list of site ids / symbols",
     "learned",
     "Which fork() call sites may get the vfork-style substitute: learned (sites the profile "
     "marks spawn-like), all, none, or a comma-separated list of site ids (module+0xoffset, as "
     "in a record's site) and symbol names."},
    {"FORKGUARD_PROFILE", "a file path", "unset",
     "A file of per-site observations, written in observe mode and read in mitigate mode."},
    {"FORKGUARD_SLIM_MIN", "a size: bytes, or with a k, M or G suffix (KiB, MiB, GiB)", "64M",
     "The smallest private mapping a slim fork may exclude from the child with MADV_DONTFORK; "
     "at least 4k."},
    {"FORKGUARD_PRECISE_MARGIN", "0 to 100 (percent)", "10",
     "When the cheap estimate of a fork's charge is within this percentage of the limit, the "
     "exact charge is taken by walking /proc/self/smaps."},
    {"FORKGUARD_VFORK_TIMEOUT", "1 to 3600 (seconds)", "5",
     "A vfork-substituted child that neither execs nor exits within this many seconds is "
     "killed."},
};
const size_t kOptionCount = sizeof(kOptions) / sizeof(kOptions[0]);

static_assert(sizeof(kOptions) / sizeof(kOptions[0]) <= EnvSnapshot::kMax, "EnvSnapshot has a slot per option");

namespace {

constexpr char kPrefix[] = "FORKGUARD_";
constexpr size_t kPrefixLen = sizeof kPrefix - 1;

// String helpers of our own for what the shim's constructor runs: each libc function it calls
// the first time costs every exec'd child a lazy symbol lookup (about 700 instructions and the
// cache misses of walking libc's symbol table). Loops with a data-dependent exit, so the compiler
// does not turn them back into library calls.
bool same_text(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) ++a, ++b;
  return *a == *b;
}
// a starts with the NUL-terminated b.
bool starts_with(const char* a, const char* b) {
  while (*b != '\0' && *a == *b) ++a, ++b;
  return *b == '\0';
}
// strnlen(s, cap).
size_t bounded_length(const char* s, size_t cap) {
  size_t n = 0;
  while (n < cap && s[n] != '\0') ++n;
  return n;
}

}  // namespace

void snapshot_environment(char* const* envp, EnvSnapshot& out) {
  out = EnvSnapshot{};
  if (envp == nullptr) return;
  for (char* const* e = envp; *e != nullptr; ++e) {
    const char* entry = *e;
    if (entry[0] != 'F' || !starts_with(entry, kPrefix)) continue;  // most entries stop at 'F'
    const char* rest = entry + kPrefixLen;
    for (size_t i = 0; i < kOptionCount; ++i) {
      const char* name = kOptions[i].name + kPrefixLen;
      size_t n = 0;
      while (name[n] != '\0' && rest[n] == name[n]) ++n;
      if (name[n] == '\0' && rest[n] == '=') {
        if (out.values[i] == nullptr) out.values[i] = rest + n + 1;
        break;
      }
    }
  }
}

const char* snapshot_lookup(const char* name, void* ctx) {
  const auto* snap = static_cast<const EnvSnapshot*>(ctx);
  for (size_t i = 0; i < kOptionCount; ++i) {
    if (name == kOptions[i].name) return snap->values[i];  // parse_config passes the table's own names
  }
  for (size_t i = 0; i < kOptionCount; ++i) {
    if (std::strcmp(name, kOptions[i].name) == 0) return snap->values[i];
  }
  return nullptr;
}

namespace {

enum Opt { kMode, kTrigger, kLog, kFormat, kStack, kVforkSites, kProfile, kSlimMin, kPreciseMargin,
           kVforkTimeout };

// Fixed-size message builder: parse_config may not allocate, and snprintf is not guaranteed not to.
struct Msg {
  char buf[512];
  size_t len = 0;
  Msg() { buf[0] = '\0'; }
  Msg& add(const char* s) {
    while (*s && len + 1 < sizeof(buf)) buf[len++] = *s++;
    buf[len] = '\0';
    return *this;
  }
  Msg& add_int(int64_t v) {
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    do {
      tmp[n++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u);
    if (v < 0) tmp[n++] = '-';
    while (n > 0 && len + 1 < sizeof(buf)) buf[len++] = tmp[--n];
    buf[len] = '\0';
    return *this;
  }
  // Quotes at most 60 bytes of an untrusted value, escaping control bytes so a terminal is safe.
  Msg& quoted(const char* v) {
    static const char hex[] = "0123456789abcdef";
    add("\"");
    size_t i = 0;
    for (; v[i] && i < 60; ++i) {
      unsigned char c = static_cast<unsigned char>(v[i]);
      if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
        char esc[5] = {'\\', 'x', hex[c >> 4], hex[c & 15], '\0'};
        add(esc);
      } else {
        char one[2] = {static_cast<char>(c), '\0'};
        add(one);
      }
    }
    add("\"");
    if (v[i]) add("...");
    return *this;
  }
};

struct Parser {
  EnvLookup env;
  void* env_ctx;
  WarnSink warn;
  void* warn_ctx;

  const char* get(Opt o) const {
    return env ? env(kOptions[o].name, env_ctx) : std::getenv(kOptions[o].name);
  }
  void emit(const Msg& m) const {
    if (warn) warn(m.buf, warn_ctx);
  }
  // "FORKGUARD_X="v" is not <what>; using <default>"
  void bad(Opt o, const char* value, const char* what) const {
    Msg m;
    m.add(kOptions[o].name).add("=").quoted(value).add(" is not ").add(what).add("; using ")
        .add(kOptions[o].default_text);
    emit(m);
  }
  void too_long(Opt o, size_t cap, const char* fallback) const {
    Msg m;
    m.add(kOptions[o].name).add(" is longer than ").add_int(static_cast<int64_t>(cap - 1))
        .add(" bytes; ").add(fallback);
    emit(m);
  }
};

// Copies `v` into `dst` when it fits (NUL included); never reads past cap + 1 bytes of `v`.
bool fits(const char* v, size_t cap) { return bounded_length(v, cap) < cap; }

void copy_into(char* dst, size_t cap, const char* v) {
  size_t n = 0;
  for (; n < cap - 1 && v[n] != '\0'; ++n) dst[n] = v[n];
  dst[n] = '\0';
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A site id is "<module>+0x<hex>"; anything else without control bytes is a symbol name.
bool valid_list_item(const char* b, const char* e) {
  if (b == e) return false;
  for (const char* p = b; p < e; ++p)
    if (static_cast<unsigned char>(*p) < 0x20 || *p == 0x7f) return false;
  size_t n = static_cast<size_t>(e - b);
  if ((n == 7 && !std::memcmp(b, "learned", 7)) || (n == 3 && !std::memcmp(b, "all", 3)) ||
      (n == 4 && !std::memcmp(b, "none", 4)))
    return false;  // a keyword inside a list is a mistake, not a symbol named "all"
  for (const char* p = b; p + 3 <= e; ++p) {
    if (p[0] == '+' && p[1] == '0' && p[2] == 'x') {
      if (p == b || p + 3 == e) return false;
      for (const char* h = p + 3; h < e; ++h)
        if (!is_hex(*h)) return false;
      return e - (p + 3) <= 16;
    }
  }
  return true;
}

// Validates a comma list and writes it, items trimmed of blanks, into dst. false on a bad item.
bool parse_site_list(const char* v, char* dst, size_t cap) {
  size_t out = 0;
  const char* p = v;
  for (;;) {
    const char* b = p;
    while (*p && *p != ',') ++p;
    const char* e = p;
    while (b < e && is_space(*b)) ++b;
    while (e > b && is_space(e[-1])) --e;
    if (!valid_list_item(b, e)) return false;
    size_t n = static_cast<size_t>(e - b);
    if (out + n + 2 > cap) return false;  // unreachable after fits(), kept as the overflow guard
    if (out) dst[out++] = ',';
    std::memcpy(dst + out, b, n);
    out += n;
    if (!*p) break;
    ++p;  // skip the comma
  }
  dst[out] = '\0';
  return true;
}

template <typename E, size_t N>
bool match_word(const char* v, const char* const (&words)[N], const E (&values)[N], E& out) {
  for (size_t i = 0; i < N; ++i) {
    if (same_text(v, words[i])) {
      out = values[i];
      return true;
    }
  }
  return false;
}

void parse_int_option(const Parser& p, Opt o, int64_t lo, int64_t hi, const char* what, int& field) {
  const char* v = p.get(o);
  if (!v) return;
  int64_t n = 0;
  if (parse_int(v, lo, hi, n))
    field = static_cast<int>(n);
  else
    p.bad(o, v, what);
}

}  // namespace

bool parse_int(const char* text, int64_t lo, int64_t hi, int64_t& out) {
  if (!text) return false;
  const char* p = text;
  bool neg = false;
  if (*p == '-') {
    neg = true;
    ++p;
  }
  if (*p < '0' || *p > '9') return false;
  // Accumulate as a negative number: its range includes INT64_MIN.
  int64_t acc = 0;
  for (; *p >= '0' && *p <= '9'; ++p) {
    int d = *p - '0';
    if (acc < (INT64_MIN + d) / 10) return false;
    acc = acc * 10 - d;
  }
  if (*p) return false;
  if (!neg) {
    if (acc == INT64_MIN) return false;
    acc = -acc;
  }
  if (acc < lo || acc > hi) return false;
  out = acc;
  return true;
}

bool parse_size_kb(const char* text, int64_t& out_kb) {
  if (!text || *text < '0' || *text > '9') return false;  // no sign, no blanks, not empty
  const char* p = text;
  int64_t n = 0;
  for (; *p >= '0' && *p <= '9'; ++p) {
    int d = *p - '0';
    if (n > (INT64_MAX - d) / 10) return false;
    n = n * 10 + d;
  }
  int64_t mult_kb = 0;  // 0 = plain bytes
  switch (*p) {
    case '\0': break;
    case 'k': case 'K': mult_kb = 1; ++p; break;
    case 'm': case 'M': mult_kb = 1024; ++p; break;
    case 'g': case 'G': mult_kb = 1024 * 1024; ++p; break;
    default: return false;
  }
  if (*p) return false;
  if (mult_kb == 0) {
    out_kb = n / 1024 + (n % 1024 != 0);  // bytes round up to whole kB
    return true;
  }
  if (n > INT64_MAX / mult_kb) return false;
  out_kb = n * mult_kb;
  return true;
}

Config parse_config(EnvLookup env, void* env_ctx, bool secure, WarnSink warn, void* warn_ctx) {
  Config c;
  const Parser p{env, env_ctx, warn, warn_ctx};

  if (const char* v = p.get(kMode)) {
    static const char* const words[] = {"observe", "mitigate", "off"};
    static const Mode values[] = {Mode::observe, Mode::mitigate, Mode::off};
    if (!match_word(v, words, values, c.mode)) p.bad(kMode, v, "one of observe, mitigate, off");
  }
  if (const char* v = p.get(kTrigger)) {
    static const char* const words[] = {"predicted", "always"};
    static const Trigger values[] = {Trigger::predicted, Trigger::always};
    if (!match_word(v, words, values, c.trigger)) p.bad(kTrigger, v, "one of predicted, always");
  }
  if (const char* v = p.get(kLog)) {
    if (same_text(v, "stderr")) {
      c.log_kind = LogKind::stderr_stream;
    } else if (same_text(v, "syslog")) {
      c.log_kind = LogKind::syslog;
    } else if (!*v) {
      p.bad(kLog, v, "stderr, syslog or a file path");
    } else if (!fits(v, sizeof(c.log_path))) {
      p.too_long(kLog, sizeof(c.log_path), "using stderr");
    } else if (secure) {
      Msg m;
      m.add("FORKGUARD_LOG names a file, which a setuid/setgid (secure-execution) program ignores; "
            "using stderr");
      p.emit(m);
    } else {
      c.log_kind = LogKind::file;
      copy_into(c.log_path, sizeof(c.log_path), v);
    }
  }
  if (const char* v = p.get(kFormat)) {
    static const char* const words[] = {"text", "json"};
    static const Format values[] = {Format::text, Format::json};
    if (!match_word(v, words, values, c.format)) p.bad(kFormat, v, "one of text, json");
  }
  parse_int_option(p, kStack, 0, 64, "a whole number of frames from 0 to 64", c.stack_depth);
  if (const char* v = p.get(kVforkSites)) {
    static const char* const words[] = {"learned", "all", "none"};
    static const VforkSites values[] = {VforkSites::learned, VforkSites::all, VforkSites::none};
    if (!match_word(v, words, values, c.vfork_sites)) {
      if (!fits(v, sizeof(c.vfork_site_list))) {
        p.too_long(kVforkSites, sizeof(c.vfork_site_list), "using learned");
      } else if (parse_site_list(v, c.vfork_site_list, sizeof(c.vfork_site_list))) {
        c.vfork_sites = VforkSites::list;
      } else {
        c.vfork_site_list[0] = '\0';
        p.bad(kVforkSites, v,
              "learned, all, none or a comma list of site ids (module+0xhex) and symbol names");
      }
    }
  }
  if (secure && (c.vfork_sites == VforkSites::all || c.vfork_sites == VforkSites::list)) {
    // The vfork substitute lets a child write the privileged parent's memory until it execs:
    // which sites get it is not the caller's to choose (without a profile no site is learned).
    c.vfork_sites = VforkSites::learned;
    c.vfork_site_list[0] = '\0';
    Msg m;
    m.add("FORKGUARD_VFORK_SITES is ignored in a setuid/setgid (secure-execution) program; using learned");
    p.emit(m);
  }
  if (const char* v = p.get(kProfile)) {
    if (!*v) {
      Msg m;
      m.add("FORKGUARD_PROFILE=\"\" is not a file path; leaving it unset");
      p.emit(m);
    } else if (!fits(v, sizeof(c.profile_path))) {
      p.too_long(kProfile, sizeof(c.profile_path), "leaving it unset");
    } else if (secure) {
      Msg m;
      m.add("FORKGUARD_PROFILE is ignored in a setuid/setgid (secure-execution) program");
      p.emit(m);
    } else {
      copy_into(c.profile_path, sizeof(c.profile_path), v);
    }
  }
  if (const char* v = p.get(kSlimMin)) {
    int64_t kb = 0;
    if (parse_size_kb(v, kb) && kb >= 4)
      c.slim_min_kb = kb;
    else
      p.bad(kSlimMin, v, "a size of at least 4k, such as 512k, 64M or 1G");
  }
  parse_int_option(p, kPreciseMargin, 0, 100, "a whole percentage from 0 to 100",
                   c.precise_margin_pct);
  parse_int_option(p, kVforkTimeout, 1, 3600, "a whole number of seconds from 1 to 3600",
                   c.vfork_timeout_s);
  return c;
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::observe: return "observe";
    case Mode::mitigate: return "mitigate";
    case Mode::off: return "off";
  }
  return "?";
}

const char* format_name(Format f) {
  switch (f) {
    case Format::text: return "text";
    case Format::json: return "json";
  }
  return "?";
}

}  // namespace forkguard

/// @file fixed_writer.cpp
/// @brief Allocation-free formatting into a fixed buffer (records are built on the fork path).
#include "forkguard/fixed_writer.hpp"

#include <cerrno>

namespace forkguard {

void FixedWriter::put(char c) {
  if (len_ < cap_) {
    buf_[len_++] = c;
  } else {
    overflow_ = true;
  }
}

void FixedWriter::put(std::string_view s) {
  for (char c : s) put(c);
}

void FixedWriter::put_uint(uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) put(tmp[--n]);
}

void FixedWriter::put_int(int64_t v) {
  if (v < 0) {
    put('-');
    put_uint(static_cast<uint64_t>(-(v + 1)) + 1);  // no overflow at INT64_MIN
  } else {
    put_uint(static_cast<uint64_t>(v));
  }
}

void FixedWriter::put_hex(uint64_t v) {
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v != 0);
  while (n > 0) put(tmp[--n]);
}

namespace {
// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  size_t n;
  if (b >= 0xc2 && b <= 0xdf) {
    n = 2;
  } else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  }
  return n;
}
}  // namespace

void FixedWriter::put_json_escaped(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': put("\\\""); break;
        case '\\': put("\\\\"); break;
        case '\n': put("\\n"); break;
        case '\t': put("\\t"); break;
        case '\r': put("\\r"); break;
        default:
          if (c < 0x20 || c == 0x7f) {
            put("\\u00");
            put("0123456789abcdef"[c >> 4]);
            put("0123456789abcdef"[c & 15]);
          } else {
            put(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      put("\\ufffd");  // keep the record valid JSON whatever bytes a command line holds
      ++i;
    } else {
      put(s.substr(i, n));
      i += n;
    }
  }
}

void FixedWriter::put_iso8601_utc(int64_t sec, int64_t usec) {
  // Civil date from days since the epoch (H. Hinnant's algorithm): gmtime_r is not async-signal-safe.
  int64_t days = sec / 86400;
  int64_t rem = sec % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  auto two = [this](int64_t v) {
    put(static_cast<char>('0' + v / 10));
    put(static_cast<char>('0' + v % 10));
  };
  put_int(y);
  put('-');
  two(m);
  put('-');
  two(d);
  put('T');
  two(rem / 3600);
  put(':');
  two(rem / 60 % 60);
  put(':');
  two(rem % 60);
  put('.');
  int64_t div = 100000;
  for (int k = 0; k < 6; ++k) {
    put(static_cast<char>('0' + usec / div % 10));
    div /= 10;
  }
  put('Z');
}

void copy_cstr(char* dst, size_t cap, const char* src) {
  if (cap == 0) return;
  size_t n = 0;
  while (n + 1 < cap && src[n] != '\0') {
    dst[n] = src[n];
    ++n;
  }
  dst[n] = '\0';
}

const char* errno_name(int err, char (&scratch)[16]) {
  switch (err) {
#define FG_ERRNO(e) \
  case e:           \
    return #e;
    FG_ERRNO(EPERM) FG_ERRNO(ENOENT) FG_ERRNO(ESRCH) FG_ERRNO(EINTR) FG_ERRNO(EIO) FG_ERRNO(ENXIO)
    FG_ERRNO(E2BIG) FG_ERRNO(ENOEXEC) FG_ERRNO(EBADF) FG_ERRNO(ECHILD) FG_ERRNO(EAGAIN)
    FG_ERRNO(ENOMEM) FG_ERRNO(EACCES) FG_ERRNO(EFAULT) FG_ERRNO(EBUSY) FG_ERRNO(EEXIST)
    FG_ERRNO(ENOTDIR) FG_ERRNO(EISDIR) FG_ERRNO(EINVAL) FG_ERRNO(ENFILE) FG_ERRNO(EMFILE)
    FG_ERRNO(ETXTBSY) FG_ERRNO(ENOSPC) FG_ERRNO(EPIPE) FG_ERRNO(ENAMETOOLONG) FG_ERRNO(ENOSYS)
    FG_ERRNO(ELOOP) FG_ERRNO(ECANCELED) FG_ERRNO(ENOTSUP)
    // Output faults a log or syslog sink meets (issue 6): named, not "E30".
    FG_ERRNO(EROFS) FG_ERRNO(EFBIG) FG_ERRNO(EDQUOT) FG_ERRNO(ENODEV) FG_ERRNO(ECONNREFUSED)
    FG_ERRNO(ENOTCONN) FG_ERRNO(ECONNRESET) FG_ERRNO(ENOTSOCK) FG_ERRNO(EPROTOTYPE) FG_ERRNO(ENOBUFS)
#undef FG_ERRNO
    default:
      break;
  }
  FixedWriter w(scratch, sizeof scratch - 1);
  w.put('E');
  w.put_int(err);
  scratch[w.size()] = '\0';
  return scratch;
}

}  // namespace forkguard

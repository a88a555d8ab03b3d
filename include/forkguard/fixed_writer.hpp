/// @file fixed_writer.hpp
/// @brief Formatting into a caller-owned fixed buffer: no allocation, no locale, no lock,
/// so records can be built on the fork path and even in a child.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace forkguard {

class FixedWriter {
 public:
  FixedWriter(char* buf, size_t cap) : buf_(buf), cap_(cap) {}
  void put(char c);
  void put(std::string_view s);
  void put_int(int64_t v);
  void put_uint(uint64_t v);
  void put_hex(uint64_t v);  ///< lower-case hex without a prefix
  /// A JSON string body (no quotes) with \", \\, control characters escaped; invalid UTF-8
  /// bytes become \ufffd so the record stays valid JSON.
  void put_json_escaped(std::string_view s);
  /// ISO-8601 UTC with microseconds, e.g. 2026-11-28T14:50:08.123456Z.
  void put_iso8601_utc(int64_t sec, int64_t usec);
  size_t size() const { return len_; }
  bool overflowed() const { return overflow_; }
  /// Shrinks back to `len` (to undo a part that did not fit).
  void truncate(size_t len) { len_ = len < len_ ? len : len_; overflow_ = false; }
  const char* data() const { return buf_; }
  size_t capacity() const { return cap_; }

 private:
  char* buf_;
  size_t cap_;
  size_t len_ = 0;
  bool overflow_ = false;
};

/// Copies a C string into `dst` (capacity `cap`), cut to fit and always NUL-terminated.
void copy_cstr(char* dst, size_t cap, const char* src);

/// The name of an errno value ("ENOMEM"); "E<number>" for unknown ones. Static storage.
const char* errno_name(int err, char (&scratch)[16]);

}  // namespace forkguard

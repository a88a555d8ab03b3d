/// @file config.hpp
/// @brief The FORKGUARD_* settings: one table (name, type, default, help) and its parser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace forkguard {

enum class Mode { observe, mitigate, off };
enum class Trigger { predicted, always };
enum class Format { text, json };
enum class LogKind { stderr_stream, syslog, file };
enum class VforkSites { learned, all, none, list };

/// One row of the settings table: the source of --help text and of the README table.
struct OptionSpec {
  const char* name;          ///< FORKGUARD_...
  const char* values;        ///< what it accepts, for people
  const char* default_text;  ///< the default, as written in docs
  const char* help;          ///< one sentence
};
extern const OptionSpec kOptions[];
extern const size_t kOptionCount;

/// Parsed settings. Fixed-size storage: read on the fork path without allocation.
struct Config {
  Mode mode = Mode::observe;
  Trigger trigger = Trigger::predicted;
  LogKind log_kind = LogKind::stderr_stream;
  char log_path[1024] = {};  ///< file sink path template (may contain %p)
  Format format = Format::text;
  int stack_depth = 16;      ///< 0 = no unwinding
  VforkSites vfork_sites = VforkSites::learned;
  char vfork_site_list[1024] = {};  ///< comma-separated site ids / symbols for VforkSites::list
  char profile_path[1024] = {};     ///< empty = unset
  int64_t slim_min_kb = 64 * 1024;  ///< smallest mapping a slim fork excludes
  int precise_margin_pct = 10;      ///< smaps walk when the estimate is within this % of the limit
  int vfork_timeout_s = 5;
};

/// Looks a variable up; returns nullptr when unset (getenv, or a map in tests).
using EnvLookup = const char* (*)(const char* name, void* ctx);
/// Receives one complete warning line without the "forkguard: " prefix.
using WarnSink = void (*)(const char* message, void* ctx);

/// The FORKGUARD_* entries of an environment block, found in one pass over it: what the shim's
/// constructor does instead of one getenv() walk per setting, since every exec'd child pays for
/// it. Pointers into the block, so use it before the program can change its environment.
struct EnvSnapshot {
  static constexpr size_t kMax = 16;
  const char* values[kMax] = {};  ///< by kOptions row; nullptr = unset; the first entry wins, as with getenv
};
/// Fills `out` from `envp` (NULL-terminated, as `environ`; nullptr = empty).
void snapshot_environment(char* const* envp, EnvSnapshot& out);
/// An EnvLookup over an EnvSnapshot (`ctx`); names outside the table are unset.
const char* snapshot_lookup(const char* name, void* ctx);

/// Parses every FORKGUARD_* variable. A bad value produces one warning and keeps the default.
/// With `secure` (AT_SECURE: a setuid/setgid program whose environment its caller chose), what
/// could write files or change the program's memory is ignored, with one warning each: a file
/// path in FORKGUARD_LOG (records go to stderr), FORKGUARD_PROFILE (neither read nor written, so
/// no site is learned), FORKGUARD_VFORK_SITES=all or a list (learned, i.e. none). The rest is
/// honoured: stderr or syslog (a fixed socket), the format, mode, trigger and sizes only choose
/// what is said and how a child is made (a slim fork never changes the parent).
Config parse_config(EnvLookup env, void* env_ctx, bool secure, WarnSink warn, void* warn_ctx);

/// Parses a size into kB: a plain number is bytes (rounded up to whole kB), k/K = KiB, M/m = MiB,
/// G/g = GiB ("65536", "64k", "64M", "2G"). false on a sign, blanks, garbage, empty or overflow.
bool parse_size_kb(const char* text, int64_t& out_kb);
/// Parses a decimal integer with an end check; false on garbage or out of [lo, hi].
bool parse_int(const char* text, int64_t lo, int64_t hi, int64_t& out);

const char* mode_name(Mode m);
const char* format_name(Format f);

/// The settings table as Markdown (for the README) and as plain text (for --help).
std::string options_markdown();
std::string options_help_text();

}  // namespace forkguard

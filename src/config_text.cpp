/// @file config_text.cpp
/// @brief The settings table as Markdown (README) and plain text (--help). Kept out of the core
/// the shim links: it needs std::string, whose exception machinery would be loaded into every
/// exec'd child.
#include <cstring>
#include <string>

#include "forkguard/config.hpp"

namespace forkguard {

namespace {

// A table cell: '|' would end the cell early.
std::string md_cell(const char* s) {
  std::string out;
  for (; *s; ++s) {
    if (*s == '|') out += '\\';
    out += *s;
  }
  return out;
}

// Word-wraps `text` at `width` columns, every line starting with `indent`.
std::string wrap(const char* text, const std::string& indent, size_t width) {
  std::string out, line = indent;
  const char* p = text;
  while (*p) {
    const char* b = p;
    while (*p && *p != ' ') ++p;
    std::string word(b, p);
    while (*p == ' ') ++p;
    if (line.size() > indent.size() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line = indent;
    }
    if (line.size() > indent.size()) line += ' ';
    line += word;
  }
  if (line.size() > indent.size()) out += line + "\n";
  return out;
}

}  // namespace

std::string options_markdown() {
  std::string out = "| variable | values | default | meaning |\n|---|---|---|---|\n";
  for (size_t i = 0; i < kOptionCount; ++i) {
    const OptionSpec& o = kOptions[i];
    // "unset" is a state, not a value one could type, so it is not set in code style.
    std::string def = std::strcmp(o.default_text, "unset") == 0 ? "unset"
                                                                 : "`" + md_cell(o.default_text) + "`";
    out += "| `" + std::string(o.name) + "` | " + md_cell(o.values) + " | " + def + " | " +
           md_cell(o.help) + " |\n";
  }
  return out;
}

std::string options_help_text() {
  std::string out;
  for (size_t i = 0; i < kOptionCount; ++i) {
    const OptionSpec& o = kOptions[i];
    if (i) out += "\n";
    out += std::string(o.name) + "\n";
    out += wrap((std::string("values: ") + o.values + "; default: " + o.default_text).c_str(),
                "    ", 78);
    out += wrap(o.help, "    ", 78);
  }
  return out;
}

}  // namespace forkguard

/// @file report_symbolize.cpp
/// @brief Module lookup, ELF load base and batched addr2line runs.
#include "report_symbolize.hpp"

#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

extern char** environ;

namespace forkguard::report {
namespace {

std::string basename_of(const std::string& p) {
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

bool is_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The lowest PT_LOAD address rounded down to a page: what dladdr's dli_fbase corresponds to.
bool load_start(const std::string& path, uint64_t& start) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Elf64_Ehdr eh;
  bool ok = ::pread(fd, &eh, sizeof eh, 0) == static_cast<ssize_t>(sizeof eh) &&
            std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
            eh.e_phentsize == sizeof(Elf64_Phdr);
  uint64_t lowest = UINT64_MAX;
  for (int i = 0; ok && i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (::pread(fd, &ph, sizeof ph, static_cast<off_t>(eh.e_phoff + i * sizeof ph)) != static_cast<ssize_t>(sizeof ph)) {
      ok = false;
      break;
    }
    if (ph.p_type == PT_LOAD && ph.p_vaddr < lowest) lowest = ph.p_vaddr;
  }
  ::close(fd);
  if (!ok || lowest == UINT64_MAX) return false;
  start = lowest & ~uint64_t{0xfff};
  return true;
}

// Runs addr2line on one module for many addresses; returns its stdout ("" when it could not run).
bool run_addr2line(const std::string& tool, const std::string& path, const std::vector<uint64_t>& addrs,
                   std::string& out) {
  std::vector<std::string> args = {tool, "-a", "-f", "-C", "-i", "-e", path};
  for (uint64_t a : addrs) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(a));
    args.push_back(buf);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  const int rc = posix_spawnp(&pid, tool.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    return false;
  }
  char buf[8192];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

struct Resolved {
  std::string function, location;
};

// `addr2line -a -f -i` prints, per address: "0x...", then pairs "function", "file:line" (the
// innermost inlined function first). We keep the outermost pair's line ("where the call is") and
// name inlined callers "f (inlined into g)".
std::map<uint64_t, Resolved> parse_addr2line(const std::string& text) {
  std::map<uint64_t, Resolved> out;
  std::istringstream in(text);
  std::string line;
  uint64_t cur = 0;
  bool have = false;
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string pending;
  auto flush = [&] {
    if (!have || pairs.empty()) return;
    Resolved r;
    // The innermost pair names the code at the address; the last pair is the real function.
    const auto& inner = pairs.front();
    const auto& outer = pairs.back();
    r.function = outer.first == "??" ? "" : outer.first;
    if (pairs.size() > 1 && inner.first != "??") r.function = inner.first + " (inlined into " + r.function + ")";
    const std::string& loc = inner.second;
    const bool unknown = loc.empty() || loc.rfind("??", 0) == 0 || loc.find(":0") == loc.size() - 2;
    r.location = unknown ? "" : loc;
    const size_t disc = r.location.find(" (discriminator");
    if (disc != std::string::npos) r.location.resize(disc);
    out[cur] = r;
  };
  bool expect_function = true;
  while (std::getline(in, line)) {
    if (line.rfind("0x", 0) == 0 && expect_function) {
      flush();
      pairs.clear();
      cur = std::strtoull(line.c_str(), nullptr, 16);
      have = true;
      continue;
    }
    if (expect_function) {
      pending = line;
      expect_function = false;
    } else {
      pairs.emplace_back(pending, line);
      expect_function = true;
    }
  }
  flush();
  return out;
}

}  // namespace

std::string find_module(const std::string& module, const std::string& exe, const SymbolizeOptions& opt) {
  if (module.empty()) return {};
  if (!exe.empty() && basename_of(exe) == module && is_file(exe)) return exe;
  for (const std::string& p : opt.paths) {
    if (is_dir(p)) {
      const std::string candidate = (p.size() > 1 && p.back() == '/' ? p.substr(0, p.size() - 1) : p) + "/" + module;
      if (is_file(candidate)) return candidate;
    } else if (basename_of(p) == module && is_file(p)) {
      return p;
    }
  }
  if (opt.system_dirs) {
    static const char* const kDirs[] = {"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64",
                                        "/lib64", "/usr/lib", "/lib", "/usr/local/lib"};
    for (const char* d : kDirs) {
      const std::string candidate = std::string(d) + "/" + module;
      if (is_file(candidate)) return candidate;
    }
  }
  return {};
}

bool address_for(const std::string& path, uint64_t offset, uint64_t& addr) {
  uint64_t start = 0;
  if (!load_start(path, start)) return false;
  // A return address: the call instruction ends just before it.
  addr = start + (offset > 0 ? offset - 1 : 0);
  return true;
}

std::vector<std::string> symbolize(std::vector<SiteSummary>& sites, const SymbolizeOptions& opt) {
  std::vector<std::string> warnings;
  // module path -> addresses wanted; frame -> (path, address)
  std::map<std::string, std::set<uint64_t>> wanted;
  std::map<std::pair<std::string, std::string>, std::string> path_of;  // (module, exe) -> path
  std::set<std::string> missing;
  for (SiteSummary& s : sites) {
    for (Frame& f : s.stack) {
      auto key = std::make_pair(f.module, s.exe_for_stack);
      auto it = path_of.find(key);
      if (it == path_of.end()) it = path_of.emplace(key, find_module(f.module, s.exe_for_stack, opt)).first;
      f.module_path = it->second;
      if (f.module_path.empty()) {
        missing.insert(f.module);
        continue;
      }
      uint64_t addr;
      if (address_for(f.module_path, f.offset, addr)) wanted[f.module_path].insert(addr);
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
    warnings.push_back("no file found for " + list + " (give its directory with --path); those frames stay module+offset");
  }
  std::map<std::string, std::map<uint64_t, Resolved>> resolved;
  bool tool_failed = false;
  for (const auto& [path, addrs] : wanted) {
    std::string out;
    const std::vector<uint64_t> list(addrs.begin(), addrs.end());
    if (!run_addr2line(opt.addr2line, path, list, out) && out.empty()) {
      if (!tool_failed)
        warnings.push_back("cannot run " + opt.addr2line + " (Debian package binutils); frames stay module+offset");
      tool_failed = true;
      continue;
    }
    resolved[path] = parse_addr2line(out);
  }
  std::set<std::string> differing;
  for (SiteSummary& s : sites) {
    for (Frame& f : s.stack) {
      if (f.module_path.empty()) continue;
      uint64_t addr;
      if (!address_for(f.module_path, f.offset, addr)) continue;
      auto pit = resolved.find(f.module_path);
      if (pit == resolved.end()) continue;
      auto ait = pit->second.find(addr);
      if (ait == pit->second.end()) continue;
      const Resolved& res = ait->second;
      // The recording process named this frame (dladdr); a file that names it otherwise is not
      // the binary that ran (rebuilt, upgraded, another machine's): trust neither name nor line.
      if (!f.symbol.empty() && !res.function.empty() && res.function.find(f.symbol) == std::string::npos &&
          f.symbol.find(res.function) == std::string::npos) {
        differing.insert(f.module_path);
        continue;
      }
      f.function = res.function;
      f.location = res.location;
    }
  }
  for (const std::string& p : differing)
    warnings.push_back(p + " names recorded functions otherwise: it is not the binary that ran (use --path); "
                       "its frames stay module+offset");
  return warnings;
}

}  // namespace forkguard::report

/// @file locate.cpp
/// @brief libforkguard.so lookup, as heaptrack's wrapper does: relative to the wrapper itself.
#include "locate.hpp"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

namespace forkguard::cli {
namespace {

constexpr const char* kLibraryName = "libforkguard.so";

// Debian's multiarch directory (GNUInstallDirs' libdir under /usr); GCC has no macro naming it.
const char* multiarch_triplet() {
#if defined(__x86_64__) && defined(__ILP32__)
  return "x86_64-linux-gnux32";
#elif defined(__x86_64__)
  return "x86_64-linux-gnu";
#elif defined(__aarch64__)
  return "aarch64-linux-gnu";
#elif defined(__i386__)
  return "i386-linux-gnu";
#elif defined(__arm__)
  return "arm-linux-gnueabihf";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64-linux-gnu";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "powerpc64le-linux-gnu";
#elif defined(__s390x__)
  return "s390x-linux-gnu";
#else
  return nullptr;
#endif
}

bool is_regular_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return {};
  std::string exe(buf, static_cast<size_t>(n));
  size_t slash = exe.rfind('/');
  return slash == std::string::npos ? std::string() : exe.substr(0, slash == 0 ? 1 : slash);
}

LibraryLookup locate_library() {
  LibraryLookup out;
  const std::string dir = self_dir();
  if (dir.empty()) return out;
  const std::string base = dir == "/" ? "" : dir;
  out.tried.push_back(base + "/" + kLibraryName);  // build tree: the library sits next to the CLI
#ifdef FORKGUARD_INSTALL_LIBDIR
  out.tried.push_back(base + "/../" FORKGUARD_INSTALL_LIBDIR "/" + kLibraryName);
#endif
  if (const char* triplet = multiarch_triplet())
    out.tried.push_back(base + "/../lib/" + triplet + "/" + kLibraryName);
  out.tried.push_back(base + "/../lib/" + kLibraryName);
  out.tried.push_back(base + "/../lib64/" + kLibraryName);
  for (const std::string& candidate : out.tried) {
    if (!is_regular_file(candidate)) continue;
    char real[PATH_MAX];
    // Canonical path: LD_PRELOAD must not depend on the cwd, and ".." reads badly in messages.
    out.path = ::realpath(candidate.c_str(), real) ? std::string(real) : candidate;
    break;
  }
  return out;
}

}  // namespace forkguard::cli

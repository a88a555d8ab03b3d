/// @file test_module_id.cpp
/// @brief Modules' identity: build-ids read from notes (crafted bytes and this process's real
/// modules, compared with readelf), and each module described once per process.
#include <catch2/catch.hpp>
#include <dlfcn.h>
#include <elf.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "forkguard/module_id.hpp"

using namespace forkguard;

namespace {

void put_note(std::vector<unsigned char>& v, uint32_t type, const char* name, const std::vector<unsigned char>& desc,
              size_t align) {
  const auto pad = [&] {
    while (v.size() % align != 0) v.push_back(0);
  };
  const uint32_t namesz = static_cast<uint32_t>(std::strlen(name) + 1), descsz = static_cast<uint32_t>(desc.size());
  for (uint32_t x : {namesz, descsz, type})
    for (int i = 0; i < 4; ++i) v.push_back(static_cast<unsigned char>(x >> (8 * i)));
  for (uint32_t i = 0; i < namesz; ++i) v.push_back(static_cast<unsigned char>(name[i]));
  pad();
  v.insert(v.end(), desc.begin(), desc.end());
  pad();
}

std::string self_exe();
std::string readelf_build_id(const std::string& path);

const void* dladdr_base_of_main() {
  Dl_info info{};
  dladdr(reinterpret_cast<const void*>(&self_exe), &info);
  return info.dli_fbase;
}

std::string hex(const unsigned char* p, int n) {
  std::string s;
  char b[3];
  for (int i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", p[i]);
    s += b;
  }
  return s;
}

// What binutils says the build id of `path` is ("" when it has none).
std::string readelf_build_id(const std::string& path) {
  const std::string cmd = "readelf -n '" + path + "' 2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return "?";
  char line[512];
  std::string id;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    const char* at = std::strstr(line, "Build ID: ");
    if (at != nullptr) {
      id = at + 10;
      while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    }
  }
  pclose(f);
  return id;
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// Frames as the stack capture makes them (return address, basename, offset from dli_fbase): one
// in this program, one in libc, one in libstdc++.
int capture_here(Record& r) {
  static std::deque<std::string> names;  // stable addresses: the frames' module strings outlive the record
  // A function only libc has (a sanitizer runtime in the program intercepts the common ones).
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  REQUIRE(libc != nullptr);
  const void* in_libc = dlsym(libc, "gnu_get_libc_version");
  REQUIRE(in_libc != nullptr);
  const void* addrs[] = {reinterpret_cast<const void*>(&self_exe), in_libc,
                         reinterpret_cast<const void*>(&readelf_build_id)};
  for (const void* a : addrs) {
    Dl_info info{};
    if (dladdr(a, &info) == 0 || info.dli_fbase == nullptr) continue;
    Frame& f = r.frames[r.nframes++];
    f.pc = reinterpret_cast<uintptr_t>(a) + 1;
    std::string name = info.dli_fbase == dladdr_base_of_main() ? self_exe() : info.dli_fname;
    names.push_back(name.substr(name.rfind('/') + 1));
    f.module = names.back().c_str();
    f.offset = f.pc - reinterpret_cast<uintptr_t>(info.dli_fbase);
  }
  return r.nframes;
}

}  // namespace

TEST_CASE("the GNU build-id is found among other notes, 4- or 8-aligned, and garbage gives none") {
  const std::vector<unsigned char> id = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0x05};
  for (size_t align : {size_t{4}, size_t{8}}) {
    std::vector<unsigned char> notes;
    put_note(notes, 5 /* NT_GNU_PROPERTY_TYPE_0 */, "GNU", {1, 2, 3, 4, 5, 6, 7, 8}, align);
    put_note(notes, NT_GNU_BUILD_ID, "XYZ", {9, 9, 9}, align);  // another vendor's note of the same type
    put_note(notes, NT_GNU_BUILD_ID, "GNU", id, align);
    unsigned char out[64];
    const int n = parse_build_id_notes(notes.data(), notes.size(), align, out, sizeof out);
    REQUIRE(n == static_cast<int>(id.size()));
    CHECK(std::memcmp(out, id.data(), id.size()) == 0);
    CHECK(parse_build_id_notes(notes.data(), notes.size() - 8, align, out, sizeof out) == 0);  // cut inside the id
  }
  std::vector<unsigned char> bad(12, 0xff);  // sizes far beyond the area
  unsigned char out[64];
  CHECK(parse_build_id_notes(bad.data(), bad.size(), 4, out, sizeof out) == 0);
  CHECK(parse_build_id_notes(bad.data(), 0, 4, out, sizeof out) == 0);
}

TEST_CASE("this process's modules are described with the build-id readelf finds in their files") {
  Record r;
  r.pid = getpid();
  REQUIRE(capture_here(r) == 3);
  const ModuleDesc* mods[24];
  const int n = modules_to_describe(r, 0, 0, mods, 24);
  REQUIRE(n == 2);  // this test program and libc (two frames in the program)
  bool saw_libc = false, saw_self = false;
  const std::string exe = self_exe();
  for (int i = 0; i < n; ++i) {
    const ModuleDesc& d = *mods[i];
    INFO(d.name << " " << d.path);
    REQUIRE(d.path[0] == '/');
    const std::string want = readelf_build_id(d.path);
    CHECK(d.build_id_len > 0);
    CHECK(hex(d.build_id, d.build_id_len) == want);
    CHECK(std::string(d.path).rfind(std::string("/") + d.name) == std::strlen(d.path) - std::strlen(d.name) - 1);
    if (std::string(d.name) == "libc.so.6") saw_libc = true;
    if (std::string(d.path) == exe) saw_self = true;
  }
  CHECK(saw_libc);
  CHECK(saw_self);
  modules_done(mods, n, n, true, r.pid, 0);
  CHECK(modules_to_describe(r, 0, 0, mods, 24) == 0);  // described once per process
}

TEST_CASE("descriptions that did not fit, or a record that was not written, are described again") {
  Record r;
  r.pid = getpid();
  REQUIRE(capture_here(r) == 3);
  const ModuleDesc* mods[24];
  int n = modules_to_describe(r, 0, 0, mods, 24);
  modules_done(mods, n, n, true, r.pid, 0);  // whatever earlier tests left: now all described
  // A new image (another pid, as in a fork child) describes every module again, once.
  const pid_t child = fork();
  if (child == 0) {
    Record c = r;
    c.pid = getpid();
    const int m = modules_to_describe(c, 0, 0, mods, 24);
    modules_done(mods, m, m > 0 ? m - 1 : 0, true, c.pid, 0);  // the last did not fit
    const int again = modules_to_describe(c, 0, 0, mods, 24);
    modules_done(mods, again, 0, false, c.pid, 0);  // not written
    const int third = modules_to_describe(c, 0, 0, mods, 24);
    _exit(m >= 2 && again == 1 && third == 1 ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(modules_to_describe(r, 0, 0, mods, 24) == 0);  // the parent's marks are its own
  // Another log (a deleted file recreated): everything is described again there.
  n = modules_to_describe(r, 0, 1, mods, 24);
  CHECK(n == 2);
  modules_done(mods, n, n, true, r.pid, 1);
  CHECK(modules_to_describe(r, 0, 1, mods, 24) == 0);
}

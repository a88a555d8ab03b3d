/// @file test_got_patch.cpp
/// @brief Re-pointing a loaded object's imports (src/got_patch.cpp) on a real full-RELRO object
/// (tests/helpers/fd_got_target.c): all or nothing, and the RELRO pages read-only again after.
#include <catch2/catch.hpp>

#ifdef FG_GOT_TARGET  // built with the integration tests (not in sanitizer builds)

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "forkguard/got_patch.hpp"

namespace {

int replaced_getppid() { return 424242; }

void* only_getppid(const char* name) {
  return std::strcmp(name, "getppid") == 0 ? reinterpret_cast<void*>(&replaced_getppid) : forkguard::kKeepImport;
}
void* getppid_unknown(const char* name) { return std::strcmp(name, "getppid") == 0 ? nullptr : forkguard::kKeepImport; }

using Call = int (*)();

struct Relro {
  uintptr_t base = 0, start = 0, end = 0;
};
int find_relro(struct dl_phdr_info* info, size_t, void* arg) {
  auto* r = static_cast<Relro*>(arg);
  if (info->dlpi_addr != r->base) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    if (info->dlpi_phdr[i].p_type != PT_GNU_RELRO) continue;
    r->start = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
    r->end = r->start + info->dlpi_phdr[i].p_memsz;
  }
  return 1;
}

// The permissions /proc/self/maps shows for the page holding `a` ("r--p", "rw-p", ...).
std::string perms_at(uintptr_t a) {
  FILE* f = std::fopen("/proc/self/maps", "r");
  char line[512];
  std::string out;
  while (f != nullptr && std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long lo = 0, hi = 0;
    char perms[8] = {};
    if (std::sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && a >= lo && a < hi) out = perms;
  }
  if (f != nullptr) std::fclose(f);
  return out;
}

}  // namespace

TEST_CASE("an import of a full-RELRO object is re-pointed, and its RELRO page is read-only again") {
  void* h = dlopen(FG_GOT_TARGET, RTLD_NOW | RTLD_LOCAL);
  REQUIRE(h != nullptr);
  auto call = reinterpret_cast<Call>(dlsym(h, "fg_got_target_call"));
  REQUIRE(call != nullptr);
  REQUIRE(call() == static_cast<int>(getppid()));

  Dl_info info{};
  REQUIRE(dladdr(reinterpret_cast<void*>(call), &info) != 0);
  Relro relro;
  relro.base = reinterpret_cast<uintptr_t>(info.dli_fbase);
  dl_iterate_phdr(find_relro, &relro);
  REQUIRE(relro.end > relro.start);  // the test object really has RELRO
  CHECK(perms_at(relro.start) == "r--p");

  const char* refused = nullptr;
  // Unknown: nothing written, the reason named.
  CHECK_FALSE(forkguard::redirect_imports(reinterpret_cast<void*>(call), getppid_unknown, &refused));
  REQUIRE(refused != nullptr);
  CHECK(std::string(refused) == "getppid");
  CHECK(call() == static_cast<int>(getppid()));

  refused = nullptr;
  REQUIRE(forkguard::redirect_imports(reinterpret_cast<void*>(call), only_getppid, &refused));
  CHECK(refused == nullptr);
  CHECK(call() == 424242);
  CHECK(getppid() != 424242);  // only that object's import changed
  CHECK(perms_at(relro.start) == "r--p");
}

#endif

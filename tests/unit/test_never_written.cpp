/// @file test_never_written.cpp
/// @brief The never-written scan on the real kernel: PAGEMAP_SCAN and /proc/self/pagemap agree on
/// which pages were written.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "forkguard/never_written.hpp"

namespace {

struct Run {
  uintptr_t start, end;
};

std::vector<Run> written_runs(int fd, uintptr_t start, uintptr_t end) {
  std::vector<Run> runs;
  REQUIRE(forkguard::scan_written(
              fd, start, end, [](uintptr_t s, uintptr_t e, void* c) { static_cast<std::vector<Run>*>(c)->push_back({s, e}); },
              &runs) == 0);
  return runs;
}

}  // namespace

TEST_CASE("never-written scan: written runs of a mapping, by PAGEMAP_SCAN and by reading pagemap alike") {
  const size_t len = 64u << 20;
  auto* m = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(m != MAP_FAILED);
  REQUIRE(madvise(m, len, MADV_NOHUGEPAGE) == 0);  // page by page, whatever THP is set to
  const auto base = reinterpret_cast<uintptr_t>(m);
  m[0] = 1;
  m[(5u << 20) + 10] = 1;
  for (int i = 0; i < 3; ++i) m[(10u << 20) + i * 4096] = 1;
  const int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const bool by_read = GENERATE(false, true);
  forkguard::scan_force_pagemap_read(by_read);
  INFO("method " << forkguard::scan_method_name(forkguard::scan_method(fd)));
  if (!by_read && forkguard::scan_method(fd) != forkguard::ScanMethod::pagemap_scan)
    WARN("this kernel has no PAGEMAP_SCAN (Linux 6.7+): both passes read pagemap");
  const std::vector<Run> runs = written_runs(fd, base, base + len);
  REQUIRE(runs.size() == 3);
  CHECK(runs[0].start == base);
  CHECK(runs[0].end == base + 4096);
  CHECK(runs[1].start == base + (5u << 20));
  CHECK(runs[1].end == base + (5u << 20) + 4096);
  CHECK(runs[2].start == base + (10u << 20));
  CHECK(runs[2].end == base + (10u << 20) + 3 * 4096);
  CHECK(forkguard::never_written(fd, base + 4096, base + (5u << 20)) == 1);
  CHECK(forkguard::never_written(fd, base, base + (5u << 20)) == 0);
  CHECK(forkguard::never_written(fd, base + (11u << 20), base + len) == 1);
  forkguard::scan_force_pagemap_read(false);
  close(fd);
  munmap(m, len);
}

TEST_CASE("never-written scan: a page only read is written unless the kernel reports the zero page") {
  // This machine's kernel runs with pvm_no_zero_page=1: a read allocates a page of zeros that
  // PAGEMAP_SCAN reports present, not PFNZERO. Where the zero page is used, it is never-written.
  const size_t len = 4u << 20;
  auto* m = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(m != MAP_FAILED);
  REQUIRE(madvise(m, len, MADV_NOHUGEPAGE) == 0);
  const auto base = reinterpret_cast<uintptr_t>(m);
  volatile char c = m[8192];
  (void)c;
  const int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  // The zero page's frame, as pagemap shows it to a privileged reader (0: hidden).
  uint64_t entry = 0;
  REQUIRE(pread(fd, &entry, sizeof entry, static_cast<off_t>((base + 8192) / 4096 * 8)) == sizeof entry);
  REQUIRE((entry >> 63) == 1);  // present after the read, zero page or not
  const int nw = forkguard::never_written(fd, base + 8192, base + 12288);
  if (forkguard::scan_method(fd) == forkguard::ScanMethod::pagemap_read) {
    CHECK(nw == 0);  // without PAGEMAP_SCAN the zero page cannot be told: written, to be safe
  } else {
    WARN("the page only read is " << (nw == 1 ? "the zero page (never written)" : "a real page (written)"));
    CHECK(nw >= 0);
  }
  close(fd);
  munmap(m, len);
}

TEST_CASE("pagemap_alive: a pagemap opened for a process reads nothing once that process is gone") {
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  static char page[4096] __attribute__((aligned(4096)));
  const pid_t pid = fork();
  if (pid == 0) {
    page[0] = 1;  // written in the child: present there
    char c = 1;
    (void)!write(ready[1], &c, 1);
    pause();
    _exit(0);
  }
  REQUIRE(pid > 0);
  char c;
  REQUIRE(read(ready[0], &c, 1) == 1);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/pagemap", pid);
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  CHECK(forkguard::pagemap_alive(fd, reinterpret_cast<uintptr_t>(page)));
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  CHECK_FALSE(forkguard::pagemap_alive(fd, reinterpret_cast<uintptr_t>(page)));
  close(fd);
  close(ready[0]);
  close(ready[1]);
}

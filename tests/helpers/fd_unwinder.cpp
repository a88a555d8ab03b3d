/// @file fd_unwinder.cpp
/// @brief The stack unwinder under the descriptor rule, on the real libunwind, linked as the shim
/// is (-static-libstdc++ -static-libgcc: libgcc's unwinder is the static one whose glibc imports
/// src/libgcc_floor.cpp supplies). In order:
///   1. a capture from a signal handler before anything is loaded: libgcc's walk, with frames,
///      nothing loaded, no descriptor made;
///   2. the first ordinary capture loads libunwind and guards it: its validation pipe is made at
///      the high base, close-on-exec, and no descriptor below the base appears;
///   3. the program closes that pipe and dup2()s its own file over both numbers, then 8 threads
///      capture at once (fresh threads: libunwind validates memory there) while the main thread
///      keeps putting the file back over the numbers: the file is never written, never closed;
///   4. a fork child captures with the inherited pipe, closes everything from 3, reuses the low
///      numbers and captures again: its files are untouched.
/// Prints one line per step ("ok: ..." or "FAIL: ..."), and the median time of a 32-frame capture
/// by each unwinder (a figure, not asserted); exits 0 when every step holds.
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "forkguard/libgcc_floor.hpp"
#include "forkguard/owned_fd.hpp"
#include "forkguard/stack.hpp"

namespace {

int g_failed = 0;

void check(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what);
  if (!ok) ++g_failed;
}

std::string target_of(int fd) {
  char link[64], out[256];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, out, sizeof out - 1);
  return n > 0 ? std::string(out, static_cast<size_t>(n)) : std::string();
}

std::vector<int> open_fds() {
  std::vector<int> out;
  DIR* d = opendir("/proc/self/fd");
  const int self = d != nullptr ? dirfd(d) : -1;
  while (dirent* e = d != nullptr ? readdir(d) : nullptr) {
    if (e->d_name[0] != '.' && std::atoi(e->d_name) != self) out.push_back(std::atoi(e->d_name));
  }
  if (d != nullptr) closedir(d);
  return out;
}

std::vector<int> g_at_start;  // what the process inherited: not the library's

// Pipes at or above the high base that the process did not inherit.
std::vector<int> high_pipes() {
  std::vector<int> out;
  for (int fd : open_fds()) {
    bool inherited = false;
    for (int s : g_at_start) inherited = inherited || s == fd;
    if (!inherited && fd >= forkguard::high_descriptor_floor() && target_of(fd).rfind("pipe:", 0) == 0) out.push_back(fd);
  }
  return out;
}

bool libunwind_loaded() {
  void* h = dlopen("libunwind.so.8", RTLD_LAZY | RTLD_NOLOAD);
  if (h != nullptr) dlclose(h);
  return h != nullptr;
}

volatile sig_atomic_t g_handler_frames = -1;
void handler(int) {
  uintptr_t pcs[32];
  g_handler_frames = forkguard::capture_pcs(pcs, 32, 0);
}

double now_us() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// Median microseconds of one capture: by `raise` (a handler: libgcc before anything is loaded) or plain.
double median_capture_us(bool in_handler) {
  std::vector<double> t;
  for (int i = 0; i < 201; ++i) {
    uintptr_t pcs[32];
    const double a = now_us();
    if (in_handler) {
      raise(SIGUSR1);
    } else {
      forkguard::capture_pcs(pcs, 32, 0);
    }
    t.push_back(now_us() - a);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void* capture_in_thread(void* out) {
  uintptr_t pcs[32];
  int total = 0;
  for (int i = 0; i < 50; ++i) total += forkguard::capture_pcs(pcs, 32, 0) > 0 ? 1 : 0;
  *static_cast<int*>(out) = total;
  return nullptr;
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  const int base = forkguard::high_descriptor_floor();
  std::printf("unwinder: %s; libgcc's lookups %s glibc's _dl_find_object\n", forkguard::stack_unwinder_name(),
              forkguard::libgcc_uses_glibc_find_object() ? "go to" : "do not go to");

  // 1. A signal handler's capture before anything is loaded.
  g_at_start = open_fds();
  const std::vector<int>& at_start = g_at_start;
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigaction(SIGUSR1, &sa, nullptr);
  raise(SIGUSR1);
  check(g_handler_frames > 0, "a signal handler's first capture has frames (libgcc's walk)");
  check(!libunwind_loaded() && open_fds() == at_start,
        "... and loads nothing and makes no descriptor (no dlopen from a signal handler)");
  const double libgcc_us = median_capture_us(true);

  // 2. The first ordinary capture.
  uintptr_t pcs[32];
  check(forkguard::capture_pcs(pcs, 32, 0) > 0 && forkguard::capture_pcs(pcs, 32, 0) > 0,
        "ordinary captures have frames");
  check(std::strcmp(forkguard::stack_unwinder_name(), "libunwind") == 0, "the first ordinary capture loaded libunwind");
  std::printf("figures: median capture of up to 32 frames: libgcc %.2f us (from a handler, raise() included), "
              "libunwind %.2f us\n", libgcc_us, median_capture_us(false));
  const std::vector<int> pipes = high_pipes();
  bool cloexec = pipes.size() >= 2;
  for (int fd : pipes) cloexec = cloexec && (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
  check(cloexec, "libunwind's validation pipe is at the high base, close-on-exec");
  bool none_low = true;
  for (int fd : open_fds()) {
    bool known = false;
    for (int s : at_start) known = known || s == fd;
    none_low = none_low && (known || fd >= base);
  }
  check(none_low, "no descriptor appeared below the high base");

  // 3. The program takes the pipe's numbers over while threads capture.
  char path[] = "/tmp/fg-fd-unwinder.XXXXXX";
  const int file = mkstemp(path);
  unlink(path);
  for (int fd : pipes) {
    close(fd);
    dup2(file, fd);
  }
  std::atomic<bool> stop{false};
  pthread_t threads[8];
  int done[8] = {};
  for (int i = 0; i < 8; ++i) pthread_create(&threads[i], nullptr, capture_in_thread, &done[i]);
  for (int round = 0; round < 200; ++round) {
    for (int fd : pipes) dup2(file, fd);  // put back: dup2 over whatever is there now
  }
  for (pthread_t t : threads) pthread_join(t, nullptr);
  stop = true;
  bool all = true;
  for (int d : done) all = all && d == 50;
  check(all, "8 threads captured 50 stacks each while the program reused the numbers");
  bool intact = true;
  for (int fd : pipes) intact = intact && fcntl(fd, F_GETFD) >= 0 && target_of(fd) == target_of(file);
  struct stat st {};
  check(intact && fstat(file, &st) == 0 && st.st_size == 0,
        "the program's file at those numbers was never closed and never written");
  for (int fd : high_pipes()) check(fd >= base && (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "re-made pipe: high, close-on-exec");

  // 4. A fork child: the inherited pipe, then the child's own reuse of everything from 3.
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    int ok = forkguard::capture_pcs(pcs, 32, 0) > 0;
    close_range(3, ~0U, 0);
    int own[6];
    for (int& fd : own) fd = open("/dev/null", O_RDONLY);  // 3..8: the child's low numbers
    char cpath[] = "/tmp/fg-fd-unwinder-child.XXXXXX";
    const int data = mkstemp(cpath);  // 9
    unlink(cpath);
    for (int i = 0; i < 4; ++i) {
      pthread_t t;
      int n = 0;
      pthread_create(&t, nullptr, capture_in_thread, &n);
      pthread_join(t, nullptr);
      ok = ok && n == 50;
    }
    for (int fd : own) ok = ok && fcntl(fd, F_GETFD) >= 0 && target_of(fd) == "/dev/null";
    struct stat cst {};
    ok = ok && fstat(data, &cst) == 0 && cst.st_size == 0;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "a fork child captures, reuses every number from 3, captures again: its descriptors untouched");
  std::printf("fd_unwinder: %d failed\n", g_failed);
  return g_failed == 0 ? 0 : 1;
}

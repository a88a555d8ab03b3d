/// @file test_shell_spawn.cpp
/// @brief shell_system / shell_popen / shell_pclose against glibc's own system/popen/pclose:
/// the same commands, modes and signal states through both, identical results.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "forkguard/shell_spawn.hpp"

namespace fg = forkguard;

namespace {

constexpr int kMarker = 4242;  // errno planted before each call: a success path must keep it

enum class Impl { glibc, ours };
const char* impl_name(Impl i) { return i == Impl::glibc ? "glibc" : "ours"; }

struct Outcome {
  int value;
  int err;
};

Outcome do_system(Impl impl, const char* command) {
  errno = kMarker;
  const int v = impl == Impl::glibc ? ::system(command) : fg::shell_system(command, ::posix_spawn, nullptr);
  return {v, errno};
}

FILE* do_popen(Impl impl, const char* command, const char* mode) {
  return impl == Impl::glibc ? ::popen(command, mode) : fg::shell_popen(command, mode, ::posix_spawn, nullptr);
}

/// As the shim does it: ours first; a stream that is not ours goes to the real pclose with the
/// caller's errno put back.
int do_pclose(Impl impl, FILE* f) {
  if (impl == Impl::glibc) return ::pclose(f);
  const int entry_errno = errno;
  bool ours = false;
  const int st = fg::shell_pclose(f, &ours);
  if (ours) return st;
  errno = entry_errno;
  return ::pclose(f);
}

std::string slurp(FILE* f) {
  std::string s;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/fg-shell-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { ::system(("rm -rf '" + path + "'").c_str()); }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

int count_fds() {
  int n = 0;
  for (int fd = 0; fd < 1024; ++fd) n += fcntl(fd, F_GETFD) >= 0 ? 1 : 0;
  return n;
}

void sigint_handler(int) {}

/// The process's dispositions of SIGINT/SIGQUIT and the thread's mask, for before/after checks.
struct SigState {
  struct sigaction intr {};
  struct sigaction quit {};
  sigset_t mask;
  SigState() {
    sigaction(SIGINT, nullptr, &intr);
    sigaction(SIGQUIT, nullptr, &quit);
    pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  }
  bool operator==(const SigState& o) const {
    for (int s = 1; s < 32; ++s)
      if (sigismember(&mask, s) != sigismember(&o.mask, s)) return false;
    return intr.sa_handler == o.intr.sa_handler && quit.sa_handler == o.quit.sa_handler;
  }
};

/// Restores SIGINT/SIGQUIT/SIGCHLD and the mask at scope end, whatever a test did.
struct SigRestore {
  struct sigaction intr {}, quit {}, chld {};
  sigset_t mask;
  SigRestore() {
    sigaction(SIGINT, nullptr, &intr);
    sigaction(SIGQUIT, nullptr, &quit);
    sigaction(SIGCHLD, nullptr, &chld);
    pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  }
  ~SigRestore() {
    sigaction(SIGINT, &intr, nullptr);
    sigaction(SIGQUIT, &quit, nullptr);
    sigaction(SIGCHLD, &chld, nullptr);
    pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  }
};

void set_handler(int sig, void (*h)(int)) {
  struct sigaction sa {};
  sa.sa_handler = h;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, nullptr);
}

/// SigBlk of one thread of this process, as the kernel reports it.
unsigned long long thread_sigblk(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("SigBlk:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  }
  return ~0ULL;
}

int failing_spawn_errno = 0;
int failing_spawn(pid_t*, const char*, const posix_spawn_file_actions_t*, const posix_spawnattr_t*, char* const[],
                  char* const[]) {
  return failing_spawn_errno;
}

/// glibc's posix_spawn with the shell path replaced: the exec fails and spawn reports it.
int missing_shell_spawn(pid_t* pid, const char*, const posix_spawn_file_actions_t* fa, const posix_spawnattr_t* attr,
                        char* const argv[], char* const envp[]) {
  return ::posix_spawn(pid, "/nonexistent/forkguard-sh", fa, attr, argv, envp);
}

double now_s() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

}  // namespace

TEST_CASE("system: a table of commands gives glibc's status and errno", "[shell]") {
  TempDir tmp;
  const std::string noexec = tmp.file("noexec.sh");
  {
    std::ofstream(noexec) << "#!/bin/sh\nexit 9\n";
    chmod(noexec.c_str(), 0644);
  }
  const std::vector<std::string> commands = {
      "exit 0",
      "exit 1",
      "exit 3",
      "exit 255",
      "exit 300",
      "true; false",
      "nonexistent-command-forkguard 2>/dev/null",  // 127
      noexec + " 2>/dev/null",                      // 126: found, not executable
      tmp.path + " 2>/dev/null",                    // 126: a directory
      "kill -TERM $$",                              // signalled
      "kill -KILL $$",
      "kill -INT $$",  // the child has SIG_DFL for SIGINT even though the caller ignores it
      "echo out >/dev/null; echo err 2>/dev/null >&2; exit 42",
      "",  // empty command: sh -c '' exits 0
  };
  for (const auto& cmd : commands) {
    const Outcome g = do_system(Impl::glibc, cmd.c_str());
    const Outcome o = do_system(Impl::ours, cmd.c_str());
    INFO("command: " << cmd << "  glibc " << g.value << "/" << g.err << "  ours " << o.value << "/" << o.err);
    CHECK(o.value == g.value);
    CHECK(o.err == g.err);
    CHECK(o.err == kMarker);
  }
  // Spot checks of what the table means.
  CHECK(WEXITSTATUS(do_system(Impl::ours, "exit 3").value) == 3);
  CHECK(WEXITSTATUS(do_system(Impl::ours, "nonexistent-command-forkguard 2>/dev/null").value) == 127);
  CHECK(WEXITSTATUS(do_system(Impl::ours, (noexec + " 2>/dev/null").c_str()).value) == 126);
  const int killed = do_system(Impl::ours, "kill -TERM $$").value;
  CHECK(WIFSIGNALED(killed));
  CHECK(WTERMSIG(killed) == SIGTERM);
}

TEST_CASE("system(NULL) reports a shell like glibc", "[shell]") {
  const Outcome g = do_system(Impl::glibc, nullptr);
  const Outcome o = do_system(Impl::ours, nullptr);
  CHECK(g.value != 0);
  CHECK(o.value == g.value);
  CHECK(o.err == g.err);
  // No shell: system(NULL) says 0.
  failing_spawn_errno = ENOMEM;
  CHECK(fg::shell_system(nullptr, failing_spawn, nullptr) == 0);
  CHECK(fg::shell_system(nullptr, missing_shell_spawn, nullptr) == 0);
}

TEST_CASE("system with SIGCHLD ignored: -1/ECHILD like glibc", "[shell]") {
  SigRestore restore;
  set_handler(SIGCHLD, SIG_IGN);
  const Outcome g = do_system(Impl::glibc, "exit 5");
  const Outcome o = do_system(Impl::ours, "exit 5");
  CHECK(g.value == -1);
  CHECK(g.err == ECHILD);
  CHECK(o.value == g.value);
  CHECK(o.err == g.err);
}

TEST_CASE("system: the child gets the caller's mask and dispositions, the caller's are restored", "[shell]") {
  SigRestore restore;
  TempDir tmp;
  void (*dispositions[])(int) = {sigint_handler, SIG_IGN, SIG_DFL};
  for (auto disp : dispositions) {
    for (bool block_usr1 : {false, true}) {
      set_handler(SIGINT, disp);
      set_handler(SIGQUIT, disp == sigint_handler ? SIG_DFL : disp);
      sigset_t m;
      sigemptyset(&m);
      if (block_usr1) sigaddset(&m, SIGUSR1);
      pthread_sigmask(SIG_SETMASK, &m, nullptr);
      const SigState before;
      std::string out[2];
      for (Impl impl : {Impl::glibc, Impl::ours}) {
        const std::string file = tmp.file(impl_name(impl));
        // exec: the status read is the program's own, after the exec (dash's own waiting
        // shell blocks everything around its vfork, which would make the reading racy).
        const std::string cmd = "exec grep -E '^Sig(Blk|Ign)' /proc/self/status > " + file;
        const Outcome r = do_system(impl, cmd.c_str());
        CHECK(r.value == 0);
        out[impl == Impl::ours] = read_file(file);
        CHECK(SigState() == before);  // dispositions and mask back as they were
      }
      INFO("SIGINT " << (disp == SIG_IGN ? "ignored" : disp == SIG_DFL ? "default" : "caught") << ", SIGUSR1 "
                     << (block_usr1 ? "blocked" : "open") << "\nglibc:\n"
                     << out[0] << "ours:\n"
                     << out[1]);
      CHECK(!out[0].empty());
      CHECK(out[1] == out[0]);
      // And what that means: the caller's mask (SIGCHLD not blocked), SIGINT ignored only if it was.
      const auto field = [&](const char* name) {
        const auto at = out[1].find(name);
        return at == std::string::npos ? ~0ULL : std::stoull(out[1].substr(at + 7), nullptr, 16);
      };
      CHECK(field("SigBlk:") == (block_usr1 ? 1ULL << (SIGUSR1 - 1) : 0ULL));
      CHECK(((field("SigIgn:") >> (SIGINT - 1)) & 1) == (disp == SIG_IGN ? 1U : 0U));
    }
  }
}

// [kernel]: forks while other threads run, which hangs now and then under qemu-user (its own locks).
TEST_CASE("system from 4 threads at once: shared ignore, restored by the last one", "[shell][concurrency][kernel]") {
  SigRestore restore;
  set_handler(SIGINT, sigint_handler);
  const SigState before;
  for (Impl impl : {Impl::glibc, Impl::ours}) {
    INFO(impl_name(impl));
    std::atomic<pid_t> tids[4];
    std::atomic<int> statuses[4];
    std::vector<std::thread> threads;
    // Different lengths: the shortest finishes while the others still wait.
    const char* cmds[4] = {"sleep 0.1; exit 1", "sleep 0.6; exit 2", "sleep 0.6; exit 3", "sleep 0.6; exit 4"};
    for (int i = 0; i < 4; ++i) {
      tids[i] = 0;
      threads.emplace_back([&, i] {
        tids[i] = static_cast<pid_t>(syscall(SYS_gettid));
        statuses[i] = impl == Impl::glibc ? ::system(cmds[i]) : fg::shell_system(cmds[i], ::posix_spawn, nullptr);
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(350));
    struct sigaction during {};
    sigaction(SIGINT, nullptr, &during);
    CHECK(during.sa_handler == SIG_IGN);
    sigaction(SIGQUIT, nullptr, &during);
    CHECK(during.sa_handler == SIG_IGN);
    CHECK((thread_sigblk(tids[1]) & (1ULL << (SIGCHLD - 1))) != 0);  // a waiter blocks SIGCHLD
    for (auto& t : threads) t.join();
    for (int i = 0; i < 4; ++i) CHECK(WEXITSTATUS(statuses[i].load()) == i + 1);
    CHECK(SigState() == before);
  }
  // A burst: many overlapping calls, the count must end at zero with the handler back.
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 15; ++k) {
        const std::string cmd = "exit " + std::to_string(i * 10 + k);
        if (WEXITSTATUS(fg::shell_system(cmd.c_str(), ::posix_spawn, nullptr)) != i * 10 + k) ++bad;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(bad == 0);
  CHECK(SigState() == before);
}

TEST_CASE("system and pclose: a signal interrupting the wait leaves errno as glibc does", "[shell][concurrency]") {
  SigRestore restore;
  struct sigaction sa {};
  sa.sa_handler = sigint_handler;  // no SA_RESTART: waitpid fails with EINTR and is retried
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR2, &sa, nullptr);
  for (Impl impl : {Impl::glibc, Impl::ours}) {
    INFO(impl_name(impl));
    std::atomic<bool> started{false};
    std::atomic<int> status{0}, err{0}, pstatus{0}, perr{0};
    std::thread t([&] {
      started = true;
      const Outcome o = do_system(impl, "sleep 0.3; exit 6");
      status = o.value;
      err = o.err;
      FILE* f = do_popen(impl, "sleep 0.3; exit 8", "r");
      started = true;
      errno = kMarker;
      pstatus = f != nullptr ? do_pclose(impl, f) : -2;
      perr = errno;
    });
    while (!started) std::this_thread::yield();
    started = false;
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    pthread_kill(t.native_handle(), SIGUSR2);
    while (!started) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    pthread_kill(t.native_handle(), SIGUSR2);
    t.join();
    CHECK(WEXITSTATUS(status.load()) == 6);
    CHECK(err == EINTR);
    CHECK(WEXITSTATUS(pstatus.load()) == 8);
    CHECK(perr == EINTR);
  }
}

TEST_CASE("system: spawn failure is -1 with the spawn's errno (glibc 2.36: 127)", "[shell][kernel]") {
  SigRestore restore;
  set_handler(SIGINT, sigint_handler);
  const SigState before;
  for (int e : {ENOMEM, EAGAIN}) {
    failing_spawn_errno = e;
    pid_t child = 123;
    errno = kMarker;
    CHECK(fg::shell_system("exit 0", failing_spawn, &child) == -1);
    CHECK(errno == e);
    CHECK(child == -1);
    CHECK(SigState() == before);
  }
  // The shell cannot be executed (glibc's spawn reports the exec error): status of _exit(127).
  errno = kMarker;
  const int st = fg::shell_system("exit 0", missing_shell_spawn, nullptr);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 127);
  CHECK(errno == ENOENT);
  CHECK(SigState() == before);
}

namespace {
pid_t g_cancel_child = 0;
std::atomic<bool> g_cancel_glibc{false};
void* cancel_victim(void*) {
  if (g_cancel_glibc) {
    ::system("exec sleep 100");
  } else {
    fg::shell_system("exec sleep 100", ::posix_spawn, &g_cancel_child);
  }
  return nullptr;
}
/// The children of this process running `sleep 100`. The command is `exec sleep 100`: dash forks
/// for a plain `sleep 100`, and killing the shell (which is all system() knows of, glibc's too)
/// would leave the sleep behind as an orphan.
std::vector<pid_t> sleep100_children() {
  std::vector<pid_t> out;
  FILE* f = ::popen("ps -o pid=,ppid=,args= -e", "r");
  char line[512];
  while (f != nullptr && fgets(line, sizeof line, f) != nullptr) {
    int pid = 0, ppid = 0;
    char args[400] = {};
    if (sscanf(line, " %d %d %399[^\n]", &pid, &ppid, args) == 3 && ppid == getpid() &&
        (strcmp(args, "sleep 100") == 0 || strcmp(args, "sh -c exec sleep 100") == 0))
      out.push_back(pid);
  }
  if (f != nullptr) ::pclose(f);
  return out;
}
}  // namespace

TEST_CASE("system: a cancelled thread leaves no child and restores the signal state", "[shell][concurrency][kernel]") {
  SigRestore restore;
  set_handler(SIGINT, sigint_handler);
  const SigState before;
  for (Impl impl : {Impl::glibc, Impl::ours}) {
    INFO(impl_name(impl));
    g_cancel_glibc = impl == Impl::glibc;
    __atomic_store_n(&g_cancel_child, 0, __ATOMIC_SEQ_CST);
    pthread_t t;
    REQUIRE(pthread_create(&t, nullptr, cancel_victim, nullptr) == 0);
    // Wait until the child exists (ours reports it; for glibc, look for it).
    pid_t child = 0;
    for (int i = 0; i < 400 && child <= 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (impl == Impl::ours) {
        child = __atomic_load_n(&g_cancel_child, __ATOMIC_SEQ_CST);
      } else {
        const auto kids = sleep100_children();
        if (!kids.empty()) child = kids.front();
      }
    }
    REQUIRE(child > 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // well inside waitpid
    REQUIRE(pthread_cancel(t) == 0);
    void* ret = nullptr;
    REQUIRE(pthread_join(t, &ret) == 0);
    CHECK(ret == PTHREAD_CANCELED);
    errno = 0;
    CHECK(kill(child, 0) == -1);
    CHECK(errno == ESRCH);  // killed and reaped: not even a zombie
    CHECK(waitpid(child, nullptr, WNOHANG) == -1);
    CHECK(sleep100_children().empty());
    CHECK(SigState() == before);
  }
}

TEST_CASE("popen r: output, status, FD_CLOEXEC and errno like glibc", "[shell]") {
  const std::vector<std::string> commands = {
      "printf 'a\\nb\\n'",
      "printf x; exit 3",
      "kill -TERM $$",
      "nonexistent-command-forkguard 2>/dev/null",
      "echo $0 $#",  // how the shell was invoked
      "cat",         // stdin: the caller's
      "",
  };
  for (const char* mode : {"r", "re", "rr", "ere"}) {
    for (const auto& cmd : commands) {
      std::string out[2];
      int status[2], err_open[2], err_close[2], cloexec[2];
      for (Impl impl : {Impl::glibc, Impl::ours}) {
        const int k = impl == Impl::ours;
        // stdin from /dev/null so that "cat" ends
        errno = kMarker;
        FILE* f = do_popen(impl, (cmd + " </dev/null").c_str(), mode);
        err_open[k] = errno;
        REQUIRE(f != nullptr);
        cloexec[k] = fcntl(fileno(f), F_GETFD) & FD_CLOEXEC;
        out[k] = slurp(f);
        errno = kMarker;
        status[k] = do_pclose(impl, f);
        err_close[k] = errno;
      }
      INFO("mode " << mode << " command: " << cmd << "  glibc " << status[0] << " '" << out[0] << "'  ours "
                   << status[1] << " '" << out[1] << "'");
      CHECK(out[1] == out[0]);
      CHECK(status[1] == status[0]);
      CHECK(cloexec[1] == cloexec[0]);
      CHECK(err_open[1] == err_open[0]);
      CHECK(err_close[1] == err_close[0]);
      CHECK(err_close[1] == kMarker);
    }
  }
}

TEST_CASE("popen w: input reaches the child, status like glibc", "[shell]") {
  TempDir tmp;
  for (const char* mode : {"w", "we", "ww"}) {
    for (Impl impl : {Impl::glibc, Impl::ours}) {
      INFO(impl_name(impl) << " mode " << mode);
      const std::string file = tmp.file(std::string(impl_name(impl)) + mode);
      FILE* f = do_popen(impl, ("cat > " + file).c_str(), mode);
      REQUIRE(f != nullptr);
      CHECK((fcntl(fileno(f), F_GETFD) & FD_CLOEXEC) == (strchr(mode, 'e') != nullptr ? FD_CLOEXEC : 0));
      fputs("hello\nworld\n", f);
      errno = kMarker;
      CHECK(do_pclose(impl, f) == 0);
      CHECK(errno == kMarker);
      CHECK(read_file(file) == "hello\nworld\n");
    }
    int st[2];
    for (Impl impl : {Impl::glibc, Impl::ours}) {
      FILE* f = do_popen(impl, "exit 5", mode);
      REQUIRE(f != nullptr);
      st[impl == Impl::ours] = do_pclose(impl, f);
    }
    CHECK(st[1] == st[0]);
    CHECK(WEXITSTATUS(st[1]) == 5);
  }
}

TEST_CASE("popen: modes accepted and rejected exactly as glibc", "[shell]") {
  const char* modes[] = {"r",  "w",  "re", "we", "er", "ew", "rr",  "ww",  "ree", "rw", "wr", "",  "e",
                         "ee", "x",  "rb", "wb", "r+", "w+", " r", "R",   "W",   "rx", "rwe"};
  for (const char* mode : modes) {
    FILE* f[2];
    int err[2];
    for (Impl impl : {Impl::glibc, Impl::ours}) {
      errno = kMarker;
      f[impl == Impl::ours] = do_popen(impl, "true", mode);
      err[impl == Impl::ours] = errno;
    }
    INFO("mode '" << mode << "' glibc " << (f[0] ? "ok" : "NULL") << "/" << err[0] << " ours "
                  << (f[1] ? "ok" : "NULL") << "/" << err[1]);
    CHECK((f[0] != nullptr) == (f[1] != nullptr));
    CHECK(err[1] == err[0]);
    if (f[0] != nullptr) CHECK(do_pclose(Impl::glibc, f[0]) == 0);
    if (f[1] != nullptr) CHECK(do_pclose(Impl::ours, f[1]) == 0);
  }
  errno = 0;
  CHECK(fg::shell_popen("true", nullptr, ::posix_spawn, nullptr) == nullptr);  // glibc would crash
  CHECK(errno == EINVAL);
}

TEST_CASE("a 1 MiB command and a NULL popen command: results as glibc's", "[shell][kernel]") {
  // execve refuses one argument over MAX_ARG_STRLEN (128 KiB): the spawn fails with E2BIG.
  const std::string big = "true " + std::string(1024 * 1024, 'x');
  const Outcome g = do_system(Impl::glibc, big.c_str());
  const Outcome o = do_system(Impl::ours, big.c_str());
  CHECK(g.value == o.value);
  CHECK(g.err == o.err);
  CHECK(o.value == W_EXITCODE(127, 0));  // the shell could not be executed
  CHECK(o.err == E2BIG);

  for (Impl impl : {Impl::glibc, Impl::ours}) {
    INFO(impl_name(impl));
    errno = kMarker;
    CHECK(do_popen(impl, big.c_str(), "r") == nullptr);
    // glibc 2.36 says ENOMEM for every spawn failure; ours passes the spawn's error, as 2.41.
    CHECK(errno == (impl == Impl::glibc ? ENOMEM : E2BIG));

    // popen(NULL, ...): glibc runs "sh -c" without a command (sh complains and exits 2).
    FILE* f = do_popen(impl, nullptr, "r");
    REQUIRE(f != nullptr);
    char buf[64];
    CHECK(fread(buf, 1, sizeof buf, f) == 0);
    const int st = do_pclose(impl, f);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 2);
  }
}

TEST_CASE("popen: a child does not inherit another popen stream's pipe", "[shell]") {
  TempDir tmp;
  for (const char* first_mode : {"w", "we"}) {
    for (Impl impl : {Impl::glibc, Impl::ours}) {
      INFO(impl_name(impl) << " first mode " << first_mode);
      FILE* a = do_popen(impl, ("cat > " + tmp.file("a")).c_str(), first_mode);
      REQUIRE(a != nullptr);
      struct stat sa {};
      REQUIRE(fstat(fileno(a), &sa) == 0);
      const std::string a_pipe = "pipe:[" + std::to_string(sa.st_ino) + "]";
      // What the second child holds open: no trace of a's pipe.
      FILE* b = do_popen(impl, "ls -l /proc/$$/fd", "r");
      REQUIRE(b != nullptr);
      const std::string fds = slurp(b);
      CHECK(do_pclose(impl, b) == 0);
      CHECK(fds.find("pipe:[") != std::string::npos);  // its own stdout is listed
      CHECK(fds.find(a_pipe) == std::string::npos);
      // And in effect: a child that outlives a's pclose does not keep a's cat waiting for EOF.
      FILE* c = do_popen(impl, "sleep 0.5", "r");
      REQUIRE(c != nullptr);
      fputs("data\n", a);
      const double t0 = now_s();
      CHECK(do_pclose(impl, a) == 0);
      CHECK(now_s() - t0 < 0.3);  // an inherited write end would hold it until the sleep ends
      CHECK(read_file(tmp.file("a")) == "data\n");
      CHECK(do_pclose(impl, c) == 0);
    }
  }
}

TEST_CASE("popen with stdin or stdout closed: the pipe still lands on 0 or 1", "[shell]") {
  TempDir tmp;
  const int saved_in = dup(0), saved_out = dup(1);
  REQUIRE(saved_in > 2);
  REQUIRE(saved_out > 2);
  std::string got[2], written[2];
  int flags_w[2], flags_r[2];
  for (Impl impl : {Impl::glibc, Impl::ours}) {
    const int k = impl == Impl::ours;
    // 'w' with fd 0 closed: pipe2 hands out 0 as the read end, which is the child's target.
    close(0);
    const std::string file = tmp.file(std::string("closed-") + impl_name(impl));
    FILE* w = do_popen(impl, ("cat > " + file).c_str(), "w");
    flags_w[k] = w != nullptr ? fcntl(fileno(w), F_GETFD) : -2;
    if (w != nullptr) {
      fputs("via stdin\n", w);
      do_pclose(impl, w);
    }
    written[k] = read_file(file);
    dup2(saved_in, 0);
    // 'r' with 0 and 1 closed: the write end is 1, the child's target.
    close(0);
    fflush(stdout);
    close(1);
    FILE* r = do_popen(impl, "echo via stdout; ls /proc/$$/fd | wc -l >/dev/null", "r");
    flags_r[k] = r != nullptr ? fcntl(fileno(r), F_GETFD) : -2;
    if (r != nullptr) {
      got[k] = slurp(r);
      do_pclose(impl, r);
    }
    dup2(saved_in, 0);
    dup2(saved_out, 1);
  }
  close(saved_in);
  close(saved_out);
  CHECK(written[0] == "via stdin\n");
  CHECK(written[1] == written[0]);
  CHECK(got[0] == "via stdout\n");
  CHECK(got[1] == got[0]);
  CHECK(flags_w[1] == flags_w[0]);
  CHECK(flags_r[1] == flags_r[0]);
}

TEST_CASE("pclose of a stream popen did not open: -1/ECHILD, stream untouched", "[shell]") {
  TempDir tmp;
  const std::string file = tmp.file("plain");
  std::ofstream(file) << "line1\nline2\n";
  FILE* f = fopen(file.c_str(), "r");
  REQUIRE(f != nullptr);
  char buf[64];
  REQUIRE(fgets(buf, sizeof buf, f) != nullptr);
  bool ours = true;
  pid_t child = 5;
  errno = 0;
  CHECK(fg::shell_pclose(f, &ours, &child) == -1);
  CHECK(errno == ECHILD);
  CHECK_FALSE(ours);
  CHECK(child == -1);
  CHECK_FALSE(fg::shell_popen_owns(f));
  // Untouched: still open, position kept.
  REQUIRE(fgets(buf, sizeof buf, f) != nullptr);
  CHECK(std::string(buf) == "line2\n");
  // The caller then hands it to the real pclose: same result as glibc's pclose on such a stream.
  FILE* g = fopen(file.c_str(), "r");
  REQUIRE(g != nullptr);
  errno = kMarker;
  const int glibc_rc = ::pclose(g);
  const int glibc_err = errno;
  errno = kMarker;
  CHECK(do_pclose(Impl::ours, f) == glibc_rc);
  CHECK(errno == glibc_err);
  // Null: not ours either.
  errno = 0;
  CHECK(fg::shell_pclose(nullptr, &ours) == -1);
  CHECK(errno == ECHILD);
  CHECK_FALSE(ours);
}

TEST_CASE("popen: ownership, child pid, spawn failure leaks nothing", "[shell][kernel]") {
  pid_t child = -1;
  FILE* f = fg::shell_popen("exit 7", "r", ::posix_spawn, &child);
  REQUIRE(f != nullptr);
  CHECK(child > 0);
  CHECK(fg::shell_popen_owns(f));
  bool ours = false;
  pid_t reaped = -1;
  const int st = fg::shell_pclose(f, &ours, &reaped);
  CHECK(ours);
  CHECK(reaped == child);
  CHECK(WEXITSTATUS(st) == 7);

  const int fds_before = count_fds();
  for (int e : {ENOMEM, EAGAIN}) {
    failing_spawn_errno = e;
    errno = 0;
    child = 99;
    CHECK(fg::shell_popen("true", "r", failing_spawn, &child) == nullptr);
    CHECK(errno == e);  // glibc 2.36: ENOMEM for every spawn failure
    CHECK(child == -1);
  }
  errno = 0;
  CHECK(fg::shell_popen("true", "w", missing_shell_spawn, nullptr) == nullptr);
  CHECK(errno == ENOENT);
  CHECK(count_fds() == fds_before);
}

TEST_CASE("shell_spawn strace helper", "[.][shell_strace_helper]") {
  const char* out = getenv("FG_SHELL_HELPER_PID");
  if (out == nullptr) return;
  std::ofstream(out) << getpid() << "\n";
  fg::shell_system("exit 17", ::posix_spawn, nullptr);
  ::system("exit 18");
  FILE* f = fg::shell_popen("exit 19", "r", ::posix_spawn, nullptr);
  if (f != nullptr) fg::shell_pclose(f, nullptr);
  f = ::popen("exit 20", "r");
  if (f != nullptr) ::pclose(f);
}

TEST_CASE("strace: the shell child is a clone(CLONE_VM|CLONE_VFORK), argv as glibc's", "[shell][kernel]") {
  if (::system("strace -V >/dev/null 2>&1") != 0) {
    WARN("strace not available: skipped");
    return;
  }
  TempDir tmp;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  REQUIRE(n > 0);
  self[n] = '\0';
  const std::string trace = tmp.file("trace"), pidfile = tmp.file("pid");
  const std::string cmd = "FG_SHELL_HELPER_PID=" + pidfile + " strace -f -qq -e trace=clone,clone3,execve -o " + trace +
                          " " + self + " '[shell_strace_helper]' >/dev/null 2>&1";
  const int rc = ::system(cmd.c_str());
  if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0 || read_file(pidfile).empty()) {
    WARN("strace could not trace here (ptrace restricted?): skipped; rc " << rc);
    return;
  }
  const std::string root = std::to_string(std::stoi(read_file(pidfile)));
  std::istringstream lines(read_file(trace));
  std::string line;
  int vfork_clones = 0, other_clones = 0;
  std::vector<std::string> execs;
  while (std::getline(lines, line)) {
    const bool clone_call = line.find(" clone(") != std::string::npos || line.find(" clone3(") != std::string::npos;
    if (line.rfind(root + " ", 0) == 0 && clone_call) {
      if (line.find("CLONE_VM") != std::string::npos && line.find("CLONE_VFORK") != std::string::npos)
        ++vfork_clones;
      else
        ++other_clones;
    }
    if (line.find("execve(\"/bin/sh\"") != std::string::npos) execs.push_back(line);
  }
  INFO(read_file(trace));
  CHECK(vfork_clones == 4);  // our two and glibc's two
  CHECK(other_clones == 0);  // nothing that copies the parent's memory
  auto has = [&](const std::string& s) {
    for (const auto& e : execs)
      if (e.find(s) != std::string::npos) return true;
    return false;
  };
  // Same argv shape as glibc 2.36 (no "--").
  CHECK(has("[\"sh\", \"-c\", \"exit 17\"]"));
  CHECK(has("[\"sh\", \"-c\", \"exit 18\"]"));
  CHECK(has("[\"sh\", \"-c\", \"exit 19\"]"));
  CHECK(has("[\"sh\", \"-c\", \"exit 20\"]"));
}

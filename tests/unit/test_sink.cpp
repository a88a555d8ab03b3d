/// @file test_sink.cpp
/// @brief The file sink on real descriptors: %p, O_CLOEXEC high fd, replaced or closed fds, forks.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "forkguard/config.hpp"
#include "forkguard/diag.hpp"
#include "forkguard/sink.hpp"

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/fg-sink-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
};

forkguard::Config file_config(const std::string& path) {
  forkguard::Config cfg;
  cfg.log_kind = forkguard::LogKind::file;
  snprintf(cfg.log_path, sizeof cfg.log_path, "%s", path.c_str());
  return cfg;
}

// Sends fd 2 to a file for the scope, so a test can count the warning lines.
struct StderrCapture {
  std::string path;
  int saved = -1;
  explicit StderrCapture(const std::string& file) : path(file) {
    saved = dup(STDERR_FILENO);
    const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  ~StderrCapture() { restore(); }
  std::string restore() {
    if (saved >= 0) {
      dup2(saved, STDERR_FILENO);
      close(saved);
      saved = -1;
    }
    return slurp(path);
  }
};


// What the engine does with a record: it takes the waiting notices, formats (here "TEXT" or
// "TEXT [NOTICE]"), writes, and formats again when the sink found something to say about the log.
void put(forkguard::Sink& sink, const std::string& text) {
  char notice[2048];
  size_t used = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    used = forkguard::diag_take_notices(notice, sizeof notice, used);
    const std::string line = text + (used > 0 ? " [" + std::string(notice, used) + "]" : "") + "\n";
    if (sink.write_record(line.data(), line.size())) return;
  }
  FAIL("the sink asked for a third formatting of one record");
}

void drain_notices() {
  char scratch[4096];
  forkguard::diag_take_notices(scratch, sizeof scratch, 0);
}

}  // namespace

TEST_CASE("expand_path replaces %p and %%") {
  char out[64];
  REQUIRE(forkguard::Sink::expand_path("/tmp/fg.%p.log%%", 1234, out, sizeof out));
  CHECK(std::string(out) == "/tmp/fg.1234.log%");
  CHECK_FALSE(forkguard::Sink::expand_path("/a/very/long/path/%p", 1, out, 8));
}

TEST_CASE("the log descriptor is close-on-exec, high, and the file is private") {
  TempDir dir;
  drain_notices();
  forkguard::Sink sink;
  sink.configure(file_config(dir.path + "/log"));
  CHECK(sink.current_fd() == -1);  // nothing opened before the first record
  put(sink, "one");
  const int fd = sink.current_fd();
  REQUIRE(fd >= 0);
  CHECK(fd > 100);
  CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  struct stat st {};
  REQUIRE(stat((dir.path + "/log").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(slurp(dir.path + "/log") == "one\n");
}

TEST_CASE("a descriptor the program replaced with dup2 is never written, the file is reopened") {
  TempDir dir;
  drain_notices();
  forkguard::Sink sink;
  sink.configure(file_config(dir.path + "/log"));
  put(sink, "a");
  const int fd = sink.current_fd();
  const int mine = open((dir.path + "/program").c_str(), O_WRONLY | O_CREAT, 0600);
  REQUIRE(mine >= 0);
  REQUIRE(dup2(mine, fd) == fd);  // the program now owns that number
  put(sink, "b");
  CHECK(slurp(dir.path + "/program").empty());
  CHECK(slurp(dir.path + "/log") == "a\nb [the program closed or replaced the log's descriptor; records go on in a "
                                    "newly opened " + dir.path + "/log]\n");
  close(mine);
  close(fd);
}

TEST_CASE("a descriptor the program closed is reopened, not reused") {
  TempDir dir;
  drain_notices();
  forkguard::Sink sink;
  sink.configure(file_config(dir.path + "/log"));
  put(sink, "a");
  close(sink.current_fd());
  put(sink, "b");
  CHECK(slurp(dir.path + "/log") == "a\nb [the program closed or replaced the log's descriptor; records go on in a "
                                    "newly opened " + dir.path + "/log]\n");
}

TEST_CASE("with %p a fork child writes its own file, errno is preserved") {
  TempDir dir;
  drain_notices();
  forkguard::Sink sink;
  sink.configure(file_config(dir.path + "/log.%p"));
  put(sink, "parent");
  const pid_t child = fork();
  if (child == 0) {
    errno = 1234;
    put(sink, "child");
    _exit(errno == 1234 ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(slurp(dir.path + "/log." + std::to_string(getpid())) == "parent\n");
  CHECK(slurp(dir.path + "/log." + std::to_string(child)) == "child\n");
}

TEST_CASE("an unopenable path falls back to stderr, the record saying why") {
  TempDir dir;
  StderrCapture err(dir.path + "/stderr");
  drain_notices();
  forkguard::Sink sink;
  sink.configure(file_config("/nonexistent-dir/fg.log"));
  put(sink, "x");
  put(sink, "y");
  CHECK(sink.current_fd() == -1);
  CHECK(err.restore() == "x [cannot log to /nonexistent-dir/fg.log (ENOENT); records go to stderr from now on]\ny\n");
}

TEST_CASE("a log file deleted while the program runs is recreated, and the next record says so once") {
  TempDir dir;
  const std::string log = dir.path + "/log";
  StderrCapture err(dir.path + "/stderr");
  drain_notices();
  forkguard::Sink sink;
  sink.configure(file_config(log));
  put(sink, "a");
  const int number = sink.current_fd();
  const unsigned generation = sink.generation();
  REQUIRE(unlink(log.c_str()) == 0);
  put(sink, "b");
  CHECK(sink.generation() != generation);  // another file: module descriptions are written again
  CHECK(sink.current_fd() == number);  // replaced in place: another thread may be writing to it
  CHECK(slurp(log) == "b [the log file was deleted while the program ran; records go on in a newly opened " + log +
                          "]\n");
  REQUIRE(unlink(log.c_str()) == 0);
  put(sink, "c");
  const std::string said = err.restore();
  CHECK(slurp(log) == "c\n");  // said once per process
  CHECK(said.empty());          // the program's stderr is not ours
  CHECK((fcntl(sink.current_fd(), F_GETFD) & FD_CLOEXEC) != 0);
}

TEST_CASE("a closed log descriptor is reopened with one notice in the log, however often it happens") {
  TempDir dir;
  const std::string log = dir.path + "/log";
  StderrCapture err(dir.path + "/stderr");
  drain_notices();
  forkguard::Sink sink;
  sink.configure(file_config(log));
  put(sink, "a");
  const unsigned generation = sink.generation();
  close(sink.current_fd());
  put(sink, "b");
  close(sink.current_fd());
  put(sink, "c");
  CHECK(sink.generation() == generation);  // the same file, reopened: what it holds still counts
  const std::string said = err.restore();
  CHECK(slurp(log) == "a\nb [the program closed or replaced the log's descriptor; records go on in a newly opened " +
                          log + "]\nc\n");
  CHECK(said.empty());
}

TEST_CASE("a full device: records on stderr, the first saying why") {
  TempDir dir;
  StderrCapture err(dir.path + "/stderr");
  drain_notices();
  forkguard::Sink sink;
  sink.configure(file_config("/dev/full"));
  put(sink, "r1");
  const unsigned generation = sink.generation();
  put(sink, "r2");
  CHECK(sink.generation() == generation);
  CHECK(err.restore() == "r1 [cannot log to /dev/full (ENOSPC); records go to stderr from now on]\nr2\n");
}

TEST_CASE("a FIFO nobody reads does not block: records on stderr, saying why") {
  TempDir dir;
  const std::string fifo = dir.path + "/fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  StderrCapture err(dir.path + "/stderr");
  drain_notices();
  forkguard::Sink sink;
  sink.configure(file_config(fifo));
  put(sink, "r");  // a blocking open would hang here for ever
  CHECK(err.restore() == "r [cannot log to " + fifo + " (ENXIO); records go to stderr from now on]\n");
}

TEST_CASE("a log pipe whose reader went away gives EPIPE, not a SIGPIPE that kills the program") {
  TempDir dir;
  const std::string fifo = dir.path + "/fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  const int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(reader >= 0);
  StderrCapture err(dir.path + "/stderr");
  drain_notices();
  forkguard::Sink sink;
  sink.configure(file_config(fifo));
  put(sink, "r1");  // the reader is there
  close(reader);
  errno = 4321;
  put(sink, "r2");  // SIGPIPE's default action would end this test process here
  CHECK(errno == 4321);
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  CHECK_FALSE(sigismember(&pending, SIGPIPE));  // the signal the write raised was taken back
  CHECK(err.restore() == "r2 [cannot log to " + fifo + " (EPIPE); records go to stderr from now on]\n");
}

TEST_CASE("a symlink planted at the log path is not followed") {
  TempDir dir;
  const std::string target = dir.path + "/target", link = dir.path + "/log";
  REQUIRE(symlink(target.c_str(), link.c_str()) == 0);
  StderrCapture err(dir.path + "/stderr");
  drain_notices();
  forkguard::Sink sink;
  sink.configure(file_config(link));
  put(sink, "r");
  CHECK(err.restore() == "r [cannot log to " + link + " (ELOOP); records go to stderr from now on]\n");
  struct stat st {};
  CHECK(lstat(target.c_str(), &st) != 0);  // nothing created through the link
}

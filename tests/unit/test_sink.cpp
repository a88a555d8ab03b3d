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

size_t count_lines(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
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
  forkguard::Sink sink;
  sink.configure(file_config(dir.path + "/log"));
  CHECK(sink.current_fd() == -1);  // nothing opened before the first record
  sink.write_record("one\n", 4);
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
  forkguard::Sink sink;
  sink.configure(file_config(dir.path + "/log"));
  sink.write_record("a\n", 2);
  const int fd = sink.current_fd();
  const int mine = open((dir.path + "/program").c_str(), O_WRONLY | O_CREAT, 0600);
  REQUIRE(mine >= 0);
  REQUIRE(dup2(mine, fd) == fd);  // the program now owns that number
  sink.write_record("b\n", 2);
  CHECK(slurp(dir.path + "/program").empty());
  CHECK(slurp(dir.path + "/log") == "a\nb\n");
  close(mine);
  close(fd);
}

TEST_CASE("a descriptor the program closed is reopened, not reused") {
  TempDir dir;
  forkguard::Sink sink;
  sink.configure(file_config(dir.path + "/log"));
  sink.write_record("a\n", 2);
  close(sink.current_fd());
  sink.write_record("b\n", 2);
  CHECK(slurp(dir.path + "/log") == "a\nb\n");
}

TEST_CASE("with %p a fork child writes its own file, errno is preserved") {
  TempDir dir;
  forkguard::Sink sink;
  sink.configure(file_config(dir.path + "/log.%p"));
  sink.write_record("parent\n", 7);
  const pid_t child = fork();
  if (child == 0) {
    errno = 1234;
    sink.write_record("child\n", 6);
    _exit(errno == 1234 ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(slurp(dir.path + "/log." + std::to_string(getpid())) == "parent\n");
  CHECK(slurp(dir.path + "/log." + std::to_string(child)) == "child\n");
}

TEST_CASE("an unopenable path falls back to stderr") {
  forkguard::Sink sink;
  sink.configure(file_config("/nonexistent-dir/fg.log"));
  sink.write_record("x\n", 2);  // goes to stderr after one warning
  CHECK(sink.current_fd() == -1);
}

TEST_CASE("a log file deleted while the program runs is recreated, and that is said once") {
  TempDir dir;
  const std::string log = dir.path + "/log";
  StderrCapture err(dir.path + "/stderr");
  forkguard::Sink sink;
  sink.configure(file_config(log));
  sink.write_record("a\n", 2);
  const int number = sink.current_fd();
  REQUIRE(unlink(log.c_str()) == 0);
  sink.write_record("b\n", 2);
  CHECK(sink.current_fd() == number);  // replaced in place: another thread may be writing to it
  REQUIRE(unlink(log.c_str()) == 0);
  sink.write_record("c\n", 2);
  const std::string said = err.restore();
  CHECK(slurp(log) == "c\n");  // b went to the second file, which was deleted too
  CHECK(count_lines(said, "forkguard: ") == 1);
  CHECK(said == "forkguard: the log file was deleted while the program ran; records go on in a newly opened " + log +
                    "\n");
  CHECK((fcntl(sink.current_fd(), F_GETFD) & FD_CLOEXEC) != 0);
}

TEST_CASE("a closed log descriptor is reopened with one notice, however often it happens") {
  TempDir dir;
  const std::string log = dir.path + "/log";
  StderrCapture err(dir.path + "/stderr");
  forkguard::Sink sink;
  sink.configure(file_config(log));
  sink.write_record("a\n", 2);
  close(sink.current_fd());
  sink.write_record("b\n", 2);
  close(sink.current_fd());
  sink.write_record("c\n", 2);
  const std::string said = err.restore();
  CHECK(slurp(log) == "a\nb\nc\n");
  CHECK(said == "forkguard: the program closed or replaced the log's descriptor; records go on in a newly opened " +
                    log + "\n");
}

TEST_CASE("a full device: one warning, then records on stderr") {
  TempDir dir;
  StderrCapture err(dir.path + "/stderr");
  forkguard::Sink sink;
  sink.configure(file_config("/dev/full"));
  sink.write_record("r1\n", 3);
  sink.write_record("r2\n", 3);
  CHECK(err.restore() == "forkguard: cannot log to /dev/full (ENOSPC); records go to stderr from now on\nr1\nr2\n");
}

TEST_CASE("a FIFO nobody reads does not block: one warning, records on stderr") {
  TempDir dir;
  const std::string fifo = dir.path + "/fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  StderrCapture err(dir.path + "/stderr");
  forkguard::Sink sink;
  sink.configure(file_config(fifo));
  sink.write_record("r\n", 2);  // a blocking open would hang here for ever
  CHECK(err.restore() == "forkguard: cannot log to " + fifo + " (ENXIO); records go to stderr from now on\nr\n");
}

TEST_CASE("a log pipe whose reader went away gives EPIPE, not a SIGPIPE that kills the program") {
  TempDir dir;
  const std::string fifo = dir.path + "/fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  const int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(reader >= 0);
  StderrCapture err(dir.path + "/stderr");
  forkguard::Sink sink;
  sink.configure(file_config(fifo));
  sink.write_record("r1\n", 3);  // the reader is there
  close(reader);
  errno = 4321;
  sink.write_record("r2\n", 3);  // SIGPIPE's default action would end this test process here
  CHECK(errno == 4321);
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  CHECK_FALSE(sigismember(&pending, SIGPIPE));  // the signal the write raised was taken back
  CHECK(err.restore() == "forkguard: cannot log to " + fifo + " (EPIPE); records go to stderr from now on\nr2\n");
}

TEST_CASE("a symlink planted at the log path is not followed") {
  TempDir dir;
  const std::string target = dir.path + "/target", link = dir.path + "/log";
  REQUIRE(symlink(target.c_str(), link.c_str()) == 0);
  StderrCapture err(dir.path + "/stderr");
  forkguard::Sink sink;
  sink.configure(file_config(link));
  sink.write_record("r\n", 2);
  CHECK(err.restore() == "forkguard: cannot log to " + link + " (ELOOP); records go to stderr from now on\nr\n");
  struct stat st {};
  CHECK(lstat(target.c_str(), &st) != 0);  // nothing created through the link
}

/// @file test_sink.cpp
/// @brief The file sink on real descriptors: %p, O_CLOEXEC high fd, replaced or closed fds, forks.
#include <catch2/catch.hpp>
#include <fcntl.h>
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

TEST_CASE("a descriptor the program replaced with dup2 is never written; the file is reopened") {
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

TEST_CASE("with %p a fork child writes its own file; errno is preserved") {
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

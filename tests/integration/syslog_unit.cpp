/// @file syslog_unit.cpp
/// @brief Catch2 tests of the syslog client (src/syslog_client.cpp) on a socket of the test's own:
/// the RFC 3164 header, one datagram per send, reconnection after the listener restarts, and a
/// descriptor the program took over never written.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "forkguard/syslog_client.hpp"

using forkguard::format_syslog_datagram;
using forkguard::SyslogClient;

namespace {

std::string fmt_at(int64_t epoch, const char* body, size_t cap = 512) {
  char buf[512];
  const size_t n = format_syslog_datagram(buf, cap, epoch, 42, body, std::strlen(body));
  return std::string(buf, n);
}

struct Listener {
  std::string path;
  int fd = -1;
  explicit Listener(const std::string& p) : path(p) {
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    unlink(path.c_str());
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Listener() {
    close(fd);
    unlink(path.c_str());
  }
  std::string receive() {
    char buf[8192];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<size_t>(n));
  }
};

std::string scratch_dir() {
  char tmpl[] = "/tmp/fg-syslog-unit.XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

}  // namespace

TEST_CASE("the datagram is <14>Mmm dd hh:mm:ss forkguard[PID]: body") {
  // 2026-11-28T14:50:08Z
  CHECK(fmt_at(1795877408, "{\"ts\":1}\n") == "<14>Nov 28 14:50:08 forkguard[42]: {\"ts\":1}");
  // Single-digit days are space-padded; midnight; leap day.
  CHECK(fmt_at(1794182400, "x") == "<14>Nov  9 00:00:00 forkguard[42]: x");
  CHECK(fmt_at(951782400 + 86399, "x") == "<14>Feb 29 23:59:59 forkguard[42]: x");
  CHECK(fmt_at(0, "") == "<14>Jan  1 00:00:00 forkguard[42]: ");
  // Cut to the buffer, never beyond.
  CHECK(fmt_at(0, "abcdefghij", 40).size() == 40);
}

TEST_CASE("one datagram per send, the listener restarting is survived, a missing socket says so") {
  const std::string dir = scratch_dir();
  const std::string sock = dir + "/log";
  SyslogClient c;
  c.configure(sock.c_str());
  int err = 0;
  errno = 1234;
  CHECK(c.send("nobody", 6, err) == SyslogClient::Status::unavailable);
  CHECK(err == ENOENT);
  CHECK(errno == 1234);  // preserved
  {
    Listener l(sock);
    CHECK(c.send("one\n", 4, err) == SyslogClient::Status::sent);
    CHECK(c.send("two", 3, err) == SyslogClient::Status::sent);
    const std::string a = l.receive(), b = l.receive();
    CHECK(a.substr(a.find("]: ")) == "]: one");
    CHECK(b.substr(b.find("]: ")) == "]: two");
    CHECK(a.find("forkguard[" + std::to_string(getpid()) + "]") != std::string::npos);
    const int fd = c.current_fd();
    CHECK(fd >= 3);
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  }
  // journald restarted: a new socket at the same path.
  Listener l2(sock);
  CHECK(c.send("three", 5, err) == SyslogClient::Status::sent);
  CHECK(l2.receive().find("]: three") != std::string::npos);
  rmdir(dir.c_str());
}

TEST_CASE("a descriptor number the program re-used is never written") {
  const std::string dir = scratch_dir();
  const std::string sock = dir + "/log";
  Listener l(sock);
  SyslogClient c;
  c.configure(sock.c_str());
  int err = 0;
  REQUIRE(c.send("first", 5, err) == SyslogClient::Status::sent);
  l.receive();
  const int fd = c.current_fd();
  // The program closes everything and opens a file that lands on the same number.
  const std::string file = dir + "/owned";
  const int ffd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(ffd >= 0);
  REQUIRE(dup3(ffd, fd, O_CLOEXEC) == fd);  // even close-on-exec: it is not a socket
  close(ffd);
  CHECK(c.send("second", 6, err) == SyslogClient::Status::sent);
  CHECK(l.receive().find("]: second") != std::string::npos);
  struct stat st {};
  REQUIRE(stat(file.c_str(), &st) == 0);
  CHECK(st.st_size == 0);
  CHECK(c.current_fd() != fd);
  close(fd);
  unlink(file.c_str());
  rmdir(dir.c_str());
}

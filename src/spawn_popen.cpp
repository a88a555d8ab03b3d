/// @file spawn_popen.cpp
/// @brief shell_popen() / shell_pclose(): popen(3) and pclose(3) over a given posix_spawn, with
/// the list of open streams POSIX needs so that no child inherits another stream's pipe.
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

#include "forkguard/owner_lock.hpp"
#include "forkguard/shell_spawn.hpp"

namespace forkguard {

namespace {

/// One open stream of ours. The pipe's identity tells a live entry from one whose stream the
/// program closed with a bare fclose() (its descriptor number may since belong to something else).
struct Proc {
  FILE* stream;
  int fd;
  dev_t dev;
  ino_t ino;
  pid_t pid;
  Proc* next;
};

// Touched only in the parent: the spawned child execs without looking at it. Insertion and
// removal are single pointer stores of complete nodes, so a fork child that takes the lock over
// (OwnerLock) from a thread that no longer exists finds a consistent list.
std::atomic<pid_t> g_list_lock{0};
Proc* g_procs = nullptr;

char kShellPath[] = "/bin/sh";
char kShellName[] = "sh";
char kDashC[] = "-c";

bool same_pipe(const Proc& p) {
  struct stat st {};
  return fstat(p.fd, &st) == 0 && st.st_dev == p.dev && st.st_ino == p.ino;
}

/// Holds off cancellation for the scope (glibc's popen/pclose use the nocancel calls).
class NoCancel {
 public:
  NoCancel() { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_); }
  ~NoCancel() { pthread_setcancelstate(old_, nullptr); }
  NoCancel(const NoCancel&) = delete;
  NoCancel& operator=(const NoCancel&) = delete;

 private:
  int old_ = 0;
};

}  // namespace

bool shell_popen_parse_mode(const char* mode, bool* reading, bool* cloexec) {
  if (mode == nullptr) return false;
  bool r = false, w = false, e = false;
  for (const char* m = mode; *m != '\0'; ++m) {
    switch (*m) {
      case 'r': r = true; break;
      case 'w': w = true; break;
      case 'e': e = true; break;
      default: return false;
    }
  }
  if (r == w) return false;  // glibc: exactly one direction
  *reading = r;
  *cloexec = e;
  return true;
}

FILE* shell_popen(const char* command, const char* mode, SpawnFn spawn, pid_t* child_out) {
  if (child_out != nullptr) *child_out = -1;
  const int entry_errno = errno;
  bool reading = false, cloexec = false;
  if (!shell_popen_parse_mode(mode, &reading, &cloexec)) {
    errno = EINVAL;
    return nullptr;
  }
  NoCancel no_cancel;

  // Both ends close-on-exec from birth, so a concurrent fork+exec elsewhere leaks neither; the
  // child's end reaches the child through dup2 (which clears the flag on the copy).
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return nullptr;
  const int parent_fd_index = reading ? 0 : 1;
  int parent_fd = fds[parent_fd_index];
  int child_fd = fds[1 - parent_fd_index];
  const int target = reading ? STDOUT_FILENO : STDIN_FILENO;

  auto fail = [&](int err) -> FILE* {
    close(child_fd);
    if (parent_fd >= 0) close(parent_fd);
    errno = err;
    return nullptr;
  };

  // The child's end already is the descriptor the child needs (0 or 1 was closed): dup2 onto
  // itself would keep FD_CLOEXEC on some libcs, and clearing it here would leak it to other
  // children. Move it elsewhere first, as glibc does.
  if (child_fd == target) {
    const int moved = fcntl(child_fd, F_DUPFD_CLOEXEC, 0);
    if (moved < 0) return fail(errno);
    close(child_fd);
    child_fd = moved;
  }

  struct stat st {};
  if (fstat(parent_fd, &st) != 0) return fail(errno);
  // malloc, not new (std::nothrow): libstdc++'s nothrow new brings its exception runtime, whose
  // emergency pool is malloc'ed by a static initialiser in every process that loads the shim.
  auto* node = static_cast<Proc*>(std::malloc(sizeof(Proc)));
  if (node == nullptr) return fail(ENOMEM);
  *node = Proc{nullptr, parent_fd, st.st_dev, st.st_ino, -1, nullptr};
  FILE* stream = fdopen(parent_fd, reading ? "r" : "w");
  if (stream == nullptr) {
    const int err = errno;
    std::free(node);
    return fail(err);
  }
  node->stream = stream;

  posix_spawn_file_actions_t actions;
  int rc = posix_spawn_file_actions_init(&actions);
  const bool have_actions = rc == 0;
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, child_fd, target);
  char* argv[] = {kShellName, kDashC, const_cast<char*>(command), nullptr};
  pid_t pid = -1;
  {
    // Held across the spawn: a stream another thread opens meanwhile is either in the list we
    // close in this child, or not yet inheritable (its parent end is still close-on-exec).
    OwnerLockGuard turn(g_list_lock);
    for (Proc* p = g_procs; p != nullptr && rc == 0; p = p->next) {
      // A stream on `target` was already replaced by the dup2; a stale entry's number may now
      // be one of the program's own descriptors, which the child must keep.
      if (p->fd != target && same_pipe(*p)) rc = posix_spawn_file_actions_addclose(&actions, p->fd);
    }
    if (rc == 0) rc = spawn(&pid, kShellPath, &actions, nullptr, argv, environ);
    if (rc == 0) {
      if (!cloexec) fcntl(parent_fd, F_SETFD, 0);  // after the spawn, under the lock (see above)
      node->pid = pid;
      node->next = g_procs;
      g_procs = node;
    }
  }
  if (have_actions) posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    fclose(stream);  // closes parent_fd; nothing was buffered
    parent_fd = -1;
    std::free(node);
    return fail(rc);
  }
  close(child_fd);
  if (child_out != nullptr) *child_out = pid;
  errno = entry_errno;
  return stream;
}

bool shell_popen_owns(FILE* stream) {
  if (stream == nullptr) return false;
  OwnerLockGuard turn(g_list_lock);
  for (Proc* p = g_procs; p != nullptr; p = p->next) {
    if (p->stream == stream) return fileno(stream) == p->fd && same_pipe(*p);
  }
  return false;
}

int shell_pclose(FILE* stream, bool* was_ours, pid_t* child_out) {
  if (child_out != nullptr) *child_out = -1;
  const int entry_errno = errno;
  Proc* node = nullptr;
  if (stream != nullptr) {
    OwnerLockGuard turn(g_list_lock);
    for (Proc** link = &g_procs; *link != nullptr; link = &(*link)->next) {
      Proc* p = *link;
      if (p->stream != stream) continue;
      // The same address but another pipe: our stream was fclose()d and the FILE reused.
      if (fileno(stream) == p->fd && same_pipe(*p)) {
        *link = p->next;
        node = p;
      }
      break;
    }
  }
  if (was_ours != nullptr) *was_ours = node != nullptr;
  if (node == nullptr) {
    errno = ECHILD;
    return -1;
  }
  const pid_t pid = node->pid;
  std::free(node);

  NoCancel no_cancel;
  // Flushes a 'w' stream and closes our end: the child reads EOF. errno then as glibc leaves it:
  // the flush error if there was one, else the caller's, then whatever waitpid adds (EINTR).
  const int closed = fclose(stream);
  const int close_errno = errno;
  errno = closed != 0 ? close_errno : entry_errno;
  int status = 0;
  pid_t got;
  do {
    got = waitpid(pid, &status, 0);
  } while (got < 0 && errno == EINTR);
  if (got != pid) return -1;  // waitpid's errno
  if (child_out != nullptr) *child_out = pid;
  // glibc's fclose of a proc stream returns the wait status if nonzero, else the flush result.
  if (status == 0 && closed != 0) {
    errno = close_errno;
    return -1;
  }
  return status;
}

}  // namespace forkguard

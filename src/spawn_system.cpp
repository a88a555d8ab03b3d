/// @file spawn_system.cpp
/// @brief shell_system(): system(3) over a given posix_spawn, safe for concurrent callers and
/// for thread cancellation.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "forkguard/owner_lock.hpp"
#include "forkguard/shell_spawn.hpp"

namespace forkguard {

namespace {

// SIGINT and SIGQUIT are process-wide: the first of several concurrent callers saves the
// program's dispositions and ignores both, the last one puts them back (glibc does the same).
// OwnerLock rather than a mutex: a fork child of a thread that held it takes it over.
std::atomic<pid_t> g_sig_lock{0};
int g_sig_users = 0;
struct sigaction g_saved_int;
struct sigaction g_saved_quit;

char kShellPath[] = "/bin/sh";
char kShellName[] = "sh";
char kDashC[] = "-c";
char kExit0[] = "exit 0";

/// Takes one reference on the shared SIGINT/SIGQUIT ignore; returns the program's dispositions.
void ignore_interrupts(struct sigaction& old_int, struct sigaction& old_quit) {
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  OwnerLockGuard turn(g_sig_lock);
  if (g_sig_users++ == 0) {
    // Cannot fail: valid signals, SIG_IGN.
    sigaction(SIGINT, &ign, &g_saved_int);
    sigaction(SIGQUIT, &ign, &g_saved_quit);
  }
  old_int = g_saved_int;
  old_quit = g_saved_quit;
}

/// Drops the reference; the last caller restores the program's dispositions.
void release_interrupts() {
  OwnerLockGuard turn(g_sig_lock);
  if (--g_sig_users == 0) {
    sigaction(SIGINT, &g_saved_int, nullptr);
    sigaction(SIGQUIT, &g_saved_quit, nullptr);
  }
}

/// What a cancelled waiter must undo: the child, the shared ignore, the thread's mask.
struct CancelState {
  pid_t pid;
  const sigset_t* old_mask;
};

void on_cancel(void* arg) {
  const auto* st = static_cast<const CancelState*>(arg);
  // The thread is going away: leave no child behind (POSIX: system() is a cancellation point).
  kill(st->pid, SIGKILL);
  int state = 0;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
  while (waitpid(st->pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  pthread_setcancelstate(state, nullptr);
  release_interrupts();
  pthread_sigmask(SIG_SETMASK, st->old_mask, nullptr);
}

int run_shell(char* command, SpawnFn spawn, pid_t* child_out) {
  struct sigaction old_int {};
  struct sigaction old_quit {};
  ignore_interrupts(old_int, old_quit);

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &chld, &old_mask);

  // The child starts with the caller's own mask, and with SIG_DFL for the interrupts unless the
  // program itself ignored them (then the ignore is what it inherits).
  sigset_t defaults;
  sigemptyset(&defaults);
  if (old_int.sa_handler != SIG_IGN) sigaddset(&defaults, SIGINT);
  if (old_quit.sa_handler != SIG_IGN) sigaddset(&defaults, SIGQUIT);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &old_mask);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
#ifdef POSIX_SPAWN_USEVFORK
  flags |= POSIX_SPAWN_USEVFORK;  // a vfork-style child where a libc still distinguishes it
#endif
  posix_spawnattr_setflags(&attr, flags);

  char* argv[] = {kShellName, kDashC, command, nullptr};
  pid_t pid = -1;
  const int rc = spawn(&pid, kShellPath, nullptr, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);

  // errno is left as the calls leave it (a waitpid retried after EINTR leaves EINTR, as in
  // glibc), and set only where system() itself reports an error.
  int status = -1;
  int err = 0;
  if (rc == 0) {
    // Atomic: a test thread polls it to cancel this call while it waits.
    if (child_out != nullptr) __atomic_store_n(child_out, pid, __ATOMIC_RELEASE);
    CancelState cancel{pid, &old_mask};
    pthread_cleanup_push(on_cancel, &cancel);
    // waitpid is the cancellation point.
    pid_t got;
    do {
      got = waitpid(pid, &status, 0);
    } while (got < 0 && errno == EINTR);
    if (got != pid) status = -1;  // waitpid's errno stands: nothing below changes it
    pthread_cleanup_pop(0);
  } else if (rc == ENOMEM || rc == EAGAIN) {
    status = -1;  // POSIX: no child could be created (glibc 2.36 returns W_EXITCODE(127, 0) here)
    err = rc;
  } else {
    status = W_EXITCODE(127, 0);  // POSIX: as if the shell had run _exit(127)
    err = rc;
  }

  release_interrupts();  // sigaction and pthread_sigmask cannot fail here: errno untouched
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (err != 0) errno = err;
  return status;
}

}  // namespace

int shell_system(const char* command, SpawnFn spawn, pid_t* child_out) {
  if (child_out != nullptr) *child_out = -1;
  if (command == nullptr) return run_shell(kExit0, spawn, child_out) == 0;
  // posix_spawn's argv is char* const[] for historical reasons; nothing writes through it.
  return run_shell(const_cast<char*>(command), spawn, child_out);
}

}  // namespace forkguard

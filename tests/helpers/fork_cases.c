/* @file fork_cases.c
 * @brief fork() children of three kinds, for the vfork substitute's tests:
 *   exec   - the child changes a local and errno, then execs grep to print its signal mask;
 *   worker - the child never execs: it writes to its parent over a pipe and waits for an answer;
 *   exit   - the child calls exit() (atexit handlers and stdio buffers belong to the parent);
 *   malloc - the parent holds a 256 MiB buffer (a slim fork excludes it); the child mallocs,
 *            prints through stdio and execs: its heap, stdio and TLS must all be there, and
 *            both sides still see the errno the caller set before fork();
 *   migrate - the child moves itself to another CPU, then execs: the kernel rewrites its rseq
 *            area on the way back to user space, which is no write of the program's.
 * Usage: fg_helper_fork_cases exec|worker|exit|malloc|migrate
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_usr2(int sig) { (void)sig; }

static void report(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    printf("parent: child exited %d\n", WEXITSTATUS(status));
  } else {
    printf("parent: child killed by signal %d\n", WTERMSIG(status));
  }
}

static int run_exec(void) {
  volatile int local = 1;
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL); /* the exec'd child must still have it blocked */
  signal(SIGUSR2, on_usr2);            /* caught here; default in the exec'd child */
  errno = 0;
  pid_t pid = fork();
  if (pid < 0) {
    printf("parent: fork failed: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    local = 99; /* lives in the caller's frame: the parent must not see it */
    errno = EPERM;
    execl("/bin/grep", "grep", "-E", "^SigBlk", "/proc/self/status", (char*)NULL);
    _exit(127);
  }
  int after = errno;
  report(pid);
  printf("parent: local=%d errno=%d\n", local, after);
  return 0;
}

static int run_worker(void) {
  int up[2], down[2];
  if (pipe(up) != 0 || pipe(down) != 0) return 2;
  signal(SIGPIPE, SIG_IGN);
  static volatile int shared_counter = 0;
  pid_t pid = fork();
  if (pid < 0) {
    printf("parent: fork failed: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    shared_counter = 42;
    if (write(up[1], "ping", 4) != 4) _exit(3);
    char buf[4];
    if (read(down[0], buf, 4) != 4) _exit(4); /* under a vfork-style child this waits for ever */
    _exit(0);
  }
  char buf[4];
  if (read(up[0], buf, 4) == 4) printf("parent: got %.4s\n", buf);
  if (write(down[1], "pong", 4) != 4) printf("parent: nobody to answer\n");
  report(pid);
  printf("parent: shared_counter=%d\n", shared_counter); /* 42 would mean the child wrote our memory */
  return 0;
}

static void at_exit_handler(void) { printf("atexit ran\n"); }

static int run_exit(void) {
  atexit(at_exit_handler);
  printf("parent: before fork\n");
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    printf("parent: fork failed: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) exit(7); /* a real fork's child runs the handler in its own copy */
  report(pid);
  return 0;
}

static int run_malloc(void) {
  size_t len = (size_t)256 << 20;
  char* big = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (big == MAP_FAILED) return 2;
  memset(big, 1, 1 << 20); /* partly used, as a cache is */
  errno = ENOENT;            /* a fork that succeeds leaves the caller's errno in parent and child */
  pid_t pid = fork();
  const int after = errno;
  if (pid < 0) {
    printf("parent: fork failed: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    char* note = malloc(4096);
    if (note == NULL) _exit(3);
    snprintf(note, 4096, "child: malloc and stdio work (%d), errno after fork %d", 42, after);
    printf("%s\n", note);
    fflush(stdout);
    free(note);
    execl("/bin/echo", "echo", "child: exec works", (char*)NULL);
    _exit(127);
  }
  report(pid);
  big[len - 1] = 2; /* the parent's buffer is intact and writable */
  printf("parent: buffer %d %d, errno after fork %d\n", big[0], big[len - 1], after);
  return 0;
}

static int run_migrate(void) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < 2) {
    printf("parent: needs two CPUs\n");
    return 77;
  }
  int first = -1, second = -1;
  for (int c = 0; c < CPU_SETSIZE && second < 0; ++c) {
    if (!CPU_ISSET(c, &allowed)) continue;
    if (first < 0) first = c; else second = c;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  sched_setaffinity(0, sizeof one, &one);
  pid_t pid = fork();
  if (pid < 0) {
    printf("parent: fork failed: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    CPU_ZERO(&one);
    CPU_SET(second, &one);
    sched_setaffinity(0, sizeof one, &one); /* returns on the other CPU: a migration */
    execl("/bin/true", "true", (char*)NULL);
    _exit(127);
  }
  report(pid);
  return 0;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "exec";
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(mode, "exec") == 0) return run_exec();
  if (strcmp(mode, "worker") == 0) return run_worker();
  if (strcmp(mode, "exit") == 0) return run_exit();
  if (strcmp(mode, "malloc") == 0) return run_malloc();
  if (strcmp(mode, "migrate") == 0) return run_migrate();
  fprintf(stderr, "usage: %s exec|worker|exit|malloc|migrate\n", argv[0]);
  return 2;
}

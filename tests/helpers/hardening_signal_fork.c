/* @file hardening_signal_fork.c
 * @brief fork() from a signal handler, at hostile moments (issue 6 item 2a). Single-threaded,
 * as glibc's own fork from a handler that interrupted malloc is only safe there.
 *
 * Usage: fg_helper_hardening_signal_fork MODE N
 *   malloc N       the main thread loops malloc/free while a 50 us interval timer fires; every
 *                  SIGALRM handler forks (the child _exit(0)s) until N forks are done. A malloc
 *                  wrapper in this program counts allocations made while another is in progress
 *                  (by the handler's fork: a shim that allocates there) and how many forks
 *                  interrupted malloc.
 *   malloc-warm N  the same after one ordinary fork (the shim's stack unwinder is loaded then).
 *   shim N         deterministic: N fork() and N system("/bin/true") calls; inside each, the
 *                  first clock_gettime() (the shim's, called from inside its wrapper) raises
 *                  SIGUSR1, whose handler forks: 2N forks that interrupted the wrapper.
 *   shim-vfork N   the same with vfork() in the main thread and in the handler (N each).
 *   turn N         N fork() calls; the program's pthread_atfork prepare handler (run inside glibc's
 *                  fork, where mitigate mode holds its fork turn) raises SIGUSR1, whose handler forks.
 *   altstack K     the handler runs on a K KiB alternate signal stack (a guard page below it)
 *                  and forks 3 times (raised from main, which is not in any call); then main
 *                  forks once (the record that says what the handler's calls could not).
 *   window N       N fork() calls of a process with a 16 MiB mapping, its first 4 MiB written; the first
 *                  madvise(MADV_DONTFORK) inside each (the slim fork's) raises SIGUSR1, whose
 *                  handler forks a child that reads the written part (it must be there).
 * Prints "MODE: main_calls=A handler_forks=B interrupted=C reentered_malloc=D handler_allocs=E
 * bad_children=F" (interrupted: handler forks that interrupted malloc or a fork/system call;
 * handler_allocs: allocations made while the handler forked); exit 0 when every child exited 0
 * and D = E = 0. The caller checks the counts (without the shim, shim and window raise nothing).
 * Exported (-rdynamic) malloc, free, calloc, realloc, clock_gettime and madvise wrap glibc's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void __libc_free(void*);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);

static volatile sig_atomic_t g_in_malloc;       /* inside one of the wrappers below */
static volatile sig_atomic_t g_reentered;       /* allocations started while another was in progress */
static volatile sig_atomic_t g_in_handler;      /* the handler is making its fork */
static volatile sig_atomic_t g_handler_allocs;  /* allocations made meanwhile (by a shim) */
static volatile sig_atomic_t g_handler_forks;   /* forks made by the handler */
static volatile sig_atomic_t g_interrupted;     /* ... of which interrupted malloc / the wrapper */
static volatile sig_atomic_t g_bad_children;    /* handler children that did not exit 0 */
static volatile sig_atomic_t g_arm_clock;       /* shim: raise once inside the next clock_gettime */
static volatile sig_atomic_t g_arm_madvise;     /* window: raise once after the next MADV_DONTFORK */
static volatile sig_atomic_t g_arm_prepare;     /* turn: raise once in the next atfork prepare handler */
static volatile sig_atomic_t g_in_call;         /* the main thread is inside fork()/system() */
static volatile sig_atomic_t g_limit;           /* malloc mode: forks wanted */
static volatile char* g_big;                    /* window mode: what the handler's child reads */
static int g_use_vfork;                         /* shim-vfork: the handler vforks too */

#define ENTER_ALLOC()                       \
  do {                                      \
    if (g_in_malloc) ++g_reentered;         \
    if (g_in_handler) ++g_handler_allocs;   \
    ++g_in_malloc;                          \
  } while (0)
#define LEAVE_ALLOC() --g_in_malloc

void* malloc(size_t n) {
  ENTER_ALLOC();
  void* p = __libc_malloc(n);
  LEAVE_ALLOC();
  return p;
}
void free(void* p) {
  ENTER_ALLOC();
  __libc_free(p);
  LEAVE_ALLOC();
}
void* calloc(size_t a, size_t b) {
  ENTER_ALLOC();
  void* p = __libc_calloc(a, b);
  LEAVE_ALLOC();
  return p;
}
void* realloc(void* p, size_t n) {
  ENTER_ALLOC();
  void* q = __libc_realloc(p, n);
  LEAVE_ALLOC();
  return q;
}

/* The shim calls clock_gettime through the PLT from inside its wrappers: this one wins. */
int clock_gettime(clockid_t clk, struct timespec* ts) {
  if (g_arm_clock && g_in_call) {
    g_arm_clock = 0;
    raise(SIGUSR1);
  }
  return (int)syscall(SYS_clock_gettime, clk, ts);
}

int madvise(void* addr, size_t len, int advice) {
  const int rc = (int)syscall(SYS_madvise, addr, len, advice);
  if (advice == MADV_DONTFORK && g_arm_madvise && g_in_call) {
    g_arm_madvise = 0;
    raise(SIGUSR1); /* after marking: a handler's fork now would leave the region out of its child */
  }
  return rc;
}

static void prepare(void) {
  if (g_arm_prepare && g_in_call) {
    g_arm_prepare = 0;
    raise(SIGUSR1);
  }
}

static void handler(int sig) {
  (void)sig;
  const int saved = errno;
  if (g_limit > 0 && g_handler_forks >= g_limit) {
    errno = saved;
    return;
  }
  if (g_in_malloc || g_in_call) ++g_interrupted;
  ++g_in_handler;
  pid_t pid;
  if (g_use_vfork) {
    pid = vfork();
    if (pid == 0) _exit(0); /* shares our memory: touches nothing */
  } else {
    pid = fork();
  }
  --g_in_handler;
  if (pid == 0) {
    if (g_big != NULL && g_big[4096] != 1) _exit(3); /* the mapping was left out of the child */
    _exit(0);
  }
  if (pid > 0) {
    ++g_handler_forks;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++g_bad_children;
  } else {
    ++g_bad_children;
  }
  errno = saved;
}

static void main_fork(void) {
  g_in_call = 1;
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  g_in_call = 0;
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "signal_fork: the main thread's fork failed\n");
    exit(1);
  }
}

static void main_vfork(void) {
  g_in_call = 1;
  const pid_t pid = vfork();
  if (pid == 0) _exit(0);
  g_in_call = 0;
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "signal_fork: the main thread's vfork failed\n");
    exit(1);
  }
}

static void main_system(void) {
  g_in_call = 1;
  const int status = system("/bin/true");
  g_in_call = 0;
  if (status != 0) {
    fprintf(stderr, "signal_fork: system() returned %d\n", status);
    exit(1);
  }
}

int main(int argc, char** argv) {
  const char* mode = argc > 2 ? argv[1] : "";
  const int n = argc > 2 ? atoi(argv[2]) : 0;
  if (n <= 0 || (strcmp(mode, "malloc") != 0 && strcmp(mode, "malloc-warm") != 0 && strcmp(mode, "shim") != 0 &&
                 strcmp(mode, "shim-vfork") != 0 && strcmp(mode, "turn") != 0 && strcmp(mode, "window") != 0 &&
                 strcmp(mode, "altstack") != 0)) {
    fprintf(stderr, "usage: %s malloc|malloc-warm|shim|shim-vfork|turn|window|altstack N\n", argv[0]);
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (strcmp(mode, "altstack") == 0) {
    const size_t len = (size_t)n * 1024;
    char* m = mmap(NULL, len + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m, 4096, PROT_NONE) != 0) return 1; /* overflow faults, never corrupts */
    stack_t ss = {.ss_sp = m + 4096, .ss_flags = 0, .ss_size = len};
    if (sigaltstack(&ss, NULL) != 0) return 1;
    sa.sa_flags |= SA_ONSTACK;
  }
  sigaction(SIGALRM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  int main_calls = 0;

  if (strncmp(mode, "malloc", 6) == 0) {
    if (strcmp(mode, "malloc-warm") == 0) {
      main_fork();
      ++main_calls;
    }
    g_limit = n;
    struct itimerval it = {{0, 50}, {0, 50}};
    setitimer(ITIMER_REAL, &it, NULL);
    void* keep[64] = {0};
    for (unsigned i = 0; g_handler_forks < n; ++i) {
      const unsigned slot = (i * 2654435761u) >> 26;
      free(keep[slot]);
      keep[slot] = malloc(16 + (i * 7919u) % 40000);
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    for (int i = 0; i < 64; ++i) free(keep[i]);
  } else if (strcmp(mode, "shim") == 0) {
    for (int i = 0; i < n; ++i) {
      g_arm_clock = 1;
      main_fork();
      g_arm_clock = 1;
      main_system();
      main_calls += 2;
    }
  } else if (strcmp(mode, "shim-vfork") == 0) {
    g_use_vfork = 1;
    for (int i = 0; i < n; ++i) {
      g_arm_clock = 1;
      main_vfork();
      ++main_calls;
    }
  } else if (strcmp(mode, "altstack") == 0) {
    for (int i = 0; i < 3; ++i) raise(SIGUSR1);
    main_fork();
    ++main_calls;
  } else if (strcmp(mode, "turn") == 0) {
    pthread_atfork(prepare, NULL, NULL);
    for (int i = 0; i < n; ++i) {
      g_arm_prepare = 1;
      main_fork();
      ++main_calls;
    }
  } else {
    const size_t len = 16u << 20;
    /* A PROT_NONE page above: merged with a neighbour holding the TCB (ld.so's TLS block), it
     * would be excluded only where never touched, i.e. not at all (README: Mitigation). None
     * below: a mapping right above a guard page may be a thread stack, also excluded that way. */
    char* big = mmap(NULL, len + 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big == MAP_FAILED) return 1;
    if (mprotect(big, len, PROT_READ | PROT_WRITE) != 0) return 1;
    memset(big, 1, len / 4); /* the never-written rest is what a slim fork leaves out */
    g_big = big;
    for (int i = 0; i < n; ++i) {
      g_arm_madvise = 1;
      main_fork();
      ++main_calls;
    }
  }
  printf("%s: main_calls=%d handler_forks=%d interrupted=%d reentered_malloc=%d handler_allocs=%d bad_children=%d\n",
         mode, main_calls, (int)g_handler_forks, (int)g_interrupted, (int)g_reentered, (int)g_handler_allocs,
         (int)g_bad_children);
  return g_bad_children == 0 && g_reentered == 0 && g_handler_allocs == 0 ? 0 : 1;
}

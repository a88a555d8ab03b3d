/* @file piece_costs.c
 * @brief Per-call cost of each thing the shim does, measured one at a time, so the bench's totals
 * can be attributed: the /proc reads and syscalls of a record, the sink's write, stack capture,
 * dladdr/dlsym as the constructor uses them, fork with a high descriptor open, first-touch page
 * faults. (Loading the shim itself is measured by spawn_bench (b): the shim's initial-exec TLS
 * makes it impossible to dlopen.)
 *
 *   piece_costs [--noop libforkguard_bench_noop.so] [-n N]
 *
 * Each figure is the median over N batches of the per-call time in a batch of 10, with the 10th
 * percentile beside it (the closer view of the unloaded cost on a busy machine).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void* a, const void* b) {
  const int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
  return (x > y) - (x < y);
}

static double median_us(int64_t* s, int n) {
  qsort(s, (size_t)n, sizeof *s, cmp_i64);
  return (double)s[n / 2] / 1000.0;
}

static int g_batches = 200;
#define BATCH 10

/* Times fn over g_batches batches of BATCH calls; prints the median per call. */
static void measure(const char* label, void (*fn)(void*), void* ctx) {
  int64_t* s = malloc((size_t)g_batches * sizeof *s);
  if (s == NULL) exit(2);
  for (int i = 0; i < BATCH; ++i) fn(ctx); /* warm */
  for (int b = 0; b < g_batches; ++b) {
    const int64_t t0 = now_ns();
    for (int i = 0; i < BATCH; ++i) fn(ctx);
    s[b] = (now_ns() - t0) / BATCH;
  }
  qsort(s, (size_t)g_batches, sizeof *s, cmp_i64);
  printf("  %-58s %9.2f us  (p10 %.2f)\n", label, (double)s[g_batches / 2] / 1000.0, (double)s[g_batches / 10] / 1000.0);
  free(s);
}

static char g_buf[8192];

static void read_file(void* path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  size_t used = 0;
  ssize_t r;
  while ((r = read(fd, g_buf + used, sizeof g_buf - 1 - used)) > 0) used += (size_t)r;
  close(fd);
}

/* The kept descriptors of src/kept_proc_file.cpp: fstat (still ours?) + pread at offset 0. */
static int g_kept_statm = -1, g_kept_meminfo = -1;
static void kept_read(void* which) {
  const int fd = *(int*)which;
  struct stat st;
  fstat(fd, &st);
  (void)pread(fd, g_buf, sizeof g_buf - 1, 0);
}

/* The sink's SIGPIPE guard around a write to a pipe, socket or terminal: sigpending + block + restore. */
static void sigpipe_guard(void* unused) {
  (void)unused;
  sigset_t pipe_only, old, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigpending(&pending);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void alt_stack(void* unused) {
  (void)unused;
  stack_t ss;
  sigaltstack(NULL, &ss);
}

static void five_sysctls(void* unused) {
  (void)unused;
  read_file("/proc/sys/vm/overcommit_memory");
  read_file("/proc/sys/vm/overcommit_ratio");
  read_file("/proc/sys/vm/overcommit_kbytes");
  read_file("/proc/sys/vm/admin_reserve_kbytes");
  read_file("/proc/sys/vm/user_reserve_kbytes");
}

static void ids(void* unused) {
  (void)unused;
  (void)getpid();
  (void)getppid();
  (void)syscall(SYS_gettid);
}

static void clocks(void* unused) {
  (void)unused;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  clock_gettime(CLOCK_REALTIME, &ts);
  clock_gettime(CLOCK_MONOTONIC, &ts);
}

static void caps(void* unused) {
  (void)unused;
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  (void)syscall(SYS_capget, &h, d);
}

static void exe_link(void* unused) {
  (void)unused;
  (void)readlink("/proc/self/exe", g_buf, sizeof g_buf - 1);
}

static int g_log_fd = -1;
static void sink_write(void* unused) {
  (void)unused;
  struct stat st;
  fstat(g_log_fd, &st);
  (void)fcntl(g_log_fd, F_GETFD);
  (void)getpid();
  static char record[900];
  if (record[0] == '\0') memset(record, 'x', sizeof record);
  (void)write(g_log_fd, record, sizeof record);
}

static void* g_libc_fn;
static void dladdr_libc(void* unused) {
  (void)unused;
  Dl_info info;
  dladdr(g_libc_fn, &info);
}
static void* g_small_fn;
static void dladdr_small(void* unused) {
  (void)unused;
  Dl_info info;
  dladdr(g_small_fn, &info);
}
static void dladdr_main(void* unused) {
  (void)unused;
  Dl_info info;
  dladdr((void*)&dladdr_main, &info);
}

static void dlsym_next(void* unused) {
  (void)unused;
  (void)dlsym(RTLD_NEXT, "fork");
}
static void dlvsym_next(void* unused) {
  (void)unused;
  (void)dlvsym(RTLD_NEXT, "posix_spawn", "GLIBC_2.2.5");
}

typedef int (*unw_backtrace_fn)(void**, int);
static unw_backtrace_fn g_unw;
static int __attribute__((noinline)) deep(int n) {
  if (n > 0) return deep(n - 1) + 1;
  void* pcs[32];
  return g_unw(pcs, 28);
}
static void unwind16(void* unused) {
  (void)unused;
  (void)deep(12); /* ~16 frames with main and libc's start */
}

static int __attribute__((noinline)) deep_glibc(int n) {
  if (n > 0) return deep_glibc(n - 1) + 1;
  void* pcs[32];
  return backtrace(pcs, 28);
}
static void glibc_backtrace16(void* unused) {
  (void)unused;
  (void)deep_glibc(12);
}

static void fork_wait(void* unused) {
  (void)unused;
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int st;
  waitpid(pid, &st, 0);
}

/* First touch of fresh zero pages, as a static initialiser that writes a large .bss array does. */
static size_t g_touch_kb;
static void touch_fresh(void* unused) {
  (void)unused;
  char* p = mmap(NULL, g_touch_kb * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  memset(p, 1, g_touch_kb * 1024);
  munmap(p, g_touch_kb * 1024);
}

/* Copy-on-write: after fork, with the child still alive, the caller's first write to each page
   it had written before the fork faults and copies the page. */
static void cow_faults(int pages) {
  const size_t len = (size_t)pages * 4096;
  char* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  int64_t* s = malloc((size_t)g_batches * sizeof *s);
  if (s == NULL) exit(2);
  for (int b = 0; b < g_batches; ++b) {
    memset(p, 1, len);
    int fds[2];
    if (pipe(fds) != 0) exit(2);
    const pid_t pid = fork();
    if (pid == 0) {
      char c;
      (void)read(fds[0], &c, 1); /* alive, sharing every page, until told */
      _exit(0);
    }
    const int64_t t0 = now_ns();
    for (int i = 0; i < pages; ++i) p[(size_t)i * 4096] = 2;
    s[b] = (now_ns() - t0) / pages;
    (void)write(fds[1], "x", 1);
    close(fds[0]);
    close(fds[1]);
    int st;
    waitpid(pid, &st, 0);
  }
  printf("  %-58s %9.2f us\n", "first write to a page after fork, child alive (COW copy)", median_us(s, g_batches));
  free(s);
  munmap(p, len);
}

/* fork + _exit + waitpid with `pages` extra dirty private pages: their PTEs are copied. */
static char* g_dirty;
static void fork_wait_dirty(int pages) {
  g_dirty = mmap(NULL, (size_t)pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g_dirty == MAP_FAILED) return;
  memset(g_dirty, 1, (size_t)pages * 4096);
  char label[96];
  snprintf(label, sizeof label, "fork + _exit + waitpid, %d more dirty pages (%d KiB)", pages, pages * 4);
  measure(label, fork_wait, NULL);
  munmap(g_dirty, (size_t)pages * 4096);
}

int main(int argc, char** argv) {
  const char* noop = NULL;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--noop") == 0 && i + 1 < argc) {
      noop = argv[++i];
    } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
      g_batches = atoi(argv[++i]);
      if (g_batches < 10) g_batches = 10;
    } else {
      fprintf(stderr, "usage: piece_costs [--noop LIB] [-n BATCHES]\n");
      return 2;
    }
  }
  printf("forkguard piece costs: median per call over %d batches of %d\n", g_batches, BATCH);
  printf("probe (per record, in the caller)\n");
  measure("open+read+close /proc/self/statm", read_file, "/proc/self/statm");
  measure("open+read+close /proc/self/status", read_file, "/proc/self/status");
  measure("open+read+close /proc/meminfo", read_file, "/proc/meminfo");
  measure("open+read+close the 5 /proc/sys/vm sysctls", five_sysctls, NULL);
  g_kept_statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  g_kept_meminfo = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
  measure("fstat + pread of a kept /proc/self/statm", kept_read, &g_kept_statm);
  measure("fstat + pread of a kept /proc/meminfo", kept_read, &g_kept_meminfo);
  close(g_kept_statm);
  close(g_kept_meminfo);
  measure("capget", caps, NULL);
  measure("sigaltstack (the engine's short-signal-stack check)", alt_stack, NULL);
  measure("getpid + getppid + gettid", ids, NULL);
  measure("clock_gettime x3", clocks, NULL);
  measure("readlink /proc/self/exe", exe_link, NULL);

  printf("record sink\n");
  char path[] = "/tmp/forkguard-pieces.XXXXXX";
  g_log_fd = mkstemp(path);
  if (g_log_fd >= 0) {
    unlink(path);
    const int fl = fcntl(g_log_fd, F_GETFL);
    fcntl(g_log_fd, F_SETFL, fl | O_APPEND);
    measure("fstat + fcntl(F_GETFD) + getpid + write 900 B O_APPEND", sink_write, NULL);
    measure("the SIGPIPE guard: sigpending + 2 x pthread_sigmask", sigpipe_guard, NULL);
    close(g_log_fd);
  }

  printf("stack and symbols\n");
  void* unw = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
  g_unw = unw != NULL ? (unw_backtrace_fn)dlsym(unw, "unw_backtrace") : NULL;
  if (g_unw != NULL) {
    measure("unw_backtrace, 16 frames", unwind16, NULL);
  } else {
    printf("  libunwind.so.8 not available\n");
  }
  measure("backtrace() (glibc, libgcc_s unwinder), 16 frames", glibc_backtrace16, NULL);
  g_libc_fn = dlsym(RTLD_DEFAULT, "fork");
  measure("dladdr of a libc function (fork)", dladdr_libc, NULL);
  measure("dladdr of an address in the main program", dladdr_main, NULL);
  if (noop != NULL) {
    void* h = dlopen(noop, RTLD_NOW | RTLD_LOCAL);
    g_small_fn = h != NULL ? dlsym(h, "forkguard_bench_noop") : NULL;
    if (g_small_fn != NULL) measure("dladdr of a function in a 1-symbol library", dladdr_small, NULL);
  }
  measure("dlsym(RTLD_NEXT, \"fork\")", dlsym_next, NULL);
  measure("dlvsym(RTLD_NEXT, \"posix_spawn\", \"GLIBC_2.2.5\")", dlvsym_next, NULL);

  printf("process creation\n");
  measure("fork + _exit + waitpid", fork_wait, NULL);
  /* The sink moves its descriptor to RLIMIT_NOFILE - 128: fork copies the descriptor table up
     to the highest open descriptor, and exec scans it for close-on-exec. */
  struct rlimit rl;
  int high = 1000;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 256) {
    high = (int)rl.rlim_cur - 128;
  }
  const int floors[] = {64, 256, 1024, high};
  for (size_t i = 0; i < sizeof floors / sizeof floors[0]; ++i) {
    const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    const int fd = fcntl(null_fd, F_DUPFD_CLOEXEC, floors[i]);
    close(null_fd);
    if (fd < 0) continue;
    char label[96];
    snprintf(label, sizeof label, "fork + _exit + waitpid, one fd held at %d", fd);
    measure(label, fork_wait, NULL);
    close(fd);
  }
  fork_wait_dirty(64);
  cow_faults(16);
  g_touch_kb = 160;
  measure("mmap + first touch of 160 KiB + munmap (the dladdr cache's size)", touch_fresh, NULL);

  return 0;
}

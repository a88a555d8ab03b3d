/* @file spawn_bench.c
 * @brief Times fork + execve + waitpid, alone (one configuration) or as the whole forkguard
 * bench (--suite): what the shim adds in the calling process, and what its inherited preload
 * adds to an exec'd C child against a no-op preload. Prints figures; asserts nothing.
 *
 * One configuration:
 *   spawn_bench [-n N] [-w W] [-e NAME=VALUE]... [--hold-fd FD|high] [--dlopen LIB] [--unw-backtrace]
 *               [--raw] PROGRAM
 *     N timed iterations of fork(); execve(PROGRAM, {PROGRAM}, env); waitpid(), where env is
 *     exactly the -e entries (nothing is inherited, so the child sees no LD_PRELOAD unless given
 *     one). W untimed warm-up iterations first. Prints median, p90 and mean in microseconds, or
 *     with --raw writes the samples to stdout as native int64 nanoseconds: N wall-clock, N CPU
 *     (the caller's CPU time plus the child's, from wait4), N until fork() returned in the caller, N
 *     the caller's own CPU time. --hold-fd keeps a
 *     close-on-exec descriptor open at FD ("high": RLIMIT_NOFILE - 128, where the shim's sink
 *     puts its log descriptor); --dlopen loads LIB (RTLD_LOCAL) first; --unw-backtrace loads
 *     libunwind and captures one stack. They exist to attribute the shim's cost to its side effects.
 *
 * The suite (what `cmake --build <dir> --target bench` runs):
 *   spawn_bench --suite --shim libforkguard.so --noop libforkguard_bench_noop.so
 *               --child forkguard_bench_true [-n N] [-r R] [-w W] [--true /bin/true] [--explain] [--keep]
 *               [--figures TSV] [--also-caller LIB]... [--also-child LIB]...
 *     Defaults: N = 2000 iterations per configuration, R = 20 rounds, W = 5 warm-up iterations per
 *     worker.
 *     Each configuration runs as a fresh worker process (this program, one configuration) for
 *     N/R iterations per round, R rounds, the configurations rotated within each round so that
 *     drift on a noisy machine hits all of them alike. Per configuration, the samples of all
 *     rounds are pooled; the per-round median differences are printed as a cross-check.
 *       (a) the worker (the caller) without, then with, LD_PRELOAD=shim FORKGUARD_MODE=observe
 *           FORKGUARD_FORMAT=json FORKGUARD_LOG=<tmp file> FORKGUARD_STACK=16; the child is
 *           /bin/true exec'd with an environment without LD_PRELOAD, so only the caller differs.
 *       (b) the worker without the shim; the child is a C program that returns 0, exec'd with
 *           no LD_PRELOAD, LD_PRELOAD=<no-op library>, LD_PRELOAD=<shim> (observe, same settings).
 *     --explain adds configurations that split (a): the shim with FORKGUARD_MODE=off, with
 *     FORKGUARD_STACK=0, and, without the shim, a descriptor held where the sink puts its own,
 *     libunwind loaded, and libunwind after one unw_backtrace().
 *     Last come issue 13's two figures, each the median of its per-round ratios with their range:
 *     (a) shim / no shim, goal <= 1.04; (b) (forkguard - no preload) / (no-op - no preload), goal
 *     <= 1.5. --figures writes them as TSV lines (name, median, lowest, highest, goal) for
 *     bench/overhead.sh, which adds the substitutes' figures.
 *     --also-caller / --also-child LIB add another build of the library (a variant) as an (a) or
 *     (b) configuration in the same rounds: variants compared against one baseline.
 */
#define _GNU_SOURCE
#include "bench_util.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENV 32

static void usage_error(const char* msg) {
  fprintf(stderr,
          "spawn_bench: %s\n"
          "usage: spawn_bench [-n N] [-w W] [-e NAME=VALUE]... [--hold-fd FD|high] [--dlopen LIB] [--unw-backtrace] [--raw] PROGRAM\n"
          "       spawn_bench --suite --shim LIB --noop LIB --child PROGRAM [-n N] [-r R] [-w W]\n"
          "                   [--true PROGRAM] [--keep] [--explain] [--figures TSV]\n"
          "                   [--also-caller LIB]... [--also-child LIB]...\n",
          msg);
  exit(2);
}

/* ---- one configuration ------------------------------------------------------------------ */

static int64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One fork + execve + waitpid; returns its wall-clock duration in ns, and in *cpu the CPU time it
   cost: the caller's own plus the child's (before and after exec), which preemption on a busy
   machine does not inflate, and in *fork_ret the time until fork() returned in the caller, and in
   *caller_cpu the caller's CPU time alone (what the shim adds in (a), without the child's noise). */
static int64_t spawn_once(const char* program, char* const envp[], int64_t* cpu, int64_t* fork_ret,
                          int64_t* caller_cpu) {
  char* const argv[] = {(char*)program, NULL};
  const int64_t c0 = cpu_ns();
  const int64_t t0 = now_ns();
  const pid_t pid = fork();
  if (pid == 0) {
    execve(program, argv, envp);
    _exit(127);
  }
  if (pid < 0) die("fork");
  *fork_ret = now_ns() - t0;
  int status = 0;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) die("wait4");
  }
  const int64_t t1 = now_ns();
  const int64_t child = ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
                        ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
  *caller_cpu = cpu_ns() - c0;
  *cpu = *caller_cpu + child;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "spawn_bench: %s did not exit 0 (status 0x%x)\n", program, status);
    exit(2);
  }
  return t1 - t0;
}

struct stats {
  double median_us, p90_us, mean_us;
};

/* Sorts the samples in place. */
static struct stats summarize(int64_t* s, size_t n) {
  struct stats st = {0, 0, 0};
  if (n == 0) return st;
  qsort(s, n, sizeof *s, cmp_i64);
  st.median_us = (n % 2 != 0 ? (double)s[n / 2] : ((double)s[n / 2 - 1] + (double)s[n / 2]) / 2) / 1000.0;
  st.p90_us = (double)s[(size_t)((double)(n - 1) * 0.9 + 0.5)] / 1000.0;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += (double)s[i];
  st.mean_us = sum / (double)n / 1000.0;
  return st;
}

/* Keeps a close-on-exec descriptor open at `which` (a number, or "high" for the shim's choice). */
static void hold_fd(const char* which) {
  int target;
  if (strcmp(which, "high") == 0) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
      target = 1000;
    } else {
      target = rl.rlim_cur > 256 ? (int)rl.rlim_cur - 128 : (int)rl.rlim_cur / 2;
    }
  } else {
    target = (int)parse_count(which, "--hold-fd");
  }
  const int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("/dev/null");
  const int high = fcntl(fd, F_DUPFD_CLOEXEC, target);
  if (high < 0) die("F_DUPFD_CLOEXEC");
  close(fd);
}

/* Loads libunwind and captures one stack with unw_backtrace, as the shim's first record does: the
   memory libunwind touches for that stays in the process and is copied by every later fork. */
static void unw_backtrace_once(void) {
  void* h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
  void* fn = h != NULL ? dlsym(h, "unw_backtrace") : NULL;
  if (fn == NULL) {
    fprintf(stderr, "spawn_bench: libunwind.so.8 / unw_backtrace not available\n");
    exit(2);
  }
  int (*bt)(void**, int);
  memcpy(&bt, &fn, sizeof bt);
  void* pcs[32];
  (void)bt(pcs, 32);
}

static int run_single(int argc, char** argv) {
  long n = 2000, warm = 5;
  int raw = 0;
  char* envp[MAX_ENV + 1];
  int nenv = 0;
  const char* program = NULL;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (strcmp(a, "-n") == 0 && i + 1 < argc) {
      n = parse_count(argv[++i], "-n");
    } else if (strcmp(a, "-w") == 0 && i + 1 < argc) {
      warm = parse_count(argv[++i], "-w");
    } else if (strcmp(a, "-e") == 0 && i + 1 < argc) {
      if (nenv == MAX_ENV) usage_error("too many -e");
      envp[nenv++] = argv[++i];
    } else if (strcmp(a, "--raw") == 0) {
      raw = 1;
    } else if (strcmp(a, "--hold-fd") == 0 && i + 1 < argc) {
      hold_fd(argv[++i]);
    } else if (strcmp(a, "--unw-backtrace") == 0) {
      unw_backtrace_once();
    } else if (strcmp(a, "--dlopen") == 0 && i + 1 < argc) {
      if (dlopen(argv[++i], RTLD_NOW | RTLD_LOCAL) == NULL) {
        fprintf(stderr, "spawn_bench: %s\n", dlerror());
        exit(2);
      }
    } else if (strcmp(a, "--") == 0 && i + 1 < argc) {
      program = argv[++i];
    } else if (a[0] == '-') {
      usage_error("unknown option");
    } else {
      program = a;
    }
  }
  envp[nenv] = NULL;
  if (program == NULL) usage_error("no PROGRAM");
  if (n == 0) usage_error("-n must be at least 1");
  /* samples[0..n): wall-clock; [n..2n): CPU; [2n..3n): until fork() returned in the caller;
     [3n..4n): the caller's CPU alone. */
  int64_t* samples = malloc(4 * (size_t)n * sizeof *samples);
  if (samples == NULL) die("malloc");
  int64_t cpu, fork_ret, caller_cpu;
  for (long i = 0; i < warm; ++i) (void)spawn_once(program, envp, &cpu, &fork_ret, &caller_cpu);
  for (long i = 0; i < n; ++i) {
    samples[i] = spawn_once(program, envp, &cpu, &fork_ret, &caller_cpu);
    samples[3 * n + i] = caller_cpu;
    samples[n + i] = cpu;
    samples[2 * n + i] = fork_ret;
  }
  if (raw) {
    write_all(STDOUT_FILENO, samples, 4 * (size_t)n * sizeof *samples);
  } else {
    const struct stats st = summarize(samples, (size_t)n);
    const struct stats sc = summarize(samples + n, (size_t)n);
    const struct stats sf = summarize(samples + 2 * n, (size_t)n);
    printf("%s: %ld iterations: median %.1f us, p90 %.1f us, mean %.1f us; CPU median %.1f us; "
           "fork() returned after %.1f us\n",
           program, n, st.median_us, st.p90_us, st.mean_us, sc.median_us, sf.median_us);
  }
  free(samples);
  return 0;
}

/* ---- the suite -------------------------------------------------------------------------- */

enum { A_PLAIN, A_SHIM, B_NONE, B_NOOP, B_SHIM, NMAIN };
#define MAX_CONFIG 16

struct config {
  const char* label;
  int base;                       /* the configuration this one is compared with */
  char* worker_env[MAX_ENV + 1];  /* the caller's environment */
  char* worker_args[8];           /* extra options of the worker (--hold-fd, --dlopen) */
  char* child_env[MAX_ENV + 1];   /* what the caller gives execve */
  const char* program;
  int64_t* samples; /* wall-clock, pooled over rounds */
  int64_t* cpu;     /* CPU time (caller + child), pooled over rounds */
  int64_t* fork_ret; /* until fork() returned in the caller, pooled over rounds */
  size_t nsamples;
  double* round_medians_us;
  double* round_cpu_us;
  double* round_fork_us;
  double* round_caller_cpu_us; /* the caller's own CPU time, per round */
  struct stats st, st_cpu, st_fork;
};

static void add_env(char** env, const char* entry) {
  int i = 0;
  while (env[i] != NULL) ++i;
  if (i == MAX_ENV) usage_error("environment too large");
  env[i] = (char*)entry;
  env[i + 1] = NULL;
}

static char* fmt(const char* f, const char* s) {
  char* out = NULL;
  if (asprintf(&out, f, s) < 0) die("asprintf");
  return out;
}

static int self_exe(char* out, size_t cap) {
  const ssize_t n = readlink("/proc/self/exe", out, cap - 1);
  if (n <= 0) return -1;
  out[n] = '\0';
  return 0;
}

/* Runs one worker for `iters` timed iterations of config c, appending its samples. */
static void run_worker(const char* self, struct config* c, long iters, long warm, int round) {
  char nbuf[32], wbuf[32];
  snprintf(nbuf, sizeof nbuf, "%ld", iters);
  snprintf(wbuf, sizeof wbuf, "%ld", warm);
  char* argv[16 + 2 * MAX_ENV];
  int k = 0;
  argv[k++] = (char*)"spawn_bench";
  argv[k++] = (char*)"--raw";
  argv[k++] = (char*)"-n";
  argv[k++] = nbuf;
  argv[k++] = (char*)"-w";
  argv[k++] = wbuf;
  for (int i = 0; c->worker_args[i] != NULL; ++i) argv[k++] = c->worker_args[i];
  for (int i = 0; c->child_env[i] != NULL; ++i) {
    argv[k++] = (char*)"-e";
    argv[k++] = c->child_env[i];
  }
  argv[k++] = (char*)c->program;
  argv[k] = NULL;

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) die("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  pid_t pid;
  const int rc = posix_spawn(&pid, self, &fa, NULL, argv, c->worker_env);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    errno = rc;
    die("posix_spawn of the worker");
  }
  close(fds[1]);
  int64_t* buf = malloc(4 * (size_t)iters * sizeof(int64_t));
  if (buf == NULL) die("malloc");
  const size_t want = 4 * (size_t)iters * sizeof(int64_t);
  size_t got = 0;
  while (got < want) {
    const ssize_t r = read(fds[0], (char*)buf + got, want - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) die("waitpid of the worker");
  }
  if (got != want || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "spawn_bench: worker for '%s' failed (status 0x%x, %zu of %zu bytes)\n", c->label, status,
            got, want);
    exit(2);
  }
  memcpy(c->samples + c->nsamples, buf, (size_t)iters * sizeof(int64_t));
  memcpy(c->cpu + c->nsamples, buf + iters, (size_t)iters * sizeof(int64_t));
  memcpy(c->fork_ret + c->nsamples, buf + 2 * iters, (size_t)iters * sizeof(int64_t));
  c->nsamples += (size_t)iters;
  /* summarize() sorts: the pooled copies above stay in order until the end. */
  c->round_medians_us[round] = summarize(buf, (size_t)iters).median_us;
  c->round_cpu_us[round] = summarize(buf + iters, (size_t)iters).median_us;
  c->round_fork_us[round] = summarize(buf + 2 * iters, (size_t)iters).median_us;
  c->round_caller_cpu_us[round] = summarize(buf + 3 * iters, (size_t)iters).median_us;
  free(buf);
}

static int cmp_double(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

/* Per-round differences x - base: median and range, a drift-resistant cross-check. */
struct paired {
  double median, lo, hi;
};
static struct paired paired_diff(const double* x, const double* base, int rounds) {
  double* d = malloc((size_t)rounds * sizeof *d);
  if (d == NULL) die("malloc");
  for (int r = 0; r < rounds; ++r) d[r] = x[r] - base[r];
  qsort(d, (size_t)rounds, sizeof *d, cmp_double);
  struct paired p;
  p.median = rounds % 2 != 0 ? d[rounds / 2] : (d[rounds / 2 - 1] + d[rounds / 2]) / 2;
  p.lo = d[0];
  p.hi = d[rounds - 1];
  free(d);
  return p;
}

/* Per-round ratios num[r] / den[r]: median and range (the issue-13 figures). A round whose
   denominator is not positive has no finite ratio and counts as +inf (above any goal). */
static struct paired ratio_by_round(const double* num, const double* den, int rounds) {
  double* q = malloc((size_t)rounds * sizeof *q);
  if (q == NULL) die("malloc");
  for (int r = 0; r < rounds; ++r) q[r] = den[r] > 0 ? num[r] / den[r] : 1.0 / 0.0;
  qsort(q, (size_t)rounds, sizeof *q, cmp_double);
  struct paired p;
  p.median = rounds % 2 != 0 ? q[rounds / 2] : (q[rounds / 2 - 1] + q[rounds / 2]) / 2;
  p.lo = q[0];
  p.hi = q[rounds - 1];
  free(q);
  return p;
}

/* Per-round (x - base) / (ref - base): what x adds as a multiple of what ref adds. */
static struct paired added_ratio_by_round(const double* x, const double* ref, const double* base, int rounds) {
  double* num = malloc((size_t)rounds * sizeof *num);
  double* den = malloc((size_t)rounds * sizeof *den);
  if (num == NULL || den == NULL) die("malloc");
  for (int r = 0; r < rounds; ++r) {
    num[r] = x[r] - base[r];
    den[r] = ref[r] - base[r];
  }
  const struct paired p = ratio_by_round(num, den, rounds);
  free(num);
  free(den);
  return p;
}

/* One figure against its goal (lower is better), on stdout and as a tab-separated line in `tsv`:
   name, median, lowest, highest, goal. */
static void print_goal(FILE* tsv, const char* name, struct paired p, double goal, const char* cross_check) {
  const char* verdict = p.median <= goal ? "met" : "MISSED";
  printf("  %-62s %7.3f [%.3f-%.3f]  goal <= %.2f: %s", name, p.median, p.lo, p.hi, goal, verdict);
  if (p.median > goal) printf(" by %.3f", p.median - goal);
  if (p.lo <= goal && p.hi > goal) printf(" (the spread straddles the goal)");
  printf("\n      %s\n", cross_check);
  if (tsv != NULL) fprintf(tsv, "%s\t%.4f\t%.4f\t%.4f\t%.2f\n", name, p.median, p.lo, p.hi, goal);
}

static long count_lines(const char* path, int* json) {
  FILE* f = fopen(path, "r");
  *json = 1;
  if (f == NULL) return -1;
  long lines = 0;
  int c, at_start = 1;
  while ((c = fgetc(f)) != EOF) {
    if (at_start && c != '{') *json = 0;
    at_start = c == '\n';
    if (c == '\n') ++lines;
  }
  fclose(f);
  return lines;
}

static struct config* new_config(struct config* cfg, int* n, const char* label, int base, const char* program) {
  if (*n == MAX_CONFIG) usage_error("too many configurations");
  struct config* c = &cfg[(*n)++];
  memset(c, 0, sizeof *c);
  c->label = label;
  c->base = base;
  c->program = program;
  add_env(c->worker_env, "PATH=/usr/bin:/bin");
  add_env(c->child_env, "PATH=/usr/bin:/bin");
  return c;
}

static void add_arg(struct config* c, const char* a) {
  int i = 0;
  while (c->worker_args[i] != NULL) ++i;
  c->worker_args[i] = (char*)a;
}

static void print_row(const struct config* c) {
  printf("    %-44s %9.1f %9.1f %9.1f %9.1f %9.1f\n", c->label, c->st.median_us, c->st.p90_us, c->st.mean_us,
         c->st_cpu.median_us, c->st_fork.median_us);
}

static int run_suite(int argc, char** argv) {
  long total = 2000, rounds = 20, warm = 5;
  const char *shim = NULL, *noop = NULL, *child = NULL, *truebin = "/bin/true";
  int keep = 0, explain = 0;
  const char* figures_path = NULL; /* --figures: the goal lines as TSV, for bench/overhead.sh */
  /* --also-caller LIB / --also-child LIB: another build of the library (a variant), run as (a) or
     (b) in the same rounds, so variants are compared against one baseline. */
#define MAX_ALSO 4
  const char* also[MAX_ALSO];
  int also_child[MAX_ALSO], nalso = 0;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const int has = i + 1 < argc;
    if (strcmp(a, "--suite") == 0) {
    } else if (strcmp(a, "-n") == 0 && has) {
      total = parse_count(argv[++i], "-n");
    } else if (strcmp(a, "-r") == 0 && has) {
      rounds = parse_count(argv[++i], "-r");
    } else if (strcmp(a, "-w") == 0 && has) {
      warm = parse_count(argv[++i], "-w");
    } else if (strcmp(a, "--shim") == 0 && has) {
      shim = argv[++i];
    } else if (strcmp(a, "--noop") == 0 && has) {
      noop = argv[++i];
    } else if (strcmp(a, "--child") == 0 && has) {
      child = argv[++i];
    } else if (strcmp(a, "--true") == 0 && has) {
      truebin = argv[++i];
    } else if (strcmp(a, "--keep") == 0) {
      keep = 1;
    } else if (strcmp(a, "--explain") == 0) {
      explain = 1;
    } else if (strcmp(a, "--figures") == 0 && has) {
      figures_path = argv[++i];
    } else if ((strcmp(a, "--also-caller") == 0 || strcmp(a, "--also-child") == 0) && has) {
      if (nalso == MAX_ALSO) usage_error("too many --also-caller/--also-child");
      also_child[nalso] = strcmp(a, "--also-child") == 0;
      also[nalso++] = argv[++i];
    } else {
      usage_error("unknown suite option");
    }
  }
  if (shim == NULL || noop == NULL || child == NULL) usage_error("--suite needs --shim, --noop and --child");
  if (rounds < 1 || rounds > 1000 || total < rounds) usage_error("need 1 <= rounds <= 1000 and N >= rounds");
  /* ld.so wants a path with a slash for LD_PRELOAD entries outside its search path. */
  char shim_abs[4096], noop_abs[4096], child_abs[4096], self[4096];
  if (realpath(shim, shim_abs) == NULL) die(shim);
  if (realpath(noop, noop_abs) == NULL) die(noop);
  if (realpath(child, child_abs) == NULL) die(child);
  if (self_exe(self, sizeof self) != 0) die("/proc/self/exe");
  const long per_round = total / rounds;
  total = per_round * rounds;

  char dir[] = "/tmp/forkguard-bench.XXXXXX";
  if (mkdtemp(dir) == NULL) die("mkdtemp");
  char* caller_log = fmt("%s/caller.jsonl", dir);
  char* child_log = fmt("%s/child.jsonl", dir);
  char* shim_preload = fmt("LD_PRELOAD=%s", shim_abs);
  char* noop_preload = fmt("LD_PRELOAD=%s", noop_abs);

  static struct config cfg[MAX_CONFIG];
  int ncfg = 0;
  struct config* c;
  /* (a): the caller carries the shim; its children get no preload. */
  new_config(cfg, &ncfg, "no shim", A_PLAIN, truebin);
  c = new_config(cfg, &ncfg, "shim observe, stack 16, json to a file", A_PLAIN, truebin);
  add_env(c->worker_env, shim_preload);
  add_env(c->worker_env, "FORKGUARD_MODE=observe");
  add_env(c->worker_env, "FORKGUARD_FORMAT=json");
  add_env(c->worker_env, fmt("FORKGUARD_LOG=%s", caller_log));
  add_env(c->worker_env, "FORKGUARD_STACK=16");
  /* (b): the caller is plain; every child gets the same settings, only LD_PRELOAD differs. */
  for (int k = B_NONE; k <= B_SHIM; ++k) {
    static const char* const labels[] = {"no preload", "no-op C preload", "forkguard preload (observe)"};
    c = new_config(cfg, &ncfg, labels[k - B_NONE], B_NONE, child_abs);
    add_env(c->child_env, "FORKGUARD_MODE=observe");
    add_env(c->child_env, "FORKGUARD_FORMAT=json");
    add_env(c->child_env, fmt("FORKGUARD_LOG=%s", child_log));
    add_env(c->child_env, "FORKGUARD_STACK=16");
    if (k == B_NOOP) add_env(c->child_env, noop_preload);
    if (k == B_SHIM) add_env(c->child_env, shim_preload);
  }
  const int first_explain = ncfg;
  if (explain) {
    /* Where (a)'s time goes: the shim with less to do, and its side effects without the shim. */
    c = new_config(cfg, &ncfg, "shim loaded, FORKGUARD_MODE=off", A_PLAIN, truebin);
    add_env(c->worker_env, shim_preload);
    add_env(c->worker_env, "FORKGUARD_MODE=off");
    c = new_config(cfg, &ncfg, "shim observe, FORKGUARD_STACK=0", A_PLAIN, truebin);
    add_env(c->worker_env, shim_preload);
    add_env(c->worker_env, "FORKGUARD_MODE=observe");
    add_env(c->worker_env, "FORKGUARD_FORMAT=json");
    add_env(c->worker_env, fmt("FORKGUARD_LOG=%s/caller-nostack.jsonl", dir));
    add_env(c->worker_env, "FORKGUARD_STACK=0");
    c = new_config(cfg, &ncfg, "no shim, one fd held at RLIMIT_NOFILE-128", A_PLAIN, truebin);
    add_arg(c, "--hold-fd");
    add_arg(c, "high");
    c = new_config(cfg, &ncfg, "no shim, libunwind.so.8 dlopen'ed", A_PLAIN, truebin);
    add_arg(c, "--dlopen");
    add_arg(c, "libunwind.so.8");
    c = new_config(cfg, &ncfg, "no shim, one unw_backtrace() done", A_PLAIN, truebin);
    add_arg(c, "--unw-backtrace");
  }
  const int first_also = ncfg;
  for (int v = 0; v < nalso; ++v) {
    char abs_path[4096];
    if (realpath(also[v], abs_path) == NULL) die(also[v]);
    /* Named by the tail of its path (build-x/libforkguard.so names the variant build-x). */
    const char* tail = abs_path + strlen(abs_path);
    for (int slashes = 0; tail > abs_path && slashes < 3; --tail)
      if (tail[-1] == '/' && ++slashes == 3) break;
    char* label = fmt(also_child[v] ? "variant, child: %s" : "variant, caller: %s", tail);
    if (strlen(label) > 44) label[44] = '\0';
    if (also_child[v]) {
      c = new_config(cfg, &ncfg, label, B_NONE, child_abs);
      add_env(c->child_env, "FORKGUARD_MODE=observe");
      add_env(c->child_env, "FORKGUARD_FORMAT=json");
      add_env(c->child_env, fmt("FORKGUARD_LOG=%s", child_log));
      add_env(c->child_env, "FORKGUARD_STACK=16");
      add_env(c->child_env, fmt("LD_PRELOAD=%s", abs_path));
    } else {
      c = new_config(cfg, &ncfg, label, A_PLAIN, truebin);
      add_env(c->worker_env, fmt("LD_PRELOAD=%s", abs_path));
      add_env(c->worker_env, "FORKGUARD_MODE=observe");
      add_env(c->worker_env, "FORKGUARD_FORMAT=json");
      char* log = fmt("%s/variant-X.jsonl", dir);
      log[strlen(log) - 7] = (char)('0' + v);
      add_env(c->worker_env, fmt("FORKGUARD_LOG=%s", log));
      add_env(c->worker_env, "FORKGUARD_STACK=16");
    }
  }
  for (int k = 0; k < ncfg; ++k) {
    cfg[k].samples = malloc((size_t)total * sizeof(int64_t));
    cfg[k].cpu = malloc((size_t)total * sizeof(int64_t));
    cfg[k].fork_ret = malloc((size_t)total * sizeof(int64_t));
    cfg[k].round_fork_us = malloc((size_t)rounds * sizeof(double));
    cfg[k].round_caller_cpu_us = malloc((size_t)rounds * sizeof(double));
    if (cfg[k].round_caller_cpu_us == NULL) die("malloc");
    if (cfg[k].fork_ret == NULL || cfg[k].round_fork_us == NULL) die("malloc");
    cfg[k].round_medians_us = malloc((size_t)rounds * sizeof(double));
    cfg[k].round_cpu_us = malloc((size_t)rounds * sizeof(double));
    if (cfg[k].samples == NULL || cfg[k].cpu == NULL || cfg[k].round_medians_us == NULL || cfg[k].round_cpu_us == NULL) {
      die("malloc");
    }
  }

  fprintf(stderr, "spawn_bench: %ld rounds x %ld iterations x %d configurations...\n", rounds, per_round, ncfg);
  for (int r = 0; r < rounds; ++r) {
    for (int k = 0; k < ncfg; ++k) {
      const int i = (r + k) % ncfg; /* rotate the order: no configuration always runs first */
      run_worker(self, &cfg[i], per_round, warm, r);
    }
  }
  for (int k = 0; k < ncfg; ++k) {
    cfg[k].st = summarize(cfg[k].samples, cfg[k].nsamples);
    cfg[k].st_cpu = summarize(cfg[k].cpu, cfg[k].nsamples);
    cfg[k].st_fork = summarize(cfg[k].fork_ret, cfg[k].nsamples);
  }

  const double added_a = cfg[A_SHIM].st.median_us - cfg[A_PLAIN].st.median_us;
  const double added_noop = cfg[B_NOOP].st.median_us - cfg[B_NONE].st.median_us;
  const double added_shim = cfg[B_SHIM].st.median_us - cfg[B_NONE].st.median_us;
  const double ratio = added_noop > 0 ? added_shim / added_noop : 0;

  int json = 0;
  const long records = count_lines(caller_log, &json);
  const long expected = rounds * (per_round + warm);
  struct stat sb;
  const int child_log_exists = stat(child_log, &sb) == 0;

  printf("forkguard bench: fork+exec+wait of %s, %ld iterations per config (%ld rounds x %ld, interleaved), "
         "medians\n",
         truebin, total, rounds, per_round);
  /* Per-round paired differences: the cross-check that survives drift between rounds. */
  const struct paired pa = paired_diff(cfg[A_SHIM].round_medians_us, cfg[A_PLAIN].round_medians_us, (int)rounds);
  const struct paired pn = paired_diff(cfg[B_NOOP].round_medians_us, cfg[B_NONE].round_medians_us, (int)rounds);
  const struct paired ps = paired_diff(cfg[B_SHIM].round_medians_us, cfg[B_NONE].round_medians_us, (int)rounds);
  printf("(a) caller side: no shim %.1f us, shim observe+stack+json %.1f us, added %.1f us [per round %+.1f] "
         "(goal: at most +4%% of the base, %.1f us)\n",
         cfg[A_PLAIN].st.median_us, cfg[A_SHIM].st.median_us, added_a, pa.median, 0.04 * cfg[A_PLAIN].st.median_us);
  /* A no-op cost lost in noise makes the pooled ratio meaningless: fall back to the per-round one. */
  const int pooled_ok = added_noop >= 5;
  const double ratio_used = pooled_ok ? ratio : (pn.median >= 5 ? ps.median / pn.median : -1);
  printf("(b) exec'd child: no preload %.1f us, no-op preload %+.1f us, forkguard %+.1f us, ratio ", cfg[B_NONE].st.median_us,
         added_noop, added_shim);
  if (pooled_ok) {
    printf("%.2f", ratio);
  } else {
    printf("n/a");
  }
  printf(" [per round %+.1f, %+.1f, ratio %.2f] (goal <= 1.5%s)\n", pn.median, ps.median,
         pn.median > 0 ? ps.median / pn.median : 0,
         ratio_used < 0 ? "; the no-op's cost is lost in noise: more rounds (-r)" : "");
  printf("\n%-48s %9s %9s %9s %9s %9s\n", "configuration (us)", "median", "p90", "mean", "CPU med", "fork ret");
  printf("(a) caller, child %s exec'd without preload\n", truebin);
  print_row(&cfg[A_PLAIN]);
  print_row(&cfg[A_SHIM]);
  printf("(b) caller without shim, child %s\n", child_abs);
  for (int k = B_NONE; k <= B_SHIM; ++k) print_row(&cfg[k]);
  if (explain) {
    printf("(a) where the caller's time goes\n");
    for (int k = first_explain; k < first_also; ++k) print_row(&cfg[k]);
  }
  if (nalso > 0) {
    printf("variants (--also-caller: against 'no shim'; --also-child: against 'no preload')\n");
    for (int k = first_also; k < ncfg; ++k) print_row(&cfg[k]);
  }
  printf("added, as the median of per-round median differences [min..max over %ld rounds]\n", rounds);
  printf("    %-44s %26s %26s %26s %26s\n", "", "wall-clock", "CPU (caller + child)", "until fork() returned",
         "caller's CPU");
  for (int k = 0; k < ncfg; ++k) {
    if (k == A_PLAIN || k == B_NONE) continue;
    const struct config* b = &cfg[cfg[k].base];
    const struct paired p = paired_diff(cfg[k].round_medians_us, b->round_medians_us, (int)rounds);
    const struct paired q = paired_diff(cfg[k].round_cpu_us, b->round_cpu_us, (int)rounds);
    const struct paired f = paired_diff(cfg[k].round_fork_us, b->round_fork_us, (int)rounds);
    const struct paired o = paired_diff(cfg[k].round_caller_cpu_us, b->round_caller_cpu_us, (int)rounds);
    char w[64], u[64], x[64], y[64];
    snprintf(w, sizeof w, "%+.1f [%+.1f..%+.1f]", p.median, p.lo, p.hi);
    snprintf(u, sizeof u, "%+.1f [%+.1f..%+.1f]", q.median, q.lo, q.hi);
    snprintf(x, sizeof x, "%+.1f [%+.1f..%+.1f]", f.median, f.lo, f.hi);
    snprintf(y, sizeof y, "%+.1f [%+.1f..%+.1f]", o.median, o.lo, o.hi);
    printf("    %-44s %26s %26s %26s %26s\n", cfg[k].label, w, u, x, y);
  }
  const double cpu_a = cfg[A_SHIM].st_cpu.median_us - cfg[A_PLAIN].st_cpu.median_us;
  const double cpu_noop = cfg[B_NOOP].st_cpu.median_us - cfg[B_NONE].st_cpu.median_us;
  const double cpu_shim = cfg[B_SHIM].st_cpu.median_us - cfg[B_NONE].st_cpu.median_us;
  printf("same figures in CPU time (pooled medians): (a) added %.1f us; (b) no-op %+.1f us, forkguard %+.1f us",
         cpu_a, cpu_noop, cpu_shim);
  if (cpu_noop >= 5) {
    printf(", ratio %.2f\n", cpu_shim / cpu_noop);
  } else {
    printf(", ratio n/a\n");
  }
  /* Issue 13's figures: each round's ratio, then the median and the range over rounds. */
  FILE* tsv = NULL;
  if (figures_path != NULL && (tsv = fopen(figures_path, "w")) == NULL) die(figures_path);
  printf("\nissue 13 figures: median of the per-round ratios [lowest-highest of %ld rounds]\n", rounds);
  {
    const struct paired pw = ratio_by_round(cfg[A_SHIM].round_medians_us, cfg[A_PLAIN].round_medians_us, (int)rounds);
    const struct paired pc = ratio_by_round(cfg[A_SHIM].round_cpu_us, cfg[A_PLAIN].round_cpu_us, (int)rounds);
    char cross[160];
    snprintf(cross, sizeof cross, "(in CPU time, caller + child: %.3f [%.3f-%.3f]; base %.0f us wall)", pc.median,
             pc.lo, pc.hi, cfg[A_PLAIN].st.median_us);
    print_goal(tsv, "parent side: shim observe, stack 16, json file / no shim", pw, 1.04, cross);
    const struct paired cw = added_ratio_by_round(cfg[B_SHIM].round_medians_us, cfg[B_NOOP].round_medians_us,
                                                  cfg[B_NONE].round_medians_us, (int)rounds);
    const struct paired cc = added_ratio_by_round(cfg[B_SHIM].round_cpu_us, cfg[B_NOOP].round_cpu_us,
                                                  cfg[B_NONE].round_cpu_us, (int)rounds);
    snprintf(cross, sizeof cross,
             "(in CPU time: %.3f [%.3f-%.3f]; pooled medians: forkguard %+.1f us, no-op %+.1f us wall)", cc.median,
             cc.lo, cc.hi, added_shim, added_noop);
    print_goal(tsv, "child side: what forkguard adds / what a no-op preload adds", cw, 1.5, cross);
  }
  if (tsv != NULL) fclose(tsv);
  printf("checks: caller records %ld of %ld expected%s; child log %s\n", records, expected,
         records == expected && json ? " (json)" : "  <-- the shim did not record every call as JSON",
         child_log_exists ? "CREATED (the shim did I/O in a child that made no call)" : "not created (no I/O at load)");
  if (keep) {
    printf("records kept in %s\n", dir);
  } else {
    unlink(caller_log);
    unlink(child_log);
    char* other = fmt("%s/caller-nostack.jsonl", dir);
    unlink(other);
    free(other);
    for (int v = 0; v < nalso; ++v) {
      char* log = fmt("%s/variant-X.jsonl", dir);
      log[strlen(log) - 7] = (char)('0' + v);
      unlink(log);
      free(log);
    }
    rmdir(dir);
  }
  return 0;
}

int main(int argc, char** argv) {
  bench_name = "spawn_bench";
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--suite") == 0) return run_suite(argc, argv);
    if (strcmp(argv[i], "--") == 0) break;
  }
  return run_single(argc, argv);
}

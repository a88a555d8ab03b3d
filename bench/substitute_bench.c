/* @file substitute_bench.c
 * @brief Spawn latency of fork + execve + waitpid of /bin/true from parents with 0, 1 and 4 GiB of
 * written memory and, beside it, an untouched reservation larger than RAM + swap (as a JVM heap or
 * a big cache would keep), so that overcommit mode 0 refuses their full fork: the shim's slim fork
 * (which leaves the never-written reservation out and copies the written part like a plain fork),
 * the shim's vfork substitute and posix_spawn, against a plain fork of the same process WITHOUT the
 * reservation (the fork the slim fork should cost no more than). Prints figures; asserts nothing.
 *
 * The suite (what `cmake --build <dir> --target bench-substitutes` runs):
 *   substitute_bench --shim libforkguard.so [--true /bin/true] [-n N] [-r R] [-w W]
 *                    [--budget SECONDS] [--sizes MIB,MIB,...] [--thp] [--keep]
 *     Defaults: N = 200 timed iterations per configuration and size, R = 4 rounds, W = 3 warm-up
 *     iterations per worker, a budget of 8 s per configuration and size (a fork at 4 GiB written
 *     takes about 0.1 s an iteration: it stops early, with at least 5 iterations a worker), sizes
 *     0,1024,4096 MiB.
 *     Every (size, configuration) runs in a fresh worker (this program, --worker), R rounds,
 *     the configurations rotated within each round so that drift on a noisy machine hits all of
 *     them alike. The worker maps a private anonymous region of `size` and writes every page of
 *     it once; all but `plain` also reserve RAM + swap + 1 GiB, never touched (mapped at half of
 *     RAM + swap and grown in place with mremap: mode 0 checks each request alone). Then it times
 *     its spawns; the child is execve'd with PATH alone (no LD_PRELOAD), so only the caller differs.
 *       plain        no preload, no reservation; fork()
 *       slim         reservation; LD_PRELOAD=shim FORKGUARD_MODE=mitigate FORKGUARD_VFORK_SITES=none
 *                    FORKGUARD_STACK=0 FORKGUARD_LOG=/dev/null (default trigger: the kernel is
 *                    predicted to refuse; in mode 1, FORKGUARD_TRIGGER=always); fork()
 *       vfork        the same with FORKGUARD_VFORK_SITES=all FORKGUARD_SLIM_MIN=1024G (no mapping
 *                    is that large, so no slim fork can help); fork()
 *       posix_spawn  reservation, no preload; posix_spawn()
 *       slim+log, vfork+log   as slim and vfork, with FORKGUARD_STACK=16 FORKGUARD_FORMAT=json and
 *                    a log file: the cost with records on, and the proof of the path taken (the
 *                    "action" of every record is counted).
 *     The written region is madvise(MADV_NOHUGEPAGE)d unless --thp: with transparent huge pages,
 *     fork copies one entry per 2 MiB instead of 512 and copy-on-write faults copy 2 MiB each.
 *     Besides pooled medians it prints ratios paired by round (the median over rounds of the two
 *     workers' medians of that round, with the lowest and highest), which drift moves less.
 *     After its timed spawns each worker makes one more spawn and then times a write to every
 *     written page: the parent's copy-on-write bill for that spawn (write-protect faults after a
 *     plain or a slim fork, which both copy the written part; nothing after the others), printed
 *     beside the same write pass made before any spawn.
 *     Overcommit mode 2 cannot hold the reservation at all: there the workers reserve nothing and
 *     the slim fork runs with FORKGUARD_TRIGGER=always (it then has nothing large to leave out).
 *
 * One worker (internal):
 *   substitute_bench --worker METHOD SIZE_MIB RESERVE_MIB N BUDGET_MS WARM THP PROGRAM
 *     writes to stdout int64: n, n wall-clock samples (ns), the write pass after one spawn (ns),
 *     the write pass before any spawn (ns), one read of /proc/self/smaps (ns, best of 3).
 */
#define _GNU_SOURCE
#include "bench_util.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

#define MAX_ENV 16
#define MAX_SIZES 8
#define MAX_ROUNDS 64

static void usage_error(const char* msg) {
  fprintf(stderr,
          "substitute_bench: %s\n"
          "usage: substitute_bench --shim LIB [--true PROGRAM] [-n N] [-r R] [-w W] [--budget SECONDS]\n"
          "                        [--sizes MIB,MIB,...] [--thp] [--keep]\n",
          msg);
  exit(2);
}

/* ---- the worker ------------------------------------------------------------------------- */

enum method { M_PLAIN, M_SLIM, M_VFORK, M_SPAWN, M_SLIM_LOG, M_VFORK_LOG, NMETHOD };
static const char* const method_names[NMETHOD] = {"plain", "slim", "vfork", "posix_spawn", "slim+log", "vfork+log"};

static int method_by_name(const char* s) {
  for (int m = 0; m < NMETHOD; ++m)
    if (strcmp(s, method_names[m]) == 0) return m;
  usage_error("unknown worker method");
  return -1;
}

/* One fork (or posix_spawn) + execve + waitpid; returns its wall-clock duration in ns. */
static int64_t spawn_once(int use_spawn, const char* program, char* const envp[]) {
  char* const argv[] = {(char*)program, NULL};
  const int64_t t0 = now_ns();
  pid_t pid;
  if (use_spawn) {
    const int rc = posix_spawn(&pid, program, NULL, NULL, argv, envp);
    if (rc != 0) {
      errno = rc;
      die("posix_spawn");
    }
  } else {
    pid = fork();
    if (pid == 0) {
      execve(program, argv, envp);
      _exit(127);
    }
    if (pid < 0) die("fork");
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) die("waitpid");
  }
  const int64_t t1 = now_ns();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "substitute_bench: %s did not exit 0 (status 0x%x)\n", program, status);
    exit(2);
  }
  return t1 - t0;
}

/* Writes one byte in every page of [p, p + len); returns how long that took. */
static int64_t write_pass(volatile char* p, size_t len, char value) {
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  const int64_t t0 = now_ns();
  for (size_t off = 0; off < len; off += page) p[off] = value;
  return now_ns() - t0;
}

/* The fastest of three whole reads of /proc/self/smaps, which the kernel produces by walking the
   page tables of every mapping: the substitutes' plan reads it on every call. */
static int64_t smaps_read_ns(void) {
  static char buf[1 << 16];
  int64_t best = INT64_MAX;
  for (int k = 0; k < 3; ++k) {
    const int64_t t0 = now_ns();
    const int fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("/proc/self/smaps");
    while (read(fd, buf, sizeof buf) > 0) {
    }
    close(fd);
    const int64_t t = now_ns() - t0;
    if (t < best) best = t;
  }
  return best;
}

/* An untouched private writable mapping of at least `mib` MiB, grown in place with mremap in
   steps of `step_mib` (below RAM + swap): overcommit mode 0 checks each request on its own, so one
   mapping may end up larger than RAM + swap, and then the kernel refuses to fork its process. */
static void* reserve(size_t mib, size_t step_mib) {
  size_t len = step_mib << 20;
  void* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap of the reservation");
  while (len < (mib << 20)) {
    const size_t next = len + (step_mib << 20);
    void* q = mremap(p, len, next, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) die("mremap of the reservation");
    p = q;
    len = next;
  }
  return p;
}

static int run_worker(int argc, char** argv) {
  /* --worker METHOD SIZE_MIB RESERVE_MIB N BUDGET_MS WARM THP PROGRAM */
  if (argc != 10) usage_error("--worker wants METHOD SIZE_MIB RESERVE_MIB N BUDGET_MS WARM THP PROGRAM");
  const int method = method_by_name(argv[2]);
  const size_t size = (size_t)parse_count(argv[3], "SIZE_MIB") << 20;
  const size_t reserve_mib = (size_t)parse_count(argv[4], "RESERVE_MIB");
  const long n = parse_count(argv[5], "N");
  const int64_t budget_ns = (int64_t)parse_count(argv[6], "BUDGET_MS") * 1000000;
  const long warm = parse_count(argv[7], "WARM");
  const int thp = parse_count(argv[8], "THP") != 0;
  const char* program = argv[9];
  if (n < 1) usage_error("N must be at least 1");
  const int use_spawn = method == M_SPAWN;

  /* The written data: every page written once before any timing. */
  char* mem = NULL;
  if (size > 0) {
    mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) die("mmap");
    if (!thp && madvise(mem, size, MADV_NOHUGEPAGE) != 0) die("madvise(MADV_NOHUGEPAGE)");
    memset(mem, 1, size);
  }
  /* The reservation, never touched (none for the plain fork: it would be refused). */
  void* res = reserve_mib > 0 ? reserve(reserve_mib, reserve_mib / 2 + 1) : NULL;
  const int64_t rewrite_before = write_pass(mem, size, 2); /* no spawn yet: no fault at all */
  const int64_t smaps = smaps_read_ns();

  char* envp[] = {(char*)"PATH=/usr/bin:/bin", NULL};
  int64_t* out = malloc(((size_t)n + 4) * sizeof *out);
  if (out == NULL) die("malloc");
  for (long i = 0; i < warm; ++i) (void)spawn_once(use_spawn, program, envp);
  const int64_t start = now_ns();
  long done = 0;
  while (done < n) {
    out[1 + done] = spawn_once(use_spawn, program, envp);
    ++done;
    if (done >= 5 && now_ns() - start > budget_ns) break;
  }
  /* The parent's copy-on-write bill for one spawn: write every written page after it. */
  (void)spawn_once(use_spawn, program, envp);
  const int64_t rewrite_after = write_pass(mem, size, 3);
  out[0] = done;
  out[1 + done] = rewrite_after;
  out[2 + done] = rewrite_before;
  out[3 + done] = smaps;
  write_all(STDOUT_FILENO, out, ((size_t)done + 4) * sizeof *out);
  free(out);
  if (mem != NULL) munmap(mem, size);
  if (res != NULL) munmap(res, reserve_mib << 20);
  return 0;
}

/* A /proc/meminfo field in kB, or -1. */
static long long meminfo_kb(const char* key) {
  FILE* f = fopen("/proc/meminfo", "re");
  if (f == NULL) return -1;
  char line[256];
  long long v = -1;
  const size_t klen = strlen(key);
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ':') v = strtoll(line + klen + 1, NULL, 10);
  }
  fclose(f);
  return v;
}

static int overcommit_mode(void) {
  FILE* f = fopen("/proc/sys/vm/overcommit_memory", "re");
  int mode = -1;
  if (f != NULL) {
    if (fscanf(f, "%d", &mode) != 1) mode = -1;
    fclose(f);
  }
  return mode;
}

/* ---- the suite -------------------------------------------------------------------------- */

struct config {
  int method;
  int size_idx;
  char* env[MAX_ENV + 1];
  char* log_path; /* the record file of the +log configurations, else NULL */
  int64_t* samples;
  size_t nsamples, cap;
  int64_t rewrite_after, rewrite_before; /* the last worker's write passes */
  int64_t smaps_ns;                      /* the last worker's read of /proc/self/smaps */
  double median_us, p90_us;
  double round_med_us[MAX_ROUNDS]; /* each round's worker median: paired with posix_spawn's of that round */
  int nrounds;
};

static void add_env(char** env, char* entry) {
  int i = 0;
  while (env[i] != NULL) ++i;
  if (i == MAX_ENV) usage_error("environment too large");
  env[i] = entry;
  env[i + 1] = NULL;
}

static char* fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
static char* fmt(const char* f, ...) {
  char* out = NULL;
  va_list ap;
  va_start(ap, f);
  const int rc = vasprintf(&out, f, ap);
  va_end(ap);
  if (rc < 0) die("vasprintf");
  return out;
}

static void summarize(struct config* c) {
  if (c->nsamples == 0) return;
  int64_t* s = c->samples;
  const size_t n = c->nsamples;
  qsort(s, n, sizeof *s, cmp_i64);
  c->median_us = (n % 2 != 0 ? (double)s[n / 2] : ((double)s[n / 2 - 1] + (double)s[n / 2]) / 2) / 1000.0;
  c->p90_us = (double)s[(size_t)((double)(n - 1) * 0.9 + 0.5)] / 1000.0;
}

static void read_all(int fd, void* buf, size_t len, const char* what) {
  size_t got = 0;
  while (got < len) {
    const ssize_t r = read(fd, (char*)buf + got, len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      fprintf(stderr, "substitute_bench: worker for %s: short read (%zu of %zu bytes)\n", what, got, len);
      exit(2);
    }
    got += (size_t)r;
  }
}

static void run_one(const char* self, struct config* c, long size_mib, long reserve_mib, long iters, long budget_ms,
                    long warm, int thp, const char* program) {
  char a_size[32], a_res[32], a_n[32], a_budget[32], a_warm[32];
  snprintf(a_size, sizeof a_size, "%ld", size_mib);
  snprintf(a_res, sizeof a_res, "%ld", c->method == M_PLAIN ? 0 : reserve_mib);
  snprintf(a_n, sizeof a_n, "%ld", iters);
  snprintf(a_budget, sizeof a_budget, "%ld", budget_ms);
  snprintf(a_warm, sizeof a_warm, "%ld", warm);
  char* argv[] = {(char*)"substitute_bench", (char*)"--worker", (char*)method_names[c->method], a_size, a_res, a_n,
                  a_budget, a_warm, (char*)(thp ? "1" : "0"), (char*)program, NULL};
  char label[64];
  snprintf(label, sizeof label, "%s at %ld MiB", method_names[c->method], size_mib);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) die("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  pid_t pid;
  const int rc = posix_spawn(&pid, self, &fa, NULL, argv, c->env);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    errno = rc;
    die("posix_spawn of a worker");
  }
  close(fds[1]);
  int64_t n = 0;
  read_all(fds[0], &n, sizeof n, label);
  if (n < 1 || n > iters) {
    fprintf(stderr, "substitute_bench: worker for %s sent %lld samples\n", label, (long long)n);
    exit(2);
  }
  if (c->nsamples + (size_t)n > c->cap) {
    c->cap = (c->nsamples + (size_t)n) * 2;
    c->samples = realloc(c->samples, c->cap * sizeof *c->samples);
    if (c->samples == NULL) die("realloc");
  }
  read_all(fds[0], c->samples + c->nsamples, (size_t)n * sizeof(int64_t), label);
  {
    int64_t* mine = malloc((size_t)n * sizeof *mine);
    if (mine == NULL) die("malloc");
    memcpy(mine, c->samples + c->nsamples, (size_t)n * sizeof *mine);
    qsort(mine, (size_t)n, sizeof *mine, cmp_i64);
    if (c->nrounds < MAX_ROUNDS) c->round_med_us[c->nrounds++] = (double)mine[n / 2] / 1000.0;
    free(mine);
  }
  c->nsamples += (size_t)n;
  int64_t tail[3];
  read_all(fds[0], tail, sizeof tail, label);
  c->rewrite_after = tail[0];
  c->rewrite_before = tail[1];
  c->smaps_ns = tail[2];
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) die("waitpid of a worker");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "substitute_bench: worker for %s failed (status 0x%x)\n", label, status);
    exit(2);
  }
}

/* Counts the records of a log file, and those whose action is `action`. */
static void count_actions(const char* path, const char* action, long* records, long* matching) {
  *records = 0;
  *matching = 0;
  FILE* f = fopen(path, "r");
  if (f == NULL) return;
  char* want = fmt("\"action\":\"%s\"", action);
  char* line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    ++*records;
    if (strstr(line, want) != NULL) ++*matching;
  }
  free(line);
  free(want);
  fclose(f);
}

static void size_label(char* out, size_t cap, long mib) {
  if (mib % 1024 == 0) {
    snprintf(out, cap, "%ld GiB", mib / 1024);
  } else {
    snprintf(out, cap, "%ld MiB", mib);
  }
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0; }

static int cmp_double(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

/* The median over rounds of (c's round median / posix_spawn's round median), with its range: a
   busy machine moves both alike within a round, so the ratio holds up better than pooled medians. */
static double paired_ratio(const struct config* c, const struct config* spawn, double* lo, double* hi) {
  double q[MAX_ROUNDS];
  int n = 0;
  for (int r = 0; r < c->nrounds && r < spawn->nrounds; ++r) q[n++] = ratio(c->round_med_us[r], spawn->round_med_us[r]);
  if (n == 0) return *lo = *hi = 0;
  qsort(q, (size_t)n, sizeof *q, cmp_double);
  *lo = q[0];
  *hi = q[n - 1];
  return n % 2 != 0 ? q[n / 2] : (q[n / 2 - 1] + q[n / 2]) / 2;
}

int main(int argc, char** argv) {
  bench_name = "substitute_bench";
  if (argc > 1 && strcmp(argv[1], "--worker") == 0) return run_worker(argc, argv);

  long total = 200, rounds = 4, warm = 3, budget_s = 8;
  long sizes[MAX_SIZES] = {0, 1024, 4096};
  int nsizes = 3, thp = 0, keep = 0;
  const char *shim = NULL, *truebin = "/bin/true";
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const int has = i + 1 < argc;
    if (strcmp(a, "-n") == 0 && has) {
      total = parse_count(argv[++i], "-n");
    } else if (strcmp(a, "-r") == 0 && has) {
      rounds = parse_count(argv[++i], "-r");
    } else if (strcmp(a, "-w") == 0 && has) {
      warm = parse_count(argv[++i], "-w");
    } else if (strcmp(a, "--budget") == 0 && has) {
      budget_s = parse_count(argv[++i], "--budget");
    } else if (strcmp(a, "--shim") == 0 && has) {
      shim = argv[++i];
    } else if (strcmp(a, "--true") == 0 && has) {
      truebin = argv[++i];
    } else if (strcmp(a, "--thp") == 0) {
      thp = 1;
    } else if (strcmp(a, "--keep") == 0) {
      keep = 1;
    } else if (strcmp(a, "--sizes") == 0 && has) {
      nsizes = 0;
      char* list = strdup(argv[++i]);
      for (char* tok = strtok(list, ","); tok != NULL; tok = strtok(NULL, ",")) {
        if (nsizes == MAX_SIZES) usage_error("too many sizes");
        sizes[nsizes++] = parse_count(tok, "--sizes");
      }
      free(list);
      if (nsizes == 0) usage_error("--sizes wants MiB,MiB,...");
    } else {
      usage_error("unknown option");
    }
  }
  if (shim == NULL) usage_error("--shim is required");
  if (rounds < 1 || total < rounds) usage_error("need rounds >= 1 and N >= rounds");
  if (rounds > MAX_ROUNDS) usage_error("at most 64 rounds");
  char shim_abs[4096], self[4096], true_abs[4096];
  if (realpath(shim, shim_abs) == NULL) die(shim);
  if (realpath(truebin, true_abs) == NULL) die(truebin);
  const ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
  if (sl <= 0) die("/proc/self/exe");
  self[sl] = '\0';
  const long per_round = total / rounds;
  const long budget_ms = budget_s * 1000 / rounds;

  /* The reservation: RAM + swap + 1 GiB, so that mode 0 refuses the full fork (mode 2 would
     refuse the reservation itself: none there; mode 1 never refuses a fork: the slim fork is
     then made on every call). */
  const int mode = overcommit_mode();
  const long long ram_kb = meminfo_kb("MemTotal"), swap_kb = meminfo_kb("SwapTotal");
  if (ram_kb <= 0 || swap_kb < 0) usage_error("/proc/meminfo is unreadable");
  const long reserve_mib = mode == 0 || mode == 1 ? (long)((ram_kb + swap_kb) / 1024) + 1024 : 0;
  const int always = mode != 0;
  if (mode != 0)
    fprintf(stderr, "substitute_bench: overcommit mode %d: %s; the slim fork runs with FORKGUARD_TRIGGER=always\n", mode,
            mode == 1 ? "no fork is refused" : "no reservation is possible");

  char dir[] = "/tmp/forkguard-subst-bench.XXXXXX";
  if (mkdtemp(dir) == NULL) die("mkdtemp");
  char* preload = fmt("LD_PRELOAD=%s", shim_abs);

  static struct config cfg[MAX_SIZES][NMETHOD];
  for (int s = 0; s < nsizes; ++s) {
    for (int m = 0; m < NMETHOD; ++m) {
      struct config* c = &cfg[s][m];
      c->method = m;
      c->size_idx = s;
      add_env(c->env, (char*)"PATH=/usr/bin:/bin");
      if (m == M_PLAIN || m == M_SPAWN) continue;
      add_env(c->env, preload);
      add_env(c->env, (char*)"FORKGUARD_MODE=mitigate");
      if (always) add_env(c->env, (char*)"FORKGUARD_TRIGGER=always");
      if (m == M_SLIM || m == M_SLIM_LOG) {
        add_env(c->env, (char*)"FORKGUARD_VFORK_SITES=none");
      } else {
        add_env(c->env, (char*)"FORKGUARD_VFORK_SITES=all");
        add_env(c->env, (char*)"FORKGUARD_SLIM_MIN=1024G"); /* larger than any mapping: no slim fork */
      }
      if (m == M_SLIM_LOG || m == M_VFORK_LOG) {
        c->log_path = fmt("%s/%s-%ld.jsonl", dir, m == M_SLIM_LOG ? "slim" : "vfork", sizes[s]);
        add_env(c->env, fmt("FORKGUARD_LOG=%s", c->log_path));
        add_env(c->env, (char*)"FORKGUARD_FORMAT=json");
        add_env(c->env, (char*)"FORKGUARD_STACK=16");
      } else {
        add_env(c->env, (char*)"FORKGUARD_LOG=/dev/null");
        add_env(c->env, (char*)"FORKGUARD_FORMAT=json");
        add_env(c->env, (char*)"FORKGUARD_STACK=0");
      }
    }
  }

  fprintf(stderr,
          "substitute_bench: %d sizes x %d configurations x %ld rounds of up to %ld iterations "
          "(budget %ld s per configuration and size)%s...\n",
          nsizes, NMETHOD, rounds, per_round, budget_s, thp ? ", transparent huge pages left to the system" : "");
  for (int r = 0; r < rounds; ++r) {
    for (int s = 0; s < nsizes; ++s) {
      for (int k = 0; k < NMETHOD; ++k) {
        const int m = (r + k) % NMETHOD; /* rotate: no configuration always runs first */
        run_one(self, &cfg[s][m], sizes[s], reserve_mib, per_round, budget_ms, warm, thp, true_abs);
      }
    }
  }
  for (int s = 0; s < nsizes; ++s)
    for (int m = 0; m < NMETHOD; ++m) summarize(&cfg[s][m]);

  char res_lab[32];
  size_label(res_lab, sizeof res_lab, reserve_mib);
  printf("forkguard substitutes: fork+execve+waitpid of %s from a parent with N written (one private anonymous "
         "mapping, %s) and, but for the plain fork, an untouched reservation of %s (RAM + swap + 1 GiB; "
         "overcommit mode %d), medians in µs, iterations in brackets\n\n",
         true_abs, thp ? "huge pages as the system decides" : "4 KiB pages: MADV_NOHUGEPAGE", res_lab, mode);
  printf("| written | plain fork, no reservation | slim fork | vfork substitute | posix_spawn |\n");
  printf("|---|---|---|---|---|\n");
  for (int s = 0; s < nsizes; ++s) {
    const struct config* c = cfg[s];
    char lab[32];
    size_label(lab, sizeof lab, sizes[s]);
    printf("| %s | %.0f (%zu) | %.0f (%zu) | %.0f (%zu) | %.0f (%zu) |\n", lab, c[M_PLAIN].median_us, c[M_PLAIN].nsamples,
           c[M_SLIM].median_us, c[M_SLIM].nsamples, c[M_VFORK].median_us, c[M_VFORK].nsamples, c[M_SPAWN].median_us,
           c[M_SPAWN].nsamples);
  }
  printf("\nratios paired by round (median over %ld rounds [lowest-highest]; a round runs every configuration "
         "once, in rotated order, so drift on a busy machine moves them alike):\n\n",
         rounds);
  printf("| written | slim / plain | slim / posix_spawn | vfork / posix_spawn | plain / posix_spawn |\n|---|---|---|---|---|\n");
  const double target_slim = 1.10, target_vfork = 1.15;
  int slim_met = 1, vfork_met = 1;
  for (int s = 0; s < nsizes; ++s) {
    char lab[32];
    size_label(lab, sizeof lab, sizes[s]);
    printf("| %s |", lab);
    const int num[] = {M_SLIM, M_SLIM, M_VFORK, M_PLAIN};
    const int den[] = {M_PLAIN, M_SPAWN, M_SPAWN, M_SPAWN};
    for (int k = 0; k < 4; ++k) {
      double lo = 0, hi = 0;
      const double q = paired_ratio(&cfg[s][num[k]], &cfg[s][den[k]], &lo, &hi);
      if (k == 0 && q > target_slim) slim_met = 0;
      if (k == 2 && q > target_vfork) vfork_met = 0;
      printf(" %.2f [%.2f-%.2f] |", q, lo, hi);
    }
    printf("\n");
  }
  printf("\ntargets: the slim fork (never-written memory left out) within %.2fx of a plain fork of the same process "
         "without the reservation: %s; the vfork substitute within %.2fx of posix_spawn: %s\n",
         target_slim, slim_met ? "met" : "MISSED", target_vfork, vfork_met ? "met" : "MISSED");

  printf("\nwith records on (FORKGUARD_STACK=16, json to a file), and the action of every record:\n\n");
  printf("| written | slim fork | records: action slim_fork | vfork substitute | records: action vfork |\n");
  printf("|---|---|---|---|---|\n");
  int paths_ok = 1;
  for (int s = 0; s < nsizes; ++s) {
    const struct config* c = cfg[s];
    char lab[32];
    size_label(lab, sizeof lab, sizes[s]);
    long rs, ms, rv, mv;
    count_actions(c[M_SLIM_LOG].log_path, "slim_fork", &rs, &ms);
    count_actions(c[M_VFORK_LOG].log_path, "vfork", &rv, &mv);
    /* Every worker: warm-up + timed + the one spawn before the write pass. */
    const long want_s = (long)c[M_SLIM_LOG].nsamples + rounds * (warm + 1);
    const long want_v = (long)c[M_VFORK_LOG].nsamples + rounds * (warm + 1);
    if (rs != want_s || ms != rs || rv != want_v || mv != rv) paths_ok = 0;
    printf("| %s | %.0f | %ld of %ld records (%ld calls) | %.0f | %ld of %ld records (%ld calls) |\n", lab,
           c[M_SLIM_LOG].median_us, ms, rs, want_s, c[M_VFORK_LOG].median_us, mv, rv, want_v);
  }
  printf("paths: %s\n", paths_ok ? "every call took the path its column names"
                                 : "SOME CALL TOOK ANOTHER PATH (or went unrecorded): see the counts above");

  printf("\nthe parent's next write to every written page, after one spawn (ms; copy-on-write faults: the plain and "
         "the slim fork both share the written part with their child), against the same write with no spawn before "
         "it:\n\n");
  printf("| written | no spawn | plain fork | slim fork | vfork substitute | posix_spawn |\n");
  printf("|---|---|---|---|---|---|\n");
  for (int s = 0; s < nsizes; ++s) {
    const struct config* c = cfg[s];
    char lab[32];
    size_label(lab, sizeof lab, sizes[s]);
    printf("| %s | %.1f | %.1f | %.1f | %.1f | %.1f |\n", lab, c[M_PLAIN].rewrite_before / 1e6,
           c[M_PLAIN].rewrite_after / 1e6, c[M_SLIM].rewrite_after / 1e6, c[M_VFORK].rewrite_after / 1e6,
           c[M_SPAWN].rewrite_after / 1e6);
  }
  printf("\none read of /proc/self/smaps in the parent (µs, best of 3; what making the slim fork's layout anew costs: "
         "it is reused while the layout is unchanged):");
  for (int s = 0; s < nsizes; ++s) {
    char lab[32];
    size_label(lab, sizeof lab, sizes[s]);
    printf("%s %s %.0f", s == 0 ? "" : ",", lab, cfg[s][M_PLAIN].smaps_ns / 1e3);
  }
  printf("\n");
  if (keep) {
    printf("\nrecords kept in %s\n", dir);
  } else {
    for (int s = 0; s < nsizes; ++s) {
      unlink(cfg[s][M_SLIM_LOG].log_path);
      unlink(cfg[s][M_VFORK_LOG].log_path);
    }
    rmdir(dir);
  }
  return 0;
}

/* @file reservation_mode2.c
 * @brief Issue #11's program shape on a strict-accounting kernel (vm.overcommit_memory=2): an
 * untouched reservation and written data that fit the commit limit once but not twice, so the
 * kernel refuses the fork. Runs helpers (fork+execl, system, popen) and forks workers that read
 * the data and read the never-written reservation (zeros). Under the slim fork the reservation
 * is left out of the child (uncharged) and comes back as read-only zeros.
 *
 * Usage: fg_vm_reservation [roomy|big|write|written]
 *   big      (default) reservation 5/8 and data 1/8 of the commit headroom at start;
 *   roomy    8 MiB of each: every fork fits. The reference output;
 *   write    as big, then a worker writes into the reservation: in mode 2 the child has it
 *            read-only (writable zeros would be charged), so it dies by SIGSEGV after its fault
 *            record (prints "worker writing the reservation: killed by signal 11");
 *   written  data 5/8 and reservation 1/8: leaving out never-written memory is not enough, the
 *            slim fork must leave out written data too (largest first, as much as needed); the
 *            helpers still run, a worker reading the data dies after its fault record.
 * stdout carries only what the program and its helpers print; the sizes go to stderr.
 * Exit status: 0 when every helper and worker did what it should, 1 otherwise, 2 on setup failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

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

static int wait_child(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char* map(size_t len) {
  char* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    fprintf(stderr, "reservation: cannot map %zu KiB: %s\n", len >> 10, strerror(errno));
    exit(2);
  }
  return p;
}

static unsigned checksum(const unsigned char* p, size_t len) {
  unsigned sum = 0;
  for (size_t i = 0; i < len; i += 4096) sum = sum * 31 + p[i] + p[i + 17];
  return sum;
}

/* A worker (fork, no exec): 0 when `check` holds in the child, its exit status/signal otherwise. */
static int worker(int (*check)(void)) {
  const pid_t pid = fork();
  if (pid < 0) return -errno;
  if (pid == 0) _exit(check());
  return wait_child(pid);
}

static unsigned char *g_data, *g_res;
static size_t g_data_len, g_res_len;
static unsigned g_sum;

static int reads_data(void) { return checksum(g_data, g_data_len) == g_sum ? 0 : 3; }
static int reads_zeros(void) {
  for (size_t off = 0; off < g_res_len; off += g_res_len / 8) {
    if (g_res[off] != 0) return 3;
  }
  return g_res[g_res_len - 1] == 0 ? 0 : 3;
}
static int writes_reservation(void) {
  g_res[4096] = 1;
  return 0;
}

static void report(const char* what, int rc) {
  if (rc < 0) {
    printf("reservation: %s: fork() failed: %s\n", what, strerror(-rc));
  } else if (rc > 128) {
    printf("reservation: %s: killed by signal %d\n", what, rc - 128);
  } else {
    printf("reservation: %s: %s\n", what, rc == 0 ? "ok" : "FAILED");
  }
  fflush(stdout);
}

int main(int argc, char** argv) {
  const char* how = argc > 1 ? argv[1] : "big";
  const long long limit = meminfo_kb("CommitLimit"), committed = meminfo_kb("Committed_AS");
  if (limit <= 0 || committed < 0) {
    fprintf(stderr, "reservation: /proc/meminfo unreadable\n");
    return 2;
  }
  const size_t headroom = (size_t)(limit - committed) * 1024;
  if (strcmp(how, "roomy") == 0) {
    g_data_len = g_res_len = (size_t)8 << 20;
  } else if (strcmp(how, "written") == 0) {
    g_data_len = headroom / 8 * 5;
    g_res_len = headroom / 8;
  } else {
    g_data_len = headroom / 8;
    g_res_len = headroom / 8 * 5;
  }
  g_data_len &= ~(size_t)4095;
  g_res_len &= ~(size_t)4095;
  g_data = (unsigned char*)map(g_data_len);
  g_res = (unsigned char*)map(g_res_len);
  for (size_t i = 0; i < g_data_len; i += 64) g_data[i] = (unsigned char)(i / 4096 + i);
  g_sum = checksum(g_data, g_data_len);
  fprintf(stderr, "reservation: %s: data %zu KiB written, reservation %zu KiB untouched (headroom was %zu KiB)\n", how,
          g_data_len >> 10, g_res_len >> 10, headroom >> 10);

  int failures = 0;
  pid_t pid = fork();
  if (pid < 0) {
    printf("reservation: fork() failed: %s\n", strerror(errno));
    ++failures;
  } else if (pid == 0) {
    execl("/bin/sh", "sh", "-c", "echo fork+exec helper: hello", (char*)NULL);
    _exit(127);
  } else {
    const int st = wait_child(pid);
    printf("reservation: fork+exec helper exited %d\n", st);
    failures += st != 0;
  }
  fflush(stdout);
  const int rc = system("echo system helper: hello");
  printf("reservation: system() returned %d\n", rc == -1 ? -1 : (WIFEXITED(rc) ? WEXITSTATUS(rc) : 128));
  failures += rc != 0;
  fflush(stdout);
  FILE* p = popen("echo popen helper: hello", "r");
  if (p == NULL) {
    printf("reservation: popen() failed: %s\n", strerror(errno));
    ++failures;
  } else {
    char line[128];
    while (fgets(line, sizeof line, p) != NULL) printf("reservation: read from popen: %s", line);
    failures += pclose(p) != 0;
  }
  fflush(stdout);

  int r = worker(reads_data);
  report("worker reading the data", r);
  if (strcmp(how, "written") == 0) {
    failures += r != 128 + 11;  // the data was left out of that child: a fault, with its record
  } else {
    failures += r != 0;
  }
  r = worker(reads_zeros);
  report("worker reading the never-written reservation", r);
  failures += r != 0;
  if (strcmp(how, "write") == 0) {
    r = worker(writes_reservation);
    report("worker writing the reservation", r);
    failures += r != 128 + 11;  // read-only zeros in mode 2: a fault, with its record
  }
  g_data[g_data_len - 1] = 2; /* the parent's memory is still its own */
  g_res[g_res_len - 1] = 2;
  printf("reservation: done, %d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}

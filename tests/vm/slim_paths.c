/* @file slim_paths.c
 * @brief The never-written scan's two paths this host cannot show (it runs without the zero page
 * and without swap), in a guest that has both: Debian 12's Linux 6.12 with a swap file.
 *   zero page  A 64 MiB mapping written in its first page and only READ elsewhere: the kernel
 *              maps the zero page for the reads, PAGEMAP_SCAN reports PAGE_IS_PFNZERO, and the
 *              slim fork leaves those pages out as never written: the child has zeros there,
 *              in a mapping of its own (MAP_NORESERVE: "nr" in its VmFlags), and the written
 *              first page with its data.
 *   swap       A 64 MiB mapping written all over, then paged out (MADV_PAGEOUT): nothing
 *              resident (smaps Rss 0), all of it in swap. Written memory: it stays in the child,
 *              which reads the data back from swap, never zeros.
 *   mixed      64 MiB written at both ends and paged out, never written in between: the middle
 *              goes (zeros), the swapped ends stay (data).
 * Run it with FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always FORKGUARD_SLIM_MIN=8M under the
 * shim. Without the shim it prints "kept" for every mapping (a plain fork keeps everything).
 * One line per check; exit 0 when every child read what it should, 1 otherwise, 2 on setup failure
 * (no swap in use after MADV_PAGEOUT: the swap path would not be shown).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

struct page_region {
  uint64_t start, end, categories;
};
struct pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
      category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)

static const size_t kLen = (size_t)64 << 20, kPage = 4096;

static char* map(void) {
  char* p = mmap(NULL, kLen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("paths: mmap");
    exit(2);
  }
  madvise(p, kLen, MADV_NOHUGEPAGE);  // page by page: the zero page, not the huge zero page
  return p;
}

/* The categories PAGEMAP_SCAN reports for the page at `a` (0 when none or unsupported). */
static uint64_t categories(uintptr_t a) {
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  struct page_region r[1];
  struct pm_scan_arg arg;
  memset(&arg, 0, sizeof arg);
  arg.size = sizeof arg;
  arg.start = a;
  arg.end = a + kPage;
  arg.vec = (uintptr_t)r;
  arg.vec_len = 1;
  arg.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
  arg.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO;
  const long n = fd >= 0 ? ioctl(fd, PAGEMAP_SCAN, &arg) : -1;
  if (fd >= 0) close(fd);
  return n == 1 ? r[0].categories : 0;
}

/* smaps of the mapping holding `a`: Rss and Swap (kB), and whether VmFlags has "nr". */
static void smaps_of(uintptr_t a, long* rss, long* swap, int* nr) {
  FILE* f = fopen("/proc/self/smaps", "re");
  char line[512];
  int in = 0;
  *rss = *swap = -1;
  *nr = 0;
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    unsigned long s, e;
    if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strstr(line, " kB") == NULL) {  // a mapping's header
      in = a >= s && a < e;
    } else if (in && strncmp(line, "Rss:", 4) == 0) {
      *rss = atol(line + 4);
    } else if (in && strncmp(line, "Swap:", 5) == 0) {
      *swap = atol(line + 5);
    } else if (in && strncmp(line, "VmFlags:", 8) == 0) {
      *nr = strstr(line, " nr") != NULL;
    }
  }
  if (f != NULL) fclose(f);
}

/* Forks a child that checks `p`: returns its exit status (0 ok) or 128 + signal. What the child
   found is in its exit code: 0 data as expected; 3 wrong data; 4 zeros region not zeros. */
static int in_child(const char* p, const char* expect, size_t off_zero, size_t off_data, int* child_nr) {
  int fds[2];
  if (pipe(fds) != 0) return 2;
  const pid_t pid = fork();
  if (pid < 0) {
    printf("paths: fork failed: %s\n", strerror(errno));
    return 2;
  }
  if (pid == 0) {
    long rss, swap;
    int nr;
    smaps_of((uintptr_t)p + (off_zero != SIZE_MAX ? off_zero : off_data), &rss, &swap, &nr);
    char c = (char)('0' + nr);
    (void)!write(fds[1], &c, 1);
    if (off_data != SIZE_MAX && memcmp(p + off_data, expect, 16) != 0) _exit(3);
    if (off_zero != SIZE_MAX) {
      for (size_t i = 0; i < 16; ++i)
        if (p[off_zero + i] != 0) _exit(4);
    }
    _exit(0);
  }
  close(fds[1]);
  char c = '?';
  if (read(fds[0], &c, 1) != 1) c = '?';
  close(fds[0]);
  *child_nr = c == '1';
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void) {
  static const char pattern[16] = "forkguard-data!";
  int failures = 0;
  int nr;
  long rss, swap;

  /* The zero page. */
  char* z = map();
  memcpy(z, pattern, 16);
  volatile char sink = 0;
  for (size_t off = 4 * 1024 * 1024; off < kLen - 4 * 1024 * 1024; off += kPage) sink += z[off];
  (void)sink;
  const uint64_t cz = categories((uintptr_t)z + 8 * 1024 * 1024);
  printf("paths: zero page: a page only read is %s\n",
         cz == (PAGE_IS_PRESENT | PAGE_IS_PFNZERO) ? "present and PFNZERO" : cz & PAGE_IS_PRESENT ? "present, a real page" : "?");
  int rc = in_child(z, pattern, 8u << 20, 0, &nr);
  printf("paths: zero page: child exit %d, the read pages %s, the written page's data %s\n", rc,
         nr ? "left out and given back as zeros" : "kept", rc == 3 ? "WRONG" : "intact");
  failures += rc != 0;

  /* Swap. */
  char* s = map();
  for (size_t off = 0; off < kLen; off += kPage) memcpy(s + off, pattern, 16);
  if (madvise(s, kLen, MADV_PAGEOUT) != 0) printf("paths: MADV_PAGEOUT: %s\n", strerror(errno));
  smaps_of((uintptr_t)s, &rss, &swap, &nr);
  const uint64_t cs = categories((uintptr_t)s + kLen / 2);
  printf("paths: swap: after MADV_PAGEOUT Rss %ld kB, Swap %ld kB, a page is %s\n", rss, swap,
         cs & PAGE_IS_SWAPPED ? "SWAPPED" : cs & PAGE_IS_PRESENT ? "present" : "?");
  if (swap <= 0) {
    printf("paths: swap: nothing went to swap: the swap path is not shown\n");
    return 2;
  }
  rc = in_child(s, pattern, SIZE_MAX, kLen / 2, &nr);
  printf("paths: swap: child exit %d, the swapped data %s, mapping %s\n", rc, rc == 0 ? "read back" : "WRONG",
         nr ? "left out" : "kept");
  failures += rc != 0 || nr;

  /* Mixed: swapped ends, never-written middle. */
  char* m = map();
  for (size_t off = 0; off < 4u << 20; off += kPage) memcpy(m + off, pattern, 16);
  for (size_t off = kLen - (4u << 20); off < kLen; off += kPage) memcpy(m + off, pattern, 16);
  madvise(m, kLen, MADV_PAGEOUT);
  rc = in_child(m, pattern, 32u << 20, 0, &nr);
  printf("paths: mixed: child exit %d, the middle %s, the swapped start %s\n", rc,
         nr ? "left out and given back as zeros" : "kept", rc == 3 ? "WRONG" : "read back");
  failures += rc != 0;
  int nr_end;
  rc = in_child(m, pattern, SIZE_MAX, kLen - kPage, &nr_end);
  printf("paths: mixed: child exit %d, the swapped end %s\n", rc, rc == 0 && !nr_end ? "read back" : "WRONG");
  failures += rc != 0 || nr_end;
  printf("paths: done, %d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}

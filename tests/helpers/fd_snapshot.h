/* @file fd_snapshot.h
 * @brief A process's descriptor table as the descriptor tests compare it: for each number, the
 * target of /proc/self/fd/N, and the offset and flags of /proc/self/fdinfo/N. Raw system calls
 * and caller-supplied memory only (no malloc, no stdio), so a vfork child may take one too.
 * Header-only (static inline), shared by fd_table.c and fd_exec_check.c.
 */
#ifndef FORKGUARD_TEST_FD_SNAPSHOT_H
#define FORKGUARD_TEST_FD_SNAPSHOT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FG_FD_MAX 96

struct fg_fd {
  int fd;
  char target[200];
  long long pos;
  unsigned flags; /* fdinfo's flags: open flags, and O_CLOEXEC for close-on-exec */
};

struct fg_fdtab {
  int n;
  int overflow;
  struct fg_fd e[FG_FD_MAX];
};

/* The library's high base, by the same rule as src/owned_fd.cpp: RLIMIT_NOFILE's soft limit
 * halved, at most 200. Every descriptor at or above it must be the library's, close-on-exec. */
static inline int fg_fd_base(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 512) return 200;
  return (int)(rl.rlim_cur / 2);
}

static inline size_t fg_put_str(char* out, size_t at, size_t cap, const char* s) {
  while (*s != '\0' && at + 1 < cap) out[at++] = *s++;
  out[at < cap ? at : cap - 1] = '\0';
  return at;
}

static inline size_t fg_put_int(char* out, size_t at, size_t cap, long long v) {
  char digits[24];
  int n = 0;
  unsigned long long u = v < 0 ? (unsigned long long)(-v) : (unsigned long long)v;
  do {
    digits[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0 && at + 1 < cap) out[at++] = '-';
  while (n > 0 && at + 1 < cap) out[at++] = digits[--n];
  out[at < cap ? at : cap - 1] = '\0';
  return at;
}

/* fdinfo's "pos:" (decimal) and "flags:" (octal) of one descriptor. */
static inline void fg_fd_info(int fd, struct fg_fd* e) {
  char path[64], buf[512];
  size_t at = fg_put_str(path, 0, sizeof path, "/proc/self/fdinfo/");
  fg_put_int(path, at, sizeof path, fd);
  e->pos = -1;
  e->flags = 0;
  int f = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (f < 0) return;
  long n = syscall(SYS_read, f, buf, sizeof buf - 1);
  syscall(SYS_close, f);
  if (n <= 0) return;
  buf[n] = '\0';
  const char* p = strstr(buf, "pos:");
  if (p != NULL) {
    p += 4;
    while (*p == ' ' || *p == '\t') ++p;
    long long v = 0;
    while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
    e->pos = v;
  }
  p = strstr(buf, "flags:");
  if (p != NULL) {
    p += 6;
    while (*p == ' ' || *p == '\t') ++p;
    unsigned v = 0;
    while (*p >= '0' && *p <= '7') v = v * 8 + (unsigned)(*p++ - '0');
    e->flags = v;
  }
}

/* Fills `t` with every open descriptor but the one used to list them, in ascending order.
 * Returns 0, or -1 when /proc/self/fd cannot be read. */
static inline int fg_fd_snapshot(struct fg_fdtab* t) {
  t->n = 0;
  t->overflow = 0;
  int dir = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return -1;
  char buf[4096];
  for (;;) {
    long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      unsigned short reclen;
      memcpy(&reclen, buf + off + 16, sizeof reclen);
      const char* name = buf + off + 19;
      off += reclen;
      if (name[0] < '0' || name[0] > '9') continue;
      int fd = 0;
      for (const char* c = name; *c >= '0' && *c <= '9'; ++c) fd = fd * 10 + (*c - '0');
      if (fd == dir) continue;
      if (t->n >= FG_FD_MAX) {
        t->overflow = 1;
        continue;
      }
      t->e[t->n++].fd = fd;
    }
  }
  syscall(SYS_close, dir);
  for (int i = 1; i < t->n; ++i) { /* insertion sort: a few dozen entries */
    int fd = t->e[i].fd, j = i;
    while (j > 0 && t->e[j - 1].fd > fd) {
      t->e[j].fd = t->e[j - 1].fd;
      --j;
    }
    t->e[j].fd = fd;
  }
  for (int i = 0; i < t->n; ++i) {
    struct fg_fd* e = &t->e[i];
    char link[64];
    size_t at = fg_put_str(link, 0, sizeof link, "/proc/self/fd/");
    fg_put_int(link, at, sizeof link, e->fd);
    long len = syscall(SYS_readlinkat, AT_FDCWD, link, e->target, sizeof e->target - 1);
    e->target[len > 0 ? len : 0] = '\0';
    fg_fd_info(e->fd, e);
  }
  return 0;
}

static inline const struct fg_fd* fg_fd_find(const struct fg_fdtab* t, int fd) {
  for (int i = 0; i < t->n; ++i) {
    if (t->e[i].fd == fd) return &t->e[i];
  }
  return NULL;
}

/* Appends "fd N (target, pos P, flags 0F)" to out. */
static inline size_t fg_fd_describe(char* out, size_t at, size_t cap, const struct fg_fd* e) {
  at = fg_put_str(out, at, cap, "fd ");
  at = fg_put_int(out, at, cap, e->fd);
  at = fg_put_str(out, at, cap, " (");
  at = fg_put_str(out, at, cap, e->target);
  at = fg_put_str(out, at, cap, ", pos ");
  at = fg_put_int(out, at, cap, e->pos);
  at = fg_put_str(out, at, cap, ", flags 0");
  char oct[16];
  int n = 0;
  unsigned v = e->flags;
  do {
    oct[n++] = (char)('0' + (v & 7));
    v >>= 3;
  } while (v != 0);
  while (n > 0 && at + 1 < cap) out[at++] = oct[--n];
  out[at < cap ? at : cap - 1] = '\0';
  return fg_put_str(out, at, cap, ")");
}

/* Compares the program's part of two tables: every number below `base` (but `skip_below` and
 * `ignore`, -1 for none) must be there in both with the same target, offset and flags; every
 * number at or above `base` that `after` has anew must be close-on-exec (the library's own). The offsets of
 * 1 and 2 are left out: they move with whatever is written there (the test's own report; what the
 * library may write to stderr is issue #10 section 2's concern, checked by its own tests). Writes
 * what differs into `why` (empty when nothing does). Returns 1 when intact. */
static inline int fg_fd_same(const struct fg_fdtab* before, const struct fg_fdtab* after, int base, int skip_below,
                             int ignore, char* why, size_t cap) {
  size_t at = 0;
  why[0] = '\0';
  if (before->overflow || after->overflow) at = fg_put_str(why, at, cap, "more descriptors than the test records; ");
  for (int i = 0; i < before->n; ++i) {
    const struct fg_fd* b = &before->e[i];
    if (b->fd >= base || b->fd < skip_below || b->fd == ignore) continue;
    const struct fg_fd* a = fg_fd_find(after, b->fd);
    if (a == NULL) {
      at = fg_put_str(why, at, cap, "gone: ");
      at = fg_fd_describe(why, at, cap, b);
      at = fg_put_str(why, at, cap, "; ");
    } else if (strcmp(a->target, b->target) != 0 || (a->pos != b->pos && b->fd != 1 && b->fd != 2) ||
               a->flags != b->flags) {
      at = fg_put_str(why, at, cap, "changed: ");
      at = fg_fd_describe(why, at, cap, b);
      at = fg_put_str(why, at, cap, " -> ");
      at = fg_fd_describe(why, at, cap, a);
      at = fg_put_str(why, at, cap, "; ");
    }
  }
  for (int i = 0; i < after->n; ++i) {
    const struct fg_fd* a = &after->e[i];
    if (a->fd < skip_below || a->fd == ignore) continue;
    if (a->fd >= base) {
      const struct fg_fd* b = fg_fd_find(before, a->fd);
      if (b != NULL && strcmp(a->target, b->target) == 0) continue; /* inherited, not the library's */
      if ((a->flags & O_CLOEXEC) == 0) {
        at = fg_put_str(why, at, cap, "not close-on-exec at the library's base: ");
        at = fg_fd_describe(why, at, cap, a);
        at = fg_put_str(why, at, cap, "; ");
      }
      continue;
    }
    if (fg_fd_find(before, a->fd) == NULL) {
      at = fg_put_str(why, at, cap, "new: ");
      at = fg_fd_describe(why, at, cap, a);
      at = fg_put_str(why, at, cap, "; ");
    }
  }
  return why[0] == '\0';
}

#endif

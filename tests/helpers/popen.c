/* @file popen.c
 * @brief Entry-point helper: popen "r" and "w" + pclose, a command exiting 2, and a popen with
 * an invalid mode (NULL, EINVAL). Exit 0 when every result is as expected.
 * Records under the shim: popen=4 (one failed, errno EINVAL), pclose=3.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

int main(void) {
  int ok = 1;
  char line[256];

  fflush(stdout);
  FILE* r = popen("echo 'popen: read side'", "r");
  if (r == NULL) {
    printf("popen r: failed: %s\n", strerror(errno));
    return 1;
  }
  while (fgets(line, sizeof line, r) != NULL) printf("parent read: %s", line);
  int st = pclose(r);
  printf("pclose(r): exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  ok &= st == 0;

  fflush(stdout);
  FILE* w = popen("tr a-z A-Z", "w");
  if (w == NULL) {
    printf("popen w: failed: %s\n", strerror(errno));
    return 1;
  }
  fputs("popen: write side\n", w);
  st = pclose(w);
  printf("pclose(w): exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  ok &= st == 0;

  fflush(stdout);
  FILE* e = popen("exit 2", "r");
  if (e == NULL) {
    printf("popen exit 2: failed: %s\n", strerror(errno));
    return 1;
  }
  st = pclose(e);
  printf("pclose(exit 2): exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  ok &= st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 2;

  errno = 0;
  FILE* bad = popen("true", "x");
  const int err = errno;
  printf("popen(mode x): %s, errno %s\n", bad == NULL ? "NULL" : "a stream", err == EINVAL ? "EINVAL" : "other");
  ok &= bad == NULL && err == EINVAL;
  return ok ? 0 : 1;
}

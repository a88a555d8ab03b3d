/* @file hardening_setuid_fork.c
 * @brief A program meant to be installed setuid root and linked directly against
 * libforkguard.so (DT_NEEDED: ld.so ignores an LD_PRELOAD path in a setuid program). It prints
 * who it runs as and whether the loader saw secure execution (AT_SECURE), then forks twice: a
 * child that execs /bin/true and one that _exits 3. Records under the library: fork=2.
 * Exit 0 when both children did as expected.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

static int wait_exit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void) {
  printf("setuid: ruid %d euid %d secure %lu\n", (int)getuid(), (int)geteuid(), getauxval(AT_SECURE));
  fflush(stdout);
  pid_t a = fork();
  if (a == 0) {
    execl("/bin/true", "true", (char*)NULL);
    _exit(127);
  }
  pid_t b = fork();
  if (b == 0) _exit(3);
  int ok = a > 0 && b > 0 && wait_exit(a) == 0 && wait_exit(b) == 3;
  printf("setuid: %s\n", ok ? "children as expected" : "FAILED");
  return ok ? 0 : 1;
}

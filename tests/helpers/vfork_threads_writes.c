/* @file vfork_threads_writes.c
 * @brief Another thread stores into objects on the forking thread's stack while the fork's child
 * runs (issue #10 section 3's second hazard): a result slot, a flag, and an I/O buffer filled by
 * read(2), all in the forking function's frame. The child tells the writer it runs, waits until
 * the writer has stored, then execs /bin/true. After fork() returns, and the writer has finished,
 * the forking thread must see every store. A substitute that copied its saved stack back over them
 * would show the old values.
 *   main   - the main thread forks; a second thread writes into its frame;
 *   thread - a second thread forks; the main thread writes into its frame.
 * Prints what the forking thread saw; exits 0 when every store survived.
 * Usage: fg_helper_vfork_threads_writes main|thread
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_util.h"

struct Targets {
  volatile int* slot;
  volatile int* flag;
  char* buf;
  size_t buf_len;
};

static int g_running[2];      /* child -> writer: "I run" */
static int g_stored[2];       /* writer -> child: "stored, you may exec" */
static int g_data[2];         /* what the writer reads into the forking thread's buffer */
static struct Targets g_targets;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_published = PTHREAD_COND_INITIALIZER;
static int g_have_targets;

static void publish(struct Targets t) {
  pthread_mutex_lock(&g_lock);
  g_targets = t;
  g_have_targets = 1;
  pthread_cond_signal(&g_published);
  pthread_mutex_unlock(&g_lock);
}

/* The writer: once the child runs, stores into the forking thread's frame, then lets it exec. */
static void* writer(void* arg) {
  (void)arg;
  pthread_mutex_lock(&g_lock);
  while (!g_have_targets) pthread_cond_wait(&g_published, &g_lock);
  struct Targets t = g_targets;
  pthread_mutex_unlock(&g_lock);
  char c;
  if (read(g_running[0], &c, 1) != 1) return (void*)1;
  *t.slot = 42;
  *t.flag = 1;
  if (read(g_data[0], t.buf, t.buf_len) != (ssize_t)t.buf_len) return (void*)1;
  if (write(g_stored[1], "s", 1) != 1) return (void*)1;
  return NULL;
}

/* The forking side: its frame holds the objects the writer stores into. */
static int fork_and_check(pthread_t other, int other_is_writer) {
  volatile int slot = 0;
  volatile int flag = 0;
  char buf[64];
  memset(buf, '.', sizeof buf);
  publish((struct Targets){&slot, &flag, buf, sizeof buf});
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    if (write(g_running[1], "r", 1) != 1) _exit(3);
    if (read(g_stored[0], &c, 1) != 1) _exit(4); /* the writer has stored: now exec */
    execl("/bin/true", "true", (char*)NULL);
    _exit(127);
  }
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  int code = fg_wait_code(pid);
  void* res = NULL;
  if (other_is_writer) pthread_join(other, &res);
  int ok = slot == 42 && flag == 1 && memcmp(buf, "the writer's bytes", 18) == 0;
  printf("child exited %d; slot %d flag %d buf \"%.18s\": %s\n", code, slot, flag, buf,
         ok && res == NULL ? "every store survived" : "STORES LOST");
  return ok && res == NULL && code == 0 ? 0 : 1;
}

static void* forking_thread(void* arg) {
  (void)arg;
  return (void*)(long)fork_and_check(0, 0);
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "main";
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pipe(g_running) != 0 || pipe(g_stored) != 0 || pipe(g_data) != 0) return 2;
  char payload[64];
  memset(payload, 0, sizeof payload);
  strcpy(payload, "the writer's bytes");
  if (write(g_data[1], payload, sizeof payload) != (ssize_t)sizeof payload) return 2;
  if (strcmp(mode, "main") == 0) {
    pthread_t w;
    if (pthread_create(&w, NULL, writer, NULL) != 0) return 2;
    return fork_and_check(w, 1);
  }
  if (strcmp(mode, "thread") == 0) {
    pthread_t f;
    if (pthread_create(&f, NULL, forking_thread, NULL) != 0) return 2;
    void* werr = writer(NULL);
    void* ferr = NULL;
    pthread_join(f, &ferr);
    return werr == NULL && ferr == NULL ? 0 : 1;
  }
  fprintf(stderr, "usage: %s main|thread\n", argv[0]);
  return 2;
}

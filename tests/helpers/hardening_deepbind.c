/* @file hardening_deepbind.c
 * @brief A host that dlopen()s a plugin with RTLD_DEEPBIND (issue 6 item 2e) and lets it make
 * children, then makes the same calls itself through the same plugin function loaded normally.
 * Usage: fg_helper_hardening_deepbind PLUGIN.so [deepbind|plain|both] ; exit 0 when every call
 * worked.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef int (*SpawnFn)(const char*);

static int run(const char* path, int flags, const char* who) {
  void* h = dlopen(path, flags);
  if (h == NULL) {
    printf("%s: dlopen failed: %s\n", who, dlerror());
    return 1;
  }
  SpawnFn fn = (SpawnFn)dlsym(h, "plugin_spawn");
  const int failures = fn != NULL ? fn(who) : 1;
  dlclose(h);
  return failures;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* which = argc > 2 ? argv[2] : "both";
  int failures = 0;
  if (strcmp(which, "plain") != 0) failures += run(argv[1], RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND, "deepbind");
  if (strcmp(which, "deepbind") != 0) failures += run(argv[1], RTLD_NOW | RTLD_LOCAL, "plain");
  return failures == 0 ? 0 : 1;
}

/* @file twin.c
 * @brief Loads the library at argv[1] (one of twin_lib.c's two builds) and calls its twin_spawn(),
 * which forks a child that exits 0. Prints "twin: status 0". */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  int (*spawn)(void) = lib != NULL ? (int (*)(void))dlsym(lib, "twin_spawn") : NULL;
  if (spawn == NULL) {
    fprintf(stderr, "twin: %s\n", dlerror());
    return 1;
  }
  printf("twin: status %d\n", spawn());
  return 0;
}

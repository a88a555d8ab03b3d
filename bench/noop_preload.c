/* @file noop_preload.c
 * @brief The floor for bench (b): a C shared library that does nothing, so preloading it into an
 * exec'd child costs only what ld.so charges for any preloaded object (open, map, relocate). */
__attribute__((visibility("default"))) int forkguard_bench_noop(void) { return 0; }

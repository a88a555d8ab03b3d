/* @file fd_got_target.c
 * @brief A shared object linked with full RELRO (-z now -z relro) whose one function calls
 * getppid() through its GOT: the unit tests re-point that import (src/got_patch.cpp) and see
 * the call land in their replacement, the RELRO page read-only again afterwards.
 */
#include <unistd.h>

int fg_got_target_call(void) { return (int)getppid(); }

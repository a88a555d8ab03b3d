/* @file vfork_threads_sole_case.c
 * @brief Another helper (FG_SOLE_CASE, e.g. "fork_cases.c", set by the build) with its main()
 * renamed fg_case_main, for vfork_threads_sole.c to run in a sole non-main thread.
 */
#define main fg_case_main
#include FG_SOLE_CASE

/* @file _Fork_x86_64.S
 * @brief The exported _Fork() (glibc 2.34, POSIX 2024's async-signal-safe fork: no atfork
 * handlers). Same contract as fork's stub, with forkguard__Fork_enter as the first call, so
 * that _Fork gets the same fallback chain, the vfork substitute included, whose child returns
 * to the caller on the caller's own stack. Registers, order of calls and CFI:
 * fork_stub_x86_64.inc.
 */
#if defined(__x86_64__)
#include "fork_stub_x86_64.inc"
	FORKGUARD_FORK_STUB _Fork, forkguard__Fork_enter
#endif
	.section .note.GNU-stack,"",@progbits

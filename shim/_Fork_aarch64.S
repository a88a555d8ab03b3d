/* @file _Fork_aarch64.S
 * @brief The exported _Fork() on aarch64 (glibc 2.34): fork's stub with forkguard__Fork_enter
 * as the first call, so that _Fork gets the same fallback chain (fork_stub_aarch64.inc).
 */
#if defined(__aarch64__)
#include "fork_stub_aarch64.inc"
	FORKGUARD_FORK_STUB _Fork, forkguard__Fork_enter
#endif
	.section .note.GNU-stack,"",%progbits

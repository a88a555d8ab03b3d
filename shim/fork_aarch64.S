/* @file fork_aarch64.S
 * @brief The exported fork() on aarch64: the contract of fork_x86_64.S, with the registers and
 * calls of fork_stub_aarch64.inc.
 */
#if defined(__aarch64__)
#include "fork_stub_aarch64.inc"
	FORKGUARD_FORK_STUB fork, forkguard_fork_enter
#endif
	.section .note.GNU-stack,"",%progbits

/* @file fork_x86_64.S
 * @brief The exported fork(). Contract: forkguard_fork_enter(return address, entry rsp) makes
 * the whole call (passthrough, slim fork or refusal) unless it returns a VforkSubSlot; then this
 * stub makes the vfork substitute's clone(CLONE_VM|CLONE_VFORK|SIGCHLD) itself, so that the child
 * returns to the caller on the caller's own stack, and calls forkguard_vfork_sub_child in the
 * child, forkguard_vfork_sub_leave in the parent (stack, errno and mask back, the record) before
 * it returns. The caller's r12 and return address are kept in the slot (TLS) meanwhile.
 * Registers, order of calls and CFI: fork_stub_x86_64.inc.
 */
#if defined(__x86_64__)
#include "fork_stub_x86_64.inc"
	FORKGUARD_FORK_STUB fork, forkguard_fork_enter
#endif
	.section .note.GNU-stack,"",@progbits

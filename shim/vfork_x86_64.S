/* @file vfork_x86_64.S
 * @brief The exported vfork(): records the call without ever keeping its return address on
 * the stack the child shares. A C wrapper that returned in the child would overwrite its own
 * return address for the parent (glibc's vfork keeps it in a register for the same reason).
 *
 * Contract (an aarch64 port keeps the shape: x19 holds the slot, x30, the return address there,
 * goes to 0(slot) and the caller's x19 to 8(slot)):
 *  1. forkguard_vfork_enter(return_address = rdi = *(rsp)) probes, captures the stack and returns
 *     rax = the thread's VforkSlot (TLS, engine.hpp): 0(slot) return address, 8(slot) for the
 *     caller's r12, 16(slot) the real vfork, 24(slot) whether a record is due.
 *  2. The stub keeps the caller's r12 at 8(slot), holds the slot in r12, drops the return address
 *     from the stack (the child will overwrite it) and calls the real vfork, which keeps its own
 *     return address in a register.
 *  3. Child (eax = 0): r12 back from 8(slot), jumps to 0(slot). No C call.
 *  4. Parent or failure: pushes the return address and the caller's r12 back onto the stack
 *     (the slot is given back during leave), calls forkguard_vfork_leave(slot, eax), which writes
 *     the record and leaves errno as vfork left it, then pops r12 and returns.
 * CFI: between 2 and 4 the return address is found at *(r12 + 0) and r12 at *(r12 + 8).
 */
#if defined(__x86_64__)
	.text
	.globl	vfork
	.type	vfork, @function
	.p2align 4
vfork:
	.cfi_startproc
	movq	(%rsp), %rdi              /* the caller's return address: the record's site */
	subq	$8, %rsp                  /* 16-byte alignment for the call */
	.cfi_adjust_cfa_offset 8
	call	forkguard_vfork_enter     /* probe, stack, settings; rax = VforkSlot* */
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	movq	%r12, 8(%rax)             /* borrow r12 (callee-saved) to hold the slot */
	movq	%rax, %r12
	addq	$8, %rsp                  /* drop the return address: the child will overwrite it */
	.cfi_adjust_cfa_offset -8
	/* From here the return address is at 0(%r12) and the caller's r12 at 8(%r12). */
	.cfi_escape 0x10, 0x10, 0x02, 0x7c, 0x00   /* DW_CFA_expression: rip at *(r12 + 0) */
	.cfi_escape 0x10, 0x0c, 0x02, 0x7c, 0x08   /* DW_CFA_expression: r12 at *(r12 + 8) */
	call	*16(%r12)                 /* real vfork: keeps its own return address in rdi */
	testl	%eax, %eax
	jz	1f                         /* the child goes straight back to the caller */
	/* Parent (or failure): the child has exec'd or exited, so the stack is ours again. The
	 * return address and r12 move onto it before the record is written: once leave gives the
	 * slot back, a signal handler's vfork may reuse it. */
	.cfi_remember_state
	pushq	0(%r12)                   /* the return address, where a call would have left it */
	.cfi_adjust_cfa_offset 8
	.cfi_offset 16, -8
	pushq	8(%r12)                   /* the caller's r12 */
	.cfi_adjust_cfa_offset 8
	.cfi_offset 12, -16
	pushq	%rax
	.cfi_adjust_cfa_offset 8
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	movq	%r12, %rdi
	movl	%eax, %esi
	call	forkguard_vfork_leave     /* writes the record; leaves errno as the call left it */
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%rax
	.cfi_adjust_cfa_offset -8
	popq	%r12
	.cfi_adjust_cfa_offset -8
	.cfi_restore 12
	ret                               /* pops the return address pushed above */
	.cfi_restore_state
1:
	movq	0(%r12), %rcx
	.cfi_register 16, 2                        /* the return address is in rcx */
	movq	8(%r12), %r12             /* the caller's r12 back */
	.cfi_restore 12
	jmp	*%rcx
	.cfi_endproc
	.size	vfork, .-vfork
#endif
	.section .note.GNU-stack,"",@progbits

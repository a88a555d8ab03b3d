/* @file fork_x86_64.S
 * @brief The exported fork(). It asks the engine (forkguard_fork_enter), which makes the whole
 * call: a passthrough, a slim fork or a refusal, after which both processes return normally.
 * When the engine chooses the vfork substitute instead, the stub makes the
 * clone(CLONE_VM|CLONE_VFORK|SIGCHLD) itself, so that the child returns to the caller on the
 * caller's own stack; the parent, once the child has exec'd or exited, has the engine put the
 * saved stack region [entry rsp, stack top) back (return address included) and returns.
 *
 * forkguard_fork_enter returns ForkEnter in rax (pid) : rdx (VforkSubSlot*, 0 = done).
 * 0(slot) holds the caller's r12 while the stub borrows r12 for the slot.
 */
#if defined(__x86_64__)
	.text
	.globl	fork
	.type	fork, @function
	.p2align 4
fork:
	.cfi_startproc
	movq	(%rsp), %rdi              /* the caller's return address: the record's site */
	movq	%rsp, %rsi                /* entry rsp: where a substitute's saved region starts */
	subq	$8, %rsp                  /* 16-byte alignment for the call */
	.cfi_adjust_cfa_offset 8
	call	forkguard_fork_enter
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	testq	%rdx, %rdx
	jnz	1f
	ret                               /* done: a real fork's child has memory of its own */
1:
	movq	%r12, 0(%rdx)             /* r12 is callee-saved: keep the caller's in the slot (TLS) */
	movq	%rdx, %r12
	movl	$56, %eax                 /* SYS_clone */
	movl	$0x4111, %edi             /* CLONE_VM | CLONE_VFORK | SIGCHLD */
	xorl	%esi, %esi                /* the same stack: the child returns to our caller */
	xorl	%edx, %edx
	xorl	%r10d, %r10d
	xorl	%r8d, %r8d
	syscall
	testq	%rax, %rax
	jz	2f
	/* Parent: the child has exec'd or exited; everything below entry rsp is free again. */
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	movq	%r12, %rdi
	movq	%rax, %rsi
	call	forkguard_vfork_sub_leave /* stack region, errno, signal mask back; the record */
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	movq	0(%r12), %r12
	ret
2:
	/* Child: on the parent's stack with every signal blocked; arm the timeout, return 0. */
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	movq	%r12, %rdi
	call	forkguard_vfork_sub_child
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	movq	0(%r12), %r12
	xorl	%eax, %eax
	ret
	.cfi_endproc
	.size	fork, .-fork
#endif
	.section .note.GNU-stack,"",@progbits

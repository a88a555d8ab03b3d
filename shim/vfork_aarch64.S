/* @file vfork_aarch64.S
 * @brief The exported vfork() on aarch64: records the call without ever keeping its return
 * address on the stack the child shares (the contract of vfork_x86_64.S). The return address
 * arrives in x30; the slot is held in x19 (callee-saved); the stack stays 16-byte aligned.
 *  1. forkguard_vfork_enter(return_address = x0 = x30) probes, captures the stack and returns
 *     x0 = the thread's VforkSlot (engine.hpp): 0(slot) return address, 8(slot) for the caller's
 *     x19, 16(slot) the real vfork, 24(slot) whether a record is due.
 *  2. The caller's x19 goes to 8(slot), x19 holds the slot, and the real vfork is called with blr:
 *     glibc's keeps its own return address in x30 across the system call and uses no stack, so
 *     both processes come back to the next instruction.
 *  3. Child (w0 = 0): x30 and x19 back from the slot, return to the caller. No C call.
 *  4. Parent or failure: the return address, the caller's x19 and the result move onto the
 *     stack (the slot is given back during leave, and a signal handler's vfork may then reuse
 *     it), forkguard_vfork_leave(slot, w0) writes the record and leaves errno as vfork left it,
 *     then they come back and the stub returns the result.
 * CFI: between 2 and 4 the return address is found at *(x19 + 0) and x19 at *(x19 + 8).
 */
#if defined(__aarch64__)
	.text
	.globl	vfork
	.type	vfork, %function
	.p2align 4
vfork:
	.cfi_startproc
	hint	#34                       /* bti c */
	stp	x29, x30, [sp, #-16]!
	.cfi_def_cfa_offset 16
	.cfi_offset x29, -16
	.cfi_offset x30, -8
	mov	x29, sp
	mov	x0, x30                   /* the caller's return address: the record's site */
	bl	forkguard_vfork_enter     /* probe, stack, settings; x0 = VforkSlot* */
	ldp	x29, x30, [sp], #16
	.cfi_def_cfa_offset 0
	.cfi_restore x29
	.cfi_restore x30
	str	x19, [x0, #8]             /* borrow x19 (callee-saved) to hold the slot */
	mov	x19, x0
	/* From here the return address is at 0(x19) and the caller's x19 at 8(x19). */
	.cfi_escape 0x10, 0x1e, 0x02, 0x83, 0x00   /* DW_CFA_expression: x30 at *(x19 + 0) */
	.cfi_escape 0x10, 0x13, 0x02, 0x83, 0x08   /* DW_CFA_expression: x19 at *(x19 + 8) */
	ldr	x16, [x19, #16]
	blr	x16                       /* real vfork: keeps its own return address in x30 */
	cbz	w0, 1f                    /* the child goes straight back to the caller */
	.cfi_remember_state
	ldr	x2, [x19, #0]             /* the return address */
	ldr	x3, [x19, #8]             /* the caller's x19 */
	stp	x3, x2, [sp, #-32]!
	.cfi_def_cfa_offset 32
	.cfi_offset x19, -32
	.cfi_offset x30, -24
	str	x0, [sp, #16]             /* the result */
	mov	w1, w0
	mov	x0, x19
	bl	forkguard_vfork_leave     /* writes the record; leaves errno as the call left it */
	ldr	x0, [sp, #16]
	ldp	x19, x30, [sp], #32
	.cfi_def_cfa_offset 0
	.cfi_restore x19
	.cfi_restore x30
	ret
	.cfi_restore_state
1:
	ldr	x30, [x19, #0]
	.cfi_restore x30
	ldr	x19, [x19, #8]            /* the caller's x19 back */
	.cfi_restore x19
	ret
	.cfi_endproc
	.size	vfork, .-vfork
#endif
	.section .note.GNU-stack,"",%progbits

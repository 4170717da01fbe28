/* Start-up code of a cosim RISC-V program (RV64GC, machine mode, no OS).
 *
 * Sets the global and thread pointers and the stack, zeroes .bss/.tbss, turns the FPU
 * on (mstatus.FS = Initial; privileged spec 1.12, 3.1.6.6), points mtvec at the trap
 * entry below (direct mode, 3.1.7), then runs main() and exit()s with its result.
 * Everything is loaded into RAM by the simulator, so .data needs no copy. */
  .section .text.init, "ax"
  .globl _start
_start:
  .option push
  .option norelax
  la gp, __global_pointer$
  .option pop
  la tp, __tls_base          /* RISC-V TLS variant I: tp points at the TLS block */
  la sp, __stack_top
  la t0, __bss_start
  la t1, __bss_end
1:
  bgeu t0, t1, 2f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
2:
  la t0, __tbss_start
  la t1, __tbss_end
3:
  bgeu t0, t1, 4f
  sb zero, 0(t0)
  addi t0, t0, 1
  j 3b
4:
  li t0, (1 << 13)           /* mstatus.FS = Initial */
  csrs mstatus, t0
  csrw fcsr, zero
  la t0, _cosim_trap
  csrw mtvec, t0
  li a0, 0
  li a1, 0
  call main
  call exit
5:
  j 5b

/* Trap entry: the core only delivers the machine external interrupt (mcause 11);
 * save the caller-saved registers, call cosim_irq_handler(pending lines), mret. */
  .align 2
  .globl _cosim_trap
_cosim_trap:
  addi sp, sp, -16*8
  sd ra, 0*8(sp)
  sd t0, 1*8(sp)
  sd t1, 2*8(sp)
  sd t2, 3*8(sp)
  sd a0, 4*8(sp)
  sd a1, 5*8(sp)
  sd a2, 6*8(sp)
  sd a3, 7*8(sp)
  sd a4, 8*8(sp)
  sd a5, 9*8(sp)
  sd a6, 10*8(sp)
  sd a7, 11*8(sp)
  sd t3, 12*8(sp)
  sd t4, 13*8(sp)
  sd t5, 14*8(sp)
  sd t6, 15*8(sp)
  call _cosim_dispatch_irq
  ld ra, 0*8(sp)
  ld t0, 1*8(sp)
  ld t1, 2*8(sp)
  ld t2, 3*8(sp)
  ld a0, 4*8(sp)
  ld a1, 5*8(sp)
  ld a2, 6*8(sp)
  ld a3, 7*8(sp)
  ld a4, 8*8(sp)
  ld a5, 9*8(sp)
  ld a6, 10*8(sp)
  ld a7, 11*8(sp)
  ld t3, 12*8(sp)
  ld t4, 13*8(sp)
  ld t5, 14*8(sp)
  ld t6, 15*8(sp)
  addi sp, sp, 16*8
  mret

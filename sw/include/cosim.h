/* The cosim board API for programs on the RISC-V host core (riscv_cpu).
 *
 * cosim_board.h is generated for each system by cosim.system.riscv_host from the Python system:
 * the memory map (COSIM_<REGION>_BASE/_SIZE), the register offsets of its engines
 * (COSIM_<ENGINE>_<REGISTER>), the interrupt lines (COSIM_IRQ_<NAME>) and the board
 * window (COSIM_BOARD_<REGISTER>). Never copy an address by hand: use these names.
 * printf goes to the console, which the simulation prints with the simulated time;
 * exit(code) ends the run with that code. See docs/riscv-host.md. */
#ifndef COSIM_H
#define COSIM_H

#include <stdint.h>

#include "cosim_board.h"

static inline uint32_t cosim_read32(uint64_t addr) { return *(volatile uint32_t *)(uintptr_t)addr; }
static inline void cosim_write32(uint64_t addr, uint32_t v) { *(volatile uint32_t *)(uintptr_t)addr = v; }
static inline uint64_t cosim_read64(uint64_t addr) { return *(volatile uint64_t *)(uintptr_t)addr; }
static inline void cosim_write64(uint64_t addr, uint64_t v) { *(volatile uint64_t *)(uintptr_t)addr = v; }

/* Core cycles and instructions so far (simulated, not the host's). */
static inline uint64_t cosim_cycles(void) { return cosim_read64(COSIM_BOARD_CYCLES); }
static inline uint64_t cosim_instret(void) { return cosim_read64(COSIM_BOARD_INSTRET); }

/* Mark a phase boundary: the core synchronises and notifies its 'signal' event, which a
 * Python process of the scenario can await (values in cpu.model.signals). Not inline:
 * the return ends the engine's block, so the listeners run right after the write. */
void cosim_signal(uint32_t value);
/* Write back and invalidate the data cache (cacheable regions; see docs/riscv-host.md). */
static inline void cosim_cache_flush(void) { cosim_write32(COSIM_BOARD_CACHE_FLUSH, 1); }

/* Interrupt lines: enable the lines in `mask` as the machine external interrupt. */
void cosim_irq_enable(uint32_t mask);
/* Sleep (wfi) until a line in `mask` is pending, clear those lines and return them.
 * Works with interrupts globally off (mstatus.MIE = 0): wfi still wakes. */
uint32_t cosim_wait_irq(uint32_t mask);
/* Called from the trap entry with the pending lines when mstatus.MIE is set; the weak
 * default clears them. Define it to handle interrupts asynchronously. */
void cosim_irq_handler(uint32_t pending);
/* Turn interrupt delivery (mstatus.MIE) on or off. */
void cosim_interrupts(int on);

#endif

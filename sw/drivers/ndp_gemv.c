/* C driver of the near-data GEMV units (the 'ndp' model): what cosim.system.ndp.NdpDriver.gemv
 * and .load do, for the ndp_gemv scenario with host=riscv.
 *
 * The scenario leaves the arguments in the mailbox (struct cosim_ndp_gemv_args, generated
 * from scenarios/ndp_gemv.py) and raises line GO; the driver writes x to the vector
 * buffer, programs the registers, starts GEMV, polls STATUS, copies y's elements back
 * into the mailbox, signals 1, and exits when line DONE is raised. Meanwhile, line
 * KERNEL runs a host CPU baseline (sw/kernels/baselines.c) and signals when done. */
#include <stdio.h>

#include "cosim.h"
#include "cosim_kernels.h"

#define NDP(reg) (COSIM_NDP_BASE + COSIM_NDP_##reg)

int main(void) {
  uint8_t *mailbox = (uint8_t *)(uintptr_t)COSIM_MAILBOX_BASE;
  const struct cosim_ndp_gemv_args *args = (const struct cosim_ndp_gemv_args *)mailbox;
  cosim_irq_enable((1u << COSIM_IRQ_GO) | (1u << COSIM_IRQ_DONE) | (1u << COSIM_IRQ_KERNEL));
  cosim_wait_irq(1u << COSIM_IRQ_GO);

  const uint64_t *x = (const uint64_t *)(mailbox + args->x_offset);
  for (uint32_t i = 0; i < (args->x_bytes + 7) / 8; ++i) cosim_write64(NDP(XBUF) + 8 * i, x[i]);
  cosim_write32(NDP(DTYPE), args->dtype);
  cosim_write32(NDP(M), args->m);
  cosim_write32(NDP(N), args->n);
  cosim_write32(NDP(A), (uint32_t)args->a);
  cosim_write32(NDP(A) + 4, (uint32_t)(args->a >> 32));
  cosim_write32(NDP(D), (uint32_t)args->y);
  cosim_write32(NDP(D) + 4, (uint32_t)(args->y >> 32));
  cosim_write32(NDP(CMD), COSIM_NDP_CMD_GEMV);
  uint32_t status;
  while ((status = cosim_read32(NDP(STATUS))) == COSIM_NDP_STATUS_BUSY) {
  }
  if (status == COSIM_NDP_STATUS_ERROR) {
    printf("ndp_gemv: the units answered ERROR\n");
    return 1;
  }

  /* y back: only y's elements (not the layout's padding), as runs of adjacent elements
   * (address, bytes); 8-byte loads where aligned, else 4-byte. DRAM is cacheable and the
   * units wrote y behind the cache: flush it first, then each line is one fill. */
  cosim_cache_flush();
  const uint64_t *runs = (const uint64_t *)(mailbox + args->ranges_offset);
  uint8_t *out = mailbox + args->out_offset;
  for (uint32_t r = 0; r < args->nranges; ++r) {
    const uint64_t addr = COSIM_DRAM_BASE + runs[2 * r], len = runs[2 * r + 1];
    for (uint64_t k = 0; k < len;) {
      if (len - k >= 8 && ((addr + k) & 7) == 0) {
        const uint64_t v = cosim_read64(addr + k);
        for (int b = 0; b < 8; ++b) out[b] = (uint8_t)(v >> (8 * b));
        out += 8;
        k += 8;
      } else {
        const uint32_t v = cosim_read32(addr + k);
        for (int b = 0; b < 4; ++b) out[b] = (uint8_t)(v >> (8 * b));
        out += 4;
        k += 4;
      }
    }
  }
  cosim_signal(1);
  for (;;) {
    const uint32_t got = cosim_wait_irq((1u << COSIM_IRQ_DONE) | (1u << COSIM_IRQ_KERNEL));
    if (got & (1u << COSIM_IRQ_KERNEL)) {
      cosim_kernel_run();
      cosim_signal(COSIM_KERNEL_SIGNAL);
    }
    if (got & (1u << COSIM_IRQ_DONE)) return 0;
  }
}

/* Drive the SoC's DMA from C: copy a buffer inside DRAM with one descriptor, wait for
 * the completion interrupt (wfi), check the copy and report the cycles it took. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cosim.h"

#define BYTES 4096u

int main(void) {
  volatile uint8_t *src = (volatile uint8_t *)(uintptr_t)COSIM_SOC_DATA;
  volatile uint8_t *dst = src + BYTES;
  for (unsigned i = 0; i < BYTES; ++i) src[i] = (uint8_t)(i * 7 + 1);

  struct cosim_dma_descriptor d;
  memset(&d, 0, sizeof d);
  d.src = (uintptr_t)src;
  d.dst = (uintptr_t)dst;
  d.row_bytes = BYTES;
  d.rows = 1;
  d.src_stride = BYTES;
  d.dst_stride = BYTES;
  d.irq = 1;
  volatile uint32_t *desc = (volatile uint32_t *)(uintptr_t)COSIM_SOC_DESCRIPTORS;
  const uint32_t *words = (const uint32_t *)&d;
  for (unsigned i = 0; i < sizeof d / 4; ++i) desc[i] = words[i];

  cosim_irq_enable(1u << COSIM_IRQ_DMA);
  const uint64_t start = cosim_cycles();
  cosim_write32(COSIM_DMA_BASE + COSIM_DMA_DESC_LO, (uint32_t)COSIM_SOC_DESCRIPTORS);
  cosim_write32(COSIM_DMA_BASE + COSIM_DMA_DESC_HI, (uint32_t)(COSIM_SOC_DESCRIPTORS >> 32));
  cosim_write32(COSIM_DMA_BASE + COSIM_DMA_IRQ_ENABLE, 1);
  cosim_write32(COSIM_DMA_BASE + COSIM_DMA_CTRL, COSIM_DMA_CTRL_START);
  while (cosim_read32(COSIM_DMA_BASE + COSIM_DMA_STATUS) & COSIM_DMA_STATUS_BUSY) cosim_wait_irq(1u << COSIM_IRQ_DMA);
  const uint64_t cycles = cosim_cycles() - start;

  for (unsigned i = 0; i < BYTES; ++i)
    if (dst[i] != (uint8_t)(i * 7 + 1)) {
      printf("mismatch at byte %u\n", i);
      return 3;
    }
  printf("dma copied %u bytes in %u cycles\n", BYTES, (unsigned)cycles);
  return 0;
}

/* The board runtime: console and exit for picolibc, interrupt helpers (cosim.h). */
#include <stdio.h>
#include <stdlib.h>

#include "cosim.h"

static int console_putc(char c, FILE *f) {
  (void)f;
  cosim_write32(COSIM_BOARD_CONSOLE, (uint8_t)c);
  return (uint8_t)c;
}

static FILE console = FDEV_SETUP_STREAM(console_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdin = &console;
FILE *const stdout = &console;
FILE *const stderr = &console;

void _exit(int code) {
  cosim_write32(COSIM_BOARD_EXIT, (uint32_t)code);
  for (;;) {
  }
}

void cosim_irq_enable(uint32_t mask) {
  cosim_write32(COSIM_BOARD_IRQ_ENABLE, cosim_read32(COSIM_BOARD_IRQ_ENABLE) | mask);
  __asm__ volatile("csrs mie, %0" ::"r"(1u << 11));  /* mie.MEIE */
}

uint32_t cosim_wait_irq(uint32_t mask) {
  uint32_t got;
  while ((got = cosim_read32(COSIM_BOARD_IRQ_PENDING) & mask) == 0) __asm__ volatile("wfi");
  cosim_write32(COSIM_BOARD_IRQ_PENDING, got);
  return got;
}

__attribute__((noinline)) void cosim_signal(uint32_t value) { cosim_write32(COSIM_BOARD_SIGNAL, value); }

void cosim_interrupts(int on) {
  if (on)
    __asm__ volatile("csrsi mstatus, 8");
  else
    __asm__ volatile("csrci mstatus, 8");
}

__attribute__((weak)) void cosim_irq_handler(uint32_t pending) { cosim_write32(COSIM_BOARD_IRQ_PENDING, pending); }

void _cosim_dispatch_irq(void) {
  uint32_t p = cosim_read32(COSIM_BOARD_IRQ_PENDING) & cosim_read32(COSIM_BOARD_IRQ_ENABLE);
  cosim_irq_handler(p);
}

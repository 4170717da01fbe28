/* C driver of an accelerator's command window (cosim.accel.device.Accelerator): what
 * cosim.accel.device.AcceleratorDriver.run does, for scenarios with host=riscv.
 *
 * The scenario leaves one job in the mailbox (struct cosim_accel_job, its arguments at
 * COSIM_ACCEL_JOB_ARGS, room for results at COSIM_ACCEL_JOB_RESULTS) and raises line GO;
 * the driver writes the arguments and the command, sleeps until the accelerator's
 * interrupt, reads and clears STATUS, reads the results, writes them back with the
 * status and signals the command. A job with command 0 ends the program. Line KERNEL
 * runs a host CPU baseline instead (sw/kernels/baselines.c) and signals when done. */
#include "cosim.h"
#include "cosim_kernels.h"

#define ACC(reg) (COSIM_ACCEL_BASE + COSIM_ACCEL_##reg)

int main(void) {
  uint8_t *mailbox = (uint8_t *)(uintptr_t)COSIM_MAILBOX_BASE;
  struct cosim_accel_job *job = (struct cosim_accel_job *)mailbox;
  const uint32_t *args = (const uint32_t *)(mailbox + COSIM_ACCEL_JOB_ARGS);
  uint32_t *results = (uint32_t *)(mailbox + COSIM_ACCEL_JOB_RESULTS);
  cosim_irq_enable((1u << COSIM_IRQ_GO) | (1u << COSIM_IRQ_ACCEL) | (1u << COSIM_IRQ_KERNEL));
  cosim_write32(ACC(IRQ_ENABLE), 1);
  for (;;) {
    const uint32_t got = cosim_wait_irq((1u << COSIM_IRQ_GO) | (1u << COSIM_IRQ_KERNEL));
    if (got & (1u << COSIM_IRQ_KERNEL)) {
      cosim_kernel_run();
      cosim_signal(COSIM_KERNEL_SIGNAL);
    }
    if (!(got & (1u << COSIM_IRQ_GO))) continue;
    if (job->cmd == 0) return 0;
    for (uint32_t i = 0; i < job->nargs; ++i) cosim_write32(ACC(ARG0) + 4 * i, args[i]);
    cosim_write32(ACC(CMD), job->cmd);
    cosim_wait_irq(1u << COSIM_IRQ_ACCEL);
    const uint32_t status = cosim_read32(ACC(STATUS));
    cosim_write32(ACC(STATUS), COSIM_ACCEL_STATUS_DONE | COSIM_ACCEL_STATUS_ERROR);
    for (uint32_t i = 0; i < job->nresults; ++i) results[i] = cosim_read32(ACC(RESULT0) + 4 * i);
    job->status = status;
    cosim_signal(job->cmd);
  }
}

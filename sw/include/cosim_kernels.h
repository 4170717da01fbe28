/* The host CPU baselines compiled for the RISC-V core (sw/kernels/baselines.c). The
 * job layout and kernel codes are generated into cosim_board.h from
 * cosim.system.riscv_baseline. */
#ifndef COSIM_KERNELS_H
#define COSIM_KERNELS_H

#include "cosim.h"

/* Run the job at COSIM_KERNEL_JOB (flushes the data cache before and after). */
void cosim_kernel_run(void);

#endif

/* The smallest cosim program: print, then exit with a code. */
#include <stdio.h>
#include <stdlib.h>

#include "cosim.h"

int main(void) {
  printf("hello from the RISC-V host, %d cycles in\n", (int)cosim_cycles());
  return 0;
}

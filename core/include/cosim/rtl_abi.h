/* The C ABI between a Verilated RTL block built by cosim.rtl and the bridges that drive
 * it (bridges/rtl_library.cpp, bench/ harnesses).
 *
 * cosim.rtl.build() compiles a plain Verilated C++ model (verilator --cc) together with
 * generated glue (cosim/rtl/glue.py) into one shared library that exports only the
 * functions below. The library has no SystemC and no Python in it; a bridge dlopen()s it
 * and runs the clock loop in C++.
 *
 * Pins are accessed directly in the model's own storage (cosim_rtl_port_data): a port of
 * width w lives in 1, 2, 4 or 8 bytes (w <= 64) or in ceil(w/32) little-endian 32-bit
 * words (w > 64), least significant bits first. Bits above w of an input must be zero.
 */
#ifndef COSIM_RTL_ABI_H
#define COSIM_RTL_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COSIM_RTL_ABI_VERSION 1u

enum cosim_rtl_direction { COSIM_RTL_INPUT = 1, COSIM_RTL_OUTPUT = 2, COSIM_RTL_INOUT = 3 };

typedef struct cosim_rtl_port {
  const char* name;     /* the port's name in the top module */
  uint32_t direction;   /* enum cosim_rtl_direction */
  uint32_t width;       /* bits */
  uint32_t storage;     /* bytes of the model's storage for it: 1, 2, 4, 8 or 4*words */
} cosim_rtl_port;

typedef uint32_t (*cosim_rtl_abi_version_fn)(void);
typedef const char* (*cosim_rtl_top_fn)(void);
typedef uint32_t (*cosim_rtl_num_ports_fn)(void);
typedef const cosim_rtl_port* (*cosim_rtl_ports_fn)(void);
/* "fst", "vcd" or "" when the model was built without tracing. */
typedef const char* (*cosim_rtl_trace_format_fn)(void);
typedef void* (*cosim_rtl_create_fn)(void);
typedef void (*cosim_rtl_destroy_fn)(void* model);
/* Evaluate the model at time_ps; returns nonzero once the RTL has run $finish, $stop or
 * $fatal (the model keeps running; the caller decides). */
typedef int (*cosim_rtl_eval_fn)(void* model, uint64_t time_ps);
typedef void* (*cosim_rtl_port_data_fn)(void* model, uint32_t index);
/* Open a waveform file (format of cosim_rtl_trace_format); 0 on success. */
typedef int (*cosim_rtl_trace_open_fn)(void* model, const char* path);
typedef void (*cosim_rtl_trace_dump_fn)(void* model, uint64_t time_ps);
typedef void (*cosim_rtl_trace_close_fn)(void* model);

#ifdef __cplusplus
}
#endif

#endif /* COSIM_RTL_ABI_H */

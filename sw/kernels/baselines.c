/* The host CPU baselines as compiled C: integer GEMV, CSR SpMV and GEMM on the RISC-V core,
 * reading their operands from the simulated DRAM through the core's data cache.
 *
 * A scenario leaves a job (struct cosim_kernel_job, generated from
 * cosim.system.riscv_baseline.KERNEL_JOB) at COSIM_KERNEL_JOB and raises line KERNEL; the
 * driver calls cosim_kernel_run(), which flushes the cache (the operands may have been
 * written behind it), runs the kernel, flushes again (the results reach DRAM), and
 * stores the instructions and core cycles it took.
 *
 * Each kernel is a scalar loop tuned for a single-issue core without SIMD (RV64GC has no
 * vector unit and no integer multiply-add): register blocking so each operand loaded is
 * used several times (GEMV: 4 rows share each x[j]; GEMM: a 4 x 4 tile of C in 16
 * registers, 8 loads per 16 multiply-adds), 32-bit accumulators that wrap like the int32
 * golden (unsigned arithmetic: defined overflow), unrolled by hand, compiled at -O3 without the scheduling pass before register
 * allocation (it hoists loads and spills: 3.9 instead of 3.6 instructions per
 * multiply-add in the GEMV, 5.1 instead of 2.7 in the GEMM). Per multiply-add: GEMV
 * 58/16 instructions (20 loads, 16 mul, 16 add, 5 pointer bumps, a branch), GEMM 43/16. */
#pragma GCC optimize("O3", "no-schedule-insns")

#include "cosim_kernels.h"

#include <stddef.h>

/* y[i] = sum_j w[i][j] * x[j] for `T` elements (int16 or int8), row-major w, int32 y.
 * Four rows at a time share each x[j]; four columns per iteration with pointer bumps,
 * so the loop is loads, multiplies, adds and five pointer increments. */
#define GEMV(NAME, T)                                                                  \
  static void NAME(const T *w, const T *x, uint32_t *y, uint32_t m, uint32_t n) {      \
    const uint32_t n4 = n & ~3u;                                                       \
    uint32_t i = 0;                                                                    \
    for (; i + 4 <= m; i += 4) {                                                       \
      const T *p0 = w + (size_t)i * n, *p1 = p0 + n, *p2 = p1 + n, *p3 = p2 + n;       \
      const T *xp = x, *end = x + n4;                                                  \
      uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                         \
      for (; xp != end; xp += 4, p0 += 4, p1 += 4, p2 += 4, p3 += 4) {                 \
        const int32_t x0 = xp[0], x1 = xp[1], x2 = xp[2], x3 = xp[3];                  \
        s0 += (uint32_t)(p0[0] * x0) + (uint32_t)(p0[1] * x1) + (uint32_t)(p0[2] * x2) + \
              (uint32_t)(p0[3] * x3);                                                  \
        s1 += (uint32_t)(p1[0] * x0) + (uint32_t)(p1[1] * x1) + (uint32_t)(p1[2] * x2) + \
              (uint32_t)(p1[3] * x3);                                                  \
        s2 += (uint32_t)(p2[0] * x0) + (uint32_t)(p2[1] * x1) + (uint32_t)(p2[2] * x2) + \
              (uint32_t)(p2[3] * x3);                                                  \
        s3 += (uint32_t)(p3[0] * x0) + (uint32_t)(p3[1] * x1) + (uint32_t)(p3[2] * x2) + \
              (uint32_t)(p3[3] * x3);                                                  \
      }                                                                                \
      for (uint32_t j = n4; j < n; ++j, ++p0, ++p1, ++p2, ++p3) {                      \
        const int32_t xj = x[j];                                                       \
        s0 += (uint32_t)(*p0 * xj), s1 += (uint32_t)(*p1 * xj);                        \
        s2 += (uint32_t)(*p2 * xj), s3 += (uint32_t)(*p3 * xj);                        \
      }                                                                                \
      y[i] = s0, y[i + 1] = s1, y[i + 2] = s2, y[i + 3] = s3;                          \
    }                                                                                  \
    for (; i < m; ++i) {                                                               \
      const T *wi = w + (size_t)i * n;                                                 \
      uint32_t s = 0;                                                                  \
      for (uint32_t j = 0; j < n; ++j) s += (uint32_t)(wi[j] * (int32_t)x[j]);         \
      y[i] = s;                                                                        \
    }                                                                                  \
  }

GEMV(gemv_i16, int16_t)
GEMV(gemv_i8, int8_t)

/* c[i][j] = sum_p a[i][p] * b[p][j]: a m x k, b k x n (row-major int8), c m x n int32.
 * As optimised GEMMs do: four rows of a packed (interleaved) into local memory, then a
 * 4 x 4 tile of c in 16 registers; per p, 4 loads of b and 4 of the packed panel feed
 * 16 multiply-adds, with two pointer increments. */
#define GEMM_MAX_K 4096
static int8_t panel[4 * GEMM_MAX_K];

static uint32_t dot_i8(const int8_t *a, const int8_t *b, uint32_t n, uint32_t k) {
  uint32_t s = 0;
  for (uint32_t p = 0; p < k; ++p, b += n) s += (uint32_t)(a[p] * (int32_t)*b);
  return s;
}

static int gemm_i8(const int8_t *a, const int8_t *b, uint32_t *c, uint32_t m, uint32_t n,
                   uint32_t k) {
  if (k > GEMM_MAX_K) return 0;
  uint32_t i = 0;
  for (; i + 4 <= m; i += 4) {
    for (uint32_t p = 0; p < k; ++p)
      for (uint32_t r = 0; r < 4; ++r) panel[4 * p + r] = a[(size_t)(i + r) * k + p];
    uint32_t j = 0;
    for (; j + 4 <= n; j += 4) {
      uint32_t c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      uint32_t c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      const int8_t *ap = panel, *end = panel + 4 * k, *bp = b + j;
      for (; ap != end; ap += 4, bp += n) {
        const int32_t b0 = bp[0], b1 = bp[1], b2 = bp[2], b3 = bp[3];
        int32_t x = ap[0];
        c00 += (uint32_t)(x * b0), c01 += (uint32_t)(x * b1);
        c02 += (uint32_t)(x * b2), c03 += (uint32_t)(x * b3);
        x = ap[1];
        c10 += (uint32_t)(x * b0), c11 += (uint32_t)(x * b1);
        c12 += (uint32_t)(x * b2), c13 += (uint32_t)(x * b3);
        x = ap[2];
        c20 += (uint32_t)(x * b0), c21 += (uint32_t)(x * b1);
        c22 += (uint32_t)(x * b2), c23 += (uint32_t)(x * b3);
        x = ap[3];
        c30 += (uint32_t)(x * b0), c31 += (uint32_t)(x * b1);
        c32 += (uint32_t)(x * b2), c33 += (uint32_t)(x * b3);
      }
      uint32_t *r = c + (size_t)i * n + j;
      r[0] = c00, r[1] = c01, r[2] = c02, r[3] = c03;
      r += n;
      r[0] = c10, r[1] = c11, r[2] = c12, r[3] = c13;
      r += n;
      r[0] = c20, r[1] = c21, r[2] = c22, r[3] = c23;
      r += n;
      r[0] = c30, r[1] = c31, r[2] = c32, r[3] = c33;
    }
    for (; j < n; ++j)
      for (uint32_t r = i; r < i + 4; ++r) c[(size_t)r * n + j] = dot_i8(a + (size_t)r * k, b + j, n, k);
  }
  for (; i < m; ++i)
    for (uint32_t j = 0; j < n; ++j) c[(size_t)i * n + j] = dot_i8(a + (size_t)i * k, b + j, n, k);
  return 1;
}

/* y = W x with W in CSR (as a sparse BLAS stores it): at `csr`, m + 1 uint32 row
 * pointers, then nnz uint32 column indices, then nnz int16 values. Per nonzero: the
 * value, its column, x at that column, a multiply and an add, unrolled by two. */
static void spmv_i16(const void *csr, const int16_t *x, uint32_t *y, uint32_t m, uint32_t nnz) {
  const uint32_t *ptr = csr, *col = ptr + m + 1;
  const int16_t *val = (const int16_t *)(col + nnz);
  for (uint32_t i = 0; i < m; ++i) {
    const uint32_t *c = col + ptr[i], *end = col + ptr[i + 1];
    const int16_t *v = val + ptr[i];
    uint32_t s0 = 0, s1 = 0;
    for (; end - c >= 2; c += 2, v += 2) {
      s0 += (uint32_t)(v[0] * (int32_t)x[c[0]]);
      s1 += (uint32_t)(v[1] * (int32_t)x[c[1]]);
    }
    if (c != end) s0 += (uint32_t)(v[0] * (int32_t)x[c[0]]);
    y[i] = s0 + s1;
  }
}

#define PTR(addr) ((void *)(uintptr_t)(addr))

void cosim_kernel_run(void) {
  struct cosim_kernel_job *job = (struct cosim_kernel_job *)(uintptr_t)COSIM_KERNEL_JOB;
  cosim_cache_flush();
  const uint64_t i0 = cosim_instret(), t0 = cosim_cycles();
  uint32_t status = COSIM_KERNEL_STATUS_DONE;
  switch (job->kernel) {
    case COSIM_KERNEL_GEMV_I16:
      gemv_i16(PTR(job->a), PTR(job->b), PTR(job->c), job->m, job->n);
      break;
    case COSIM_KERNEL_GEMV_I8:
      gemv_i8(PTR(job->a), PTR(job->b), PTR(job->c), job->m, job->n);
      break;
    case COSIM_KERNEL_SPMV_I16:
      spmv_i16(PTR(job->a), PTR(job->b), PTR(job->c), job->m, job->k);
      break;
    case COSIM_KERNEL_GEMM_I8:
      if (!gemm_i8(PTR(job->a), PTR(job->b), PTR(job->c), job->m, job->n, job->k))
        status = COSIM_KERNEL_STATUS_UNKNOWN;
      break;
    default:
      status = COSIM_KERNEL_STATUS_UNKNOWN;
  }
  cosim_cache_flush();
  job->instructions = cosim_instret() - i0;
  job->cycles = cosim_cycles() - t0;
  job->status = status;
}

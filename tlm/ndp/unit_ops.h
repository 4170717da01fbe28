// What the near-data units compute, bit for bit, on the unit streams of tlm/ndp/layout.h.
// cosim/system/ndp_layout.py holds the numpy twins (reference_*), which follow the same order of
// operations so results can be compared exactly.
//
// Lanes. A unit's datapath is one burst wide: lanes = burst bytes / element bytes
// (an HBM2 pseudo channel's 32-byte burst: 32 int8 or 16 fp16 lanes).
//
//   GEMV int8:  y_i = sum_j A_ij x_j, int8 products accumulated in int32 (wrapping).
//   GEMV fp16:  products of fp16 values are exact in fp32; lane l accumulates the
//               products of columns j = l mod lanes in column order, in fp32; the lane
//               sums are added as a pairwise tree ((0+1)+(2+3))+... in fp32; y is fp32.
//   ADD / MUL:  element-wise in the vector dtype: integers wrap (two's complement),
//               fp16 is computed in fp32 and rounded to nearest even (the correctly
//               rounded fp16 result, as fp32 has more than 2*11+2 bits), fp32 in fp32.
//   AXPY:       z = alpha * x + y with alpha an int32 (integers: computed in int64, then
//               wrapped to the dtype) or an fp32 (fp: fp32 multiply, fp32 add, rounded
//               to the dtype).
//   SUM:        integers: exact, int64. fp: per unit, lane l accumulates its elements
//               (local index j, lane j mod lanes) in fp32, lanes summed by the pairwise
//               tree; the units' partials (unit order) summed by a pairwise tree in fp32.
//   MAX:        exact; padding is never compared.
#pragma once

#include <cstdint>
#include <vector>

#include "layout.h"

namespace cosim::ndp {

float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);  // round to nearest even; overflow to infinity

// Pairwise tree sum in fp32 of a power-of-two count of values (in place).
float tree_sum(std::vector<float>& v);

// y (unit t's local outputs, as bytes of the y stream) for unit t's stream of A.
void gemv_unit(const Region& a, const std::vector<std::uint8_t>& a_stream, std::uint64_t local_rows,
               const std::uint8_t* x, unsigned lanes, std::vector<std::uint8_t>& y_stream);

enum class EltOp { Add, Mul, Axpy };
void elementwise_unit(EltOp op, DType dtype, std::uint64_t count, const std::uint8_t* a, const std::uint8_t* b,
                      std::uint32_t alpha_bits, std::uint8_t* out);

// Partial of one unit (integers: int64 exact sum or max; fp: fp32 value as a double).
struct Partial {
  std::int64_t i = 0;
  double f = 0;
  bool any = false;
};
Partial reduce_unit(bool is_max, DType dtype, std::uint64_t count, const std::uint8_t* a, unsigned lanes);
// Combine the units' partials (pairwise tree for fp sums; padded to a power of two).
Partial combine(bool is_max, DType dtype, const std::vector<Partial>& parts);

}  // namespace cosim::ndp

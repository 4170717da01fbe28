// Fixed-point and FP16 numerics of the accelerator engines, bit for bit as specified in
// cosim/accel/fixed_point.py (softmax core, fp16 <-> fx, LayerNorm, GELU, add) and
// cosim/accel/dfx/fp16_tile.py (FP16 products, FP32 sums, FP32 -> FP16), shared by the TLM
// twins in tlm/accel/. Arithmetic right shifts of negative values floor (C++20 defines
// it; GCC and Clang have always done so for C++17).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace cosim {
namespace accel {
namespace fx {

constexpr std::int64_t kOne = 1 << 16;
constexpr std::int64_t kMax = (std::int64_t(1) << 31) - 1;
constexpr std::int64_t kC1 = -45330, kC2 = 15158, kC3 = -2597;  // EXP2_POLY
constexpr int kRecipBits = 48;
constexpr int kSqrtShift = 20, kRstdBits = 34;
constexpr std::int64_t kVarMax = (std::int64_t(1) << 43) - 1;
constexpr int kGeluLo = -8, kGeluFracBits = 12;
constexpr unsigned kGeluLut = 257;

inline std::int64_t sat(std::int64_t x) { return std::clamp(x, -kMax, kMax); }
inline std::int64_t sat32(std::int64_t x) {
  return std::clamp(x, -(std::int64_t(1) << 31), (std::int64_t(1) << 31) - 1);
}

// ------------------------------------------------------------------ fp16 <-> fx
inline std::int64_t fp16_to_fx(std::uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
  if (exp == 31) return sign ? -kMax : kMax;
  const std::int64_t sig = exp == 0 ? man : (man | 1024);
  const int e = exp == 0 ? 1 : exp;
  std::int64_t mag;
  if (e >= 9) {
    mag = std::min<std::int64_t>(sig << (e - 9), kMax);
  } else {
    const int down = 9 - e;
    mag = (sig + (std::int64_t(1) << (down - 1))) >> down;
  }
  return sign ? -mag : mag;
}

inline int msb(std::uint64_t x) { return 63 - __builtin_clzll(x); }

inline std::uint16_t fx_to_fp16(std::int64_t x) {
  x = sat(x);
  if (x == 0) return 0;
  const std::uint16_t sign = x < 0 ? 0x8000 : 0;
  const std::uint64_t mag = static_cast<std::uint64_t>(x < 0 ? -x : x);
  const int p = msb(mag);
  if (p < 2) return static_cast<std::uint16_t>(sign | (mag << 8));
  std::uint64_t keep;
  if (p >= 10) {
    const int sh = p - 10;
    keep = mag >> sh;
    if (sh > 0) {
      const std::uint64_t rem = mag & ((std::uint64_t(1) << sh) - 1), half = std::uint64_t(1) << (sh - 1);
      if (rem > half || (rem == half && (keep & 1))) ++keep;
    }
  } else {
    keep = mag << (10 - p);
  }
  int expb = p - 1;
  if (keep >> 11) {
    keep >>= 1;
    ++expb;
  }
  return static_cast<std::uint16_t>(sign | (expb << 10) | (keep & 1023));
}

// ------------------------------------------------------------------------ softmax
inline std::int64_t exp2neg(std::int64_t d) {
  const std::int64_t k = d >> 16, f = d & 0xFFFF;
  if (k >= 17) return 0;
  std::int64_t t = (kC3 * f) >> 16;
  t = ((kC2 + t) * f) >> 16;
  t = ((kC1 + t) * f) >> 16;
  return (kOne + t) >> k;
}

// Softmax core on one row: int32 scores -> Q0.16 probabilities.
inline void softmax_q16(const std::int64_t* x, std::size_t n, std::uint32_t mult, unsigned shift,
                        std::int64_t* p) {
  std::vector<std::int64_t> u(n);
  std::int64_t m = -(std::int64_t(1) << 31);
  for (std::size_t i = 0; i < n; ++i) {
    u[i] = sat32((x[i] * std::int64_t(mult)) >> shift);
    m = std::max(m, u[i]);
  }
  std::int64_t total = 0;
  for (std::size_t i = 0; i < n; ++i) total += (u[i] = exp2neg(m - u[i]));
  const std::int64_t r = (std::int64_t(1) << kRecipBits) / total;
  for (std::size_t i = 0; i < n; ++i) p[i] = (u[i] * r + (std::int64_t(1) << 31)) >> 32;
}

inline std::int64_t quantize_prob(std::int64_t p, unsigned shift, std::int64_t out_max) {
  const std::int64_t q = shift ? (p + (std::int64_t(1) << (shift - 1))) >> shift : p;
  return std::min(q, out_max);
}

// --------------------------------------------------------------------- layernorm
inline std::int64_t isqrt(std::uint64_t v) {
  std::uint64_t r = static_cast<std::uint64_t>(std::sqrt(static_cast<double>(v)));
  while (r * r > v) --r;
  while ((r + 1) * (r + 1) <= v) ++r;
  return static_cast<std::int64_t>(r);
}

// LayerNorm of n = 2^log2n fx values with fx gamma/beta.
inline void layernorm(const std::int64_t* x, const std::int64_t* gamma, const std::int64_t* beta, unsigned log2n,
                      std::int64_t eps, std::int64_t* z) {
  const std::size_t n = std::size_t(1) << log2n;
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += x[i];
  const std::int64_t mean = sum >> log2n;
  std::vector<std::int64_t> c(n);
  std::int64_t sq = 0;
  for (std::size_t i = 0; i < n; ++i) {
    c[i] = sat(x[i] - mean);
    sq += (c[i] * c[i]) >> 16;
  }
  const std::int64_t var = std::clamp<std::int64_t>((sq >> log2n) + eps, 1, kVarMax);
  const std::int64_t s = isqrt(static_cast<std::uint64_t>(var) << kSqrtShift);
  const std::int64_t rstd = (std::int64_t(1) << kRstdBits) / s;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t y = sat((c[i] * rstd) >> 16);
    z[i] = sat(((y * gamma[i]) >> 16) + beta[i]);
  }
}

// -------------------------------------------------------------------------- GELU
inline std::int64_t gelu(std::int64_t x, const std::int64_t* lut) {
  const std::int64_t lo = std::int64_t(kGeluLo) * kOne, hi = -lo;
  if (x >= hi) return x;
  if (x < lo) return 0;
  const std::int64_t t = x - lo, j = t >> kGeluFracBits, r = t & ((1 << kGeluFracBits) - 1);
  return lut[j] + (((lut[j + 1] - lut[j]) * r) >> kGeluFracBits);
}

}  // namespace fx

// ----------------------------------------------------------------- FP16 / FP32
namespace fp {

inline float fp16_to_float(std::uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
  float v;
  if (exp == 0) v = std::ldexp(static_cast<float>(man), -24);
  else if (exp == 31) v = man ? NAN : INFINITY;
  else v = std::ldexp(static_cast<float>(man | 1024), exp - 25);
  return sign ? -v : v;
}

inline std::uint32_t bits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// float -> binary16, round to nearest, ties to even (overflow to infinity).
inline std::uint16_t float_to_fp16(float f) {
  const std::uint32_t b = bits(f);
  const std::uint16_t sign = static_cast<std::uint16_t>((b >> 16) & 0x8000);
  const int e = int((b >> 23) & 0xFF);
  std::uint32_t m = b & 0x7FFFFF;
  if (e == 0xFF) return static_cast<std::uint16_t>(sign | 0x7C00 | (m ? 0x200 : 0));
  if (e == 0 && m == 0) return sign;
  const int unb = e - 127;
  std::uint32_t sig = e ? (m | 0x800000) : m;  // 24-bit significand, value sig * 2^(unb-23)
  int shift;                                     // bits of sig dropped
  std::uint32_t base;                            // exponent field contribution
  if (unb >= -14) {
    shift = 13;
    base = std::uint32_t(unb + 15) << 10;
    sig &= 0x7FFFFF;  // the hidden bit is carried by the exponent field
  } else {
    shift = 13 + (-14 - unb);  // subnormal: units of 2^-24
    base = 0;
    if (e == 0) shift = 13 + 126 - 14;  // FP32 subnormals underflow
  }
  std::uint32_t kept, rem, half;
  if (shift >= 32) {
    kept = 0;
    rem = sig;
    half = 0xFFFFFFFFu;  // rounds to zero
    if (shift == 32) half = 0x80000000u;
  } else {
    kept = sig >> shift;
    rem = sig & ((std::uint32_t(1) << shift) - 1);
    half = std::uint32_t(1) << (shift - 1);
  }
  std::uint32_t out = base + kept;
  if (rem > half || (rem == half && (kept & 1))) ++out;  // may carry into the exponent
  if (out >= 0x7C00) return static_cast<std::uint16_t>(sign | 0x7C00);
  return static_cast<std::uint16_t>(sign | out);
}

}  // namespace fp
}  // namespace accel
}  // namespace cosim

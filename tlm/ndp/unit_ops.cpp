#include "unit_ops.h"

#include <cstring>

namespace cosim::ndp {

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t man = h & 0x3ffu;
  std::uint32_t f;
  if (exp == 0) {
    if (man == 0) {
      f = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400u) == 0);
      f = sign | (std::uint32_t(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    f = sign | 0x7f800000u | (man << 13);
  } else {
    f = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float out;
  std::memcpy(&out, &f, 4);
  return out;
}

std::uint16_t float_to_half(float v) {
  std::uint32_t f;
  std::memcpy(&f, &v, 4);
  const std::uint16_t sign = std::uint16_t((f >> 16) & 0x8000u);
  const std::uint32_t fexp = f & 0x7f800000u;
  std::uint32_t fman = f & 0x007fffffu;
  if (fexp == 0x7f800000u) return std::uint16_t(sign | (fman != 0 ? 0x7e00u : 0x7c00u));
  if (fexp >= 0x47800000u) return std::uint16_t(sign | 0x7c00u);  // beyond fp16: infinity
  if (fexp <= 0x38000000u) {                                      // fp16 subnormal or zero
    if (fexp < 0x33000000u) return sign;
    const std::uint32_t e = fexp >> 23;
    fman |= 0x00800000u;
    const std::uint32_t shift = 126 - e;
    std::uint32_t h = fman >> shift;
    const std::uint32_t rem = fman & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return std::uint16_t(sign | h);
  }
  std::uint32_t h = ((fexp - 0x38000000u) >> 13) | (fman >> 13);
  const std::uint32_t rem = fman & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry may reach infinity: correct
  return std::uint16_t(sign | h);
}

float tree_sum(std::vector<float>& v) {
  std::size_t n = v.size();
  while (n > 1) {
    for (std::size_t i = 0; i < n / 2; ++i) v[i] = v[2 * i] + v[2 * i + 1];
    n /= 2;
  }
  return n == 1 ? v[0] : 0.0f;
}

namespace {

template <typename T>
T load(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T>
void store(std::uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

float load_fp(DType t, const std::uint8_t* p) {
  return t == DType::Fp16 ? half_to_float(load<std::uint16_t>(p)) : load<float>(p);
}
std::int64_t load_int(DType t, const std::uint8_t* p) {
  return t == DType::Int8 ? std::int64_t(load<std::int8_t>(p)) : std::int64_t(load<std::int32_t>(p));
}
bool is_fp(DType t) { return t == DType::Fp16 || t == DType::Fp32; }

}  // namespace

void gemv_unit(const Region& a, const std::vector<std::uint8_t>& a_stream, std::uint64_t local_rows,
               const std::uint8_t* x, unsigned lanes, std::vector<std::uint8_t>& y_stream) {
  const std::uint64_t n = a.n;
  for (std::uint64_t j = 0; j < local_rows; ++j) {
    const std::uint8_t* row = a_stream.data() + j * a.row_stride;
    if (a.dtype == DType::Int8) {
      std::int64_t acc = 0;
      for (std::uint64_t c = 0; c < n; ++c)
        acc += std::int64_t(std::int8_t(row[c])) * std::int64_t(std::int8_t(x[c]));
      store<std::int32_t>(&y_stream[4 * j], std::int32_t(std::uint32_t(std::uint64_t(acc))));
    } else {
      std::vector<float> acc(lanes, 0.0f);
      for (std::uint64_t c = 0; c < n; ++c)
        acc[c % lanes] += half_to_float(load<std::uint16_t>(row + 2 * c)) * half_to_float(load<std::uint16_t>(x + 2 * c));
      store<float>(&y_stream[4 * j], tree_sum(acc));
    }
  }
}

void elementwise_unit(EltOp op, DType dtype, std::uint64_t count, const std::uint8_t* a, const std::uint8_t* b,
                      std::uint32_t alpha_bits, std::uint8_t* out) {
  const unsigned e = dtype_bytes(dtype);
  float alpha_f;
  std::memcpy(&alpha_f, &alpha_bits, 4);
  const std::int64_t alpha_i = std::int32_t(alpha_bits);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint8_t *pa = a + i * e, *pb = b + i * e;
    std::uint8_t* po = out + i * e;
    if (is_fp(dtype)) {
      const float x = load_fp(dtype, pa), y = load_fp(dtype, pb);
      float r;
      if (op == EltOp::Add) {
        r = x + y;
      } else if (op == EltOp::Mul) {
        r = x * y;
      } else {
        const float p = alpha_f * x;
        r = p + y;
      }
      if (dtype == DType::Fp16)
        store<std::uint16_t>(po, float_to_half(r));
      else
        store<float>(po, r);
    } else {
      const std::int64_t x = load_int(dtype, pa), y = load_int(dtype, pb);
      const std::uint64_t r = op == EltOp::Add   ? std::uint64_t(x) + std::uint64_t(y)
                              : op == EltOp::Mul ? std::uint64_t(x) * std::uint64_t(y)
                                                 : std::uint64_t(alpha_i) * std::uint64_t(x) + std::uint64_t(y);
      if (dtype == DType::Int8)
        store<std::uint8_t>(po, std::uint8_t(r));
      else
        store<std::uint32_t>(po, std::uint32_t(r));
    }
  }
}

Partial reduce_unit(bool is_max, DType dtype, std::uint64_t count, const std::uint8_t* a, unsigned lanes) {
  Partial p;
  if (count == 0) return p;
  p.any = true;
  const unsigned e = dtype_bytes(dtype);
  if (!is_fp(dtype)) {
    p.i = is_max ? load_int(dtype, a) : 0;
    for (std::uint64_t k = 0; k < count; ++k) {
      const std::int64_t v = load_int(dtype, a + k * e);
      p.i = is_max ? std::max(p.i, v) : p.i + v;
    }
    return p;
  }
  if (is_max) {
    float m = load_fp(dtype, a);
    for (std::uint64_t k = 1; k < count; ++k) m = std::max(m, load_fp(dtype, a + k * e));
    p.f = m;
    return p;
  }
  std::vector<float> acc(lanes, 0.0f);
  for (std::uint64_t k = 0; k < count; ++k) acc[k % lanes] += load_fp(dtype, a + k * e);
  p.f = tree_sum(acc);
  return p;
}

Partial combine(bool is_max, DType dtype, const std::vector<Partial>& parts) {
  Partial r;
  if (!is_fp(dtype)) {
    for (const auto& p : parts) {
      if (!p.any) continue;
      r.i = !r.any ? p.i : is_max ? std::max(r.i, p.i) : r.i + p.i;
      r.any = true;
    }
    return r;
  }
  if (is_max) {
    for (const auto& p : parts) {
      if (!p.any) continue;
      r.f = !r.any ? p.f : std::max(r.f, p.f);
      r.any = true;
    }
    return r;
  }
  std::size_t n = 1;
  while (n < parts.size()) n *= 2;
  std::vector<float> v(n, 0.0f);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    v[i] = float(parts[i].f);
    r.any |= parts[i].any;
  }
  r.f = tree_sum(v);
  return r;
}

}  // namespace cosim::ndp

// The fixed-point online softmax and attention-weighted sum of cosim/accel/online_softmax.py
// (which holds the specification) in C++, bit for bit: the arithmetic of the TLM twin of
// rtl/sprint/sprint_recompute.sv.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "exp2_lut.h"

namespace cosim::accel {

constexpr std::int64_t kOne = 1 << 15;
constexpr unsigned kRecipBits = 44, kOutShift = 36, kMaxPairs = 1024;

// 2^15 * 2^(-t/256) from the table (0 once t >> 8 reaches 16).
inline std::int64_t exp2neg(std::uint64_t t) {
  const std::uint64_t n = t >> 8;
  return n >= 16 ? 0 : std::int64_t(kExp2Lut[t & 255] >> n);
}

// t = (delta * mult + 2^(shift-1)) >> shift
inline std::uint64_t exponent(std::uint64_t delta, std::uint32_t mult, unsigned shift) {
  return (delta * mult + (std::uint64_t(1) << (shift - 1))) >> shift;
}

class OnlineSoftmax {
 public:
  explicit OnlineSoftmax(unsigned width = 0) : o_(width, 0) {}

  void reset(unsigned width) {
    o_.assign(width, 0);
    sum_ = 0;
    m_ = 0;
    pairs_ = 0;
  }
  unsigned pairs() const { return pairs_; }

  // The weights of a new score: returns true when it raised the running maximum (the
  // rescaling multipliers work).
  bool score(std::int32_t s, std::uint32_t mult, unsigned shift) {
    bool raised = false;
    if (pairs_ == 0) {
      alpha_ = 0;
      w_ = kOne;
      m_ = s;
    } else if (s > m_) {
      alpha_ = exp2neg(exponent(std::uint64_t(std::int64_t(s) - m_), mult, shift));
      w_ = kOne;
      m_ = s;
      raised = true;
    } else {
      alpha_ = kOne;
      w_ = exp2neg(exponent(std::uint64_t(std::int64_t(m_) - s), mult, shift));
    }
    return raised;
  }

  // Fold in the value row of the pair whose score() came last.
  void value(const std::int8_t* v) {
    for (std::size_t i = 0; i < o_.size(); ++i) o_[i] = ((o_[i] * alpha_ + 16384) >> 15) + w_ * v[i];
    sum_ = ((sum_ * alpha_ + 16384) >> 15) + w_;
    ++pairs_;
  }

  // Q8.8 outputs (zeros without pairs).
  std::vector<std::int16_t> finish() const {
    std::vector<std::int16_t> out(o_.size(), 0);
    if (pairs_ == 0) return out;
    const std::int64_t r = (std::int64_t(1) << kRecipBits) / sum_;
    for (std::size_t i = 0; i < o_.size(); ++i) {
      const std::int64_t x = (o_[i] * r + (std::int64_t(1) << (kOutShift - 1))) >> kOutShift;
      out[i] = std::int16_t(std::clamp<std::int64_t>(x, -32768, 32767));
    }
    return out;
  }

 private:
  std::vector<std::int64_t> o_;
  std::int64_t sum_ = 0, alpha_ = 0, w_ = 0;
  std::int32_t m_ = 0;
  unsigned pairs_ = 0;
};

}  // namespace cosim::accel

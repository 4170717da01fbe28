// nm_sparse_engine_tlm: the approximately-timed TLM twin of rtl/sta/nm_sparse_engine.sv (the
// STA N:M select-and-MAC engine; protocol and numbers in cosim/accel/sta/nm_sparse.py).
//
// Timing, from the RTL's state machine (edges on the engine clock; see stream_engine.h):
//  - start at edge s (CTRL taken); activation beats one per edge from s+1;
//  - weight beat b is taken when its one-deep buffer is free: from edge L(b-1)+1, where
//    L(b) = max(taken(b) + 1, L(b-1) + T) is the edge it moves into the multipliers
//    (the first after the activations: taken(0) >= last activation edge + 1);
//  - beat b is applied to the T tokens at edges L(b)+1 .. L(b)+T;
//  - result beat j leaves at the first edge >= L(last) + T + 1 + j at which it is asked.
// What is not modelled, hence "approximately": nothing of this engine's sequencing is
// left out; the error measured against the RTL comes only from the bridges' handshake
// details the stream_engine.h base does not reproduce (tests/test_accel_mixed.py).
// Energy is charged by the Python side from the job description (cosim.accel.sta.system).
#include <cstring>
#include <vector>

#include "../stream_engine.h"

namespace cosim {
namespace accel {
namespace {

constexpr std::uint64_t kPattern = 0x10, kTokens = 0x14, kInLen = 0x18, kOutCfg = 0x1C;

unsigned log2u(unsigned v) { return v ? 31 - __builtin_clz(v) : 0; }

class NmSparseEngineTlm : public StreamEngineTlm {
 public:
  NmSparseEngineTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "nm_sparse_engine_tlm", p, unsigned(p.get_uint("in_max")),
                        4 * unsigned(p.get_uint("lanes")), {kPattern, kTokens, kInLen, kOutCfg}),
        lanes_(unsigned(p.get_uint("lanes"))),
        slots_(unsigned(p.get_uint("slots"))),
        m_max_(unsigned(p.get_uint("m_max"))),
        in_max_(unsigned(p.get_uint("in_max"))),
        t_max_(unsigned(p.get_uint("t_max"))),
        macs_(counter("macs", "slot multiply-accumulates (a slot per multiplier per cycle)")) {
    const unsigned idxw = log2u(m_max_);
    if ((slots_ & (slots_ - 1)) != 0)
      throw std::invalid_argument(std::string(this->name()) + ": slots must be a power of two");
    if ((m_max_ & (m_max_ - 1)) != 0 || m_max_ < 2)
      throw std::invalid_argument(std::string(this->name()) + ": m_max must be 2, 4, 8 or 16");
    if (lanes_ * slots_ * (8 + idxw) > 8 * in_max_)
      throw std::invalid_argument(std::string(this->name()) + ": a weight beat does not fit the input beat");
    x_.assign(std::size_t(t_max_) * in_max_, 0);
    acc_.assign(std::size_t(t_max_) * lanes_, 0);
  }

 private:
  std::uint32_t info() const override {
    return lanes_ | (slots_ << 8) | (log2u(m_max_) << 16) | (1u << 24);
  }

  bool start(std::uint64_t edge, std::uint32_t ctrl) override {
    const std::uint32_t pat = reg(kPattern);
    dense_ = (pat >> 8) & 1;
    l2n_ = pat & 15;
    l2m_ = (pat >> 4) & 15;
    t_ = reg(kTokens);
    in_len_ = reg(kInLen);
    const unsigned win_shift = log2u(slots_) + (dense_ ? 0 : l2m_ - std::min(l2n_, l2m_));
    bool ok = t_ >= 1 && t_ <= t_max_ && in_len_ >= 1 && in_len_ <= in_max_ &&
              (in_len_ & ((1u << win_shift) - 1)) == 0;
    if (!dense_) ok = ok && l2n_ <= l2m_ && l2m_ <= log2u(m_max_);
    if (!ok) return false;
    beats_ = in_len_ >> win_shift;
    acts_left_ = (ctrl & 2u) ? 0 : t_;
    taken_ = 0;
    act_next_ = edge + 1;
    wfree_ = edge + 1;
    load_ = 0;
    out_given_ = 0;
    std::fill(acc_.begin(), acc_.end(), 0);
    return true;
  }

  std::uint64_t wanted() const override { return acts_left_ + beats_ - taken_; }

  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, data += in_bytes_) {
      if (acts_left_) {
        e = std::max(first, act_next_);
        std::memcpy(&x_[std::size_t(t_ - acts_left_) * in_max_], data, in_max_);
        act_next_ = e + 1;
        wfree_ = e + 1;
        --acts_left_;
        continue;
      }
      e = std::max(first, wfree_);
      load_ = taken_ == 0 ? e + 1 : std::max(e + 1, load_ + t_);
      wfree_ = load_ + 1;
      apply(data, taken_);
      ++taken_;
    }
    if (taken_ == beats_ && acts_left_ == 0) out_next_ = load_ + t_ + 1;
    return e;
  }

  void apply(const std::uint8_t* beat, std::uint64_t b) {
    const unsigned kv = lanes_ * slots_;
    for (unsigned p = 0; p < lanes_; ++p) {
      for (unsigned k = 0; k < slots_; ++k) {
        const unsigned slot = p * slots_ + k;
        const std::int64_t w = static_cast<std::int8_t>(beat[slot]);
        const std::uint64_t s = b * slots_ + k;
        std::uint64_t pos = s;
        if (!dense_) {
          std::uint64_t idx = 0;
          const std::uint64_t bit0 = 8ull * kv + std::uint64_t(slot) * l2m_;
          for (unsigned j = 0; j < l2m_; ++j) idx |= std::uint64_t((beat[(bit0 + j) / 8] >> ((bit0 + j) % 8)) & 1) << j;
          pos = ((s >> l2n_) << l2m_) | idx;
        }
        for (unsigned t = 0; t < t_; ++t)
          acc_[std::size_t(t) * lanes_ + p] += w * static_cast<std::int8_t>(x_[std::size_t(t) * in_max_ + pos]);
      }
    }
    macs_.inc(std::uint64_t(kv) * t_);
  }

  std::uint64_t available() const override { return taken_ == beats_ && acts_left_ == 0 ? t_ - out_given_ : 0; }

  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    const std::uint32_t cfg = reg(kOutCfg);
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, ++out_given_) {
      e = std::max(first, out_next_);
      out_next_ = e + 1;
      for (unsigned p = 0; p < lanes_; ++p) {
        std::int64_t r = acc_[std::size_t(out_given_) * lanes_ + p];
        if (cfg & (1u << 8)) {
          const unsigned sh = cfg & 63;
          if (sh) r = (r + (std::int64_t(1) << (sh - 1))) >> sh;
          if ((cfg & (1u << 9)) && r < 0) r = 0;
          r = std::clamp<std::int64_t>(r, -128, 127);
        }
        const std::uint32_t v = static_cast<std::uint32_t>(r);
        std::memcpy(data + (i * lanes_ + p) * 4, &v, 4);
      }
    }
    if (out_given_ == t_) finish(e);
    return e;
  }

  unsigned lanes_, slots_, m_max_, in_max_, t_max_;
  Counter& macs_;
  bool dense_ = false;
  unsigned l2n_ = 0, l2m_ = 0, t_ = 0, in_len_ = 0;
  std::uint64_t beats_ = 0, acts_left_ = 0, taken_ = 0, out_given_ = 0;
  std::uint64_t act_next_ = 0, wfree_ = 0, load_ = 0, out_next_ = 0;
  std::vector<std::uint8_t> x_;
  std::vector<std::int64_t> acc_;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "nm_sparse_engine_tlm";
  s.summary = "Approximately-timed TLM twin of the STA N:M select-and-MAC engine (rtl/sta/nm_sparse_engine.sv)";
  s.doc =
      "Targets csr (registers of cosim.accel.sta.nm_sparse), in (activation and weight beats of in_max bytes) and "
      "out (result beats of 4*lanes bytes), event done. Same int32 sums and requantisation as the RTL; beats "
      "timed from its state machine: max(T, 2) cycles per weight beat, one beat per cycle in and out.";
  s.source =
      "Structure of STA's engine (Fang, Zhou and Wang, IEEE TVLSI 2022): lanes of slot multipliers fed by M:1 "
      "selectors; sizes are parameters (defaults: 16 lanes x 4 slots, M up to 8, 128-byte rows, 16 tokens, "
      "this project's choice for the d=64 encoder layer).";
  s.params = stream_engine_params();
  s.params.insert(s.params.end(), {
      int_param("lanes", 16, 1, 32, "", "output rows in parallel (the RTL's LANES)"),
      int_param("slots", 4, 1, 16, "", "multipliers per lane, a power of two (SLOTS)"),
      int_param("m_max", 8, 2, 16, "", "largest M of an N:M pattern: 2, 4, 8 or 16 (M_MAX)"),
      int_param("in_max", 128, 4, 128, "B", "activation row bytes = input beat bytes (IN_MAX)"),
      int_param("t_max", 16, 1, 64, "", "tokens per job (T_MAX)"),
  });
  s.ports = {{"csr", PortKind::TlmTarget, "32-bit control/status registers", false},
             {"in", PortKind::TlmTarget, "activation and weight beats (writes)", false},
             {"out", PortKind::TlmTarget, "result beats (reads)", false},
             {"done", PortKind::Event, "notified when a job's last result beat has left", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new NmSparseEngineTlm(n, p); };
  return s;
}

const RegisterModel reg_nm(spec());

}  // namespace
}  // namespace accel
}  // namespace cosim

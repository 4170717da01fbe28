// butterfly_engine_tlm: TLM twin of rtl/fabnet/butterfly_engine.sv (FABNet's butterfly
// engine), the same numbers and counters, timed per beat and per vector as the RTL's
// phases: weight beats one per edge from the edge after the start; a vector's beats one
// per edge; its L stages take the L * G edges after its last beat (G = N / (2 UNITS));
// its result beats one per edge from the edge after; the next vector's beats from the
// edge after its last result; done at the last result of the last vector.
#include <cstring>
#include <vector>

#include "../stream_engine.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kLogN = 0x10, kMode = 0x14, kShift = 0x18, kCount = 0x1C, kLoad = 0x20;
constexpr std::uint64_t kCounterBase = 0x40;
constexpr int kFrac = 14;
constexpr std::size_t kCounters = 3;  // BUTTERFLIES, VECTORS, WEIGHT_BEATS

std::int16_t round_sat(std::int64_t v, int s) {
  const std::int64_t r = (v + (std::int64_t(1) << (s - 1))) >> s;
  return std::int16_t(std::clamp<std::int64_t>(r, -32768, 32767));
}

unsigned log2u(std::uint64_t v) {
  unsigned l = 0;
  while ((std::uint64_t(1) << (l + 1)) <= v) ++l;
  return l;
}

class ButterflyEngineTlm : public StreamEngineTlm {
 public:
  ButterflyEngineTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "butterfly_engine_tlm", p, 8 * unsigned(p.get_uint("units")),
                        8 * unsigned(p.get_uint("units")), {kLogN, kMode, kShift, kCount, kLoad}),
        units_(unsigned(p.get_uint("units"))),
        max_n_(unsigned(p.get_uint("max_n"))),
        lmax_(log2u(max_n_)),
        weights_(std::size_t(lmax_) * (max_n_ / 2) * 4, 0),
        butterflies_(counter("butterflies", "butterfly operations (4 multiplies each)")),
        vectors_(counter("vectors", "vectors transformed")),
        weight_beats_(counter("weight_beats", "weight beats loaded")) {}

 private:
  std::uint32_t info() const override { return units_ | (lmax_ << 8) | kVersion; }

  // Configuration read back as written; the counters (cumulative, as the RTL's).
  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    if (a >= kLogN && a <= kLoad && a % 4 == 0) return reg(a);
    if (a >= kCounterBase && a < kCounterBase + 4 * kCounters) return counts_[(a - kCounterBase) / 4];
    return 0;
  }

  bool start(std::uint64_t edge, std::uint32_t) override {
    lg_ = reg(kLogN), mode_ = reg(kMode), shift_ = reg(kShift), count_ = reg(kCount);
    const unsigned lmin = log2u(2 * units_);
    if (lg_ < lmin || lg_ > lmax_ || mode_ > 1 || shift_ > 15 || count_ < 1 || count_ > 65535) return false;
    n_ = 1u << lg_;
    g_ = n_ / (2 * units_);
    w_left_ = (reg(kLoad) & 1) ? lg_ * g_ : 0;
    w_taken_ = 0;
    left_ = count_;
    in_.clear(), out_.clear();
    given_ = 0, out_ready_ = false;
    in_next_ = edge + 1, out_next_ = 0;
    return true;
  }

  std::uint64_t wanted() const override {
    if (out_ready_) return 0;  // the vector's results first
    return w_left_ + (left_ ? g_ - in_.size() / (2 * units_) : 0);
  }

  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, data += in_bytes_) {
      e = std::max(first, in_next_);
      in_next_ = e + 1;
      if (w_left_) {
        std::memcpy(&weights_[std::size_t(w_taken_) * 4], data, in_bytes_);
        w_taken_ += units_, --w_left_;
        weight_beats_.inc(), ++counts_[2];
        continue;
      }
      const std::size_t at = in_.size();
      in_.resize(at + 4 * std::size_t(units_));
      std::memcpy(&in_[at], data, in_bytes_);  // the beat's words, whatever its alignment
      if (in_.size() == 2 * std::size_t(n_)) {
        transform();
        out_next_ = e + std::uint64_t(lg_) * g_ + 1;
        out_ready_ = true;
        given_ = 0;
      }
    }
    return e;
  }

  std::uint64_t available() const override { return out_ready_ ? g_ - given_ : 0; }

  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, ++given_) {
      e = std::max(first, out_next_);
      out_next_ = e + 1;
      std::memcpy(data + i * out_bytes_, &out_[std::size_t(given_) * 4 * units_], out_bytes_);
    }
    if (given_ == g_) {
      out_ready_ = false;
      in_.clear();
      vectors_.inc(), ++counts_[1];
      in_next_ = e + 1;
      if (--left_ == 0) finish(e);
    }
    return e;
  }

  // The L stages of the vector in in_ (re, im pairs), result in natural order in out_.
  void transform() {
    std::vector<std::int64_t> re(n_), im(n_), nr(n_), ni(n_);
    for (unsigned k = 0; k < n_; ++k) re[k] = in_[2 * k], im[k] = in_[2 * k + 1];
    const unsigned h = n_ / 2;
    const int s = kFrac + int(shift_);
    for (unsigned st = 0; st < lg_; ++st) {
      for (unsigned j = 0; j < h; ++j) {
        const std::int16_t* w = &weights_[(std::size_t(st) * h + j) * 4];
        const std::int64_t ar = re[j], ai = im[j], br = re[j + h], bi = im[j + h];
        std::int64_t p0r, p0i, p1r, p1i;
        if (mode_) {
          p0r = (ar + br) * (1 << kFrac), p0i = (ai + bi) * (1 << kFrac);
          const std::int64_t dr = ar - br, di = ai - bi;
          p1r = dr * w[0] - di * w[1], p1i = dr * w[1] + di * w[0];
        } else {
          p0r = w[0] * ar + w[1] * br, p1r = w[2] * ar + w[3] * br, p0i = p1i = 0;
        }
        nr[2 * j] = round_sat(p0r, s), ni[2 * j] = round_sat(p0i, s);
        nr[2 * j + 1] = round_sat(p1r, s), ni[2 * j + 1] = round_sat(p1i, s);
      }
      re.swap(nr), im.swap(ni);
    }
    butterflies_.inc(std::uint64_t(lg_) * h), counts_[0] += std::uint32_t(lg_ * h);
    out_.assign(2 * std::size_t(n_), 0);
    for (unsigned k = 0; k < n_; ++k) {
      unsigned src = k;
      if (mode_) {
        src = 0;
        for (unsigned b = 0; b < lg_; ++b) src |= ((k >> b) & 1u) << (lg_ - 1 - b);
      }
      out_[2 * k] = std::int16_t(re[src]), out_[2 * k + 1] = std::int16_t(im[src]);
    }
  }

  unsigned units_, max_n_, lmax_;
  std::vector<std::int16_t> weights_;  // (stage, j) entries of four int16, stage-major
  Counter &butterflies_, &vectors_, &weight_beats_;
  std::uint32_t counts_[kCounters] = {0, 0, 0};
  unsigned lg_ = 0, mode_ = 0, shift_ = 0, count_ = 0, n_ = 0, g_ = 1;
  std::uint64_t w_left_ = 0, w_taken_ = 0, left_ = 0, given_ = 0, in_next_ = 0, out_next_ = 0;
  bool out_ready_ = false;
  std::vector<std::int16_t> in_, out_;  // a vector's words as (re, im) pairs
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "butterfly_engine_tlm";
  s.summary = "TLM twin of FABNet's butterfly engine (rtl/fabnet/butterfly_engine.sv)";
  s.doc = "Targets csr, in and out (beats of 2 UNITS complex int16 words), event done.";
  s.source = "Timing from the RTL's phases (weights, vector in, L stages of N/(2 UNITS) cycles, vector out).";
  s.params = stream_engine_params();
  s.params.push_back(int_param("units", 16, 1, 64, "", "butterfly units, 4 multipliers each (UNITS)"));
  s.params.push_back(int_param("max_n", 256, 4, 1024, "", "longest butterfly in points (MAX_N)"));
  s.ports = {{"csr", PortKind::TlmTarget, "registers", false}, {"in", PortKind::TlmTarget, "inputs", false},
             {"out", PortKind::TlmTarget, "results", false}, {"done", PortKind::Event, "job done", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new ButterflyEngineTlm(n, p); };
  return s;
}

const RegisterModel reg_butterfly_engine(spec());

}  // namespace
}  // namespace cosim::accel

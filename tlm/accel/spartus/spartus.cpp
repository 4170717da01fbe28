// spartus_tlm: TLM twin of rtl/spartus/spartus.sv (one DeltaLSTM layer on column-balanced MAC
// lanes). The same numbers and counters as the RTL; timed as its state machine: one input
// beat an edge from the edge after the start; a frame's MAC phase takes KPL edges per needed
// column plus one, the activation HIDDEN/8 edges, then one result beat an edge; LOAD and
// RESET jobs are done at the edge of their last beat.
#include <array>
#include <cstring>
#include <vector>

#include "../stream_engine.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kKpl = 0x10, kThreshold = 0x14, kMode = 0x18, kCounterBase = 0x20;
constexpr std::uint32_t kDense = 2, kClear = 4;
constexpr unsigned kAct = 8;  // hidden units activated per edge
// Q8 sigmoid and tanh over [-8, 8) in steps of 1/16 (cosim/accel/spartus/fixed_point.py).
constexpr std::int16_t kSigmoid[256] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 6, 6, 6, 7, 7, 8, 8, 8, 9, 10, 10, 11, 11, 12, 13, 14, 15, 15, 16, 17, 18, 19, 21, 22, 23, 24, 26, 27, 29, 31, 32, 34, 36, 38, 40, 42, 44, 47, 49, 52, 54, 57, 60, 63, 66, 69, 72, 75, 79, 82, 86, 89, 93, 97, 100, 104, 108, 112, 116, 120, 124, 128, 132, 136, 140, 144, 148, 152, 156, 159, 163, 167, 170, 174, 177, 181, 184, 187, 190, 193, 196, 199, 202, 204, 207, 209, 212, 214, 216, 218, 220, 222, 224, 225, 227, 229, 230, 232, 233, 234, 235, 237, 238, 239, 240, 241, 241, 242, 243, 244, 245, 245, 246, 246, 247, 248, 248, 248, 249, 249, 250, 250, 250, 251, 251, 251, 252, 252, 252, 252, 253, 253, 253, 253, 253, 254, 254, 254, 254, 254, 254, 254, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256};
constexpr std::int16_t kTanh[256] = {-256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -256, -255, -255, -255, -255, -255, -255, -255, -255, -255, -254, -254, -254, -254, -253, -253, -253, -252, -252, -251, -250, -250, -249, -248, -247, -246, -244, -243, -241, -239, -237, -234, -232, -229, -225, -221, -217, -212, -207, -201, -195, -188, -180, -172, -163, -153, -142, -131, -118, -105, -92, -77, -63, -47, -32, -16, 0, 16, 32, 47, 63, 77, 92, 105, 118, 131, 142, 153, 163, 172, 180, 188, 195, 201, 207, 212, 217, 221, 225, 229, 232, 234, 237, 239, 241, 243, 244, 246, 247, 248, 249, 250, 250, 251, 252, 252, 253, 253, 253, 254, 254, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256};

int lut_index(std::int64_t v, int shift) {
  const std::int64_t s = (v + (std::int64_t{1} << (shift - 1))) >> shift;
  return int(std::clamp<std::int64_t>(s, -128, 127) + 128);
}
std::int32_t wrap32(std::int64_t v) { return std::int32_t(std::uint32_t(std::uint64_t(v))); }

class SpartusTlm : public StreamEngineTlm {
 public:
  SpartusTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "spartus_tlm", p, 2 * unsigned(p.get_uint("lanes")), 2 * unsigned(p.get_uint("lanes")),
                        {kKpl, kThreshold, kMode}),
        lanes_(unsigned(p.get_uint("lanes"))),
        inputs_(unsigned(p.get_uint("inputs"))),
        hidden_(unsigned(p.get_uint("hidden"))),
        max_words_(unsigned(p.get_uint("max_words"))),
        cols_(inputs_ + hidden_),
        rpl_(4 * hidden_ / lanes_),
        wmem_(std::size_t(max_words_) * lanes_, 0),
        m_(4 * hidden_, 0),
        c_(hidden_, 0), h_(hidden_, 0), hp_(hidden_, 0), xp_(inputs_, 0), d_(cols_, 0), need_(cols_, false) {}

 private:
  std::uint32_t info() const override {
    return lanes_ | ((hidden_ / 8) << 8) | ((inputs_ / 8) << 16) | kVersion;
  }
  void control(std::uint32_t ctrl, std::uint64_t) override {
    if (ctrl & kClear) counters_.fill(0);
  }
  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    if (a >= kCounterBase && a < kCounterBase + 4 * counters_.size()) return counters_[(a - kCounterBase) / 4];
    return a == kKpl || a == kThreshold || a == kMode ? reg(a) : 0u;
  }
  std::uint64_t want() const {
    const std::uint32_t mode = reg(kMode);
    const std::uint64_t load = std::uint64_t(cols_) * reg(kKpl) / (dense_ ? 2 : 1);
    return mode == 0 ? inputs_ / lanes_ : mode == 1 ? load : 8 * hidden_ / lanes_;
  }
  bool start(std::uint64_t edge, std::uint32_t ctrl) override {
    const std::uint64_t kpl = reg(kKpl);
    const bool dense = (ctrl & kDense) != 0;
    if (kpl < 1 || kpl > rpl_ || cols_ * kpl > max_words_ || reg(kThreshold) > 32767 || reg(kMode) > 2) return false;
    if (reg(kMode) == 1 && dense && kpl % 2) return false;  // a dense image packs two words a beat
    dense_ = dense;
    taken_ = given_ = 0, out_.clear(), in_next_ = edge + 1, out_next_ = 0, ready_ = 0;
    if (reg(kMode) == 2) {
      std::fill(c_.begin(), c_.end(), 0), std::fill(h_.begin(), h_.end(), 0);
      std::fill(hp_.begin(), hp_.end(), 0), std::fill(xp_.begin(), xp_.end(), 0);
      std::fill(need_.begin(), need_.end(), false), std::fill(d_.begin(), d_.end(), 0);
    } else if (reg(kMode) == 0 && dense_) {
      std::fill(need_.begin() + inputs_, need_.end(), true);
    }
    return true;
  }
  bool fires(std::int64_t d) const { return dense_ || std::uint64_t(d < 0 ? -d : d) > reg(kThreshold); }
  std::uint64_t wanted() const override { return want() - taken_; }
  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    const std::uint32_t mode = reg(kMode);
    std::uint64_t e = first;
    for (std::uint64_t b = 0; b < n; ++b, data += in_bytes_, ++taken_) {
      e = std::max(first, in_next_);
      in_next_ = e + 1;
      for (unsigned l = 0; l < lanes_; ++l) {
        if (mode == 1 && dense_) {  // two words of int8 a beat; row offset = word in its column
          for (unsigned j = 0; j < 2; ++j) {
            const std::uint64_t word = 2 * taken_ + j;
            wmem_[word * lanes_ + l] = std::uint16_t(data[j * lanes_ + l] | ((word % reg(kKpl)) << 8));
          }
        } else if (mode == 1) {
          std::uint16_t w;
          std::memcpy(&w, data + 2 * l, 2);
          wmem_[taken_ * lanes_ + l] = w;
        } else if (mode == 2) {
          if (l < lanes_ / 2) {
            std::int32_t v;
            std::memcpy(&v, data + 4 * l, 4);
            m_[taken_ * (lanes_ / 2) + l] = v;
          }
        } else {
          std::int16_t x;
          std::memcpy(&x, data + 2 * l, 2);
          const std::size_t i = taken_ * lanes_ + l;
          d_[i] = std::int64_t(x) - xp_[i];
          need_[i] = fires(d_[i]);
          if (need_[i]) xp_[i] = x;
          counters_[3]++;
        }
      }
    }
    if (taken_ == want()) {
      if (mode == 0) {
        ready_ = e + frame() + 2 + hidden_ / kAct;
      } else {
        finish(e);
      }
    }
    return e;
  }
  // The column scheduler and the lanes over the needed columns, then the activation stage;
  // returns the MAC edges (KPL per column).
  std::uint64_t frame() {
    const std::uint64_t kpl = reg(kKpl);
    std::uint64_t columns = 0;
    for (unsigned col = 0; col < cols_; ++col) {
      if (!need_[col]) continue;
      ++columns;
      for (std::uint64_t k = 0; k < kpl; ++k)
        for (unsigned l = 0; l < lanes_; ++l) {
          const std::uint16_t word = wmem_[(col * kpl + k) * lanes_ + l];
          const std::size_t row = std::size_t(l) * rpl_ + (word >> 8);
          m_[row] = wrap32(m_[row] + std::int64_t(std::int8_t(word & 0xFF)) * d_[col]);
        }
      need_[col] = false;
    }
    counters_[0] += std::uint32_t(columns * kpl * lanes_);
    counters_[1] += std::uint32_t(columns * kpl);
    counters_[2] += std::uint32_t(columns);
    const unsigned h = hidden_;
    for (unsigned u = 0; u < h; ++u) {
      const std::int64_t ig = kSigmoid[lut_index(m_[u], 10)], fg = kSigmoid[lut_index(m_[h + u], 10)];
      const std::int64_t gg = kTanh[lut_index(m_[2 * h + u], 10)], og = kSigmoid[lut_index(m_[3 * h + u], 10)];
      c_[u] = wrap32((fg * c_[u] + ig * gg) >> 8);
      h_[u] = (og * kTanh[lut_index(c_[u], 4)]) >> 8;
      d_[inputs_ + u] = h_[u] - hp_[u];
      need_[inputs_ + u] = fires(d_[inputs_ + u]);
      if (need_[inputs_ + u]) hp_[u] = h_[u];
      out_.push_back(std::int16_t(h_[u]));
    }
    counters_[3] += h;
    counters_[4] += 5 * h;
    return columns * kpl;
  }
  std::uint64_t available() const override { return reg(kMode) == 0 && ready_ ? out_.size() / lanes_ - given_ : 0; }
  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, ++given_) {
      e = std::max({first, out_next_, ready_});
      out_next_ = e + 1;
      std::memcpy(data + i * out_bytes_, &out_[given_ * lanes_], out_bytes_);
    }
    if (given_ * lanes_ == hidden_) finish(e);
    return e;
  }

  unsigned lanes_, inputs_, hidden_, max_words_, cols_, rpl_;
  std::vector<std::uint16_t> wmem_;
  std::vector<std::int64_t> m_, c_, h_, hp_, xp_, d_;
  std::vector<bool> need_;
  std::vector<std::int16_t> out_;
  std::array<std::uint32_t, 5> counters_{};  // MACS, WEIGHT_READS, COLUMNS, ENCODED, LUT_LOOKUPS
  bool dense_ = false;
  std::uint64_t taken_ = 0, given_ = 0, in_next_ = 0, out_next_ = 0, ready_ = 0;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "spartus_tlm";
  s.summary = "TLM twin of the Spartus DeltaLSTM engine (rtl/spartus/spartus.sv)";
  s.doc = "Targets csr, in and out (beats of lanes int16), event done. Jobs: load weights, reset, step a frame.";
  s.source = "Timing from the RTL's state machine (Spartus, Gao et al., TNNLS 2022); defaults as the RTL's.";
  s.params = stream_engine_params();
  s.params.push_back(int_param("lanes", 16, 2, 64, "", "balanced MAC lanes (LANES)"));
  s.params.push_back(int_param("inputs", 64, 16, 1024, "", "layer inputs (INPUTS)"));
  s.params.push_back(int_param("hidden", 128, 16, 1024, "", "hidden units (HIDDEN)"));
  s.params.push_back(int_param("max_words", 6144, 16, 65535, "", "weight memory words (MAX_WORDS)"));
  s.ports = {{"csr", PortKind::TlmTarget, "registers", false}, {"in", PortKind::TlmTarget, "inputs", false},
             {"out", PortKind::TlmTarget, "results", false}, {"done", PortKind::Event, "job done", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new SpartusTlm(n, p); };
  return s;
}

const RegisterModel reg_spartus(spec());

}  // namespace
}  // namespace cosim::accel

// fp16_dot_tile_tlm: the approximately-timed TLM twin of rtl/dfx/fp16_dot_tile.sv (DFX's
// FP16 matrix tile; numerics and protocol in cosim/accel/dfx/fp16_tile.py). Products are
// exact in float, sums are float additions in the tree's order (IEEE binary32, round to
// nearest even: this file must not be compiled with -ffast-math or FMA contraction,
// which ISO C++17 mode leaves off), the result rounds once to binary16.
//
// Timing, from the RTL (edges on the tile clock; see stream_engine.h). Input items (an
// activation beat, a bias beat, a weight beat) are taken one per edge from the start
// edge s + 1, each at the first edge after its arrival at which the RTL has room:
//  - weight beat i (over all blocks) waits for the two-entry FIFO: edge >= L(i-2) + 1, where
//    L(i) = max(taken(i) + 1, L(i-1) + T, [first chunk of block b >= 2] R(b-2) + 1) is the
//    edge it moves into the multipliers and R(b) the edge block b's last result left;
//  - the bias beat of block b >= 2 waits for R(b-2) + 1 (its slot must be free);
//  - beat i is applied to the T tokens at edges L(i)+1 .. L(i)+T, accumulated two edges
//    later: block b's results are complete at C(b) = L(last chunk) + T + 2, and its result
//    beat j leaves at the first edge >= max(C(b), R(b-1)) + 1 + j at which it is asked.
// A take() whose beats wait for results not yet read blocks (SystemC wait) until the read
// comes, as the RTL's ready would stay low.
#include <cstring>
#include <vector>

#include "../fixed_point.h"
#include "../stream_engine.h"

namespace cosim {
namespace accel {
namespace {

constexpr std::uint64_t kTokens = 0x10, kInLen = 0x14, kBlocks = 0x18;

class Fp16DotTileTlm : public StreamEngineTlm {
 public:
  Fp16DotTileTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "fp16_dot_tile_tlm", p,
                        2 * unsigned(p.get_uint("lanes") * p.get_uint("width")), 2 * unsigned(p.get_uint("lanes")),
                        {kTokens, kInLen, kBlocks}),
        lanes_(unsigned(p.get_uint("lanes"))),
        width_(unsigned(p.get_uint("width"))),
        in_max_(unsigned(p.get_uint("in_max"))),
        t_max_(unsigned(p.get_uint("t_max"))),
        per_beat_(lanes_ * width_),
        macs_(counter("macs", "FP16 multiply-accumulates")) {
    if ((width_ & (width_ - 1)) != 0 || 16 * per_beat_ > 1024)
      throw std::invalid_argument(std::string(this->name()) +
                                  ": width must be a power of two and lanes*width*16 <= 1024 bits");
    if (in_max_ % per_beat_ != 0)
      throw std::invalid_argument(std::string(this->name()) + ": in_max must be a multiple of lanes*width");
    x_.assign(std::size_t(t_max_) * in_max_, 0.0f);
    acc_.assign(std::size_t(t_max_) * lanes_, 0.0f);
  }

 private:
  static constexpr std::uint64_t kUnknown = ~std::uint64_t(0);

  std::uint32_t info() const override { return lanes_ | (width_ << 8) | (1u << 24); }

  bool start(std::uint64_t edge, std::uint32_t ctrl) override {
    t_ = reg(kTokens);
    n_ = reg(kInLen);
    blocks_ = reg(kBlocks);
    if (t_ < 1 || t_ > t_max_ || n_ < 1 || n_ > in_max_ || n_ % width_ != 0 || blocks_ < 1 || blocks_ > 65535)
      return false;
    abeats_ = (n_ + per_beat_ - 1) / per_beat_;
    acts_left_ = (ctrl & 2u) ? 0 : std::uint64_t(t_) * abeats_;
    act_k_ = 0;
    bias_ = (ctrl & 4u) != 0;
    chunks_ = n_ / width_;
    per_block_ = chunks_ + (bias_ ? 1 : 0);
    item_ = 0;
    wbeat_ = 0;
    next_ = edge + 1;
    loads_.clear();
    complete_.assign(blocks_, 0);
    read_.assign(blocks_, kUnknown);
    results_.clear();
    out_block_ = 0;
    out_beat_ = 0;
    out_next_ = 0;
    return true;
  }

  std::uint64_t wanted() const override { return acts_left_ + std::uint64_t(blocks_) * per_block_ - item_; }

  // Block b's R(b) for a constraint, waiting until it is known (read by another initiator).
  std::uint64_t read_edge(std::uint64_t b) {
    while (read_[b] == kUnknown) sc_core::wait(read_ev_);
    return read_[b];
  }

  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, data += in_bytes_) {
      const auto h = [&](unsigned k) {
        std::uint16_t v;
        std::memcpy(&v, data + 2 * k, 2);
        return v;
      };
      if (acts_left_) {
        e = std::max(first, next_);
        next_ = e + 1;
        const unsigned t = unsigned(act_k_ / abeats_), c = unsigned(act_k_ % abeats_);
        for (unsigned k = 0; k < per_beat_ && c * per_beat_ + k < in_max_; ++k)
          x_[std::size_t(t) * in_max_ + c * per_beat_ + k] = fp::fp16_to_float(h(k));
        ++act_k_;
        --acts_left_;
        continue;
      }
      const std::uint64_t b = item_ / per_block_, pos = item_ % per_block_;
      ++item_;
      if (bias_ && pos == 0) {
        const std::uint64_t gate = b >= 2 ? read_edge(b - 2) + 1 : 0;
        e = std::max({first, next_, gate});
        next_ = e + 1;
        for (unsigned l = 0; l < lanes_; ++l)
          for (unsigned t = 0; t < t_; ++t) acc_[std::size_t(t) * lanes_ + l] = fp::fp16_to_float(h(l));
        continue;
      }
      const std::uint64_t c = bias_ ? pos - 1 : pos;
      if (c == 0 && !bias_) std::fill(acc_.begin(), acc_.end(), 0.0f);
      const std::size_t w = wbeat_++;
      e = std::max(first, next_);
      if (w >= 2) e = std::max(e, loads_[w - 2] + 1);
      std::uint64_t load = e + 1;
      if (w >= 1) load = std::max(load, loads_[w - 1] + t_);
      if (c == 0 && b >= 2) load = std::max(load, read_edge(b - 2) + 1);
      loads_.push_back(load);
      next_ = e + 1;
      apply(data, c);
      if (c + 1 == chunks_) {
        complete_[b] = load + t_ + 2;
        std::vector<std::uint16_t> out(std::size_t(t_) * lanes_);
        for (std::size_t k = 0; k < out.size(); ++k) out[k] = fp::float_to_fp16(acc_[k]);
        results_.push_back(std::move(out));
      }
    }
    return e;
  }

  void apply(const std::uint8_t* beat, std::size_t c) {
    std::vector<float> p(width_);
    for (unsigned t = 0; t < t_; ++t) {
      const float* x = &x_[std::size_t(t) * in_max_ + c * width_];
      for (unsigned l = 0; l < lanes_; ++l) {
        for (unsigned v = 0; v < width_; ++v) {
          std::uint16_t w;
          std::memcpy(&w, beat + 2 * (l * width_ + v), 2);
          p[v] = fp::fp16_to_float(w) * x[v];  // exact in binary32
        }
        for (unsigned len = width_; len > 1; len /= 2)
          for (unsigned k = 0; k < len / 2; ++k) p[k] = p[2 * k] + p[2 * k + 1];
        float& a = acc_[std::size_t(t) * lanes_ + l];
        a = a + p[0];
      }
    }
    macs_.inc(std::uint64_t(t_) * lanes_ * width_);
  }

  std::uint64_t available() const override {
    return (results_.size() - out_block_) * std::uint64_t(t_) - out_beat_;
  }

  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t b = out_block_;
      if (out_beat_ == 0) out_next_ = std::max(complete_[b], b ? read_[b - 1] : 0) + 1;
      e = std::max(first, out_next_);
      out_next_ = e + 1;
      std::memcpy(data + i * out_bytes_, &results_[b][std::size_t(out_beat_) * lanes_], out_bytes_);
      if (++out_beat_ == t_) {
        read_[b] = e;
        read_ev_.notify();
        out_beat_ = 0;
        ++out_block_;
      }
    }
    if (out_block_ == blocks_) finish(e);
    return e;
  }

  unsigned lanes_, width_, in_max_, t_max_, per_beat_;
  Counter& macs_;
  unsigned t_ = 1, n_ = 0, abeats_ = 1, blocks_ = 1, chunks_ = 1, per_block_ = 1;
  bool bias_ = false;
  std::uint64_t acts_left_ = 0, act_k_ = 0, item_ = 0, wbeat_ = 0, next_ = 0, out_next_ = 0;
  std::uint64_t out_block_ = 0, out_beat_ = 0;
  std::vector<std::uint64_t> loads_, complete_, read_;
  std::vector<std::vector<std::uint16_t>> results_;
  sc_core::sc_event read_ev_;
  std::vector<float> x_, acc_;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "fp16_dot_tile_tlm";
  s.summary = "Approximately-timed TLM twin of the DFX FP16 matrix tile (rtl/dfx/fp16_dot_tile.sv)";
  s.doc =
      "Targets csr (registers of cosim.accel.dfx.fp16_tile), in (activation, bias and weight beats of "
      "2*lanes*width bytes), out (result beats of 2*lanes bytes), event done. Bit-exact FP16 products, FP32 "
      "tree sums and accumulation; beats timed from the RTL's FIFO, 3-stage pipeline and two-block result "
      "buffer (an input write that must wait for results to be read blocks until they are).";
  s.source =
      "Structure of DFX's matrix processing unit (Hong et al., MICRO 2022): FP16 dot-product lanes with adder "
      "trees; the size is this project's scaled-down choice (8 lanes x 8 multipliers, rows of 512, 16 tokens).";
  s.params = stream_engine_params();
  s.params.insert(s.params.end(), {
      int_param("lanes", 8, 1, 64, "", "dot-product lanes (the RTL's LANES)"),
      int_param("width", 8, 1, 64, "", "multipliers per lane, a power of two (WIDTH)"),
      int_param("in_max", 512, 1, 1 << 16, "", "longest activation row, a multiple of lanes*width (IN_MAX)"),
      int_param("t_max", 16, 1, 64, "", "tokens per job (T_MAX)"),
  });
  s.ports = {{"csr", PortKind::TlmTarget, "32-bit control/status registers", false},
             {"in", PortKind::TlmTarget, "activation, bias and weight beats (writes)", false},
             {"out", PortKind::TlmTarget, "result beats (reads)", false},
             {"done", PortKind::Event, "notified when a job's last result beat has left", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new Fp16DotTileTlm(n, p); };
  return s;
}

const RegisterModel reg_tile(spec());

}  // namespace
}  // namespace accel
}  // namespace cosim

// smartdeal_mac_tlm: TLM twin of rtl/smartdeal/smartdeal_mac.sv (SmartDeal's MAC array). As the
// RTL: input beats one per edge from the edge after the start, accumulated at once; result
// row i leaves at the first edge after the last input beat (and after row i-1) at which it
// is asked; done at the last row. Same int32 sums, requantisation and counters.
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "../stream_engine.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kDepth = 0x10, kOshift = 0x14, kCounterBase = 0x20;
constexpr unsigned kNumCounters = 4;  // macs, gated, beats, results

class SmartdealMacTlm : public StreamEngineTlm {
 public:
  SmartdealMacTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "smartdeal_mac_tlm", p, unsigned(p.get_uint("rows") + p.get_uint("cols")),
                        unsigned(p.get_uint("cols")), {kDepth, kOshift}),
        rows_(unsigned(p.get_uint("rows"))),
        cols_(unsigned(p.get_uint("cols"))),
        acc_(std::size_t(rows_) * cols_, 0) {}

 private:
  std::uint32_t info() const override { return rows_ | (cols_ << 8) | kVersion; }
  void control(std::uint32_t v, std::uint64_t) override {
    if (v & 2u) counters_.fill(0);
  }
  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    if (a == kDepth || a == kOshift) return reg(a);
    if (a >= kCounterBase && a < kCounterBase + 4 * kNumCounters && a % 4 == 0)
      return std::uint32_t(counters_[(a - kCounterBase) / 4]);
    return 0;
  }
  bool start(std::uint64_t edge, std::uint32_t) override {
    depth_ = reg(kDepth);
    shift_ = reg(kOshift);
    std::fill(acc_.begin(), acc_.end(), 0);
    taken_ = given_ = 0;
    in_next_ = edge + 1;
    out_next_ = 0;
    return depth_ >= 1 && depth_ <= 65535 && shift_ <= 31;
  }
  std::uint64_t wanted() const override { return depth_ - taken_; }
  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, data += in_bytes_) {
      e = std::max(first, in_next_);
      in_next_ = e + 1;
      unsigned nz_a = 0, nz_w = 0;
      for (unsigned r = 0; r < rows_; ++r) nz_a += data[r] != 0;
      for (unsigned c = 0; c < cols_; ++c) nz_w += data[rows_ + c] != 0;
      for (unsigned r = 0; r < rows_; ++r) {
        const std::int32_t a = static_cast<std::int8_t>(data[r]);
        if (a == 0) continue;
        for (unsigned c = 0; c < cols_; ++c)
          acc_[std::size_t(r) * cols_ + c] += std::uint32_t(a * static_cast<std::int8_t>(data[rows_ + c]));
      }
      const std::uint32_t pairs = nz_a * nz_w;
      counters_[0] += pairs;
      counters_[1] += rows_ * cols_ - pairs;
      counters_[2] += 1;
      ++taken_;
    }
    if (taken_ == depth_) out_next_ = e + 1;
    return e;
  }
  std::uint64_t available() const override { return taken_ == depth_ ? rows_ - given_ : 0; }
  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, ++given_) {
      e = std::max(first, out_next_);
      out_next_ = e + 1;
      for (unsigned c = 0; c < cols_; ++c) {
        std::int64_t v = static_cast<std::int32_t>(acc_[std::size_t(given_) * cols_ + c]);
        if (shift_) v = (v + (std::int64_t(1) << (shift_ - 1))) >> shift_;
        data[i * cols_ + c] = static_cast<std::uint8_t>(std::clamp<std::int64_t>(v, -128, 127));
      }
      counters_[3] += 1;
    }
    if (given_ == rows_) finish(e);
    return e;
  }

  unsigned rows_, cols_;
  std::vector<std::uint32_t> acc_;  // int32, wrapping
  std::array<std::uint64_t, kNumCounters> counters_{};
  std::uint32_t depth_ = 0, shift_ = 0;
  std::uint64_t taken_ = 0, given_ = 0, in_next_ = 0, out_next_ = 0;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "smartdeal_mac_tlm";
  s.summary = "TLM twin of SmartDeal's MAC array (rtl/smartdeal/smartdeal_mac.sv)";
  s.doc = "Targets csr, in (beats of rows activations and cols weights, int8) and out (cols int8 per row), "
          "event done. Same int32 sums, requantisation and event counters as the RTL.";
  s.source = "Timing from the RTL (one input beat per cycle, one result row per cycle after the last); the "
             "8x8 default is this project's choice of a small array.";
  s.params = stream_engine_params();
  s.params.push_back(int_param("rows", 8, 1, 16, "", "PE rows: output pixels of a job (ROWS)"));
  s.params.push_back(int_param("cols", 8, 1, 16, "", "PE columns: output channels of a job (COLS)"));
  s.ports = {{"csr", PortKind::TlmTarget, "registers", false},
             {"in", PortKind::TlmTarget, "operand beats", false},
             {"out", PortKind::TlmTarget, "result rows", false},
             {"done", PortKind::Event, "job done", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new SmartdealMacTlm(n, p); };
  return s;
}

const RegisterModel reg_smartdeal_mac(spec());

}  // namespace
}  // namespace cosim::accel

// softmax_unit_tlm: the approximately-timed TLM twin of rtl/sta/softmax_unit.sv (STA's
// streaming softmax; numerics in fixed_point.h = cosim/accel/fixed_point.py).
//
// Timing of row r (B = ceil(len/lanes) beats), from the RTL (softmax_core.sv):
//  - the core starts row r at S(r): S(0) = start edge + 1, S(r) = last output edge of
//    row r-1 + 1;
//  - input beats one per edge from S(r) + 1; pass 2 (exponents) takes B edges after the
//    last one, then one edge to start the divider, 33 division edges and one to see it
//    finish: output beat j leaves at the first edge >= last input edge + B + 36 + j.
#include <cstring>
#include <vector>

#include "../fixed_point.h"
#include "../stream_engine.h"

namespace cosim {
namespace accel {
namespace {

constexpr std::uint64_t kLen = 0x10, kMult = 0x14, kShift = 0x18, kOutQ = 0x1C, kRows = 0x20;
constexpr std::uint64_t kDivEdges = 33;  // quotient bits of floor(2^48 / sum)

class SoftmaxUnitTlm : public StreamEngineTlm {
 public:
  SoftmaxUnitTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "softmax_unit_tlm", p, 4 * unsigned(p.get_uint("lanes")),
                        4 * unsigned(p.get_uint("lanes")), {kLen, kMult, kShift, kOutQ, kRows}),
        lanes_(unsigned(p.get_uint("lanes"))),
        max_len_(unsigned(p.get_uint("max_len"))),
        rows_done_(counter("rows", "rows normalised")),
        elements_(counter("elements", "scores normalised")) {
    if (max_len_ < lanes_ || max_len_ % lanes_ != 0)
      throw std::invalid_argument(std::string(this->name()) + ": max_len must be a multiple of lanes");
  }

 private:
  std::uint32_t info() const override { return lanes_ | ((max_len_ / lanes_) << 8) | (1u << 24); }

  bool start(std::uint64_t edge, std::uint32_t) override {
    len_ = reg(kLen);
    rows_ = reg(kRows);
    const std::uint32_t q = reg(kOutQ);
    if (len_ < 1 || len_ > max_len_ || reg(kMult) >= 65536 || reg(kShift) > 47 || (q & 31) > 16 || rows_ < 1)
      return false;
    nb_ = (len_ + lanes_ - 1) / lanes_;
    row_ = 0;
    in_row_.clear();
    out_.clear();
    out_given_ = 0;
    row_start_ = edge + 1;
    in_next_ = row_start_ + 1;
    return true;
  }

  std::uint64_t wanted() const override {
    if (row_ == rows_ || out_given_ < out_.size()) return 0;
    return nb_ - in_row_.size() / lanes_;
  }

  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, data += in_bytes_) {
      e = std::max(first, in_next_);
      in_next_ = e + 1;
      for (unsigned l = 0; l < lanes_; ++l) {
        std::int32_t v;
        std::memcpy(&v, data + 4 * l, 4);
        in_row_.push_back(v);
      }
    }
    if (in_row_.size() == std::size_t(nb_) * lanes_) {
      std::vector<std::int64_t> p(len_);
      fx::softmax_q16(in_row_.data(), len_, reg(kMult), reg(kShift), p.data());
      const std::uint32_t q = reg(kOutQ);
      out_.assign(std::size_t(nb_) * lanes_, 0);
      for (unsigned i = 0; i < len_; ++i) out_[i] = std::uint32_t(fx::quantize_prob(p[i], q & 31, q >> 16));
      out_given_ = 0;
      out_next_ = e + nb_ + 3 + kDivEdges;
      in_row_.clear();
      rows_done_.inc();
      elements_.inc(len_);
    }
    return e;
  }

  std::uint64_t available() const override { return (out_.size() - out_given_) / lanes_; }

  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i) {
      e = std::max(first, out_next_);
      out_next_ = e + 1;
      std::memcpy(data + i * out_bytes_, &out_[out_given_], out_bytes_);
      out_given_ += lanes_;
    }
    if (out_given_ == out_.size()) {
      out_.clear();
      out_given_ = 0;
      ++row_;
      row_start_ = e + 1;
      in_next_ = row_start_ + 1;
      if (row_ == rows_) finish(e);
    }
    return e;
  }

  unsigned lanes_, max_len_;
  Counter &rows_done_, &elements_;
  unsigned len_ = 1, rows_ = 1, nb_ = 1, row_ = 0;
  std::vector<std::int64_t> in_row_;
  std::vector<std::uint32_t> out_;
  std::size_t out_given_ = 0;
  std::uint64_t row_start_ = 0, in_next_ = 0, out_next_ = 0;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "softmax_unit_tlm";
  s.summary = "Approximately-timed TLM twin of STA's streaming softmax unit (rtl/sta/softmax_unit.sv)";
  s.doc =
      "Targets csr (registers of cosim.accel.sta.softmax_unit), in and out (beats of lanes int32), event done. Same "
      "fixed-point softmax as rtl/common/softmax_core.sv (cosim.accel.fixed_point.softmax_q16); rows timed from the "
      "core's three passes and its 33-cycle divider.";
  s.source =
      "Structure: a streaming softmax with the row kept on chip (STA, Fang, Zhou and Wang, IEEE TVLSI 2022); "
      "exponent by a cubic in the log2 domain and one division per row are this project's design. Defaults: "
      "16 lanes (one engine result beat), rows up to 256.";
  s.params = stream_engine_params();
  s.params.insert(s.params.end(), {
      int_param("lanes", 16, 1, 32, "", "elements per beat (the RTL's LANES)"),
      int_param("max_len", 256, 1, 4096, "", "longest row, a multiple of lanes (MAX_LEN)"),
  });
  s.ports = {{"csr", PortKind::TlmTarget, "32-bit control/status registers", false},
             {"in", PortKind::TlmTarget, "score beats (writes)", false},
             {"out", PortKind::TlmTarget, "probability beats (reads)", false},
             {"done", PortKind::Event, "notified when a job's last row has left", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new SoftmaxUnitTlm(n, p); };
  return s;
}

const RegisterModel reg_softmax(spec());

}  // namespace
}  // namespace accel
}  // namespace cosim

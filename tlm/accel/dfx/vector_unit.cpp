// vector_unit_tlm: the approximately-timed TLM twin of rtl/dfx/vector_unit.sv (DFX's vector
// unit; numerics in fixed_point.h = cosim/accel/fixed_point.py, protocol in
// cosim/accel/dfx/vector_unit.py).
//
// Timing of a row, from the RTL (edges on the unit clock; see stream_engine.h): the row
// begins at R (the start edge, or the last output edge of the previous row); its input
// beats are taken one per edge from R + 2; after the last one (edge a) the first output
// beat leaves at the first edge >= a + D at which it is asked, D = 1 for ADD and GELU,
// B + 36 for SOFTMAX (exponent pass, divider start, 33 division steps, hand-over) and
// B + 62 for LAYERNORM (mean, variance pass, 32 square-root and 25 division steps,
// hand-overs), B = ceil(LEN / LANES). LOAD_LUT beats are taken one per edge from the
// start edge + 1; the job ends with the last one.
#include <cstring>
#include <vector>

#include "../fixed_point.h"
#include "../stream_engine.h"

namespace cosim {
namespace accel {
namespace {

constexpr std::uint64_t kOp = 0x10, kLen = 0x14, kRows = 0x18, kMult = 0x1C, kShift = 0x20, kEps = 0x24;
enum Op : std::uint32_t { kAdd = 0, kLayerNorm = 1, kSoftmax = 2, kGelu = 3, kLoadLut = 4 };

class VectorUnitTlm : public StreamEngineTlm {
 public:
  VectorUnitTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "vector_unit_tlm", p, 2 * unsigned(p.get_uint("lanes")),
                        2 * unsigned(p.get_uint("lanes")), {kOp, kLen, kRows, kMult, kShift, kEps}),
        lanes_(unsigned(p.get_uint("lanes"))),
        max_len_(unsigned(p.get_uint("max_len"))),
        rows_done_(counter("rows", "rows processed")),
        elements_(counter("elements", "elements processed")) {
    if (lanes_ % 2 != 0 || max_len_ < lanes_ || max_len_ % lanes_ != 0)
      throw std::invalid_argument(std::string(this->name()) + ": lanes must be even and max_len a multiple of it");
    lut_.assign(fx::kGeluLut, 0);
  }

 private:
  std::uint32_t info() const override { return lanes_ | ((max_len_ / lanes_) << 8) | (1u << 24); }

  unsigned segments() const { return op_ == kAdd ? 2 : op_ == kLayerNorm ? 3 : 1; }
  unsigned lut_beats() const { return (fx::kGeluLut + lanes_ / 2 - 1) / (lanes_ / 2); }

  bool start(std::uint64_t edge, std::uint32_t) override {
    op_ = reg(kOp);
    len_ = reg(kLen);
    rows_ = reg(kRows);
    if (op_ > kLoadLut) return false;
    if (op_ != kLoadLut) {
      if (len_ < 1 || len_ > max_len_ || rows_ < 1) return false;
      if (op_ == kLayerNorm && ((len_ & (len_ - 1)) != 0 || (reg(kEps) >> 31))) return false;
      if (op_ == kSoftmax && (reg(kMult) >= 65536 || reg(kShift) > 47)) return false;
    }
    nb_ = (len_ + lanes_ - 1) / lanes_;
    row_ = 0;
    in_.clear();
    out_.clear();
    out_given_ = 0;
    lut_taken_ = 0;
    in_next_ = op_ == kLoadLut ? edge + 1 : edge + 2;
    return true;
  }

  std::uint64_t wanted() const override {
    if (op_ == kLoadLut) return lut_beats() - lut_taken_;
    if (row_ == rows_ || out_given_ < out_.size()) return 0;
    return std::uint64_t(segments()) * nb_ - in_.size() / lanes_;
  }

  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, data += in_bytes_) {
      e = std::max(first, in_next_);
      in_next_ = e + 1;
      if (op_ == kLoadLut) {
        for (unsigned k = 0; k < lanes_ / 2; ++k) {
          const unsigned idx = lut_taken_ * (lanes_ / 2) + k;
          std::int32_t v;
          std::memcpy(&v, data + 4 * k, 4);
          if (idx < fx::kGeluLut) lut_[idx] = v;
        }
        if (++lut_taken_ == lut_beats()) finish(e);
        continue;
      }
      for (unsigned l = 0; l < lanes_; ++l) {
        std::uint16_t h;
        std::memcpy(&h, data + 2 * l, 2);
        in_.push_back(h);
      }
    }
    if (op_ != kLoadLut && in_.size() == std::size_t(segments()) * nb_ * lanes_) compute_row(e);
    return e;
  }

  void compute_row(std::uint64_t last_in) {
    const std::size_t seg = std::size_t(nb_) * lanes_;
    std::vector<std::int64_t> a(len_), b(len_), c(len_), z(len_);
    for (unsigned i = 0; i < len_; ++i) {
      a[i] = fx::fp16_to_fx(in_[i]);
      if (segments() > 1) b[i] = fx::fp16_to_fx(in_[seg + i]);
      if (segments() > 2) c[i] = fx::fp16_to_fx(in_[2 * seg + i]);
    }
    std::uint64_t delay = 1;
    switch (op_) {
      case kAdd:
        for (unsigned i = 0; i < len_; ++i) z[i] = fx::sat(a[i] + b[i]);
        break;
      case kLayerNorm:
        fx::layernorm(a.data(), b.data(), c.data(), unsigned(__builtin_ctz(len_)), reg(kEps), z.data());
        delay = nb_ + 62;
        break;
      case kSoftmax:
        fx::softmax_q16(a.data(), len_, reg(kMult), reg(kShift), z.data());
        delay = nb_ + 36;
        break;
      default:
        for (unsigned i = 0; i < len_; ++i) z[i] = fx::gelu(a[i], lut_.data());
    }
    out_.assign(seg, 0);
    for (unsigned i = 0; i < len_; ++i) out_[i] = fx::fx_to_fp16(z[i]);
    out_given_ = 0;
    out_next_ = last_in + delay;
    in_.clear();
    rows_done_.inc();
    elements_.inc(len_);
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
      in_next_ = e + 2;
      if (row_ == rows_) finish(e);
    }
    return e;
  }

  unsigned lanes_, max_len_;
  Counter &rows_done_, &elements_;
  std::uint32_t op_ = 0, len_ = 1, rows_ = 1, nb_ = 1, row_ = 0, lut_taken_ = 0;
  std::vector<std::uint16_t> in_, out_;
  std::vector<std::int64_t> lut_;
  std::size_t out_given_ = 0;
  std::uint64_t in_next_ = 0, out_next_ = 0;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "vector_unit_tlm";
  s.summary = "Approximately-timed TLM twin of the DFX vector unit (rtl/dfx/vector_unit.sv)";
  s.doc =
      "Targets csr (registers of cosim.accel.dfx.vector_unit), in and out (beats of lanes FP16), event done. Same "
      "fixed-point LayerNorm, softmax (the shared core), GELU table and addition as the RTL; rows timed from its "
      "passes, square root and divider.";
  s.source =
      "Operations of DFX's vector processing unit (Hong et al., MICRO 2022); fixed-point internals, sequential "
      "square root and divider are this project's design. Defaults: 16 lanes, rows up to 512.";
  s.params = stream_engine_params();
  s.params.insert(s.params.end(), {
      int_param("lanes", 16, 2, 64, "", "FP16 elements per beat, even (the RTL's LANES)"),
      int_param("max_len", 512, 2, 4096, "", "longest row, a multiple of lanes (MAX_LEN)"),
  });
  s.ports = {{"csr", PortKind::TlmTarget, "32-bit control/status registers", false},
             {"in", PortKind::TlmTarget, "input beats (writes)", false},
             {"out", PortKind::TlmTarget, "result beats (reads)", false},
             {"done", PortKind::Event, "notified when a job's last row has left", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new VectorUnitTlm(n, p); };
  return s;
}

const RegisterModel reg_vpu(spec());

}  // namespace
}  // namespace accel
}  // namespace cosim

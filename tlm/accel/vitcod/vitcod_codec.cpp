// vitcod_codec_tlm: TLM twin of rtl/vitcod/vitcod_codec.sv (ViTCoD's Q/K encoder or
// decoder layer). As the RTL: a load job takes DOUT weight beats one per edge from the
// edge after the start and is done at the last; a coding job takes rows one per edge and
// gives row r from the edge after it was taken, one an edge; done at the last result.
#include <algorithm>
#include <cstring>
#include <vector>

#include "../stream_engine.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kCount = 0x10, kShift = 0x14, kRows = 0x40;

class VitcodCodecTlm : public StreamEngineTlm {
 public:
  VitcodCodecTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "vitcod_codec_tlm", p, unsigned(p.get_uint("din")), unsigned(p.get_uint("dout")),
                        {kCount, kShift}),
        din_(unsigned(p.get_uint("din"))),
        dout_(unsigned(p.get_uint("dout"))),
        max_rows_(unsigned(p.get_uint("max_rows"))),
        weights_(std::size_t(din_) * dout_, 0) {}

 private:
  std::uint32_t info() const override { return din_ | (dout_ << 8) | ((max_rows_ / 8) << 16) | (1u << 24); }
  void control(std::uint32_t ctrl, std::uint64_t) override {
    if (ctrl & 2u) rows_ = 0;
  }
  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    if (a == kRows) return rows_;
    if (a == kCount || a == kShift) return reg(a);
    return 0;
  }
  bool start(std::uint64_t edge, std::uint32_t ctrl) override {
    loading_ = (ctrl & 4u) != 0;
    count_ = reg(kCount), shift_ = reg(kShift);
    if (shift_ > 15 || !(loading_ || (count_ >= 1 && count_ <= max_rows_))) return false;
    left_ = loading_ ? dout_ : count_;
    loaded_ = 0, given_ = 0, in_next_ = edge + 1, out_next_ = 0;
    out_.clear(), ready_.clear();
    return true;
  }
  std::uint64_t wanted() const override { return left_; }
  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, --left_, data += din_) {
      e = std::max(first, in_next_);
      in_next_ = e + 1;
      if (loading_) {
        std::memcpy(&weights_[std::size_t(loaded_++) * din_], data, din_);
        continue;
      }
      ready_.push_back(e + 1);
      ++rows_;
      const auto* x = reinterpret_cast<const std::int8_t*>(data);
      for (unsigned j = 0; j < dout_; ++j) {
        const auto* w = reinterpret_cast<const std::int8_t*>(&weights_[std::size_t(j) * din_]);
        std::int32_t acc = shift_ ? std::int32_t(1) << (shift_ - 1) : 0;
        for (unsigned k = 0; k < din_; ++k) acc += std::int32_t(x[k]) * std::int32_t(w[k]);
        acc >>= shift_;
        out_.push_back(std::uint8_t(std::int8_t(std::clamp(acc, -128, 127))));
      }
    }
    if (loading_ && left_ == 0) finish(e);
    return e;
  }
  std::uint64_t available() const override { return ready_.size() - given_; }
  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, ++given_) {
      e = std::max({first, out_next_, ready_[given_]});
      out_next_ = e + 1;
      std::memcpy(data + i * dout_, &out_[given_ * dout_], dout_);
    }
    if (given_ == count_) finish(e);
    return e;
  }

  unsigned din_, dout_, max_rows_;
  std::vector<std::uint8_t> weights_;  // dout rows of din int8
  std::vector<std::uint8_t> out_;      // coded rows
  std::vector<std::uint64_t> ready_;   // the edge each result row can leave at the earliest
  bool loading_ = false;
  std::uint32_t count_ = 0, shift_ = 0, rows_ = 0, loaded_ = 0;
  std::uint64_t left_ = 0, given_ = 0, in_next_ = 0, out_next_ = 0;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "vitcod_codec_tlm";
  s.summary = "TLM twin of ViTCoD's Q/K encoder/decoder layer (rtl/vitcod/vitcod_codec.sv)";
  s.doc = "Targets csr, in (weight beats or rows of din int8) and out (rows of dout int8), event done.";
  s.source = "Timing from the RTL's buffer (one beat an edge each way); defaults as the RTL's.";
  s.params = stream_engine_params();
  s.params.push_back(int_param("din", 64, 4, 128, "", "int8 values of an input row (DIN)"));
  s.params.push_back(int_param("dout", 32, 4, 128, "", "int8 values of a result row (DOUT)"));
  s.params.push_back(int_param("max_rows", 256, 8, 1024, "", "rows a coding job holds (MAX_ROWS)"));
  s.ports = {{"csr", PortKind::TlmTarget, "registers", false}, {"in", PortKind::TlmTarget, "inputs", false},
             {"out", PortKind::TlmTarget, "results", false}, {"done", PortKind::Event, "job done", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new VitcodCodecTlm(n, p); };
  return s;
}

const RegisterModel reg_vitcod_codec(spec());

}  // namespace
}  // namespace cosim::accel

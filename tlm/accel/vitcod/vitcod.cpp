// vitcod_tlm: TLM twin of rtl/vitcod/vitcod.sv. As the RTL: inputs one per edge from the edge
// after the start; result j one edge after its input at the earliest; done at the last result.
#include <cstring>
#include <vector>

#include "../stream_engine.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kCount = 0x10, kScale = 0x14, kShift = 0x18;

class VitcodTlm : public StreamEngineTlm {
 public:
  VitcodTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "vitcod_tlm", p, 4 * unsigned(p.get_uint("lanes")),
                        4 * unsigned(p.get_uint("lanes")), {kCount, kScale, kShift}),
        lanes_(unsigned(p.get_uint("lanes"))), max_beats_(unsigned(p.get_uint("max_beats"))) {}

 private:
  std::uint32_t info() const override { return lanes_ | (max_beats_ << 8) | (1u << 24); }
  bool start(std::uint64_t edge, std::uint32_t) override {
    count_ = reg(kCount);
    out_.clear(), ready_.clear(), given_ = 0, in_next_ = edge + 1, out_next_ = 0;
    return count_ >= 1 && count_ <= max_beats_ && reg(kShift) <= 31;
  }
  std::uint64_t wanted() const override { return count_ - ready_.size(); }
  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    for (std::uint64_t i = 0; i < n; ++i, data += in_bytes_) {
      const std::uint64_t e = std::max(first, in_next_);
      in_next_ = e + 1;
      ready_.push_back(e + 1);
      for (unsigned l = 0; l < lanes_; ++l) {
        std::int32_t x;
        std::memcpy(&x, data + 4 * l, 4);
        out_.push_back(std::uint32_t(std::int64_t(x) * std::int32_t(reg(kScale)) >> reg(kShift)));
      }
    }
    return in_next_ - 1;
  }
  std::uint64_t available() const override { return ready_.size() - given_; }
  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, ++given_) {
      e = std::max({first, out_next_, ready_[given_]});
      out_next_ = e + 1;
      std::memcpy(data + i * out_bytes_, &out_[given_ * lanes_], out_bytes_);
    }
    if (given_ == count_) finish(e);
    return e;
  }

  unsigned lanes_, max_beats_, count_ = 1;
  std::vector<std::uint32_t> out_;    // results, lanes per beat
  std::vector<std::uint64_t> ready_;  // the edge each result beat can leave at the earliest
  std::uint64_t given_ = 0, in_next_ = 0, out_next_ = 0;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "vitcod_tlm";
  s.summary = "TLM twin of the vitcod engine (rtl/vitcod/vitcod.sv)";
  s.doc = "Targets csr, in and out (beats of lanes int32), event done.";
  s.source = "Timing from the RTL's buffer (one beat per cycle each way); defaults as the RTL's.";
  s.params = stream_engine_params();
  s.params.push_back(int_param("lanes", 4, 1, 64, "", "int32 lanes per beat (LANES)"));
  s.params.push_back(int_param("max_beats", 64, 2, 4096, "", "beats per job (MAX_BEATS)"));
  s.ports = {{"csr", PortKind::TlmTarget, "registers", false}, {"in", PortKind::TlmTarget, "inputs", false},
             {"out", PortKind::TlmTarget, "results", false}, {"done", PortKind::Event, "job done", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new VitcodTlm(n, p); };
  return s;
}

const RegisterModel reg_vitcod(spec());

}  // namespace
}  // namespace cosim::accel

// gcod_tlm: TLM twin of rtl/gcod/gcod.sv (GCoD's aggregation engine, one RTL for the
// dense-block and the sparse engine). As the RTL: input beats one per edge from the edge
// after the start; a beat with `last` (or the job's final beat) closes a row, whose sum
// leaves one edge later at the earliest, one result per edge; done at the ROWS-th result.
#include <cstring>
#include <vector>

#include "../stream_engine.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kCount = 0x10, kRows = 0x14, kMacs = 0x20, kBeats = 0x24;

class GcodTlm : public StreamEngineTlm {
 public:
  GcodTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "gcod_tlm", p, 4 * (unsigned(p.get_uint("lanes")) + 1),
                        4 * unsigned(p.get_uint("lanes")), {kCount, kRows}),
        lanes_(unsigned(p.get_uint("lanes"))),
        max_rows_(unsigned(p.get_uint("max_rows"))),
        acc_(lanes_, 0) {}

 private:
  std::uint32_t info() const override { return lanes_ | (max_rows_ << 8) | (1u << 24); }
  void control(std::uint32_t ctrl, std::uint64_t) override {
    if (ctrl & 2u) macs_ = beats_ = 0;
  }
  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    if (a == kCount || a == kRows) return reg(a);
    if (a == kMacs) return macs_;
    if (a == kBeats) return beats_;
    return 0;
  }
  bool start(std::uint64_t edge, std::uint32_t) override {
    count_ = reg(kCount), rows_ = reg(kRows);
    out_.clear(), ready_.clear(), taken_ = given_ = 0, in_next_ = edge + 1, out_next_ = 0;
    std::fill(acc_.begin(), acc_.end(), 0u);
    return rows_ >= 1 && rows_ <= max_rows_ && count_ >= rows_ && count_ <= 65535;
  }
  std::uint64_t wanted() const override { return count_ - taken_; }
  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    for (std::uint64_t i = 0; i < n; ++i, data += in_bytes_) {
      const std::uint64_t e = std::max(first, in_next_);
      in_next_ = e + 1;
      std::uint32_t head;
      std::memcpy(&head, data, 4);
      const std::int32_t a = std::int16_t(head & 0xFFFFu);
      for (unsigned l = 0; l < lanes_; ++l) {
        std::int32_t h;
        std::memcpy(&h, data + 4 * (l + 1), 4);
        acc_[l] += std::uint32_t(std::int64_t(h) * a);
      }
      ++taken_, macs_ += lanes_, ++beats_;
      if ((head >> 31) || taken_ == count_) {
        out_.insert(out_.end(), acc_.begin(), acc_.end());
        std::fill(acc_.begin(), acc_.end(), 0u);
        ready_.push_back(e + 1);
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
    if (given_ == rows_) finish(e);
    return e;
  }

  unsigned lanes_, max_rows_;
  std::uint32_t count_ = 1, rows_ = 1, macs_ = 0, beats_ = 0;
  std::vector<std::uint32_t> acc_, out_;  // the running row sum; results, lanes per row
  std::vector<std::uint64_t> ready_;      // the edge each result can leave at the earliest
  std::uint64_t taken_ = 0, given_ = 0, in_next_ = 0, out_next_ = 0;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "gcod_tlm";
  s.summary = "TLM twin of GCoD's aggregation engine (rtl/gcod/gcod.sv)";
  s.doc = "Targets csr, in (a_ij header word + lanes int32) and out (lanes int32), event done.";
  s.source = "Timing from the RTL (one beat per cycle in, one result per cycle out); defaults as the RTL's.";
  s.params = stream_engine_params();
  s.params.push_back(int_param("lanes", 16, 1, 64, "", "int32 feature lanes per beat (LANES)"));
  s.params.push_back(int_param("max_rows", 64, 2, 4096, "", "result rows per job (MAX_ROWS)"));
  s.ports = {{"csr", PortKind::TlmTarget, "registers", false}, {"in", PortKind::TlmTarget, "inputs", false},
             {"out", PortKind::TlmTarget, "results", false}, {"done", PortKind::Event, "job done", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new GcodTlm(n, p); };
  return s;
}

const RegisterModel reg_gcod(spec());

}  // namespace
}  // namespace cosim::accel

// nuqmm_tlm: TLM twin of rtl/nuqmm/nuqmm.sv (LUT builder, lookup-accumulate lanes, scale
// unit). Same registers, numbers and counters; timed per beat on the RTL's edges: a beat
// is taken at the first edge it is offered in a taking state; a weight or scale beat is
// held BATCH edges in all (one per column); BATCH * ceil(2^MU / LANES) build edges after
// the activations and after every group's last weight beat but the last group's; result
// beats from the edge after the last scale beat's last column, one per edge.
#include <algorithm>
#include <cstring>
#include <vector>

#include "../stream_engine.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kGroups = 0x10, kRows = 0x14, kQ = 0x18, kShift = 0x1C, kBatch = 0x20;
constexpr std::uint64_t kLutEntries = 0x40, kLookups = 0x44, kScaleMacs = 0x48;

class NuqmmTlm : public StreamEngineTlm {
 public:
  NuqmmTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "nuqmm_tlm", p, unsigned(p.get_uint("lanes")), unsigned(p.get_uint("lanes")),
                        {kGroups, kRows, kQ, kShift, kBatch}),
        mu_(unsigned(p.get_uint("mu"))),
        lanes_(unsigned(p.get_uint("lanes"))),
        max_q_(unsigned(p.get_uint("max_q"))),
        max_rows_(unsigned(p.get_uint("max_rows"))),
        max_groups_(unsigned(p.get_uint("max_groups"))),
        max_batch_(unsigned(p.get_uint("max_batch"))) {
    if (lanes_ % 4 != 0 || max_rows_ < lanes_ || max_groups_ * mu_ < lanes_)
      throw std::invalid_argument("nuqmm_tlm: lanes must be a multiple of 4, at most max_rows and max_groups*mu");
    build_ = ((1u << mu_) + lanes_ - 1) / lanes_;
  }

 private:
  std::uint32_t info() const override {
    return lanes_ | (mu_ << 8) | (max_q_ << 16) | (max_batch_ << 21) | kVersion;
  }

  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    switch (a) {
      case kGroups: case kRows: case kQ: case kShift: case kBatch: return reg(a);
      case kLutEntries: return std::uint32_t(lut_entries_);
      case kLookups: return std::uint32_t(lookups_);
      case kScaleMacs: return std::uint32_t(scale_macs_);
      default: return 0;
    }
  }

  bool start(std::uint64_t edge, std::uint32_t) override {
    groups_ = reg(kGroups), rows_ = reg(kRows), q_ = reg(kQ), shift_ = reg(kShift), batch_ = reg(kBatch);
    const std::uint64_t acts = std::uint64_t(groups_) * mu_;
    const bool ok = groups_ >= 1 && groups_ <= max_groups_ && acts % lanes_ == 0 && rows_ >= lanes_ &&
                    rows_ <= max_rows_ && rows_ % lanes_ == 0 && q_ >= 1 && q_ <= max_q_ && shift_ <= 63 &&
                    batch_ >= 1 && batch_ <= max_batch_;
    next_ = edge + 1;
    beat_ = 0, given_ = 0;
    if (!ok) return false;
    n_ = acts;
    act_beats_ = acts * batch_ / lanes_;
    look_beats_ = std::uint64_t(rows_) * q_ / lanes_;
    need_ = act_beats_ + groups_ * look_beats_ + 2 * look_beats_;
    x_.assign(acts * batch_, 0);
    acc_.assign(std::size_t(rows_) * q_ * batch_, 0);
    y_.assign(std::size_t(rows_) * batch_, 0);
    out_.clear();
    return true;
  }

  std::uint64_t wanted() const override { return out_.empty() ? need_ - beat_ : 0; }

  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, data += in_bytes_) {
      e = std::max(first, next_);
      next_ = e + (beat_ < act_beats_ ? 1 : batch_);
      beat(data);
    }
    return e;
  }

  void beat(const std::uint8_t* d) {
    const std::uint64_t b = beat_++;
    if (b < act_beats_) {
      std::memcpy(&x_[b * lanes_], d, lanes_);
      if (b + 1 == act_beats_) build(0);
      return;
    }
    const std::uint64_t w = b - act_beats_;
    if (w < groups_ * look_beats_) {
      const std::uint64_t g = w / look_beats_, t = w % look_beats_, per = std::uint64_t(rows_) * q_;
      const unsigned entries = 1u << mu_;
      for (unsigned c = 0; c < batch_; ++c)
        for (unsigned l = 0; l < lanes_; ++l)
          acc_[c * per + t * lanes_ + l] += std::uint32_t(lut_[c * entries + (d[l] & (entries - 1))]);
      lookups_ += std::uint64_t(lanes_) * batch_;
      if (t + 1 == look_beats_ && g + 1 < groups_) build(unsigned(g + 1));
      return;
    }
    const std::uint64_t s = w - groups_ * look_beats_, half = lanes_ / 2, per = std::uint64_t(rows_) * q_;
    for (unsigned c = 0; c < batch_; ++c)
      for (unsigned l = 0; l < half; ++l) {
        const std::uint64_t k = s * half + l;
        std::uint16_t alpha;
        std::memcpy(&alpha, d + 2 * l, 2);
        y_[c * rows_ + k % rows_] += std::int64_t(alpha) * std::int64_t(std::int32_t(acc_[c * per + k]));
      }
    scale_macs_ += half * batch_;
    if (b + 1 == need_) {
      out_.resize(std::size_t(rows_) * batch_);
      for (std::size_t r = 0; r < out_.size(); ++r) out_[r] = std::uint32_t(y_[r] >> shift_);
    }
  }

  // The tables of group g, one per column: every signed sum of its MU activations; the
  // build takes BATCH * BUILD edges before the group's first weight beat.
  void build(unsigned g) {
    const unsigned entries = 1u << mu_;
    lut_.assign(std::size_t(entries) * batch_, 0);
    for (unsigned c = 0; c < batch_; ++c)
      for (unsigned p = 0; p < entries; ++p)
        for (unsigned j = 0; j < mu_; ++j) {
          const std::int32_t x = std::int8_t(x_[c * n_ + std::size_t(g) * mu_ + j]);
          lut_[c * entries + p] += (p >> j & 1) ? x : -x;
        }
    lut_entries_ += std::uint64_t(entries) * batch_;
    next_ += std::uint64_t(build_) * batch_;
  }

  std::uint64_t available() const override { return out_.empty() ? 0 : out_.size() / (lanes_ / 4) - given_; }

  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    const unsigned words = lanes_ / 4;
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, ++given_) {
      e = std::max(first, next_);
      next_ = e + 1;
      std::memcpy(data + i * out_bytes_, &out_[given_ * words], out_bytes_);
    }
    if (given_ == out_.size() / words) finish(e);
    return e;
  }

  unsigned mu_, lanes_, max_q_, max_rows_, max_groups_, max_batch_, build_ = 1;
  std::uint32_t groups_ = 1, rows_ = 4, q_ = 1, shift_ = 0, batch_ = 1;
  std::uint64_t n_ = 0, next_ = 0, beat_ = 0, given_ = 0, act_beats_ = 0, look_beats_ = 0, need_ = 0;
  std::vector<std::uint8_t> x_;
  std::vector<std::int32_t> lut_;
  std::vector<std::uint32_t> acc_, out_;
  std::vector<std::int64_t> y_;
  std::uint64_t lut_entries_ = 0, lookups_ = 0, scale_macs_ = 0;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "nuqmm_tlm";
  s.summary = "TLM twin of the nuQmm LUT-GEMV engine (rtl/nuqmm/)";
  s.doc = "Targets csr, in (activations, weight patterns, scales) and out (int32 results), event done.";
  s.source = "Timing from the RTL's state machine (one beat per edge, ceil(2^mu/lanes) build cycles per "
             "group); defaults as the RTL's.";
  s.params = stream_engine_params();
  s.params.push_back(int_param("mu", 8, 2, 8, "", "activations per LUT group (MU)"));
  s.params.push_back(int_param("lanes", 16, 4, 64, "", "lookup-accumulate lanes = beat bytes (LANES)"));
  s.params.push_back(int_param("max_q", 4, 1, 8, "", "bit-planes (MAX_Q)"));
  s.params.push_back(int_param("max_rows", 1024, 4, 4096, "", "output rows of a job (MAX_ROWS)"));
  s.params.push_back(int_param("max_groups", 512, 1, 512, "", "activation groups of a job (MAX_GROUPS)"));
  s.params.push_back(int_param("max_batch", 4, 1, 4, "", "activation columns of a job (MAX_BATCH)"));
  s.ports = {{"csr", PortKind::TlmTarget, "registers", false},
             {"in", PortKind::TlmTarget, "activations, weight patterns, scales", false},
             {"out", PortKind::TlmTarget, "int32 results", false},
             {"done", PortKind::Event, "job done", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new NuqmmTlm(n, p); };
  return s;
}

const RegisterModel reg_nuqmm(spec());

}  // namespace
}  // namespace cosim::accel

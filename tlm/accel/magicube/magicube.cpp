// magicube_tlm: TLM twin of rtl/magicube/magicube.sv (gather unit + 8 x 16 x k MMA tile).
// As the RTL: input beats one per edge from the edge after the start; a load is done at
// its last beat; a multiply gives a group's VLEN result rows one per edge from the edge
// after the group's last step, takes no step meanwhile, and is done at its last result.
#include <array>
#include <cstring>
#include <vector>

#include "../stream_engine.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kMode = 0x10, kCount = 0x14, kVlen = 0x18, kPrec = 0x1C, kRow0 = 0x20;
constexpr std::uint64_t kSteps = 0x40, kRows = 0x44;

class MagicubeTlm : public StreamEngineTlm {
 public:
  MagicubeTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "magicube_tlm", p, 64, 64, {kMode, kCount, kVlen, kPrec, kRow0}),
        max_k_(unsigned(p.get_uint("max_k"))), bbuf_(std::size_t(max_k_) * 16, 0) {}

 private:
  std::uint32_t info() const override {
    unsigned kw = 0;
    while ((1u << kw) < max_k_) ++kw;
    return kw | (8u << 8) | (16u << 16) | (1u << 24);
  }
  bool start(std::uint64_t edge, std::uint32_t) override {
    count_ = reg(kCount), vlen_ = reg(kVlen), mode_ = reg(kMode);
    const std::uint64_t row0 = reg(kRow0);
    const bool ok = mode_ <= 1 && count_ >= 1 && count_ <= 65535 && reg(kPrec) <= 1 &&
                    (mode_ == 1 ? vlen_ >= 1 && vlen_ <= 8 : row0 % 4 == 0 && row0 + 4 * std::uint64_t(count_) <= max_k_);
    taken_ = 0, given_ = 0, in_next_ = edge + 1, out_next_ = 0, pending_ = false, acc_.fill(0);
    if (!ok) count_ = 0;
    return ok;
  }
  std::uint64_t wanted() const override { return pending_ ? 0 : count_ - taken_; }
  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, data += 64) {
      if (pending_)
        SC_REPORT_ERROR(name(), "a write crossed a row group's end: read its results first");
      e = std::max(first, in_next_);
      in_next_ = e + 1;
      if (mode_ == 0) {
        std::memcpy(&bbuf_[(std::size_t(reg(kRow0)) + 4 * taken_) * 16], data, 64);
        rows_ += 4;
      } else {
        step(data);
        ++steps_;
        if ((data[31] & 0x80) || taken_ + 1 == count_) pending_ = true, ready_ = e + 1;
      }
      ++taken_;
    }
    if (mode_ == 0 && taken_ == count_) finish(e);
    return e;
  }
  void step(const std::uint8_t* d) {
    const bool int4 = reg(kPrec) & 1;
    for (unsigned t = 0; t < (int4 ? 8u : 4u); ++t) {
      std::uint32_t idx;
      std::memcpy(&idx, d + 4 * t, 4);
      const auto* b = reinterpret_cast<const std::int8_t*>(&bbuf_[std::size_t(idx % max_k_) * 16]);
      for (unsigned r = 0; r < 8; ++r) {
        std::int32_t a;
        if (int4) {
          const unsigned k = 8 * r + t;
          const int nib = (d[32 + k / 2] >> (4 * (k % 2))) & 0xF;
          a = nib >= 8 ? nib - 16 : nib;
        } else {
          a = std::int8_t(d[32 + 4 * r + t]);
        }
        for (unsigned c = 0; c < 16; ++c)
          acc_[r * 16 + c] = std::int32_t(std::uint32_t(acc_[r * 16 + c]) + std::uint32_t(a * b[c]));
      }
    }
  }
  std::uint64_t available() const override { return pending_ ? vlen_ - given_ : 0; }
  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, ++given_) {
      e = std::max({first, out_next_, ready_});
      out_next_ = e + 1;
      std::memcpy(data + i * 64, &acc_[given_ * 16], 64);
    }
    if (given_ == vlen_) {
      pending_ = false, given_ = 0, acc_.fill(0), in_next_ = std::max(in_next_, e + 1);
      if (taken_ == count_) finish(e);
    }
    return e;
  }
  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    if (a == kSteps) return steps_;
    if (a == kRows) return rows_;
    return (a >= kMode && a <= kRow0 && a % 4 == 0) ? reg(a) : 0u;
  }

  unsigned max_k_;
  std::vector<std::uint8_t> bbuf_;
  std::array<std::int32_t, 128> acc_{};
  std::uint32_t count_ = 0, vlen_ = 1, mode_ = 0, steps_ = 0, rows_ = 0;
  std::uint64_t taken_ = 0, given_ = 0, in_next_ = 0, out_next_ = 0, ready_ = 0;
  bool pending_ = false;  // a row group's results wait to be read
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "magicube_tlm";
  s.summary = "TLM twin of the magicube engine (rtl/magicube/magicube.sv)";
  s.doc = "Targets csr, in (64-byte B-row or MMA-step beats) and out (64-byte result rows), event done.";
  s.source = "Timing from the RTL: one beat per cycle in, results one per cycle after the last step.";
  s.params = stream_engine_params();
  s.params.push_back(int_param("max_k", 1024, 16, 4096, "", "B rows of the gather buffer (MAX_K)"));
  s.ports = {{"csr", PortKind::TlmTarget, "registers", false}, {"in", PortKind::TlmTarget, "inputs", false},
             {"out", PortKind::TlmTarget, "results", false}, {"done", PortKind::Event, "job done", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new MagicubeTlm(n, p); };
  return s;
}

const RegisterModel reg_magicube(spec());

}  // namespace
}  // namespace cosim::accel

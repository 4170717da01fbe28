// smartdeal_rebuild_tlm: TLM twin of rtl/smartdeal/smartdeal_rebuild.sv (SmartDeal's weight
// rebuild engine). As the RTL: input beats one per edge from the edge after the start until
// the job's last beat (the masks say how many code beats follow); row i is ready one edge
// after the last beat it needs (its mask beat, and its code beat if stored) and leaves at
// the first edge at which it is ready, row i-1 has left and it is asked; done at the last
// row. Same shift-add arithmetic, rows and counters; timed per beat, never per cycle.
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "../stream_engine.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kRows = 0x10, kFilters = 0x14, kShift = 0x18, kCounterBase = 0x20;
constexpr unsigned kNumCounters = 5;  // rows, stored, terms, beats, filters
constexpr unsigned kBeatBytes = 6, kMaskBits = 48;

class SmartdealRebuildTlm : public StreamEngineTlm {
 public:
  SmartdealRebuildTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "smartdeal_rebuild_tlm", p, kBeatBytes, 3, {kRows, kFilters, kShift}),
        max_rows_(unsigned(p.get_uint("max_rows"))),
        max_beats_(unsigned(p.get_uint("max_beats"))) {}

 private:
  struct Row {
    std::array<std::uint8_t, 3> w;
    std::uint64_t ready;
    bool stored;
    unsigned terms;
  };

  std::uint32_t info() const override { return max_rows_ | (max_beats_ << 12) | kVersion; }
  void control(std::uint32_t v, std::uint64_t) override {
    if (v & 2u) counters_.fill(0);
  }
  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    if (a == kRows || a == kFilters || a == kShift) return reg(a);
    if (a >= kCounterBase && a < kCounterBase + 4 * kNumCounters && a % 4 == 0)
      return std::uint32_t(counters_[(a - kCounterBase) / 4]);
    return 0;
  }
  bool start(std::uint64_t edge, std::uint32_t) override {
    rows_ = reg(kRows);
    filters_ = reg(kFilters);
    shift_ = reg(kShift);
    mb_ = (std::uint64_t(rows_) + 47) / 48;
    const std::uint64_t worst = std::uint64_t(filters_) * (2 + mb_ + (std::uint64_t(rows_) + 3) / 4);
    beats_.clear(), edges_.clear(), out_.clear();
    given_ = 0, in_next_ = edge + 1, out_next_ = 0;
    filter_ = 0, phase_ = 0, cnt_ = 0, pop_ = 0, in_all_ = false;
    o_base_ = 0, o_row_ = 0, o_stored_ = 0;
    return rows_ >= 1 && rows_ <= max_rows_ && filters_ >= 1 && filters_ <= max_beats_ && shift_ <= 7 &&
           std::uint32_t(worst) <= max_beats_;
  }
  // An upper bound: the parse knows the job's end only when it gets there.
  std::uint64_t wanted() const override { return in_all_ ? 0 : max_beats_ - beats_.size(); }

  static std::uint64_t word(const std::vector<std::uint8_t>& b) {
    std::uint64_t w = 0;
    std::memcpy(&w, b.data(), kBeatBytes);
    return w;
  }

  void parse(const std::vector<std::uint8_t>& beat) {  // the RTL's input-side phases
    if (phase_ == 0) {
      if (cnt_ == 1) phase_ = 1, cnt_ = 0;
      else cnt_ = 1;
      return;
    }
    if (phase_ == 1) {
      const std::uint64_t w = word(beat);
      for (unsigned i = 0; i < kMaskBits; ++i)
        if (i + kMaskBits * cnt_ < rows_ && ((w >> i) & 1)) ++pop_;
      if (cnt_ + 1 == mb_) {
        if (pop_ == 0) end_filter();
        else phase_ = 2, cnt_ = (pop_ + 3) / 4;
      } else {
        ++cnt_;
      }
      return;
    }
    if (cnt_ == 1) end_filter();
    else --cnt_;
  }
  void end_filter() {
    phase_ = 0, cnt_ = 0, pop_ = 0;
    if (++filter_ == filters_) in_all_ = true;
  }

  // Rows whose beats are all in, in order (the RTL's output-side walk).
  void rows_ready() {
    while (out_.size() < std::uint64_t(rows_) * filters_) {
      const std::uint64_t mask_idx = o_base_ + 2 + o_row_ / kMaskBits;
      if (mask_idx >= beats_.size()) return;
      const bool stored = (word(beats_[mask_idx]) >> (o_row_ % kMaskBits)) & 1;
      const std::uint64_t code_idx = o_base_ + 2 + mb_ + o_stored_ / 4;
      if (stored && code_idx >= beats_.size()) return;
      Row row{{0, 0, 0}, std::max(edges_[mask_idx], stored ? edges_[code_idx] : 0) + 1, stored, 0};
      if (stored) {
        const unsigned codes = unsigned(word(beats_[code_idx]) >> (12 * (o_stored_ % 4))) & 0xFFF;
        const std::vector<std::uint8_t>& b0 = beats_[o_base_];
        const std::vector<std::uint8_t>& b1 = beats_[o_base_ + 1];
        for (unsigned s = 0; s < 3; ++s) {
          std::int32_t acc = 0;
          for (unsigned j = 0; j < 3; ++j) {
            const unsigned c = (codes >> (4 * j)) & 0xF, m = c & 7;
            if (m == 0) continue;
            const unsigned at = 3 * j + s;
            const std::int32_t b = static_cast<std::int8_t>(at < 6 ? b0[at] : b1[at - 6]);
            const std::int32_t t = b * (1 << (m - 1));
            acc += (c & 8) ? -t : t;
          }
          if (shift_) acc = (acc + (1 << (shift_ - 1))) >> shift_;
          row.w[s] = static_cast<std::uint8_t>(std::clamp(acc, -128, 127));
        }
        for (unsigned j = 0; j < 3; ++j) row.terms += ((codes >> (4 * j)) & 7) != 0;
        ++o_stored_;
      }
      out_.push_back(row);
      if (++o_row_ == rows_) {
        o_base_ += 2 + mb_ + (o_stored_ + 3) / 4;
        o_row_ = 0, o_stored_ = 0;
      }
    }
  }

  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n && !in_all_; ++i, data += in_bytes_) {
      e = std::max(first, in_next_);
      in_next_ = e + 1;
      beats_.emplace_back(data, data + kBeatBytes);
      edges_.push_back(e);
      counters_[3] += 1;
      parse(beats_.back());
    }
    rows_ready();
    return e;
  }
  std::uint64_t available() const override { return out_.size() - given_; }
  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, ++given_) {
      const Row& r = out_[given_];
      e = std::max({first, out_next_, r.ready});
      out_next_ = e + 1;
      std::memcpy(data + 3 * i, r.w.data(), 3);
      counters_[0] += 1;
      counters_[1] += r.stored;
      counters_[2] += r.terms;
      if ((given_ + 1) % rows_ == 0) counters_[4] += 1;
    }
    if (given_ == std::uint64_t(rows_) * filters_) finish(e);
    return e;
  }

  unsigned max_rows_, max_beats_;
  std::array<std::uint64_t, kNumCounters> counters_{};
  std::uint32_t rows_ = 1, filters_ = 1, shift_ = 0;
  std::uint64_t mb_ = 1;
  std::vector<std::vector<std::uint8_t>> beats_;
  std::vector<std::uint64_t> edges_;
  std::vector<Row> out_;
  std::uint64_t given_ = 0, in_next_ = 0, out_next_ = 0;
  std::uint64_t filter_ = 0, cnt_ = 0, pop_ = 0, o_base_ = 0, o_row_ = 0, o_stored_ = 0;
  unsigned phase_ = 0;
  bool in_all_ = false;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "smartdeal_rebuild_tlm";
  s.summary = "TLM twin of SmartDeal's weight rebuild engine (rtl/smartdeal/smartdeal_rebuild.sv)";
  s.doc = "Targets csr, in (48-bit beats of W = Ce x B filter images) and out (rows of 3 int8 weights), event "
          "done. Same shift-add rebuild, rows and event counters as the RTL.";
  s.source = "Mechanism: Chen et al., SmartDeal, IEEE TNNLS 2022 (weights rebuilt from a 3x3 basis and "
             "power-of-two coefficients by shift-add); timing from the RTL (one beat in and one row out per "
             "cycle); buffer sizes are this project's choice (a 64-channel filter per job slot).";
  s.params = stream_engine_params();
  s.params.push_back(int_param("max_rows", 192, 3, 768, "", "kernel rows per filter, at most (MAX_ROWS)"));
  s.params.push_back(int_param("max_beats", 512, 16, 4095, "", "job buffer in beats (MAX_BEATS)"));
  s.ports = {{"csr", PortKind::TlmTarget, "registers", false},
             {"in", PortKind::TlmTarget, "filter image beats", false},
             {"out", PortKind::TlmTarget, "rebuilt weight rows", false},
             {"done", PortKind::Event, "job done", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* {
    return new SmartdealRebuildTlm(n, p);
  };
  return s;
}

const RegisterModel reg_smartdeal_rebuild(spec());

}  // namespace
}  // namespace cosim::accel

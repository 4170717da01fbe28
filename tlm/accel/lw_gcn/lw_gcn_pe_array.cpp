// lw_gcn_pe_array_tlm: TLM twin of rtl/lw_gcn/lw_gcn_pe_array.sv (register map, beat formats
// and job in the RTL's header). The same numbers and counters, timed on the RTL's clock
// grid: feature beats one per edge from one edge after the start; slot beat j is taken at
// max(its arrival, the edge beat j-1 issues, one edge after beat j-1 was taken) and issues
// at max(one edge after it was taken, the last issue of each of its rows + ACC_LAT); the
// edges between are stall cycles. Results leave one per edge from one edge after the last
// issue and ACC_LAT edges after the last valid slot's (the pipeline drained); the job is done at the edge its last result leaves.
#include <algorithm>
#include <vector>

#include "../stream_engine.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kLoad = 0x10, kSlots = 0x14, kRows = 0x18, kOutCfg = 0x1C;
constexpr std::uint64_t kNnz = 0x20, kBeats = 0x24, kStalls = 0x28, kLoaded = 0x2C;

class LwGcnPeArrayTlm : public StreamEngineTlm {
 public:
  LwGcnPeArrayTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "lw_gcn_pe_array_tlm", p, 8 * unsigned(p.get_uint("pes")),
                        2 * unsigned(p.get_uint("lanes")), {kLoad, kSlots, kRows, kOutCfg}),
        pes_(unsigned(p.get_uint("pes"))),
        lanes_(unsigned(p.get_uint("lanes"))),
        acc_lat_(unsigned(p.get_uint("acc_lat"))),
        max_rows_(unsigned(p.get_uint("max_rows"))),
        max_feat_(unsigned(p.get_uint("max_feat"))),
        feat_(std::size_t(max_feat_) * lanes_, 0),
        acc_(std::size_t(pes_) * max_rows_ * lanes_, 0),
        last_(std::size_t(pes_) * max_rows_, 0) {}

 private:
  std::uint32_t info() const override { return pes_ | (lanes_ << 8) | (acc_lat_ << 16) | kVersion; }

  void control(std::uint32_t ctrl, std::uint64_t) override {
    if (ctrl & 2) nnz_ = beats_ = stalls_ = loaded_ = 0;
  }

  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    switch (a) {
      case kLoad: case kSlots: case kRows: case kOutCfg: return reg(a);
      case kNnz: return nnz_;
      case kBeats: return beats_;
      case kStalls: return stalls_;
      case kLoaded: return loaded_;
      default: return 0;
    }
  }

  bool start(std::uint64_t edge, std::uint32_t) override {
    load_ = reg(kLoad), slots_ = reg(kSlots), rows_ = reg(kRows), cfg_ = reg(kOutCfg);
    taken_load_ = taken_slots_ = given_ = 0;
    next_take_ = edge + 1, last_issue_ = lastv_ = 0, out_next_ = 0;
    std::fill(last_.begin(), last_.end(), 0);
    const std::uint64_t load_max = std::uint64_t(max_feat_) * lanes_ / (4 * pes_);
    return load_ <= load_max && rows_ >= 1 && rows_ <= max_rows_ && (cfg_ & ~0x11Fu) == 0;
  }

  std::uint64_t wanted() const override { return std::uint64_t(load_) + slots_ - taken_load_ - taken_slots_; }

  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    const std::size_t mask = feat_.size() - 1;  // a power of two, as the RTL's index width
    for (std::uint64_t i = 0; i < n; ++i, data += in_bytes_) {
      e = std::max(first, next_take_);
      if (taken_load_ < load_) {
        for (unsigned k = 0; k < 4 * pes_; ++k)
          feat_[(std::size_t(taken_load_) * 4 * pes_ + k) & mask] = std::int16_t(load_u16(data + 2 * k));
        ++taken_load_, ++loaded_;
        next_take_ = e + 1;
        continue;
      }
      std::uint64_t go = e + 1;  // the issue edge: held one edge, then no row in flight
      for (unsigned p = 0; p < pes_; ++p) {
        const std::uint8_t* s = data + 8 * p;
        if (!(s[6] & 1)) continue;
        const unsigned row = load_u16(s) & (max_rows_ - 1);
        const std::uint64_t last = last_[std::size_t(p) * max_rows_ + row];
        if (last) go = std::max(go, last + acc_lat_);
      }
      stalls_ += std::uint32_t(go - e - 1), ++beats_, ++taken_slots_;
      for (unsigned p = 0; p < pes_; ++p) {
        const std::uint8_t* s = data + 8 * p;
        if (!(s[6] & 1)) continue;
        const unsigned row = load_u16(s) & (max_rows_ - 1), col = load_u16(s + 2);
        const std::int32_t val = std::int16_t(load_u16(s + 4));
        last_[std::size_t(p) * max_rows_ + row] = go;
        std::uint32_t* a = &acc_[(std::size_t(p) * max_rows_ + row) * lanes_];
        for (unsigned l = 0; l < lanes_; ++l)
          a[l] += std::uint32_t(val * std::int32_t(feat_[(std::size_t(col) * lanes_ + l) & mask]));
        ++nnz_, lastv_ = go;
      }
      last_issue_ = go;
      next_take_ = go;  // the next beat is taken at the edge this one issues
    }
    return e;
  }

  std::uint64_t available() const override {
    return taken_load_ == load_ && taken_slots_ == slots_ ? std::uint64_t(rows_) * pes_ - given_ : 0;
  }

  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    // Results start once every beat is in and issued and the pipeline has drained (its
    // last valid slot written back).
    const std::uint64_t ready =
        slots_ ? std::max(last_issue_ + 1, lastv_ ? lastv_ + acc_lat_ : 0) : next_take_;
    for (std::uint64_t i = 0; i < n; ++i, ++given_) {
      e = std::max({first, out_next_, ready});
      out_next_ = e + 1;
      const std::size_t p = given_ % pes_, row = given_ / pes_;
      std::uint32_t* a = &acc_[(p * max_rows_ + row) * lanes_];
      for (unsigned l = 0; l < lanes_; ++l) {
        std::int32_t y = std::int32_t(a[l]) >> (cfg_ & 31);
        if ((cfg_ & 0x100) && y < 0) y = 0;
        y = std::clamp(y, -32768, 32767);
        store_u16(data + 2 * (i * lanes_ + l), std::uint16_t(y));
        a[l] = 0;
      }
    }
    if (given_ == std::uint64_t(rows_) * pes_) finish(e);
    return e;
  }

  static std::uint16_t load_u16(const std::uint8_t* p) { return std::uint16_t(p[0] | p[1] << 8); }
  static void store_u16(std::uint8_t* p, std::uint16_t v) { p[0] = std::uint8_t(v), p[1] = std::uint8_t(v >> 8); }

  unsigned pes_, lanes_, acc_lat_, max_rows_, max_feat_;
  std::vector<std::int16_t> feat_;
  std::vector<std::uint32_t> acc_;
  std::vector<std::uint64_t> last_;  // per PE and row: the edge its last slot issued (0: none)
  std::uint32_t load_ = 0, slots_ = 0, rows_ = 1, cfg_ = 0;
  std::uint32_t nnz_ = 0, beats_ = 0, stalls_ = 0, loaded_ = 0;
  std::uint64_t taken_load_ = 0, taken_slots_ = 0, given_ = 0;
  std::uint64_t next_take_ = 0, last_issue_ = 0, lastv_ = 0, out_next_ = 0;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "lw_gcn_pe_array_tlm";
  s.summary = "TLM twin of LW-GCN's PE array (rtl/lw_gcn/lw_gcn_pe_array.sv)";
  s.doc = "Targets csr, in (feature beats, then slot beats of (row, col, val) per PE) and out (int16 result rows), "
          "event done.";
  s.source = "Timing from the RTL: one beat per edge, a slot beat held one edge, hazards of ACC_LAT cycles per "
             "row; defaults as the RTL's.";
  s.params = stream_engine_params();
  s.params.push_back(int_param("pes", 4, 1, 16, "", "PEs in lock step (PES)"));
  s.params.push_back(int_param("lanes", 16, 1, 32, "", "feature lanes per PE (LANES)"));
  s.params.push_back(int_param("acc_lat", 4, 2, 16, "cycles", "accumulation latency (ACC_LAT)"));
  s.params.push_back(int_param("max_rows", 2048, 2, 65536, "", "accumulator rows per PE (MAX_ROWS)"));
  s.params.push_back(int_param("max_feat", 4096, 2, 65536, "", "feature buffer rows (MAX_FEAT)"));
  s.ports = {{"csr", PortKind::TlmTarget, "registers", false}, {"in", PortKind::TlmTarget, "beats", false},
             {"out", PortKind::TlmTarget, "result rows", false}, {"done", PortKind::Event, "job done", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new LwGcnPeArrayTlm(n, p); };
  return s;
}

const RegisterModel reg_lw_gcn_pe_array(spec());

}  // namespace
}  // namespace cosim::accel

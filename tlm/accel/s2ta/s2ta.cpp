// s2ta_tlm: the approximately-timed TLM twin of rtl/s2ta/s2ta.sv (S2TA, Liu et al., HPCA 2022).
//
// Same TLM targets as the RTL behind its bridges: csr (32-bit registers, same map), act
// (one beat of rows x 8 int8 per block), wgt (one beat of cols W-DBB blocks per block),
// out (result rows of cols int32), and a `done` event; same numbers (top-k activation
// pruning per block, int8 products of the kept pairs summed in int32) and counters.
// Timing is computed block by block on the clock grid from the RTL's pipeline rules,
// not cycle by cycle:
//  - beat b of a stream is taken at the first edge A_b >= its arrival edge, after the
//    start edge, and not before block b-1 moves into the array (one-beat buffers);
//  - block b moves into the array at L_b = max(A_b + 1, W_b + 1, L_{b-1} + k): both its
//    beats are in, and block b-1 has issued its last of k = A_NNZ activations;
//  - its k issues follow, one per cycle; ROWS + COLS - 1 cycles (and one) after the last
//    issue the results drain, one row per beat.
// A stream write whose beats need the other stream's beats first (the weights of the
// same block) waits in simulated time until they come, as the RTL's ready would make it.
#include <algorithm>
#include <cstring>
#include <vector>

#include "../engine_tlm.h"

namespace cosim {
namespace {

using accel::EngineTlm;
// The standard header (CTRL, STATUS, CYCLES, INFO: engine_tlm.h), then S2TA's registers.
constexpr std::uint64_t kDepth = 0x10, kConfig = 0x14, kCounterBase = 0x20;
enum CounterIndex : unsigned { kMacs, kGated, kIssue, kBlocks, kActNz, kSelNz, kOut, kNumCounters };
constexpr std::uint64_t kUnknown = UINT64_MAX;

class S2taTlm : public EngineTlm {
 public:
  // STATUS sees done at the done edge; the engine refuses no job (A_NNZ saturates).
  S2taTlm(const sc_core::sc_module_name& name, const Params& p)
      : EngineTlm(name, "s2ta_tlm", p, accel::DoneSeen::AtDoneEdge, accel::ErrorKept::UntilStart),
        act_("act"),
        wgt_("wgt"),
        out_("out"),
        rows_(unsigned(p.get_uint("rows"))),
        cols_(unsigned(p.get_uint("cols"))),
        w_nnz_(unsigned(p.get_uint("w_nnz"))),
        jobs_(counter("jobs", "jobs started")) {
    if (cols_ * (8 + 8 * w_nnz_) > 1024 || rows_ * 64 > 1024)
      throw std::invalid_argument(std::string(this->name()) + ": beats are limited to 1024 bits");
    expose_target("act", act_);
    expose_target("wgt", wgt_);
    expose_target("out", out_);
    act_.register_b_transport(this, &S2taTlm::act_beats);
    wgt_.register_b_transport(this, &S2taTlm::wgt_beats);
    out_.register_b_transport(this, &S2taTlm::results);
  }

 private:
  unsigned wb() const { return 1 + w_nnz_; }  // bytes of one weight block

  // ------------------------------------------------------------------ registers
  std::uint32_t info() const override { return rows_ | (cols_ << 8) | (w_nnz_ << 16) | accel::kVersion; }

  void control(std::uint32_t v, std::uint64_t) override {
    if (v & 2u) std::fill(std::begin(counters_), std::end(counters_), 0u);
  }

  void write_reg(std::uint64_t a, std::uint32_t v, std::uint64_t) override {
    if (a == kDepth) depth_ = v;
    if (a == kConfig) config_ = v & 0xFu;
  }

  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    if (a == kDepth) return depth_;
    if (a == kConfig) return config_;
    if (a >= kCounterBase && a < kCounterBase + 4 * kNumCounters && a % 4 == 0) return counters_[(a - kCounterBase) / 4];
    return 0;
  }

  bool start(std::uint64_t e, std::uint32_t) override {
    jobs_.inc();
    kb_ = depth_;
    k_ = (config_ == 0 || config_ > 8) ? 8 : config_;
    acts_.assign(std::size_t(kb_) * rows_ * 8, 0);
    wgts_.assign(std::size_t(kb_) * cols_ * wb(), 0);
    a_edge_.assign(kb_, kUnknown);
    w_edge_.assign(kb_, kUnknown);
    l_edge_.assign(kb_, kUnknown);
    a_count_ = w_count_ = loaded_ = 0;
    acc_.assign(std::size_t(rows_) * cols_, 0);
    rows_read_ = 0;
    if (kb_ == 0) drain_edge_ = e + 2;
    progress_.notify(sc_core::SC_ZERO_TIME);
    return true;
  }

  // ------------------------------------------------------------------ streams in
  // Take the beats of one write: stream `act` or `wgt`. Beat b is taken at the first edge
  // at or after its arrival edge, e + 1, and L_{b-1} (when the block before it moved on).
  void stream(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay, bool act) {
    const unsigned bytes = act ? rows_ * 8 : cols_ * wb();
    const std::uint64_t len = gp.get_data_length();
    if (!gp.is_write() || len % bytes != 0 || len == 0 || gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, name(),
                std::string(act ? "activation" : "weight") + " writes must be whole beats of " +
                    std::to_string(bytes) + " bytes");
      return;
    }
    std::uint32_t& count = act ? a_count_ : w_count_;
    const std::uint64_t beats = len / bytes;
    if (!job_running() || count + beats > kb_) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                "no job is waiting for " + std::to_string(beats) +
                    " beats (write DEPTH and CONFIG, then 1 to CTRL, and send DEPTH beats on each stream)");
      return;
    }
    std::vector<std::uint64_t>& edge = act ? a_edge_ : w_edge_;
    std::vector<std::uint8_t>& store = act ? acts_ : wgts_;
    std::uint64_t next = edge_after(now_ps() + to_ps(delay));
    const std::uint32_t first = count;
    for (std::uint64_t i = 0; i < beats; ++i) {
      const std::uint32_t b = first + std::uint32_t(i);
      std::memcpy(&store[std::size_t(b) * bytes], gp.get_data_ptr() + i * bytes, bytes);
      while (b > 0 && l_edge_[b - 1] == kUnknown) sc_core::wait(progress_);  // the other stream
      std::uint64_t x = std::max(next, start_edge() + 1);
      if (b > 0) x = std::max({x, l_edge_[b - 1], edge[b - 1] + 1});
      edge[b] = x;
      next = x + 1;
      ++count;
      advance();
    }
    delay = from_ps(at(edge[first + beats - 1]) > now_ps() ? at(edge[first + beats - 1]) - now_ps() : 0);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }
  void act_beats(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) { stream(gp, delay, true); }
  void wgt_beats(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) { stream(gp, delay, false); }

  // Move every block whose two beats are in into the array (computing its products).
  void advance() {
    bool moved = false;
    while (loaded_ < kb_ && a_edge_[loaded_] != kUnknown && w_edge_[loaded_] != kUnknown) {
      const std::uint32_t b = loaded_;
      std::uint64_t l = std::max(a_edge_[b], w_edge_[b]) + 1;
      if (b > 0) l = std::max(l, l_edge_[b - 1] + k_);
      l_edge_[b] = l;
      compute_block(b);
      ++loaded_;
      moved = true;
    }
    if (moved && loaded_ == kb_) {
      const std::uint64_t last_issue = l_edge_[kb_ - 1] + k_;
      drain_edge_ = last_issue + (rows_ + cols_ - 1) + 1;
    }
    if (moved) progress_.notify(sc_core::SC_ZERO_TIME);
  }

  void compute_block(std::uint32_t b) {
    counters_[kBlocks] += 1;
    counters_[kIssue] += k_;
    const std::uint8_t* w = &wgts_[std::size_t(b) * cols_ * wb()];
    for (unsigned i = 0; i < rows_; ++i) {
      const std::int8_t* a = reinterpret_cast<const std::int8_t*>(&acts_[(std::size_t(b) * rows_ + i) * 8]);
      bool taken[8] = {};
      for (unsigned p = 0; p < 8; ++p) counters_[kActNz] += a[p] != 0;
      for (unsigned s = 0; s < k_; ++s) {
        // The largest remaining magnitude, ties to the lower position.
        int pos = -1, best = -1;
        for (int p = 0; p < 8; ++p) {
          const int m = a[p] < 0 ? -int(a[p]) : int(a[p]);
          if (!taken[p] && m > best) {
            best = m;
            pos = p;
          }
        }
        taken[pos] = true;
        const std::int32_t x = a[pos];
        counters_[kSelNz] += x != 0;
        for (unsigned j = 0; j < cols_; ++j) {
          const std::uint8_t mask = w[j * wb()];
          const bool hit = (mask >> pos) & 1u;
          const unsigned idx = unsigned(__builtin_popcount(unsigned(mask) & ((1u << pos) - 1u)));
          const std::int32_t wv = hit && idx < w_nnz_ ? std::int8_t(w[j * wb() + 1 + idx]) : 0;
          if (x != 0 && wv != 0) {
            std::int32_t& c = acc_[std::size_t(i) * cols_ + j];
            c = std::int32_t(std::uint32_t(c) + std::uint32_t(x * wv));
            ++counters_[kMacs];
          } else {
            ++counters_[kGated];
          }
        }
      }
    }
  }

  // ------------------------------------------------------------------ results
  void results(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const unsigned rb = 4 * cols_;
    const std::uint64_t len = gp.get_data_length();
    if (!gp.is_read() || len % rb != 0 || len == 0 || gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, name(),
                "result reads must be whole rows of " + std::to_string(rb) + " bytes");
      return;
    }
    const std::uint64_t n = len / rb;
    if (!job_running() || rows_read_ + n > rows_) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                "asked for " + std::to_string(n) + " result rows but " +
                    std::to_string(job_running() ? rows_ - rows_read_ : 0) + " are left");
      return;
    }
    while (loaded_ < kb_) sc_core::wait(progress_);  // the results need every block
    std::uint64_t e = std::max(edge_after(now_ps() + to_ps(delay)), drain_edge_ + 1 + rows_read_);
    std::uint8_t* d = gp.get_data_ptr();
    for (std::uint64_t r = 0; r < n; ++r, ++rows_read_) {
      std::memcpy(d + r * rb, &acc_[std::size_t(rows_read_) * cols_], rb);
      if (r + 1 < n) ++e;
    }
    drain_edge_ = std::max(drain_edge_, e - rows_read_);  // later reads keep one row per edge
    counters_[kOut] += std::uint32_t(n);
    if (rows_read_ == rows_) finish(e);
    delay = from_ps(at(e) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  tlm_utils::simple_target_socket<S2taTlm, kBusWidth> act_, wgt_, out_;
  sc_core::sc_event progress_;
  unsigned rows_, cols_, w_nnz_;
  Counter& jobs_;
  std::uint32_t depth_ = 0, config_ = 8, kb_ = 0, k_ = 8;
  std::uint32_t counters_[kNumCounters] = {};
  std::vector<std::uint8_t> acts_, wgts_;
  std::vector<std::uint64_t> a_edge_, w_edge_, l_edge_;
  std::uint32_t a_count_ = 0, w_count_ = 0, loaded_ = 0;
  std::vector<std::int32_t> acc_;
  std::uint64_t drain_edge_ = 0, rows_read_ = 0;
};

ModelSpec s2ta_tlm_spec() {
  ModelSpec s;
  s.name = "s2ta_tlm";
  s.summary = "Approximately-timed TLM twin of the S2TA DBB tensor-PE array (rtl/s2ta/s2ta.sv)";
  s.doc =
      "Targets csr (32-bit registers, map in rtl/s2ta/s2ta.sv), act (rows x 8 int8 per block), wgt "
      "(cols W-DBB blocks: mask + w_nnz values), out (result rows of cols int32), event done. "
      "Same results and counters as the RTL; block timing from its pipeline rules.";
  s.source =
      "Timing rules derived from the RTL's microarchitecture (Liu et al., HPCA 2022: a block "
      "costs A_NNZ cycles on time-unrolled tensor PEs; skewed array of rows + cols - 1 stages).";
  s.params = {
      int_param("rows", 8, 1, 16, "", "tensor-PE rows (the RTL's ROWS)"),
      int_param("cols", 8, 1, 16, "", "tensor-PE columns (the RTL's COLS)"),
      int_param("w_nnz", 4, 1, 8, "", "weights kept per block of 8 (W-DBB)", "Liu et al.: 4/8"),
      time_param("clock", 1'000, 1, 1'000'000'000, "clock period", "same clock as the RTL twin"),
  };
  s.ports = {{"csr", PortKind::TlmTarget, "32-bit control/status registers", false},
             {"act", PortKind::TlmTarget, "activation beats (writes)", false},
             {"wgt", PortKind::TlmTarget, "weight beats (writes)", false},
             {"out", PortKind::TlmTarget, "result rows (reads)", false},
             {"done", PortKind::Event, "notified when a job's last result row has left", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new S2taTlm(n, p); };
  return s;
}

const RegisterModel reg_s2ta_tlm(s2ta_tlm_spec());

}  // namespace
}  // namespace cosim

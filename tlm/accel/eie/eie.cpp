// eie_tlm: the approximately-timed TLM twin of rtl/eie/eie.sv (EIE, Han et al., ISCA 2016).
//
// Same TLM targets as the RTL behind its bridges: csr (32-bit registers, same map), ld
// (load-stream beats of 8 bytes), act (activation beats of 32 bytes), out (result beats
// of 4*pes bytes), and a `done` event; same numbers (int16 x int16 products accumulated
// in int32, wrapping) and the same event counters. Instead of clocking a netlist it
// computes a job when it starts, on the clock grid, activation by activation rather
// than cycle by cycle:
//  - broadcast t leaves the leading-nonzero detector at edge
//      b_t = max(b_{t-1} + 1 + (empty groups between), s_{k,t-L} + 1 for every PE k)
//    (one activation per cycle, one cycle per buffer group with nothing to send, and the
//    queue limit L: PE k must have popped activation t-L);
//  - PE k pops it at s_{k,t} = max(b_t + 1, s_{k,t-1} + max(1, n_{k,t-1})), n = entries of
//    the column in PE k (one entry per cycle, pointer reads overlapped);
//  - the job ends when the detector is done and every PE has decoded its last entry, then
//    the results drain one beat per cycle.
// These are the RTL's rules, so cycle counts match it up to the few cycles of its
// register and completion logic that this model leaves out or approximates (see the
// mixed-abstraction test). Counters are updated when a job starts (exact once it is
// done); register accesses take the first edge after they arrive plus one (registered
// ack), stream beats one per cycle.
#include <algorithm>
#include <cstring>
#include <vector>

#include "../engine_tlm.h"

namespace cosim {
namespace {

using accel::EngineTlm;
// The standard header (CTRL, STATUS, CYCLES, INFO: engine_tlm.h), then EIE's registers.
constexpr std::uint64_t kConfig = 0x10, kColStart = 0x14, kColCount = 0x18, kRows = 0x1C, kDenseBase = 0x20,
                        kActWptr = 0x24, kMatWords = 0x28, kActDepth = 0x2C, kRowsMax = 0x30,
                        kCounterBase = 0x40, kWorkBase = 0x80;
enum Counter_ : unsigned { kBusy, kActs, kEntries, kZeroW, kWords, kPtr, kActReads, kStall, kLoad, kOut, kActWrites, kNumCounters };

struct Pe {
  std::vector<std::uint32_t> ptr;
  std::vector<std::uint64_t> mat;
  std::int16_t codebook[16] = {};
  std::vector<std::int32_t> acc;
  std::vector<std::uint8_t> acc_v;
  std::uint32_t work = 0;
};

class EieTlm : public EngineTlm {
 public:
  // STATUS sees done at the done edge; STATUS.error is sticky (CTRL bit 2 clears it).
  EieTlm(const sc_core::sc_module_name& name, const Params& p)
      : EngineTlm(name, "eie_tlm", p, accel::DoneSeen::AtDoneEdge, accel::ErrorKept::UntilCleared),
        ld_("ld"),
        act_("act"),
        out_("out"),
        pes_(unsigned(p.get_uint("pes"))),
        fifo_depth_(unsigned(p.get_uint("fifo_depth"))),
        act_depth_(unsigned(p.get_uint("act_depth"))),
        mat_words_(unsigned(p.get_uint("mat_words"))),
        rows_max_(unsigned(p.get_uint("rows_max"))),
        jobs_(counter("jobs", "jobs started")),
        pe_(pes_),
        acts_(act_depth_, 0) {
    if ((act_depth_ & (act_depth_ - 1)) != 0 || (rows_max_ & (rows_max_ - 1)) != 0)
      throw std::invalid_argument(std::string(this->name()) + ": act_depth and rows_max must be powers of two");
    for (auto& pe : pe_) {
      pe.ptr.assign(act_depth_ + 2, 0);
      pe.mat.assign(mat_words_, 0);
      pe.acc.assign(rows_max_, 0);
      pe.acc_v.assign(rows_max_, 0);
    }
    expose_target("ld", ld_);
    expose_target("act", act_);
    expose_target("out", out_);
    ld_.register_b_transport(this, &EieTlm::load);
    act_.register_b_transport(this, &EieTlm::activations);
    out_.register_b_transport(this, &EieTlm::results);
  }

 private:
  // ------------------------------------------------------------------ registers
  std::uint32_t info() const override { return pes_ | (fifo_depth_ << 8) | accel::kVersion; }

  void control(std::uint32_t v, std::uint64_t) override {
    if (v & 2u) {
      std::fill(std::begin(counters_), std::end(counters_), 0u);
      for (auto& pe : pe_) pe.work = 0;
    }
    if (v & 4u) clear_error();
  }

  void write_reg(std::uint64_t a, std::uint32_t v, std::uint64_t) override {
    switch (a) {
      case kConfig: cfg_ = v & 0xFFFFu; break;
      case kColStart: col_start_ = v; break;
      case kColCount: col_count_ = v; break;
      case kRows: rows_ = v; break;
      case kDenseBase: dense_base_ = v; break;
      case kActWptr: act_wptr_ = v; break;
      default: break;
    }
  }

  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    if (a >= kWorkBase && a < 0x100) {
      const unsigned k = unsigned((a - kWorkBase) / 4);
      return k < pes_ ? pe_[k].work : 0;
    }
    if (a >= kCounterBase && a < kCounterBase + 4 * kNumCounters) return counters_[(a - kCounterBase) / 4];
    switch (a) {
      case kConfig: return cfg_;
      case kColStart: return col_start_;
      case kColCount: return col_count_;
      case kRows: return rows_;
      case kDenseBase: return dense_base_;
      case kActWptr: return act_wptr_;
      case kMatWords: return mat_words_;
      case kActDepth: return act_depth_;
      case kRowsMax: return rows_max_;
      default: return 0;
    }
  }

  // ------------------------------------------------------------------ streams in
  // Beats of a write are taken one per edge from the first edge after it arrives.
  std::uint64_t take_beats(sc_core::sc_time& delay, std::uint64_t& next, std::uint64_t beats) {
    const std::uint64_t first = std::max(edge_after(now_ps() + to_ps(delay)), next);
    next = first + beats;
    delay = from_ps(at(first + beats - 1) - now_ps());
    return first;
  }

  bool whole_beats(tlm::tlm_generic_payload& gp, unsigned bytes, const char* what) {
    if (!gp.is_write() || gp.get_data_length() % bytes != 0 || gp.get_data_length() == 0 ||
        gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, name(),
                std::string(what) + " writes must be whole beats of " + std::to_string(bytes) + " bytes");
      return false;
    }
    return true;
  }

  void load(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (!whole_beats(gp, 8, "load-stream")) return;
    const std::uint64_t n = gp.get_data_length() / 8;
    take_beats(delay, ld_next_, n);
    for (std::uint64_t i = 0; i < n; ++i) {
      std::uint64_t beat;
      std::memcpy(&beat, gp.get_data_ptr() + 8 * i, 8);
      load_beat(beat);
    }
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  void load_beat(std::uint64_t beat) {
    if (ld_left_ == 0) {
      ld_target_ = unsigned(beat & 3u);
      ld_pe_ = unsigned((beat >> 8) & 0xFFu);
      ld_addr_ = std::uint32_t((beat >> 16) & 0xFFFFFFu);
      ld_left_ = std::uint32_t(beat >> 40);
      ld_bad_ = ld_target_ == 3 || (ld_pe_ != 255 && ld_pe_ >= pes_);
      if (ld_bad_) raise_error();
      return;
    }
    --ld_left_;
    if (ld_bad_) return;
    const std::uint32_t a = ld_addr_;
    bool ok = false;
    for (unsigned k = 0; k < pes_; ++k) {
      if (ld_pe_ != 255 && ld_pe_ != k) continue;
      Pe& pe = pe_[k];
      if (ld_target_ == 0 && a <= act_depth_) {
        pe.ptr[a] = std::uint32_t(beat);
        if (a + 1 <= act_depth_) pe.ptr[a + 1] = std::uint32_t(beat >> 32);
        ok = true;
      } else if (ld_target_ == 1 && a < mat_words_) {
        pe.mat[a] = beat;
        ok = true;
      } else if (ld_target_ == 2 && a < 16 && a % 4 == 0) {
        for (unsigned i = 0; i < 4; ++i) pe.codebook[a + i] = std::int16_t(std::uint16_t(beat >> (16 * i)));
        ok = true;
      }
    }
    if (ok)
      ++counters_[kLoad];
    else
      raise_error();
    ld_addr_ += ld_target_ == 0 ? 2 : ld_target_ == 2 ? 4 : 1;
  }

  void activations(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (!whole_beats(gp, 32, "activation-stream")) return;
    const std::uint64_t n = gp.get_data_length() / 32;
    take_beats(delay, act_next_, n);
    for (std::uint64_t i = 0; i < n; ++i, ++act_wptr_) {
      ++counters_[kActWrites];
      if (act_wptr_ >= act_depth_ / 16) {
        raise_error();
        continue;
      }
      std::memcpy(&acts_[std::size_t(act_wptr_) * 16], gp.get_data_ptr() + 32 * i, 32);
    }
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  // ------------------------------------------------------------------ a job
  bool start(std::uint64_t e, std::uint32_t) override {
    const bool dense = cfg_ & 2u;
    const std::uint64_t end_col = std::uint64_t(col_start_) + col_count_;
    const bool range_ok = end_col <= act_depth_ && rows_ <= rows_max_ &&
                          (!dense || std::uint64_t(dense_base_) + std::uint64_t(col_count_) * rows_ <=
                                         std::uint64_t(mat_words_) * 16);
    if (!range_ok) return false;
    jobs_.inc();
    job_relu_ = cfg_ & 4u;
    job_drain_ = (cfg_ & 16u) && rows_ != 0;
    job_rows_ = rows_;
    const unsigned lim = (cfg_ >> 8) & 0xFFu;
    const unsigned limit = (lim == 0 || lim > fifo_depth_) ? fifo_depth_ : lim;
    const bool skip = cfg_ & 1u;
    if (cfg_ & 8u)
      for (auto& pe : pe_) std::fill(pe.acc_v.begin(), pe.acc_v.end(), 0);

    // The broadcast sequence: (column, value, group).
    std::vector<std::uint32_t> cols;
    const std::uint64_t g0 = col_start_ / 16, g_last = col_count_ ? (end_col - 1) / 16 : 0;
    for (std::uint64_t j = col_start_; j < end_col; ++j)
      if (!skip || acts_[j] != 0) cols.push_back(std::uint32_t(j));
    const std::size_t T = cols.size();
    counters_[kActs] += std::uint32_t(T);
    counters_[kActReads] += col_count_ ? std::uint32_t(g_last - g0 + 1) : 0;

    // Functional part and per-PE entry counts.
    std::vector<std::uint32_t> n(T * pes_);
    for (unsigned k = 0; k < pes_; ++k) run_pe(k, cols, dense, n.data() + k);

    // Timing: broadcast edges b, pop edges s (per PE, kept for the queue-limit rule).
    std::vector<std::uint64_t> s(T * pes_);
    std::vector<std::uint64_t> free_at(pes_, 0), last_issue(pes_, 0);
    std::vector<bool> issued(pes_, false);
    std::uint64_t b_prev = 0, g_prev = 0, stall = 0;
    for (std::size_t t = 0; t < T; ++t) {
      const std::uint64_t g = cols[t] / 16;
      std::uint64_t earliest = t == 0 ? e + 1 + (g - g0) : b_prev + 1 + (g > g_prev ? g - g_prev - 1 : 0);
      std::uint64_t b = earliest;
      if (t >= limit)
        for (unsigned k = 0; k < pes_; ++k) b = std::max(b, s[(t - limit) * pes_ + k] + 1);
      stall += b - earliest;
      for (unsigned k = 0; k < pes_; ++k) {
        const std::uint64_t pop = std::max(b + 1, free_at[k]);
        const std::uint32_t cnt = n[t * pes_ + k];
        s[t * pes_ + k] = pop;
        free_at[k] = pop + std::max<std::uint32_t>(1, cnt);
        if (cnt > 0) {
          last_issue[k] = pop + cnt;
          issued[k] = true;
        }
      }
      b_prev = b;
      g_prev = g;
    }
    counters_[kStall] += std::uint32_t(stall);
    // The detector is done after its last group; every PE after its last decode.
    std::uint64_t lz_done = col_count_ == 0 ? e : T == 0 ? e + (g_last - g0 + 1) : b_prev + (g_last - g_prev);
    std::uint64_t exit = std::max(lz_done + 1, e + 1);
    for (unsigned k = 0; k < pes_ && T > 0; ++k) {
      exit = std::max(exit, s[(T - 1) * pes_ + k] + 1);
      if (issued[k]) exit = std::max(exit, last_issue[k] + 2);
    }
    out_next_ = exit + 1;
    rows_read_ = 0;
    if (!job_drain_) finish(exit);
    return true;
  }

  // Apply the broadcast columns to PE k; n[t * pes] gets the entries of column t.
  void run_pe(unsigned k, const std::vector<std::uint32_t>& cols, bool dense, std::uint32_t* n) {
    Pe& pe = pe_[k];
    std::int64_t held_word = -1;  // the matrix word the PE holds (forgotten at job start)
    const std::uint32_t mask = rows_max_ - 1;
    for (std::size_t t = 0; t < cols.size(); ++t) {
      const std::uint32_t j = cols[t];
      const std::int32_t a = acts_[j];
      std::uint64_t begin, end;
      if (dense) {
        begin = std::uint64_t(dense_base_) + std::uint64_t(j - col_start_) * rows_;
        end = begin + rows_;
      } else {
        begin = pe.ptr[j];
        end = pe.ptr[j + 1];
        counters_[kPtr] += 2;
      }
      const std::uint32_t cnt = end > begin ? std::uint32_t(end - begin) : 0;
      n[t * pes_] = cnt;
      pe.work += std::max<std::uint32_t>(1, cnt);
      counters_[kEntries] += cnt;
      std::uint32_t row = 0;
      for (std::uint64_t x = begin; x < begin + cnt; ++x) {
        const std::uint64_t w = dense ? x >> 4 : x >> 3;
        if (std::int64_t(w) != held_word) {
          ++counters_[kWords];
          held_word = std::int64_t(w);
        }
        const std::uint64_t word = w < mat_words_ ? pe.mat[w] : 0;
        unsigned idx, z;
        if (dense) {
          idx = unsigned(word >> (4 * (x & 15))) & 15u;
          z = 0;
        } else {
          const unsigned byte = unsigned(word >> (8 * (x & 7))) & 0xFFu;
          idx = byte & 15u;
          z = byte >> 4;
        }
        row = x == begin ? z : row + z + 1;
        if (idx == 0) ++counters_[kZeroW];
        const std::uint32_t r = row & mask;
        const std::int32_t prod = std::int32_t(pe.codebook[idx]) * a;
        const std::uint32_t old = pe.acc_v[r] ? std::uint32_t(pe.acc[r]) : 0u;
        pe.acc[r] = std::int32_t(old + std::uint32_t(prod));
        pe.acc_v[r] = 1;
      }
    }
  }

  void on_finish(std::uint64_t cycles) override { counters_[kBusy] += std::uint32_t(cycles); }

  // ------------------------------------------------------------------ results
  void results(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const unsigned rb = 4 * pes_;
    const std::uint64_t len = gp.get_data_length();
    if (!gp.is_read() || len % rb != 0 || len == 0 || gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, name(),
                "result reads must be whole beats of " + std::to_string(rb) + " bytes");
      return;
    }
    const std::uint64_t beats = len / rb;
    const bool draining = job_running() && job_drain_;
    if (!draining || rows_read_ + beats > job_rows_) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                "asked for " + std::to_string(beats) + " result beats but " +
                    std::to_string(draining ? job_rows_ - rows_read_ : 0) +
                    " are left (start a job with CONFIG.drain first)");
      return;
    }
    std::uint64_t e = std::max(edge_after(now_ps() + to_ps(delay)), out_next_);
    std::uint8_t* d = gp.get_data_ptr();
    for (std::uint64_t r = 0; r < beats; ++r, ++rows_read_) {
      for (unsigned k = 0; k < pes_; ++k) {
        const std::uint32_t row = std::uint32_t(rows_read_) & (rows_max_ - 1);
        std::int32_t v = pe_[k].acc_v[row] ? pe_[k].acc[row] : 0;
        if (job_relu_ && v < 0) v = 0;
        std::memcpy(d + r * rb + 4 * k, &v, 4);
      }
      if (r + 1 < beats) ++e;
    }
    out_next_ = e + 1;
    counters_[kOut] += std::uint32_t(beats);
    if (rows_read_ == job_rows_) finish(e);
    delay = from_ps(at(e) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  tlm_utils::simple_target_socket<EieTlm, kBusWidth> ld_, act_, out_;
  unsigned pes_, fifo_depth_, act_depth_, mat_words_, rows_max_;
  Counter& jobs_;
  std::vector<Pe> pe_;
  std::vector<std::int16_t> acts_;
  // registers
  std::uint32_t cfg_ = 1, col_start_ = 0, col_count_ = 0, rows_ = 0, dense_base_ = 0, act_wptr_ = 0;
  std::uint32_t counters_[kNumCounters] = {};
  // load-stream parser
  unsigned ld_target_ = 0, ld_pe_ = 0;
  std::uint32_t ld_addr_ = 0, ld_left_ = 0;
  bool ld_bad_ = false;
  // timing
  std::uint64_t ld_next_ = 0, act_next_ = 0, out_next_ = 0, rows_read_ = 0;
  bool job_relu_ = false, job_drain_ = false;
  std::uint32_t job_rows_ = 0;
};

ModelSpec eie_tlm_spec() {
  ModelSpec s;
  s.name = "eie_tlm";
  s.summary = "Approximately-timed TLM twin of the EIE sparse FC engine (rtl/eie/eie.sv)";
  s.doc =
      "Targets csr (32-bit registers, map in rtl/eie/eie.sv), ld (load-stream beats of 8 bytes: "
      "codebook, pointers, matrix words), act (activation beats of 16 int16) and out (result "
      "beats of pes int32), and event done, as the RTL behind its bridges. Same results and "
      "event counters; job time from EIE's queueing rules, activation by activation.";
  s.source =
      "Timing rules derived from the RTL's microarchitecture (Han et al., ISCA 2016: one "
      "nonzero activation broadcast per cycle, per-PE activation queues, one entry per cycle "
      "per PE); register ack and completion logic approximated.";
  s.params = {
      int_param("pes", 8, 1, 32, "", "processing elements (the RTL's PES)"),
      int_param("fifo_depth", 8, 1, 64, "", "activation queue entries per PE", "Han et al.: depth 8"),
      int_param("act_depth", 2048, 16, 1 << 16, "", "activations the broadcast buffer holds (power of two)"),
      int_param("mat_words", 8192, 2, 1 << 20, "", "64-bit words of each PE's sparse-matrix memory"),
      int_param("rows_max", 1024, 16, 1 << 16, "", "accumulators per PE (power of two)"),
      time_param("clock", 1'000, 1, 1'000'000'000, "clock period", "same clock as the RTL twin"),
  };
  s.ports = {{"csr", PortKind::TlmTarget, "32-bit control/status registers", false},
             {"ld", PortKind::TlmTarget, "load-stream beats (writes)", false},
             {"act", PortKind::TlmTarget, "activation beats (writes)", false},
             {"out", PortKind::TlmTarget, "result beats (reads)", false},
             {"done", PortKind::Event, "notified when a job finishes", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new EieTlm(n, p); };
  return s;
}

const RegisterModel reg_eie_tlm(eie_tlm_spec());

}  // namespace
}  // namespace cosim

// ndp_mac_unit_tlm: the approximately-timed TLM twin of rtl/ndp_gemv/ndp_mac_unit.sv, the
// near-bank MAC unit (register map and job protocol in the RTL's header).
//
// Same targets as the RTL behind its bridges (csr, in, out) and a `done` event; the same
// numbers, computed by the near-data units' own datapath code (unit_ops.h: gemv_unit),
// so the twin is bit-exact with the ndp model by construction. Timing from the RTL's
// microarchitecture, on the clock grid:
//  - a register access is acted on at the first edge after it arrives and acknowledged
//    one edge later; CTRL starts a job at that edge;
//  - input beats are taken one per edge from the edge after the start;
//  - a row's result can be taken LATENCY + 1 edges after the edge that took its last
//    beat (LATENCY = 1 + log2(burst_bytes): product stage, lane accumulators, pairwise
//    tree), results leave one per edge, in order;
//  - done rises at the edge that takes the last result (an x load: its last beat).
// Not modelled, hence "approximately": the RTL's input stall when its output queue
// (2 * (LATENCY + 2) rounded up to a power of two results) is full because results are
// not read; a driver that reads results as they come (as the accelerator's does) never
// sees it.
#include <tlm_utils/simple_target_socket.h>

#include <deque>
#include <vector>

#include "../engine_tlm.h"
#include "../../ndp/layout.h"
#include "../../ndp/unit_ops.h"

namespace cosim::ndp {
namespace {

using accel::EngineTlm;

constexpr std::uint64_t kDtype = 0x10, kN = 0x14, kRows = 0x18;

unsigned log2u(unsigned v) {
  unsigned l = 0;
  while ((1u << l) < v) ++l;
  return l;
}

class MacUnitTlm : public EngineTlm {
 public:
  // STATUS sees done at the done edge; a refused job ends one edge after its start with
  // STATUS.error, which the next start clears.
  MacUnitTlm(const sc_core::sc_module_name& name, const Params& p)
      : EngineTlm(name, "ndp_mac_unit_tlm", p, accel::DoneSeen::AtDoneEdge, accel::ErrorKept::UntilStart),
        in_("in"),
        out_("out"),
        burst_(unsigned(p.get_uint("burst_bytes"))),
        xbytes_(unsigned(p.get_uint("xbytes"))),
        latency_(1 + log2u(burst_)),
        xbuf_(xbytes_, 0),
        jobs_(counter("jobs", "jobs started")),
        beats_in_(counter("in.beats", "input beats taken")),
        results_(counter("out.beats", "results given")),
        macs_(counter("macs", "multiply-accumulates of enabled lanes")) {
    if ((burst_ & (burst_ - 1)) != 0)
      throw std::invalid_argument(std::string(this->name()) + ": burst_bytes = " + std::to_string(burst_) +
                                  " must be a power of two (4..128)");
    const unsigned xbeats = xbytes_ / burst_;
    if (xbytes_ % burst_ != 0 || xbeats < 2 || (xbeats & (xbeats - 1)) != 0)
      throw std::invalid_argument(std::string(this->name()) + ": xbytes = " + std::to_string(xbytes_) +
                                  " must be burst_bytes times a power of two >= 2");
    expose_target("in", in_);
    expose_target("out", out_);
    in_.register_b_transport(this, &MacUnitTlm::inputs);
    out_.register_b_transport(this, &MacUnitTlm::outputs);
  }

 private:
  enum class Phase { Idle, LoadX, Run, Done };

  bool fp() const { return job_dtype_ == 3; }
  unsigned elem() const { return fp() ? 2 : 1; }
  std::uint64_t row_bytes() const { return std::uint64_t(job_n_) * elem(); }
  std::uint64_t beats_per_row() const { return (row_bytes() + burst_ - 1) / burst_; }
  void finish(std::uint64_t edge) {
    phase_ = Phase::Done;
    EngineTlm::finish(edge);
  }

  bool start(std::uint64_t e, std::uint32_t ctrl) override {
    jobs_.inc();
    in_next_ = out_next_ = e + 1;
    job_dtype_ = dtype_;
    job_n_ = n_;
    job_rows_ = rows_;
    rows_in_ = rows_out_ = 0;
    row_.clear();
    ready_.clear();
    values_.clear();
    const std::uint64_t nbytes = std::uint64_t(n_) * (dtype_ == 3 ? 2 : 1);
    refused_ = !((dtype_ == 1 || dtype_ == 3) && n_ != 0 && nbytes <= xbytes_);
    phase_ = Phase::Idle;
    const bool load = (ctrl & 2) != 0;
    if (refused_) raise_error();
    if (refused_ || (!load && rows_ == 0)) {
      finish(e + 1);
      return true;
    }
    phase_ = load ? Phase::LoadX : Phase::Run;
    return true;
  }

  // ------------------------------------------------------------------ registers
  std::uint32_t info() const override {
    const unsigned xb = std::min(255u, xbytes_ / burst_);
    return burst_ | (latency_ << 8) | (xb << 16) | accel::kVersion;
  }

  void write_reg(std::uint64_t a, std::uint32_t v, std::uint64_t) override {
    if (a == kDtype) dtype_ = v;
    if (a == kN) n_ = v;
    if (a == kRows) rows_ = v;
  }

  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    switch (a) {
      case kDtype: return dtype_;
      case kN: return n_;
      case kRows: return rows_;
      default: return 0;
    }
  }

  std::uint64_t wanted() const {
    if (phase_ == Phase::LoadX) return beats_per_row() - row_.size() / burst_;
    if (phase_ == Phase::Run) return (job_rows_ - rows_in_) * beats_per_row() - row_.size() / burst_;
    return 0;
  }

  void inputs(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (!accel::check_access(gp, name(), true, burst_,
                             "input writes must be whole beats of " + std::to_string(burst_) + " bytes"))
      return;
    const std::uint64_t beats = gp.get_data_length() / burst_;
    if (beats > wanted()) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                "no job is waiting for " + std::to_string(beats) + " input beats (it takes " +
                    std::to_string(wanted()) + " now: write DTYPE, N, ROWS, then CTRL)");
      return;
    }
    const std::uint64_t first = std::max(edge_after(now_ps() + to_ps(delay)), in_next_);
    const unsigned char* d = gp.get_data_ptr();
    for (std::uint64_t k = 0; k < beats; ++k) take(d + k * burst_, first + k);
    in_next_ = first + beats;
    beats_in_.inc(beats);
    delay = from_ps(at(first + beats - 1) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  void take(const unsigned char* beat, std::uint64_t edge) {
    row_.insert(row_.end(), beat, beat + burst_);
    if (row_.size() / burst_ < beats_per_row()) return;
    if (phase_ == Phase::LoadX) {
      std::fill(xbuf_.begin(), xbuf_.end(), 0);
      std::copy(row_.begin(), row_.begin() + std::ptrdiff_t(row_bytes()), xbuf_.begin());
      row_.clear();
      finish(edge);
      return;
    }
    Region r;
    r.kind = Kind::Matrix;
    r.dtype = fp() ? DType::Fp16 : DType::Int8;
    r.m = 1;
    r.n = job_n_;
    r.row_stride = row_.size();
    std::vector<std::uint8_t> y(4, 0);
    gemv_unit(r, row_, 1, xbuf_.data(), burst_ / elem(), y);
    values_.push_back(y);
    ready_.push_back(edge + latency_ + 1);
    macs_.inc(job_n_);
    row_.clear();
    ++rows_in_;
  }

  void outputs(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (!accel::check_access(gp, name(), false, 4, "result reads must be whole beats of 4 bytes")) return;
    const std::uint64_t n = gp.get_data_length() / 4;
    if (phase_ != Phase::Run || rows_out_ + n > rows_in_) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                "asked for " + std::to_string(n) + " results but only " +
                    std::to_string(phase_ == Phase::Run ? rows_in_ - rows_out_ : 0) +
                    " rows have all their beats (send a row's beats before reading its result)");
      return;
    }
    std::uint64_t e = std::max(edge_after(now_ps() + to_ps(delay)), out_next_);
    unsigned char* d = gp.get_data_ptr();
    for (std::uint64_t k = 0; k < n; ++k, ++rows_out_) {
      e = std::max(e, ready_[rows_out_]);
      std::memcpy(d + 4 * k, values_[rows_out_].data(), 4);
      if (k + 1 < n) ++e;
    }
    out_next_ = e + 1;
    results_.inc(n);
    if (rows_out_ == job_rows_) finish(e);
    delay = from_ps(at(e) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  tlm_utils::simple_target_socket<MacUnitTlm, kBusWidth> in_, out_;
  unsigned burst_, xbytes_, latency_;
  std::vector<std::uint8_t> xbuf_, row_;
  std::vector<std::vector<std::uint8_t>> values_;
  std::vector<std::uint64_t> ready_;
  Phase phase_ = Phase::Idle;
  bool refused_ = false;
  std::uint32_t dtype_ = 1, n_ = 0, rows_ = 0, job_dtype_ = 1, job_n_ = 0, job_rows_ = 0;
  std::uint64_t in_next_ = 0, out_next_ = 0, rows_in_ = 0, rows_out_ = 0;
  Counter &jobs_, &beats_in_, &results_, &macs_;
};

ModelSpec mac_unit_tlm_spec() {
  ModelSpec s;
  s.name = "ndp_mac_unit_tlm";
  s.summary = "Approximately-timed TLM twin of the near-bank MAC unit RTL (rtl/ndp_gemv/ndp_mac_unit.sv)";
  s.doc =
      "Targets csr (CTRL 0x0: bit 0 start, bit 1 load x; STATUS 0x4, CYCLES 0x8, INFO 0xC, DTYPE 0x10, N 0x14, ROWS "
      "0x18), in (bursts of burst_bytes) and out (32-bit results), and event done, as the "
      "RTL behind its bridges. Computes int8 and fp16 GEMV rows with the near-data units' "
      "datapath code (tlm/ndp/unit_ops.h); times beats and results on the clock grid.";
  s.source =
      "Timing derived from the RTL's microarchitecture: one beat per cycle, results "
      "1 + log2(burst_bytes) cycles after a row's last beat (product stage, lane "
      "accumulators, pairwise tree), registered ack on the register port.";
  s.params = {
      int_param("burst_bytes", 32, 4, 128, "B",
                "bytes per input beat: one DRAM burst (the RTL's BURST_BYTES; HBM2 pseudo channel: 32)",
                "JESD235: 64-bit pseudo channel, burst length 4"),
      int_param("xbytes", 2048, 8, 65536, "B", "vector buffer for x (the RTL's XBYTES)",
                "the ndp model's buffer_bytes default (assumption: 2 KiB holds a 1024-element fp16 x)"),
      time_param("clock", 1'000, 1, 1'000'000'000, "clock period",
                 "the unit runs at the DRAM clock in the ndp model; 1 GHz = HBM2's tCK"),
  };
  s.ports = {{"csr", PortKind::TlmTarget, "32-bit control/status registers", false},
             {"in", PortKind::TlmTarget, "x and A bursts (writes)", false},
             {"out", PortKind::TlmTarget, "32-bit results (reads)", false},
             {"done", PortKind::Event, "notified when a job has finished", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new MacUnitTlm(n, p); };
  return s;
}

const RegisterModel reg_mac_unit_tlm(mac_unit_tlm_spec());

}  // namespace
}  // namespace cosim::ndp

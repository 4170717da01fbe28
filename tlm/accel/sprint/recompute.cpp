// sprint_recompute_tlm: the approximately-timed TLM twin of rtl/sprint/sprint_recompute.sv,
// SPRINT's digital recompute and online softmax (register map, beat format and job
// protocol in the RTL's header).
//
// Same targets (csr, in, out) and `done` event as the RTL behind its bridges, the same
// numbers (online_softmax.h: cosim/accel/online_softmax.py's arithmetic), and the RTL's
// cycle costs on the clock grid: after the edge that takes a beat the next one is taken
// 1 (QUERY), D/LANES + 3 (KEY: dot product, two exponent stages) or D/LANES + 1 (VALUE)
// edges later; after END the output can be taken D/LANES + 31 edges later (30 division
// steps, D/LANES normalising steps) or 1 edge later for a query without pairs; the next
// beat the edge after the output is taken. Not modelled, hence "approximately": beats
// after an END whose output has not been read are refused (the RTL would hold them until
// the output leaves); a driver that reads each query's output before sending the next
// query (as the SPRINT controller does) sees the RTL's timing.
#include <tlm_utils/simple_target_socket.h>

#include <vector>

#include "../engine_tlm.h"
#include "../online_softmax.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kMult = 0x10, kShift = 0x14, kNq = 0x18, kPairs = 0x1C, kRescales = 0x20, kEmpty = 0x24;
constexpr std::uint8_t kTagQuery = 1, kTagKey = 2, kTagValue = 3, kTagEnd = 4;
constexpr unsigned kDivSteps = 30;

class RecomputeTlm : public EngineTlm {
 public:
  // STATUS sees done at the done edge; a beat out of order sets STATUS.error until the
  // next start.
  RecomputeTlm(const sc_core::sc_module_name& name, const Params& p)
      : EngineTlm(name, "sprint_recompute_tlm", p, DoneSeen::AtDoneEdge, ErrorKept::UntilStart),
        in_("in"),
        out_("out"),
        d_(unsigned(p.get_uint("d"))),
        lanes_(unsigned(p.get_uint("lanes"))),
        q_(d_, 0),
        jobs_(counter("jobs", "jobs started")),
        beats_(counter("in.beats", "beats taken")),
        outputs_(counter("out.beats", "outputs given")) {
    if (d_ != 8 && d_ != 16 && d_ != 32 && d_ != 64)
      throw std::invalid_argument(std::string(this->name()) + ": d = " + std::to_string(d_) +
                                  " must be 8, 16, 32 or 64");
    if (lanes_ == 0 || d_ % lanes_ != 0 || (lanes_ & (lanes_ - 1)) != 0)
      throw std::invalid_argument(std::string(this->name()) + ": lanes = " + std::to_string(lanes_) +
                                  " must be a power of two dividing d = " + std::to_string(d_));
    expose_target("in", in_);
    expose_target("out", out_);
    in_.register_b_transport(this, &RecomputeTlm::inputs);
    out_.register_b_transport(this, &RecomputeTlm::outputs);
  }

 private:
  enum class Phase { Idle, Run, Done };
  unsigned steps() const { return d_ / lanes_; }
  unsigned beat_bytes() const { return d_ + 1; }

  void finish(std::uint64_t edge) {
    phase_ = Phase::Done;
    EngineTlm::finish(edge);
  }

  // ------------------------------------------------------------------ registers
  std::uint32_t info() const override { return d_ | (lanes_ << 8) | kVersion; }

  void write_reg(std::uint64_t a, std::uint32_t v, std::uint64_t) override {
    if (a == kMult) mult_ = v & 0xFFFF;
    if (a == kShift) shift_ = v & 0x3F;
    if (a == kNq) nq_ = v;
  }

  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    switch (a) {
      case kMult: return mult_;
      case kShift: return shift_;
      case kNq: return nq_;
      case kPairs: return pairs_;
      case kRescales: return rescales_;
      case kEmpty: return empty_;
      default: return 0;
    }
  }

  bool start(std::uint64_t e, std::uint32_t) override {
    jobs_.inc();
    in_next_ = e + 1;
    job_nq_ = nq_;
    queries_done_ = pairs_ = rescales_ = empty_ = 0;
    in_query_ = expect_v_ = output_pending_ = false;
    if (job_nq_ == 0) {
      finish(e + 1);
      return true;
    }
    phase_ = Phase::Run;
    return true;
  }

  bool ordered(std::uint8_t tag) const {
    switch (tag) {
      case kTagQuery: return !in_query_;
      case kTagKey: return in_query_ && !expect_v_ && state_.pairs() < kMaxPairs;
      case kTagValue: return in_query_ && expect_v_;
      case kTagEnd: return in_query_ && !expect_v_;
      default: return false;
    }
  }

  void inputs(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (!check_access(gp, name(), true, beat_bytes(),
                      "input writes must be whole beats of " + std::to_string(beat_bytes()) + " bytes"))
      return;
    const std::uint64_t beats = gp.get_data_length() / beat_bytes();
    const unsigned char* d = gp.get_data_ptr();
    if (phase_ != Phase::Run || output_pending_) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                phase_ != Phase::Run ? std::string("no job is running (write MULT, SHIFT, NQ, then 1 to CTRL)")
                                     : std::string("read the output of the last query before sending more beats"));
      return;
    }
    for (std::uint64_t k = 0; k + 1 < beats; ++k)
      if (d[k * beat_bytes() + d_] == kTagEnd) {
        set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                  "an END beat must be the last of a write (read its output before sending more beats)");
        return;
      }
    std::uint64_t e = std::max(edge_after(now_ps() + to_ps(delay)), in_next_);
    std::uint64_t last = e;
    for (std::uint64_t k = 0; k < beats; ++k) {
      last = e;
      e = take(d + k * beat_bytes(), e);
    }
    in_next_ = e;
    beats_.inc(beats);
    delay = from_ps(at(last) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  // Take one beat at edge e; returns the first edge the next beat can be taken.
  std::uint64_t take(const unsigned char* beat, std::uint64_t e) {
    const std::uint8_t tag = beat[d_];
    const auto* row = reinterpret_cast<const std::int8_t*>(beat);
    if (!ordered(tag)) {
      raise_error();
      return e + 1;
    }
    switch (tag) {
      case kTagQuery:
        std::copy(row, row + d_, q_.begin());
        state_.reset(d_);
        in_query_ = true;
        return e + 1;
      case kTagKey: {
        std::int32_t s = 0;
        for (unsigned i = 0; i < d_; ++i) s += std::int32_t(q_[i]) * std::int32_t(row[i]);
        if (state_.score(s, mult_, shift_)) ++rescales_;
        expect_v_ = true;
        return e + steps() + 3;
      }
      case kTagValue:
        state_.value(row);
        expect_v_ = false;
        ++pairs_;
        return e + steps() + 1;
      default: {  // END
        in_query_ = false;
        output_ = state_.finish();
        output_pending_ = true;
        if (state_.pairs() == 0) {
          ++empty_;
          out_edge_ = e + 1;
        } else {
          out_edge_ = e + kDivSteps + steps() + 1;
        }
        return out_edge_;
      }
    }
  }

  void outputs(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const unsigned ob = 2 * d_;
    if (!check_access(gp, name(), false, ob, "output reads must be whole beats of " + std::to_string(ob) + " bytes"))
      return;
    if (gp.get_data_length() != ob || !output_pending_) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                output_pending_ ? std::string("read one output beat at a time (one per END)")
                                : std::string("no output: send a query's END beat before reading its output"));
      return;
    }
    const std::uint64_t e = std::max(edge_after(now_ps() + to_ps(delay)), out_edge_);
    std::memcpy(gp.get_data_ptr(), output_.data(), ob);
    output_pending_ = false;
    in_next_ = e + 1;
    outputs_.inc();
    if (++queries_done_ == job_nq_) finish(e);
    delay = from_ps(at(e) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  tlm_utils::simple_target_socket<RecomputeTlm, kBusWidth> in_, out_;
  unsigned d_, lanes_;
  std::vector<std::int8_t> q_;
  std::vector<std::int16_t> output_;
  OnlineSoftmax state_;
  Phase phase_ = Phase::Idle;
  bool in_query_ = false, expect_v_ = false, output_pending_ = false;
  std::uint32_t mult_ = 1, shift_ = 1, nq_ = 0, job_nq_ = 0;
  std::uint32_t queries_done_ = 0, pairs_ = 0, rescales_ = 0, empty_ = 0;
  std::uint64_t in_next_ = 0, out_edge_ = 0;
  Counter &jobs_, &beats_, &outputs_;
};

ModelSpec recompute_tlm_spec() {
  ModelSpec s;
  s.name = "sprint_recompute_tlm";
  s.summary = "Approximately-timed TLM twin of SPRINT's recompute + online softmax RTL (rtl/sprint/sprint_recompute.sv)";
  s.doc =
      "Targets csr (CTRL 0x0, STATUS 0x4, CYCLES 0x8, INFO 0xC, MULT 0x10, SHIFT 0x14, NQ 0x18, "
      "PAIRS 0x1C, RESCALES 0x20, EMPTY 0x24), in (beats of d+1 bytes: a row and a tag) and out "
      "(d int16 outputs per query), and event done, as the RTL behind its bridges; the same "
      "fixed-point arithmetic (cosim/accel/online_softmax.py) and the RTL's cycle costs.";
  s.source =
      "Timing derived from the RTL's microarchitecture: a KEY beat d/lanes + 3 cycles, a VALUE "
      "beat d/lanes + 1, an END beat 30 division + d/lanes normalising cycles before the "
      "output; registered ack on the register port.";
  s.params = {
      int_param("d", 64, 8, 64, "", "head dimension: int8 elements of a q, k or v row (the RTL's D)",
                "the scenario's workload: d = 64"),
      int_param("lanes", 16, 1, 64, "", "multiply-accumulate lanes (the RTL's LANES)",
                "assumption: 16 int8 MACs, a quarter of a row per cycle"),
      time_param("clock", 1'000, 1, 1'000'000'000, "clock period", "assumption: 1 GHz accelerator clock"),
  };
  s.ports = {{"csr", PortKind::TlmTarget, "32-bit control/status registers", false},
             {"in", PortKind::TlmTarget, "tagged q/k/v/end beats (writes)", false},
             {"out", PortKind::TlmTarget, "one output beat per query (reads)", false},
             {"done", PortKind::Event, "notified when a job has finished", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new RecomputeTlm(n, p); };
  return s;
}

const RegisterModel reg_recompute_tlm(recompute_tlm_spec());

}  // namespace
}  // namespace cosim::accel

// StreamEngineTlm: the TLM twins of the engines with one input and one output stream
// (the shape of cosim.accel.stream_engine): EngineTlm (engine_tlm.h: clock grid,
// register header, done event) plus the `in` and `out` targets of whole beats and
// configuration registers read back as written.
//
// Beats move at the edges the subclass computes from its microarchitecture (take() and
// give() return the edge of their last beat); a transaction is taken from the first edge
// strictly after it arrives (kernel time plus the caller's annotated delay), as the
// bridges offer it. A STATUS read sees a job done from the edge after its done edge, and
// a start clears STATUS.error, as in these engines' RTL.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine_tlm.h"

namespace cosim {
namespace accel {

class StreamEngineTlm : public EngineTlm {
 public:
  StreamEngineTlm(const sc_core::sc_module_name& name, const std::string& kind, const Params& p,
                  unsigned in_beat_bytes, unsigned out_beat_bytes, std::vector<std::uint64_t> config_regs)
      : EngineTlm(name, kind, p, DoneSeen::AfterDoneEdge, ErrorKept::UntilStart, p.get_uint("reset_cycles")),
        in_("in"),
        out_("out"),
        in_bytes_(in_beat_bytes),
        out_bytes_(out_beat_bytes),
        jobs_(counter("jobs", "jobs started")),
        beats_in_(counter("in.beats", "input beats taken")),
        beats_out_(counter("out.beats", "result beats given")),
        busy_cycles_(counter("busy_cycles", "clock cycles with a job running", "cycles")) {
    for (auto a : config_regs) regs_[a] = 0;
    expose_target("in", in_);
    expose_target("out", out_);
    in_.register_b_transport(this, &StreamEngineTlm::inputs);
    out_.register_b_transport(this, &StreamEngineTlm::outputs);
  }

 protected:
  // ---------------------------------------------------------------- subclass hooks
  // (info() and start() as EngineTlm's; start() returning false refuses the job.)
  // Input beats the running job takes now.
  virtual std::uint64_t wanted() const = 0;
  // Take n beats, the first at `first` at the earliest; returns the edge of the last.
  virtual std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) = 0;
  // Result beats ready to be read now.
  virtual std::uint64_t available() const = 0;
  // Give n result beats, the first at `first` at the earliest; returns the edge of the last.
  virtual std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) = 0;

  // ---------------------------------------------------------------- helpers
  std::uint32_t reg(std::uint64_t addr) const { return regs_.at(addr); }

  tlm_utils::simple_target_socket<StreamEngineTlm, kBusWidth> in_, out_;
  unsigned in_bytes_, out_bytes_;
  Counter &jobs_, &beats_in_, &beats_out_, &busy_cycles_;

 private:
  void write_reg(std::uint64_t a, std::uint32_t v, std::uint64_t) override {
    if (regs_.count(a)) regs_[a] = v;
  }
  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override { return regs_.count(a) ? regs_.at(a) : 0u; }
  void on_start(std::uint64_t) override { jobs_.inc(); }
  void on_finish(std::uint64_t cycles) override { busy_cycles_.inc(cycles); }

  void inputs(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const std::uint64_t len = gp.get_data_length();
    if (!gp.is_write() || len % in_bytes_ != 0 || gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, name(),
                "input writes must be whole beats of " + std::to_string(in_bytes_) + " bytes");
      return;
    }
    const std::uint64_t n = len / in_bytes_;
    const std::uint64_t want = job_running() ? wanted() : 0;
    if (n > want) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                "no job is waiting for " + std::to_string(n) + " input beats (it takes " + std::to_string(want) +
                    " now: write the configuration, then CTRL, and send the beats the job takes; read results "
                    "the protocol says come first)");
      return;
    }
    if (n == 0) {
      gp.set_response_status(tlm::TLM_OK_RESPONSE);
      return;
    }
    const std::uint64_t last = take(gp.get_data_ptr(), n, edge_after(now_ps() + to_ps(delay)));
    beats_in_.inc(n);
    delay = from_ps(at(last) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  void outputs(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const std::uint64_t len = gp.get_data_length();
    if (!gp.is_read() || len % out_bytes_ != 0 || gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, name(),
                "result reads must be whole beats of " + std::to_string(out_bytes_) + " bytes");
      return;
    }
    const std::uint64_t n = len / out_bytes_;
    const std::uint64_t have = job_running() ? available() : 0;
    if (n > have) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                "asked for " + std::to_string(n) + " result beats but only " + std::to_string(have) +
                    " exist (send the inputs they depend on first)");
      return;
    }
    if (n == 0) {
      gp.set_response_status(tlm::TLM_OK_RESPONSE);
      return;
    }
    const std::uint64_t last = give(gp.get_data_ptr(), n, edge_after(now_ps() + to_ps(delay)));
    beats_out_.inc(n);
    delay = from_ps(at(last) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  std::map<std::uint64_t, std::uint32_t> regs_;
};

// Parameters every stream-engine twin has.
inline std::vector<ParamSpec> stream_engine_params() {
  return {
      time_param("clock", 5'000, 1, 1'000'000'000, "clock period",
                 "the clock of the RTL twin it stands for; 200 MHz default (assumption: FPGA prototypes of "
                 "the modelled accelerators run at 200 MHz)"),
      int_param("reset_cycles", 4, 0, 1'000'000, "cycles", "edges in reset at time 0 (as cosim.rtl.block)"),
  };
}

}  // namespace accel
}  // namespace cosim

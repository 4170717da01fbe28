// Common base of the approximately-timed TLM twins of the stream engines in rtl/ (the
// register-port + two-stream shape of cosim.accel.stream_engine).
//
// A twin exposes the same three TLM targets as the RTL behind its bridges (csr: 32-bit
// registers, in: input beats, out: result beats) and a `done` event, computes the same
// numbers, and times every transaction on the engine's clock grid without waiting
// (loosely timed: delays are annotated, so any initiator may call it):
//  - edge n is at n * clock; the first `reset_cycles` edges are in reset (as the bridge's);
//  - a transaction is taken from the first edge strictly after it arrives (kernel time
//    plus the caller's annotated delay), as the bridges offer it;
//  - a register access completes one edge after it is taken (registered ack) and the
//    port takes one access every two edges;
//  - beats move at the edges the subclass computes from its microarchitecture (take() and
//    give() return the edge of their last beat).
// Common registers: 0x00 CTRL (bit 0 start), 0x04 STATUS (busy, done, error), 0x08 CYCLES,
// 0x0C INFO; a subclass lists its configuration registers (read back as written).
#pragma once

#include <tlm_utils/simple_target_socket.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "cosim/model.h"

namespace cosim {
namespace accel {

class StreamEngineTlm : public Model {
 public:
  StreamEngineTlm(const sc_core::sc_module_name& name, const std::string& kind, const Params& p,
                  unsigned in_beat_bytes, unsigned out_beat_bytes, std::vector<std::uint64_t> config_regs)
      : Model(name, kind, p),
        csr_("csr"),
        in_("in"),
        out_("out"),
        in_bytes_(in_beat_bytes),
        out_bytes_(out_beat_bytes),
        period_(p.get_time_ps("clock")),
        reset_edges_(p.get_uint("reset_cycles")),
        jobs_(counter("jobs", "jobs started")),
        beats_in_(counter("in.beats", "input beats taken")),
        beats_out_(counter("out.beats", "result beats given")),
        busy_cycles_(counter("busy_cycles", "clock cycles with a job running", "cycles")) {
    for (auto a : config_regs) regs_[a] = 0;
    expose_target("csr", csr_);
    expose_target("in", in_);
    expose_target("out", out_);
    expose_event("done", done_);
    csr_.register_b_transport(this, &StreamEngineTlm::csr_access);
    in_.register_b_transport(this, &StreamEngineTlm::inputs);
    out_.register_b_transport(this, &StreamEngineTlm::outputs);
  }

 protected:
  enum : std::uint64_t { kCtrl = 0x00, kStatus = 0x04, kCycles = 0x08, kInfo = 0x0C };

  // ---------------------------------------------------------------- subclass hooks
  virtual std::uint32_t info() const = 0;
  // Start a job at `edge` (CTRL written); false refuses it (STATUS.error).
  virtual bool start(std::uint64_t edge, std::uint32_t ctrl) = 0;
  // Input beats the running job takes now.
  virtual std::uint64_t wanted() const = 0;
  // Take n beats, the first at `first` at the earliest; returns the edge of the last.
  virtual std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) = 0;
  // Result beats ready to be read now.
  virtual std::uint64_t available() const = 0;
  // Give n result beats, the first at `first` at the earliest; returns the edge of the last.
  virtual std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) = 0;

  // ---------------------------------------------------------------- helpers
  std::uint64_t edge_after(Picos t) const { return t / period_ + 1; }
  Picos at(std::uint64_t edge) const { return edge * period_; }
  std::uint32_t reg(std::uint64_t addr) const { return regs_.at(addr); }
  std::uint64_t start_edge() const { return start_edge_; }
  // The job is over at `edge` (its last result beat left then).
  void finish(std::uint64_t edge) {
    running_ = false;
    done_flag_ = true;
    done_edge_ = edge;
    cycles_ = static_cast<std::uint32_t>(edge - start_edge_);
    busy_cycles_.inc(edge - start_edge_);
    const Picos now = now_ps();
    done_.notify(from_ps(at(edge) > now ? at(edge) - now : 0));
  }

  tlm_utils::simple_target_socket<StreamEngineTlm, kBusWidth> csr_, in_, out_;
  sc_core::sc_event done_;
  unsigned in_bytes_, out_bytes_;
  Picos period_;
  std::uint64_t reset_edges_;
  Counter &jobs_, &beats_in_, &beats_out_, &busy_cycles_;

 private:
  // The RTL's busy output as sampled by a register access at edge e.
  bool busy_at(std::uint64_t e) const { return start_edge_ < e && (running_ || e <= done_edge_); }

  void csr_access(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (gp.get_data_length() != 4 || gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, name(), "the register port takes 4-byte accesses");
      return;
    }
    const Picos arrival = now_ps() + to_ps(delay);
    const std::uint64_t e = std::max({edge_after(arrival), csr_free_, reset_edges_ + 1});
    csr_free_ = e + 2;
    std::uint32_t v = 0;
    const std::uint64_t a = gp.get_address();
    if (gp.is_write()) {
      std::memcpy(&v, gp.get_data_ptr(), 4);
      if (a == kCtrl && (v & 1u) && !busy_at(e)) {
        error_ = !start(e, v);
        if (!error_) {
          start_edge_ = e;
          done_edge_ = e;
          running_ = true;
          done_flag_ = false;
          jobs_.inc();
        }
      } else if (regs_.count(a)) {
        regs_[a] = v;
      }
    } else if (gp.is_read()) {
      const bool busy = busy_at(e);
      const bool done = done_flag_ && done_edge_ < e;
      switch (a) {
        case kStatus: v = (busy ? 1u : 0u) | (done ? 2u : 0u) | (error_ ? 4u : 0u); break;
        case kCycles: v = done ? cycles_ : 0u; break;
        case kInfo: v = info(); break;
        default: v = regs_.count(a) ? regs_[a] : 0u;
      }
      std::memcpy(gp.get_data_ptr(), &v, 4);
    }
    delay = from_ps(at(e + 1) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  void inputs(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const std::uint64_t len = gp.get_data_length();
    if (!gp.is_write() || len % in_bytes_ != 0 || gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, name(),
                "input writes must be whole beats of " + std::to_string(in_bytes_) + " bytes");
      return;
    }
    const std::uint64_t n = len / in_bytes_;
    const std::uint64_t want = running_ ? wanted() : 0;
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
    const std::uint64_t have = running_ ? available() : 0;
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
  std::uint64_t csr_free_ = 0, start_edge_ = 0, done_edge_ = 0;
  std::uint32_t cycles_ = 0;
  bool running_ = false, done_flag_ = false, error_ = false;
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

// EngineTlm: the one base of every accelerator engine's TLM twin. It owns what every
// engine has (docs/accelerators.md, "The engine shape"): the clock grid, the register
// port `csr` with the standard header and the `done` event; a twin adds its streams and
// its engine registers (from 0x10) and computes its jobs on the grid.
//
//  0x00 CTRL    W  bit 0 start (ignored while busy); other bits engine flags (control())
//  0x04 STATUS  R  bit 0 busy, bit 1 done, bit 2 error
//  0x08 CYCLES  R  clock cycles of the last job, start edge to done edge (0 until done)
//  0x0C INFO    R  the engine's build parameters, version in [31:24]
//
// Timing (loosely timed: delays are annotated, nothing waits in the kernel, so any
// initiator may call it): edge n is at n * clock; the first `reset_edges` edges are in
// reset; a register access is acted on at the first edge strictly after it arrives (or
// two edges after the previous access) and acknowledged one edge later. Two policies
// follow the RTL the twin stands for: whether a STATUS read at the done edge itself sees
// the job done (DoneSeen), and whether a start clears STATUS.error (an RTL whose error
// bit is sticky clears it with a CTRL bit, in control()).
#pragma once

#include <tlm_utils/simple_target_socket.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "cosim/model.h"

namespace cosim::accel {

constexpr std::uint64_t kCtrl = 0x00, kStatus = 0x04, kCycles = 0x08, kInfo = 0x0C, kEngineRegs = 0x10;
constexpr std::uint32_t kCtrlStart = 1, kStatusBusy = 1, kStatusDone = 2, kStatusError = 4;
// INFO's version field of every engine.
constexpr std::uint32_t kVersion = 1u << 24;

// A STATUS read at the done edge d sees done (AtDoneEdge: the RTL registers done one edge
// before the twin's d) or only from d + 1 on (AfterDoneEdge).
enum class DoneSeen { AtDoneEdge, AfterDoneEdge };
// STATUS.error: cleared by every accepted start, or kept until the twin clears it.
enum class ErrorKept { UntilStart, UntilCleared };

class EngineTlm : public Model {
 public:
  EngineTlm(const sc_core::sc_module_name& name, const std::string& kind, const Params& p, DoneSeen seen,
            ErrorKept kept, std::uint64_t reset_edges = 0)
      : Model(name, kind, p),
        csr_("csr"),
        period_(p.get_time_ps("clock")),
        reset_edges_(reset_edges),
        seen_late_(seen == DoneSeen::AfterDoneEdge ? 1 : 0),
        start_clears_error_(kept == ErrorKept::UntilStart) {
    expose_target("csr", csr_);
    expose_event("done", done_);
    csr_.register_b_transport(this, &EngineTlm::csr_access);
  }

 protected:
  // ---------------------------------------------------------------- subclass hooks
  // The INFO register (use kVersion for [31:24]).
  virtual std::uint32_t info() const = 0;
  // A job starts at `edge` (CTRL written with bit 0 while idle; `ctrl` the whole word);
  // false refuses it: the engine stays idle and STATUS.error is set.
  virtual bool start(std::uint64_t edge, std::uint32_t ctrl) = 0;
  // Every CTRL write, before a start it may carry (clear counters, clear error, ...).
  virtual void control(std::uint32_t /*ctrl*/, std::uint64_t /*edge*/) {}
  // Engine registers (addresses other than the header's).
  virtual void write_reg(std::uint64_t /*addr*/, std::uint32_t /*value*/, std::uint64_t /*edge*/) {}
  virtual std::uint32_t read_reg(std::uint64_t /*addr*/, std::uint64_t /*edge*/) const { return 0; }
  // A start was accepted (after start() returned true).
  virtual void on_start(std::uint64_t /*edge*/) {}
  // The running job has just finished after `cycles` clock cycles (called by finish()).
  virtual void on_finish(std::uint64_t /*cycles*/) {}

  // ---------------------------------------------------------------- helpers
  std::uint64_t edge_after(Picos t) const { return t / period_ + 1; }
  Picos at(std::uint64_t edge) const { return edge * period_; }
  std::uint64_t start_edge() const { return start_edge_; }
  // A job has started and finish() has not been called for it.
  bool job_running() const { return started_ && !finished_; }
  // The RTL's busy and done as a register access at edge e samples them.
  bool busy_at(std::uint64_t e) const {
    return started_ && start_edge_ < e && (!finished_ || e < done_edge_ + seen_late_);
  }
  bool done_at(std::uint64_t e) const { return started_ && finished_ && done_edge_ + seen_late_ <= e; }
  void raise_error() { error_ = true; }
  void clear_error() { error_ = false; }
  // The running job is over at `edge` (its last result left then): STATUS, CYCLES and
  // the done event follow.
  void finish(std::uint64_t edge) {
    finished_ = true;
    done_edge_ = edge;
    cycles_ = static_cast<std::uint32_t>(edge - start_edge_);
    const Picos now = now_ps();
    done_.notify(from_ps(at(edge) > now ? at(edge) - now : 0));
    on_finish(edge - start_edge_);
  }

  tlm_utils::simple_target_socket<EngineTlm, kBusWidth> csr_;
  sc_core::sc_event done_;
  Picos period_;
  std::uint64_t reset_edges_;

 private:
  void begin(std::uint64_t e, std::uint32_t ctrl) {
    const bool was_started = started_, was_finished = finished_;
    const std::uint64_t was_start = start_edge_, was_done = done_edge_;
    if (start_clears_error_) error_ = false;
    started_ = true;
    finished_ = false;
    start_edge_ = done_edge_ = e;
    if (!start(e, ctrl)) {
      started_ = was_started;
      finished_ = was_finished;
      start_edge_ = was_start;
      done_edge_ = was_done;
      error_ = true;
    } else {
      on_start(e);
    }
  }

  void csr_access(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (gp.get_data_length() != 4 || gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, name(), "the register port takes 4-byte accesses");
      return;
    }
    const Picos arrival = now_ps() + to_ps(delay);
    const std::uint64_t e = std::max({edge_after(arrival), csr_free_, reset_edges_ + 1});
    csr_free_ = e + 2;
    const std::uint64_t a = gp.get_address();
    std::uint32_t v = 0;
    if (gp.is_write()) {
      std::memcpy(&v, gp.get_data_ptr(), 4);
      if (a == kCtrl) {
        control(v, e);
        if ((v & kCtrlStart) && !busy_at(e)) begin(e, v);
      } else {
        write_reg(a, v, e);
      }
    } else if (gp.is_read()) {
      const bool done = done_at(e);
      switch (a) {
        case kStatus: v = (busy_at(e) ? kStatusBusy : 0u) | (done ? kStatusDone : 0u) | (error_ ? kStatusError : 0u); break;
        case kCycles: v = done ? cycles_ : 0u; break;
        case kInfo: v = info(); break;
        default: v = read_reg(a, e);
      }
      std::memcpy(gp.get_data_ptr(), &v, 4);
    }
    delay = from_ps(at(e + 1) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  std::uint64_t csr_free_ = 0, start_edge_ = 0, done_edge_ = 0, seen_late_;
  std::uint32_t cycles_ = 0;
  bool start_clears_error_, started_ = false, finished_ = false, error_ = false;
};

// Stream helpers of the twins.
inline std::uint32_t load_u32(const unsigned char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void store_u32(unsigned char* p, std::uint32_t v) { std::memcpy(p, &v, 4); }

// Check an access to a stream target: whole units of `unit` bytes, the right direction,
// no byte enables. Sets an error response naming the rule and returns false otherwise.
inline bool check_access(tlm::tlm_generic_payload& gp, const char* who, bool want_write, unsigned unit,
                         const std::string& what) {
  const bool dir_ok = want_write ? gp.is_write() : gp.is_read();
  if (!dir_ok || gp.get_data_length() % unit != 0 || gp.get_data_length() == 0 ||
      gp.get_byte_enable_ptr() != nullptr) {
    set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, who, what);
    return false;
  }
  return true;
}

}  // namespace cosim::accel

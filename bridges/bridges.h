// The bridges that can be added to an rtl_block, one protocol each. Every function
// checks the pins (existence, direction, width) and throws std::invalid_argument with a
// message naming the block, the bridge and the pin; it must be called during elaboration.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rtl_block.h"

namespace cosim::rtl {

// The data of a stream beat: one pin, or several packed least significant first (the
// first pin in the lowest bits), ceil(bits/8) bytes of payload.
class BeatPins {
 public:
  explicit BeatPins(std::vector<Pin*> pins);
  std::uint32_t bits() const { return bits_; }
  std::uint32_t bytes() const { return bytes_; }
  std::string names() const;  // "pin 'a'" or "pins 'a', 'b'"
  void write(const std::uint8_t* beat) {
    if (pins_.size() == 1)
      pins_[0]->write(beat);
    else
      write_packed(beat);
  }
  void read(std::uint8_t* beat) const {
    if (pins_.size() == 1)
      pins_[0]->read(beat);
    else
      read_packed(beat);
  }

 private:
  void write_packed(const std::uint8_t* beat);
  void read_packed(std::uint8_t* beat) const;
  std::vector<Pin*> pins_;
  std::vector<std::uint32_t> offsets_;
  std::uint32_t bits_ = 0, bytes_ = 0;
  mutable std::vector<std::uint8_t> scratch_;
};

// Stream into the RTL: TLM writes become valid/ready beats of the data pins' width
// (1..1024 bits together, ceil(bits/8) bytes of payload per beat, least significant
// first; several pins are packed, the first in the lowest bits). With blocking (the
// default), ready high and no beat to give means the RTL waits on the outside; a
// non-blocking stream is a sink whose ready only says it can take a beat (a load port
// that is always ready while the block computes on its own). ready "" : the RTL takes a
// beat at every edge where valid is high.
Port& add_stream_in(RtlBlock& b, const std::string& name, const std::string& valid,
                    const std::string& ready, const std::vector<std::string>& data,
                    bool blocking = true);
// Stream out of the RTL: TLM reads are filled with valid/ready beats. Non-blocking:
// valid high with nobody reading is not the RTL waiting on the outside. ready "" :
// capture mode, every beat with valid high goes into a buffer of capture_depth beats
// (overflow stops the run) that reads drain. With ready, valid falling before its beat
// was taken stops the run.
Port& add_stream_out(RtlBlock& b, const std::string& name, const std::string& valid,
                     const std::string& ready, const std::vector<std::string>& data,
                     bool blocking = true, std::uint64_t capture_depth = 0);
// Register port, req/ack: a TLM read or write of ceil(width(wdata)/8) bytes at a byte
// address holds req (with write, addr, wdata) until the edge where ack is high; rdata
// is taken at that edge.
Port& add_register_port(RtlBlock& b, const std::string& name, const std::string& req,
                        const std::string& ack, const std::string& write,
                        const std::string& addr, const std::string& wdata,
                        const std::string& rdata);
// Memory master: each request the RTL hands over (req_valid/req_ready, with write,
// addr, wdata) becomes one TLM transaction of ceil(width(wdata)/8) bytes at
// address_offset + addr; its response (rsp_valid, rsp_rdata for a read) is given back
// at the first edge at or after the time the target annotated, at least one cycle
// later. Up to max_outstanding requests may be in flight; responses are in order.
Port& add_memory_master(RtlBlock& b, const std::string& name, const std::string& req_valid,
                        const std::string& req_ready, const std::string& write,
                        const std::string& addr, const std::string& wdata,
                        const std::string& rsp_valid, const std::string& rsp_rdata,
                        std::uint32_t max_outstanding, std::uint64_t address_offset);
// Interrupt/done pin: each rising edge notifies the block's event `name`. A watchdog
// (timeout_cycles, 0 = the block's cycle_budget) stops the run if the pin does not rise
// within that many cycles after the busy pin rose (or, without a busy pin, after a
// register write).
Port& add_interrupt(RtlBlock& b, const std::string& name, const std::string& pin,
                    std::uint64_t timeout_cycles);
// Hold input `pin` at `value` (bytes, least significant first) from time 0: an input
// deliberately left undriven by bridges.
void add_tie(RtlBlock& b, const std::string& pin, const std::vector<std::uint8_t>& value);

}  // namespace cosim::rtl

// Shared pieces of the approximately-timed TLM twins of clocked RTL engines that follow
// the engine conventions of cosim.accel.stream_engine (a req/ack register port: CTRL
// 0x00, STATUS 0x04, CYCLES 0x08, INFO 0x0C, configuration from 0x10; an input and an
// output stream of whole beats; a `done` event) but time their jobs with their own state
// machine instead of StreamEngineTlm's take()/give() hooks (stream_engine.h): SPRINT's
// fetch filter (a job that is a reset, read-only counter registers) and recompute engine,
// and the near-bank MAC unit. Each keeps its RTL's STATUS timing at the done edge.
//
// A twin does not clock a netlist: it computes each transaction's completion edge on
// the clock grid from the RTL's microarchitecture (loosely timed: delays are annotated,
// nothing waits in the kernel), so any initiator may call it from any process.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "cosim/model.h"

namespace cosim::accel {

constexpr std::uint64_t kCtrl = 0x00, kStatus = 0x04, kCycles = 0x08, kInfo = 0x0C;

// Edges of a clock of period `period` ps: edge n happens at n * period.
struct ClockGrid {
  Picos period = 1000;
  std::uint64_t edge_after(Picos t) const { return t / period + 1; }
  Picos at(std::uint64_t edge) const { return edge * period; }
};

// The RTL's register port: a request arriving at time t is seen at the first edge after
// it (or after the previous access has been acknowledged); the registered ack completes
// it one edge later. Returns the edge at which the RTL acts on the access.
struct RegisterPortTiming {
  std::uint64_t free = 0;
  std::uint64_t access(const ClockGrid& clk, Picos arrival) {
    const std::uint64_t e = std::max(clk.edge_after(arrival), free);
    free = e + 2;
    return e;
  }
};

inline std::uint32_t load_u32(const unsigned char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void store_u32(unsigned char* p, std::uint32_t v) { std::memcpy(p, &v, 4); }

// Check an access to a stream or register target: whole units of `unit` bytes, the
// right direction, no byte enables. Sets an error response naming the rule and returns
// false when it does not hold.
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

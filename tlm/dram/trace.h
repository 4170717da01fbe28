// Memory-request traces of other DRAM simulators, read into a list of requests.
//
//   dramsim3   "<address> <READ|WRITE> <cycle>" per line (DRAMsim3's trace input: hex or
//              decimal address, the memory clock cycle at which the request is issued,
//              cycles non-decreasing)
//   ramulator  "<address> <R|W>" per line (Ramulator's DRAM trace: no times; replayed
//              closed loop, or one request per cycle open loop)
// Blank lines and lines starting with '#' are skipped. A malformed line is refused with
// one message naming the file, the line and what was expected.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cosim::dram {

struct TraceRequest {
  std::uint64_t address = 0;
  std::uint64_t cycle = 0;  // trace clock cycle (ramulator: the line's index)
  bool write = false;
};

enum class TraceFormat { Dramsim3, Ramulator };

TraceFormat trace_format(const std::string& name);

// Throws std::invalid_argument "<file>:<line>: expected ..., got '...'" (or naming the
// file that cannot be read).
std::vector<TraceRequest> read_trace(const std::string& path, TraceFormat format);

}  // namespace cosim::dram

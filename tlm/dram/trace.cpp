#include "trace.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace cosim::dram {
namespace {

// An unsigned number: hex with 0x, else decimal. False if `s` is not one.
bool parse_uint(const std::string& s, std::uint64_t& out) {
  if (s.empty()) return false;
  std::size_t i = 0;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    i = 2;
  }
  std::uint64_t v = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = unsigned(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = unsigned(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = unsigned(c - 'A' + 10);
    else
      return false;
    if (v > (~std::uint64_t(0) - d) / unsigned(base)) return false;  // overflow
    v = v * unsigned(base) + d;
  }
  out = v;
  return true;
}

std::string shorten(const std::string& line) { return line.size() > 60 ? line.substr(0, 57) + "..." : line; }

}  // namespace

TraceFormat trace_format(const std::string& name) {
  if (name == "dramsim3") return TraceFormat::Dramsim3;
  if (name == "ramulator") return TraceFormat::Ramulator;
  throw std::invalid_argument("trace format must be 'dramsim3' or 'ramulator', got '" + name + "'");
}

std::vector<TraceRequest> read_trace(const std::string& path, TraceFormat format) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument(path + ": cannot read the trace: " + std::strerror(errno));
  const bool d3 = format == TraceFormat::Dramsim3;
  const char* expect = d3 ? "'<address> <READ|WRITE> <cycle>' (DRAMsim3 trace)" : "'<address> <R|W>' (Ramulator trace)";
  std::vector<TraceRequest> out;
  std::string line;
  std::uint64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    // Up to four whitespace-separated words (a fourth is an error).
    std::string words[4];
    std::size_t pos = first;
    for (std::string& w : words) {
      while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
      const std::size_t end = line.find_first_of(" \t", pos);
      w = line.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      pos = end == std::string::npos ? line.size() : end;
    }
    const std::string &a = words[0], &op = words[1], &cyc = words[2], &extra = words[3];
    auto bad = [&](const std::string& what) {
      throw std::invalid_argument(path + ":" + std::to_string(n) + ": expected " + expect + ", " + what +
                                  " in '" + shorten(line) + "'");
    };
    TraceRequest r;
    if (!parse_uint(a, r.address)) bad("the address '" + a + "' is not a number");
    if (d3) {
      if (op == "READ")
        r.write = false;
      else if (op == "WRITE")
        r.write = true;
      else
        bad(op.empty() ? "the operation is missing" : "the operation '" + op + "' is not READ or WRITE");
      if (cyc.empty()) bad("the cycle is missing");
      if (!parse_uint(cyc, r.cycle)) bad("the cycle '" + cyc + "' is not a number");
      if (!extra.empty()) bad("a fourth field '" + extra + "'");
      if (!out.empty() && r.cycle < out.back().cycle)
        bad("cycle " + cyc + " is earlier than the previous request's " + std::to_string(out.back().cycle) +
            " (cycles must not decrease)");
    } else {
      if (op == "R")
        r.write = false;
      else if (op == "W")
        r.write = true;
      else
        bad(op.empty() ? "the operation is missing" : "the operation '" + op + "' is not R or W");
      if (!cyc.empty()) bad("a third field '" + cyc + "'");
      r.cycle = out.size();
    }
    out.push_back(r);
  }
  if (in.bad()) throw std::invalid_argument(path + ": read error after line " + std::to_string(n));
  if (out.empty()) throw std::invalid_argument(path + ": the trace holds no request (expected lines " + expect + ")");
  return out;
}

}  // namespace cosim::dram

// The near-data units' GEMV datapath run on RTL: a Verilated rtl/ndp_gemv/ndp_mac_unit.sv (built
// by cosim.rtl.build, loaded from its library) clocked here in C++ as a plain harness,
// one beat per cycle, for each unit's stream of A. The ndp model uses it in place of
// gemv_unit (unit_ops.h) when its `datapath` parameter names such a library; the bank
// timing stays the sequencer's, with unit_latency equal to the RTL's pipeline depth
// (checked when the model is built) and the unit's rate of one burst per column access
// (the RTL takes one beat per cycle, so any unit_interval >= 1 keeps up).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "layout.h"

namespace cosim::rtl {
class RtlModel;
class Pin;
}  // namespace cosim::rtl

namespace cosim::ndp {

class RtlMacDatapath {
 public:
  // Loads the library and resets the unit; throws std::invalid_argument naming the
  // library when it cannot be loaded or does not have the MAC unit's pins.
  explicit RtlMacDatapath(const std::string& library);
  ~RtlMacDatapath();
  RtlMacDatapath(const RtlMacDatapath&) = delete;
  RtlMacDatapath& operator=(const RtlMacDatapath&) = delete;

  const std::string& library() const { return library_; }
  unsigned burst_bytes() const { return burst_; }
  unsigned latency() const { return latency_; }     // cycles, from the unit's INFO register
  unsigned xbytes() const { return xbytes_; }
  std::uint64_t cycles() const { return cycles_; }  // clock cycles simulated so far

  // y_stream (4 bytes per row: int32 or fp32 bits) of `rows` rows of A (region a: its
  // n, dtype and row_stride) held in a_stream, with x (n elements of a.dtype).
  void gemv(const Region& a, const std::vector<std::uint8_t>& a_stream, std::uint64_t rows,
            const std::uint8_t* x, std::vector<std::uint8_t>& y_stream);

 private:
  rtl::Pin& pin(const char* name);
  void edge();
  void csr_write(std::uint32_t addr, std::uint32_t value);
  std::uint32_t csr_read(std::uint32_t addr);
  void send(const std::uint8_t* data, std::uint64_t bytes);

  std::string library_;
  std::unique_ptr<rtl::RtlModel> model_;
  rtl::Pin *clk_, *rst_n_, *req_, *we_, *addr_, *wdata_, *ack_, *rdata_;
  rtl::Pin *in_valid_, *in_ready_, *in_data_, *out_valid_, *out_ready_, *out_data_;
  unsigned burst_ = 0, latency_ = 0, xbytes_ = 0;
  std::uint64_t cycles_ = 0, time_ps_ = 0;
};

}  // namespace cosim::ndp

// Internal: TLM-2.0 seen from Python. A Python initiator socket (issued from Python
// processes), a Python-implemented target, and the generic payload with zero-copy numpy
// views of its data and byte enables.
#pragma once

#include <nanobind/nanobind.h>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "cosim/model.h"
#include "cosim/trace.h"
#include "kernel.h"

namespace cosim::py {

// A generic payload owned by Python (created with Payload(...)) or a view of a payload in
// flight (handed to a Python target's b_transport; valid only during that call).
class Payload {
 public:
  Payload();  // owned, empty
  explicit Payload(tlm::tlm_generic_payload* in_flight);
  tlm::tlm_generic_payload& gp();
  bool owned() const { return static_cast<bool>(owned_); }
  void invalidate() { view_ = nullptr; }
  bool valid() const { return owned_ || view_ != nullptr; }

  // Owned payloads keep their data and byte-enable buffers alive here.
  nb::object data_owner;
  nb::object be_owner;
  std::string last_error_target, last_error_message;

 private:
  std::unique_ptr<tlm::tlm_generic_payload> owned_;
  tlm::tlm_generic_payload* view_ = nullptr;
};

// The initiator side of Python processes: await sock.read/write/transport.
class PyInitiator : public Model {
 public:
  PyInitiator(const sc_core::sc_module_name& name);
  // Issue one blocking transaction. `delay` enters as the issuing process's local time
  // offset and leaves with the target's annotation added (LT convention). Uses a cached
  // DMI region instead of b_transport when `use_dmi` is set and the target granted one.
  void transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  // Untimed debug access (transport_dbg); returns the number of bytes transferred.
  unsigned debug(tlm::tlm_generic_payload& gp) { return socket_->transport_dbg(gp); }
  // Fill `out` with a DMI region containing addr, or return false.
  bool get_dmi(std::uint64_t addr, bool for_write, tlm::tlm_dmi& out);
  bool use_dmi = false;
  std::string bound_target() const;

 private:
  void invalidate(sc_dt::uint64 start, sc_dt::uint64 end);
  bool dmi_hit(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  tlm_utils::simple_initiator_socket<PyInitiator, kBusWidth> socket_;
  tlm::tlm_dmi dmi_;
  bool dmi_valid_ = false;
  std::uint32_t track_;
  Counter& reads_;
  Counter& writes_;
  Counter& bytes_read_;
  Counter& bytes_written_;
  Counter& errors_;
  Counter& dmi_accesses_;
  Average& latency_;
};

// A target implemented by a Python object with `b_transport(payload, delay_ps)` and,
// optionally, `get_dmi(address, is_write)` returning a cosim.Dmi or None.
class PyTarget : public Model {
 public:
  PyTarget(const sc_core::sc_module_name& name, nb::object impl);
  void invalidate_dmi(std::uint64_t start, std::uint64_t end);
  nb::object impl() const { return impl_; }

 private:
  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);
  unsigned transport_dbg(tlm::tlm_generic_payload& gp);
  tlm_utils::simple_target_socket<PyTarget, kBusWidth> socket_;
  nb::object impl_;
  nb::object b_transport_;
  std::vector<nb::object> dmi_buffers_;  // buffers granted by get_dmi stay alive
  Counter& calls_;
};

void bind_sockets(nb::module_& m);

}  // namespace cosim::py

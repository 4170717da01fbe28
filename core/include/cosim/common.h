// Shared definitions for every cosim C++ model: time conversion, the socket types all
// models use, and the error extension a target attaches to a failed transaction.
#pragma once

#include <cstdint>
#include <string>

#include <systemc>
#include <tlm>

namespace cosim {

// Every TLM socket in cosim has the same BUSWIDTH template argument so that any
// initiator can be bound to any target. Data-path width is modelled by the models
// themselves (bytes per beat parameters), not by this template argument.
constexpr unsigned kBusWidth = 64;

using FwIf = tlm::tlm_fw_transport_if<>;
using BwIf = tlm::tlm_bw_transport_if<>;
using InitiatorSocketBase = tlm::tlm_base_initiator_socket_b<kBusWidth, FwIf, BwIf>;
using TargetSocketBase = tlm::tlm_base_target_socket_b<kBusWidth, FwIf, BwIf>;

// Simulated time is an exact integer number of picoseconds everywhere in cosim; the
// kernel's time resolution is fixed to 1 ps at start-up (see kernel.cpp).
using Picos = std::uint64_t;

inline sc_core::sc_time from_ps(Picos ps) { return sc_core::sc_time::from_value(ps); }
inline Picos to_ps(const sc_core::sc_time& t) { return t.value(); }
inline Picos now_ps() { return sc_core::sc_time_stamp().value(); }

// Human-readable time for error messages: "1.5 ns", "12 us".
std::string format_ps(Picos ps);
// "0x0000_1000"-style hexadecimal for addresses in messages.
std::string hex(std::uint64_t v);

// Attached by a target (or interconnect) to a payload it answers with an error
// response, so the initiator can say which component refused the access and why.
// Payloads in cosim carry no memory manager; the initiator that owns the payload frees
// this extension after reading it (clear_error_info).
struct ErrorInfo : tlm::tlm_extension<ErrorInfo> {
  std::string target;
  std::string message;
  ErrorInfo() = default;
  ErrorInfo(std::string t, std::string m) : target(std::move(t)), message(std::move(m)) {}
  tlm::tlm_extension_base* clone() const override { return new ErrorInfo(target, message); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    const auto& o = static_cast<const ErrorInfo&>(other);
    target = o.target;
    message = o.message;
  }
};

// Answer `gp` with `status` and record who refused it and why. Only the first error is
// kept: an interconnect forwarding a target's error does not overwrite the target's
// explanation.
void set_error(tlm::tlm_generic_payload& gp, tlm::tlm_response_status status,
               const std::string& target, const std::string& message);
// Remove and free an ErrorInfo left on a payload by a previous transaction.
void clear_error_info(tlm::tlm_generic_payload& gp);

const char* response_name(tlm::tlm_response_status s);
const char* command_name(tlm::tlm_command c);

}  // namespace cosim

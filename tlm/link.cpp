// serial_link: one direction of a point-to-point serial link between devices (the links
// of DFX's ring of FPGAs, Hong et al., MICRO 2022: QSFP28 cables at 100 Gb/s).
//
// A write to the 'tx' target is a message: it occupies the link for bytes / bandwidth
// (messages queue behind each other in order), arrives `latency` after its last byte
// left, and is then written through the 'rx' initiator to the receiver's memory at
// rx_base + the write's address. The sender is released when its last byte has left
// (the annotated delay); the data lands in the receiver's memory with the delivery time
// annotated (loosely timed), and the 'delivered' event is notified at the delivery time
// of every message, so a receiver counts arrivals (cosim.system.link.LinkReceiver). Reads are
// refused. Energy: `bit_energy` per bit sent.
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cmath>

#include "cosim/energy.h"
#include "cosim/model.h"

namespace cosim {
namespace {

const RegisterEnergy reg_energy({
    {"link.qsfp28_bit", 35.0, "bit", 45, EnergyScaling::Fixed,
     "assumption: a 100 Gb/s QSFP28 optical module draws about 3.5 W (typical 100GBASE-SR4 "
     "module datasheets), i.e. 35 pJ per bit sent; DFX links its FPGAs with QSFP28 at 100 Gb/s "
     "(Hong et al., MICRO 2022)",
     "one bit over an inter-device link"},
});

class SerialLink : public Model {
 public:
  SC_HAS_PROCESS(SerialLink);

  SerialLink(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "serial_link", p),
        tx_("tx"),
        rx_("rx"),
        bytes_per_s_(p.get_float("bandwidth")),
        latency_(p.get_time_ps("latency")),
        rx_base_(p.get_uint("rx_base")),
        messages_(counter("messages", "messages sent")),
        bytes_(counter("bytes", "bytes sent", "B")),
        busy_(counter("busy_time", "time the link was sending", "ps")),
        deliveries_(counter("deliveries", "messages delivered")),
        wait_(average("queue_wait", "time a message waited for the link", "ps")) {
    expose_target("tx", tx_);
    expose_initiator("rx", rx_);
    expose_event("delivered", delivered_);
    tx_.register_b_transport(this, &SerialLink::send);
    const std::string key = p.get_string("bit_energy");
    if (!key.empty()) bits_ = &energy_event(this->name(), "bits", key, "bits sent");
    SC_METHOD(on_delivery);
    sensitive << arrivals_;
    dont_initialize();
  }

 private:
  void send(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (!gp.is_write()) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(), "a link carries writes (messages), not reads");
      return;
    }
    const Picos now = now_ps();
    const Picos arrival = now + to_ps(delay);
    const Picos start = std::max(arrival, free_);
    const std::uint64_t len = gp.get_data_length();
    const Picos ser = static_cast<Picos>(std::ceil(double(len) * 1e12 / bytes_per_s_));
    free_ = start + ser;
    const Picos deliver = free_ + latency_;
    const std::uint64_t addr = gp.get_address();
    gp.set_address(rx_base_ + addr);
    sc_core::sc_time d = from_ps(deliver - now);
    rx_->b_transport(gp, d);
    gp.set_address(addr);
    if (gp.is_response_error()) return;  // the receiver's explanation stays on the payload
    arrivals_.notify(from_ps(deliver - now));
    messages_.inc();
    bytes_.inc(len);
    busy_.inc(ser);
    wait_.sample(double(start - arrival));
    if (bits_) bits_->add(8 * len);
    delay = from_ps(free_ - now);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  void on_delivery() {
    deliveries_.inc();
    delivered_.notify();
  }

  tlm_utils::simple_target_socket<SerialLink, kBusWidth> tx_;
  tlm_utils::simple_initiator_socket<SerialLink, kBusWidth> rx_;
  double bytes_per_s_;
  Picos latency_;
  std::uint64_t rx_base_;
  Picos free_ = 0;
  sc_core::sc_event_queue arrivals_;
  sc_core::sc_event delivered_;
  Counter &messages_, &bytes_, &busy_, &deliveries_;
  Average& wait_;
  EnergyEvent* bits_ = nullptr;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "serial_link";
  s.summary = "One direction of a point-to-point device link: bandwidth, latency, in-order messages, energy";
  s.doc =
      "Writes to 'tx' are messages: each occupies the link for bytes/bandwidth after the previous one, arrives "
      "`latency` later and is written through 'rx' at rx_base + address; the sender is released when its last "
      "byte left; 'delivered' is notified at every arrival. Rings of devices are built from these "
      "(cosim.system.link.ring).";
  s.source =
      "Defaults: 100 Gb/s (12.5 GB/s) as DFX's QSFP28 links (Hong et al., MICRO 2022); the 500 ns one-hop "
      "latency (serialisers, cable, the receiver's link layer) is an assumption to set from the platform.";
  s.params = {
      float_param("bandwidth", 12.5e9, 1e6, 1e15, "B/s", "payload bandwidth of the link",
                  "100 Gb/s QSFP28 (DFX)"),
      time_param("latency", 500'000, 0, 1'000'000'000, "one-hop latency after the last byte left",
                 "assumption"),
      int_param("rx_base", 0, 0, std::int64_t(1) << 62, "B", "address in the receiver's space of tx offset 0"),
      string_param("bit_energy", "link.qsfp28_bit", {}, "energy-table key charged per bit sent (empty: none)"),
  };
  s.ports = {{"tx", PortKind::TlmTarget, "messages to send (writes)", false},
             {"rx", PortKind::TlmInitiator, "to the receiver's memory", false},
             {"delivered", PortKind::Event, "notified when a message has arrived", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new SerialLink(n, p); };
  return s;
}

const RegisterModel reg_link(spec());

}  // namespace
}  // namespace cosim

// Stream bridges: TLM payloads <-> valid/ready beats of any width up to 1024 bits.
//
// A write to a stream_in bridge (or a read from a stream_out bridge) of N bytes is N /
// beat_bytes beats, beat_bytes = ceil(width(data)/8), least significant byte first; the
// address is not used. The call blocks (the caller must be an SC_THREAD, as Python
// processes and LT initiators are) until the RTL has taken (given) the last beat, and
// returns with the delay to that edge. A beat transfers at a rising edge where valid
// and ready are both high. Concurrent transactions on one bridge are served in order.
#include <tlm_utils/simple_target_socket.h>

#include <deque>

#include "bridges.h"

namespace cosim::rtl {
namespace {

struct Transfer {
  std::uint8_t* data;
  std::uint64_t beats;
  Picos arrival;
  std::uint64_t next = 0;
  bool done = false;
  Picos t_done = 0;
};

class StreamBridge : public Adapter {
 public:
  tlm_utils::simple_target_socket<StreamBridge, kBusWidth> socket;

  StreamBridge(RtlBlock& b, const std::string& name, bool into_rtl, Pin& valid, Pin& ready, Pin& data,
               bool blocking)
      : Adapter(b, name),
        socket(name.c_str()),
        into_rtl_(into_rtl),
        blocking_(blocking),
        valid_(valid),
        ready_(ready),
        data_(data),
        beat_bytes_(data.bytes()),
        beats_(b.stat_counter(name + ".beats", into_rtl ? "beats taken by the RTL" : "beats given by the RTL")),
        bytes_(b.stat_counter(name + ".bytes", "payload bytes transferred", "B")),
        transactions_(b.stat_counter(name + ".transactions", "TLM transactions completed")),
        stalls_(b.stat_counter(name + ".stall_cycles",
                               into_rtl ? "cycles a beat was offered but ready was low"
                                        : "cycles a reader waited but valid was low")),
        latency_(b.stat_average(name + ".latency", "arrival to last beat, per transaction", "ps")) {
    socket.register_b_transport(this, &StreamBridge::b_transport);
    active_ = false;  // active while a transaction is queued
  }

  void drive(std::uint64_t, Picos t) override {
    offered_ = (!queue_.empty() && queue_.front()->arrival < t) ? queue_.front() : nullptr;
    if (into_rtl_) {
      valid_.set_bit(offered_ != nullptr);
      if (offered_ != nullptr) data_.write(offered_->data + offered_->next * beat_bytes_);
    } else {
      ready_.set_bit(offered_ != nullptr);
    }
  }

  // The RTL is ready for data nobody has sent, or offers data nobody has asked for.
  bool blocked() const override {
    const bool waits = queue_.empty() && (into_rtl_ ? ready_.bit() : valid_.bit());
    if (waits) waited_on_ = block_.cycle() + 1;
    return waits;
  }

  void sample() override {
    const bool rtl_side = into_rtl_ ? ready_.bit() : valid_.bit();
    fire_ = offered_ != nullptr && rtl_side;
    if (fire_ && !into_rtl_) data_.read(offered_->data + offered_->next * beat_bytes_);
  }

  void commit(std::uint64_t n, Picos t) override {
    if (offered_ == nullptr) return;
    if (!fire_) {
      stalls_.inc();
      if (++waited_ > block_.cycle_budget()) {
        const Pin& pin = into_rtl_ ? ready_ : valid_;
        block_.fail("pin '" + pin.name() + "' was not asserted for " + std::to_string(waited_ - 1) +
                    " cycles (cycles " + std::to_string(n + 1 - waited_) + " to " + std::to_string(n) +
                    ", t = " + format_ps(t) + ") while stream bridge '" + name_ + "' " +
                    (into_rtl_ ? "offered a beat" : "waited for a beat") + " (beat " +
                    std::to_string(offered_->next + 1) + " of " + std::to_string(offered_->beats) +
                    "); cycle_budget = " + std::to_string(block_.cycle_budget()));
      }
      return;
    }
    waited_ = 0;
    beats_.inc();
    if (++offered_->next == offered_->beats) {
      offered_->done = true;
      offered_->t_done = t;
      queue_.pop_front();
      block_.work_finished();
      if (queue_.empty()) {  // idle: leave valid (ready) low and stop the per-cycle calls
        (into_rtl_ ? valid_ : ready_).set_bit(false);
        offered_ = nullptr;
        active_ = false;
      }
      done_.notify();
      block_.completed(t);
    }
  }

  unsigned hooks() const override { return kDrive | (blocking_ ? kBlocked : 0u) | kSample | kCommit; }
  bool can_progress() const override {
    return !queue_.empty() && (into_rtl_ ? ready_.bit() : valid_.bit());
  }

 private:
  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const std::uint64_t len = gp.get_data_length();
    const char* want = into_rtl_ ? "writes (beats into the RTL)" : "reads (beats out of the RTL)";
    if ((into_rtl_ && !gp.is_write()) || (!into_rtl_ && !gp.is_read())) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, socket.name(),
                std::string("stream bridge '") + name_ + "' takes " + want);
      return;
    }
    if (gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE, socket.name(), "stream bridges take no byte enables");
      return;
    }
    if (len % beat_bytes_ != 0) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, socket.name(),
                "length " + std::to_string(len) + " B is not a multiple of the " +
                    std::to_string(beat_bytes_) + "-byte beat of pin '" + data_.name() + "' (" +
                    std::to_string(data_.width()) + " bits)");
      return;
    }
    if (len == 0) {
      gp.set_response_status(tlm::TLM_OK_RESPONSE);
      return;
    }
    Transfer tr{gp.get_data_ptr(), len / beat_bytes_, now_ps() + to_ps(delay)};
    const bool was_empty = queue_.empty();
    queue_.push_back(&tr);
    active_ = true;
    block_.work_started();
    // A non-blocking stream is always taken as waited on (its ready is high at any edge).
    block_.arrived(tr.arrival, was_empty, blocking_ ? waited_on_ : block_.cycle());
    while (!tr.done) sc_core::wait(done_);
    const Picos now = now_ps();
    delay = from_ps(tr.t_done > now ? tr.t_done - now : 0);
    latency_.sample(static_cast<double>(tr.t_done - tr.arrival));
    transactions_.inc();
    bytes_.inc(len);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  bool into_rtl_;
  bool blocking_;
  Pin &valid_, &ready_, &data_;
  std::uint32_t beat_bytes_;
  std::deque<Transfer*> queue_;
  Transfer* offered_ = nullptr;
  bool fire_ = false;
  std::uint64_t waited_ = 0;
  mutable std::uint64_t waited_on_ = 0;  // last edge at which the RTL waited on this bridge
  sc_core::sc_event done_;
  Counter &beats_, &bytes_, &transactions_, &stalls_;
  Average& latency_;
};

Port& add_stream(RtlBlock& b, const std::string& name, bool into_rtl, const std::string& valid,
                 const std::string& ready, const std::string& data, bool blocking) {
  b.check_bridge_name(name);
  const PinDir in = PinDir::Input, out = PinDir::Output;
  Pin& v = b.claim_pin(name, "valid", valid, into_rtl ? in : out, 1, 1);
  Pin& r = b.claim_pin(name, "ready", ready, into_rtl ? out : in, 1, 1);
  Pin& d = b.claim_pin(name, "data", data, into_rtl ? in : out, 1, 1024);
  RtlBlock::ChildScope scope(b);
  auto bridge = std::make_unique<StreamBridge>(b, name, into_rtl, v, r, d, blocking);
  b.expose_bridge_target(name, bridge->socket);
  b.add_adapter(std::move(bridge));
  return *b.find_port(name);
}

}  // namespace

Port& add_stream_in(RtlBlock& b, const std::string& name, const std::string& valid,
                    const std::string& ready, const std::string& data, bool blocking) {
  return add_stream(b, name, true, valid, ready, data, blocking);
}

Port& add_stream_out(RtlBlock& b, const std::string& name, const std::string& valid,
                     const std::string& ready, const std::string& data) {
  return add_stream(b, name, false, valid, ready, data, true);
}

}  // namespace cosim::rtl

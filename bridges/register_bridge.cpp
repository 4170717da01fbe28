// Register bridge: the host programs RTL control/status registers through MMIO.
//
// Protocol (req/ack): the bridge holds req high with write, addr (the TLM byte address)
// and wdata until a rising edge where ack is also high; that edge completes the access
// and, for a read, rdata is taken at it. A TLM access must be exactly ceil(width(wdata)/8)
// bytes (a 32-bit register port takes 4-byte reads and writes) at an address that fits
// the addr pin; anything else gets an error response saying why.
#include <tlm_utils/simple_target_socket.h>

#include <deque>

#include "bridges.h"

namespace cosim::rtl {
namespace {

struct Access {
  bool write;
  std::uint64_t address;
  std::uint8_t* data;
  Picos arrival;
  bool done = false;
  Picos t_done = 0;
};

class RegisterBridge final : public Adapter {
 public:
  tlm_utils::simple_target_socket<RegisterBridge, kBusWidth> socket;

  RegisterBridge(RtlBlock& b, const std::string& name, Pin& req, Pin& ack, Pin& write, Pin& addr,
                 Pin& wdata, Pin& rdata)
      : Adapter(b, name),
        socket(name.c_str()),
        req_(req), ack_(ack), write_(write), addr_(addr), wdata_(wdata), rdata_(rdata),
        reads_(b.stat_counter(name + ".reads", "register reads")),
        writes_(b.stat_counter(name + ".writes", "register writes")),
        wait_cycles_(b.stat_counter(name + ".wait_cycles", "cycles req was high without ack")),
        latency_(b.stat_average(name + ".latency", "arrival to ack, per access", "ps")) {
    socket.register_b_transport(this, &RegisterBridge::b_transport);
    active_ = false;  // active while an access is queued
  }

  void drive(std::uint64_t, Picos t) override {
    offered_ = (!queue_.empty() && queue_.front()->arrival < t) ? queue_.front() : nullptr;
    req_.set_bit(offered_ != nullptr);
    if (offered_ != nullptr) {
      write_.set_bit(offered_->write);
      addr_.set(offered_->address);
      if (offered_->write) wdata_.write(offered_->data);
    }
  }

  void sample() override {
    fire_ = offered_ != nullptr && ack_.bit();
    if (fire_ && !offered_->write) rdata_.read(offered_->data);
  }

  void commit(std::uint64_t n, Picos t) override {
    if (offered_ == nullptr) return;
    if (!fire_) {
      wait_cycles_.inc();
      if (++waited_ > block_.cycle_budget())
        block_.fail("pin '" + ack_.name() + "' was not asserted for " + std::to_string(waited_ - 1) +
                    " cycles (cycles " + std::to_string(n + 1 - waited_) + " to " + std::to_string(n) +
                    ", t = " + format_ps(t) + ") while register bridge '" + name_ + "' held '" +
                    req_.name() + "' for a " + (offered_->write ? "write" : "read") + " at " +
                    hex(offered_->address) + "; cycle_budget = " + std::to_string(block_.cycle_budget()));
      return;
    }
    waited_ = 0;
    const bool was_write = offered_->write;
    (was_write ? writes_ : reads_).inc();
    offered_->done = true;
    offered_->t_done = t;
    queue_.pop_front();
    queued_ = !queue_.empty();
    block_.work_finished();
    offered_ = nullptr;
    if (queue_.empty()) {  // idle: req low, no per-cycle calls
      req_.set_bit(false);
      active_ = false;
    }
    done_.notify();
    block_.completed(t, this);
    if (was_write) block_.register_write_done(n);
  }

  unsigned hooks() const override { return kDrive | kSample | kCommit; }
  bool can_progress() const override { return !queue_.empty(); }

 private:
  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const std::uint32_t bytes = wdata_.bytes();
    if (!gp.is_read() && !gp.is_write()) {
      gp.set_response_status(tlm::TLM_OK_RESPONSE);  // IGNORE commands do nothing
      return;
    }
    if (gp.get_data_length() != bytes) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, socket.name(),
                "register bridge '" + name_ + "' takes " + std::to_string(bytes) +
                    "-byte accesses (pin '" + wdata_.name() + "' is " + std::to_string(wdata_.width()) +
                    " bits), got " + std::to_string(gp.get_data_length()) + " bytes");
      return;
    }
    if (gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE, socket.name(), "register bridges take no byte enables");
      return;
    }
    const std::uint64_t a = gp.get_address();
    if (addr_.width() < 64 && (a >> addr_.width()) != 0) {
      set_error(gp, tlm::TLM_ADDRESS_ERROR_RESPONSE, socket.name(),
                "address " + hex(a) + " does not fit the " + std::to_string(addr_.width()) +
                    "-bit address pin '" + addr_.name() + "' of register bridge '" + name_ + "'");
      return;
    }
    Access acc{gp.is_write(), a, gp.get_data_ptr(), now_ps() + to_ps(delay)};
    const bool was_empty = queue_.empty();
    queue_.push_back(&acc);
    queued_ = true;
    active_ = true;
    block_.work_started();
    block_.arrived(acc.arrival, was_empty, block_.cycle());
    while (!acc.done) sc_core::wait(done_);
    const Picos now = now_ps();
    delay = from_ps(acc.t_done > now ? acc.t_done - now : 0);
    latency_.sample(static_cast<double>(acc.t_done - acc.arrival));
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  Pin &req_, &ack_, &write_, &addr_, &wdata_, &rdata_;
  std::deque<Access*> queue_;
  Access* offered_ = nullptr;
  bool fire_ = false;
  std::uint64_t waited_ = 0;
  sc_core::sc_event done_;
  Counter &reads_, &writes_, &wait_cycles_;
  Average& latency_;
};

}  // namespace

Port& add_register_port(RtlBlock& b, const std::string& name, const std::string& req,
                        const std::string& ack, const std::string& write,
                        const std::string& addr, const std::string& wdata,
                        const std::string& rdata) {
  b.check_bridge_name(name);
  Pin& rq = b.claim_pin(name, "req", req, PinDir::Input, 1, 1);
  Pin& ak = b.claim_pin(name, "ack", ack, PinDir::Output, 1, 1);
  Pin& we = b.claim_pin(name, "write", write, PinDir::Input, 1, 1);
  Pin& ad = b.claim_pin(name, "addr", addr, PinDir::Input, 1, 64);
  Pin& wd = b.claim_pin(name, "wdata", wdata, PinDir::Input, 1, 64);
  Pin& rd = b.claim_pin(name, "rdata", rdata, PinDir::Output, wd.width(), wd.width());
  RtlBlock::ChildScope scope(b);
  auto bridge = std::make_unique<RegisterBridge>(b, name, rq, ak, we, ad, wd, rd);
  b.expose_bridge_target(name, bridge->socket);
  b.add_adapter(std::move(bridge));
  return *b.find_port(name);
}

}  // namespace cosim::rtl

// Interrupt/done bridge: a rising edge of an RTL output notifies a SystemC event that
// Python processes (and C++ models) can await: `await block.event("done")`.
//
// The event is notified at the time of the clock edge after which the pin is high; the
// clock thread then yields, so a process woken by it runs (and may send transactions)
// before the RTL goes on. A watchdog stops the run with an error naming the pin when it
// does not rise within timeout_cycles after the block became busy (its busy pin rose)
// or, for a block without a busy pin, after a register write or after a process started
// waiting for it.
#include "bridges.h"
#include "cosim/waiting.h"

namespace cosim::rtl {
namespace {

class InterruptBridge final : public Adapter {
 public:
  InterruptBridge(RtlBlock& b, const std::string& name, Pin& pin, std::uint64_t timeout)
      : Adapter(b, name),
        pin_(pin),
        timeout_(timeout),
        rises_(b.stat_counter(name + ".rises", "rising edges of the pin (events notified)")) {
    rise_pin_ = &pin;
  }

  sc_core::sc_event& event() { return event_; }

  void after_reset() override { rise_last_ = pin_.bit(); }

  void rose(std::uint64_t, Picos t) override {
    rises_.inc();
    expires_ = UINT64_MAX;  // disarm the watchdog
    block_.raise_at(event_, t);
  }

  void expired(std::uint64_t n, Picos t) override {
    block_.fail("pin '" + pin_.name() + "' (interrupt '" + name_ + "') was not asserted within " +
                std::to_string(timeout_) + " cycles after " + reason_ + " at cycle " +
                std::to_string(armed_at_) + " (now cycle " + std::to_string(n) + ", t = " + format_ps(t) + ")");
  }

  unsigned hooks() const override { return kRise; }

  Picos deadline() const override {
    return expires_ != UINT64_MAX ? block_.edge_time(expires_ + 1) : UINT64_MAX;
  }

  bool awaited() const override { return waiters(event_) > 0; }
  void on_awaited(std::uint64_t n) override {
    if (expires_ == UINT64_MAX) arm(n, "a process started waiting for it");
  }
  void on_busy_rise(std::uint64_t n) override { arm(n, "the busy pin rose"); }
  void on_register_write(std::uint64_t n) override { arm(n, "a register write"); }

 private:
  void arm(std::uint64_t n, const char* reason) {
    if (pin_.bit()) return;
    expires_ = n + timeout_;
    armed_at_ = n;
    reason_ = reason;
  }

  Pin& pin_;
  std::uint64_t timeout_;
  sc_core::sc_event event_;
  std::uint64_t armed_at_ = 0;
  const char* reason_ = "";
  Counter& rises_;
};

}  // namespace

Port& add_interrupt(RtlBlock& b, const std::string& name, const std::string& pin,
                    std::uint64_t timeout_cycles) {
  b.check_bridge_name(name);
  Pin& p = b.claim_pin(name, "interrupt", pin, PinDir::Output, 1, 1);
  auto bridge = std::make_unique<InterruptBridge>(b, name, p, timeout_cycles ? timeout_cycles : b.cycle_budget());
  b.expose_bridge_event(name, bridge->event());
  b.add_adapter(std::move(bridge));
  return *b.find_port(name);
}

}  // namespace cosim::rtl

namespace cosim::rtl {

void add_tie(RtlBlock& b, const std::string& pin, const std::vector<std::uint8_t>& value) {
  if (!b.elaborating())
    throw std::invalid_argument(b.label() + ": cannot tie pin '" + pin + "' after the simulation has started");
  Pin& p = b.claim_pin("(tie)", "tie", pin, PinDir::Input, 1, 1u << 20);
  if (value.size() > p.bytes())
    throw std::invalid_argument(b.label() + ": the value tied to pin '" + pin + "' does not fit its " +
                                std::to_string(p.width()) + " bits");
  b.tie(p, value);
}

}  // namespace cosim::rtl

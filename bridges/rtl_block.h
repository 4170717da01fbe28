// rtl_block: a Verilated RTL block inside the SystemC system, clocked in C++.
//
// One SC_THREAD per block runs the clock: for every rising edge it lets each bridge
// (Adapter) drive its input pins, settles the model with the clock low, lets the
// bridges latch the handshakes, evaluates the edge and lets the bridges account for
// it. Python is never involved per cycle (docs/design.md, principle 2), except through the
// slow prototyping path (SlowCycleBridge in rtl_python.cpp), which says so in its name.
//
// Time. Edge n happens at n * clock period. The thread runs edges ahead of SystemC
// time (temporal decoupling) and re-enters the kernel only
//  - when it is `quantum` ahead (it waits until the kernel catches up),
//  - when the RTL waits on the outside through a bridge (it offers a result nobody
//    reads yet, or is ready for data nobody sent yet) while it is busy and a
//    transaction is under way: it advances in step with the kernel, so whatever
//    arrives is taken at the exact cycle (when nothing is under way, or the busy pin
//    says the block is idle, it parks instead, see below),
//  - when a transaction completes or an interrupt pin rises: it lets the kernel reach
//    that edge's time (where the event is notified) and yields, so that the initiator
//    or the processes woken act before the next edge (after a completion it also goes
//    on when the initiator's next transaction arrives first: a decoupled initiator sends
//    it at its local time, the completing edge's),
//  - when the block is idle (busy pin low, nothing pending): it parks until a
//    transaction arrives, then simulates the idle cycles up to it (or skips them with
//    idle='gate').
// A block that would park while a process awaits one of its interrupts (its busy pin is
// high, or it has none) keeps running instead, in step with the kernel while the RTL
// waits on the outside, so the interrupt is raised at its exact cycle; the interrupt's
// watchdog bounds it. A parked block in a deadlocked run is named in the DeadlockError.
// A TLM transaction into a bridge carries its arrival time (kernel time plus the
// caller's annotated delay); its first beat is offered to the RTL at the first edge
// strictly after that time, and the call returns with the delay of the edge at which it
// completed. Transactions that arrive for an edge the thread has already simulated are
// offered at the next edge and counted in the stats 'late_transactions' / 'late_ps'.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cosim/model.h"
#include "rtl_library.h"

namespace cosim::rtl {

class RtlBlock;

// A protocol bridge between some pins of an RTL block and TLM sockets or events.
class Adapter {
 public:
  Adapter(RtlBlock& block, std::string name) : block_(block), name_(std::move(name)) {}
  virtual ~Adapter() = default;
  Adapter(const Adapter&) = delete;
  Adapter& operator=(const Adapter&) = delete;
  const std::string& name() const { return name_; }

  // The per-cycle hooks this bridge implements; the clock loop calls only those, and
  // drive/sample/commit only while the bridge is active (a bridge that goes inactive
  // leaves its input pins idle first).
  enum Hook : unsigned { kDrive = 1, kBlocked = 2, kSample = 4, kCommit = 8, kRise = 16 };
  virtual unsigned hooks() const = 0;
  bool active() const { return active_; }

  // Set the input pins this bridge drives for edge n (at time t); the model settles
  // afterwards with the clock low.
  virtual void drive(std::uint64_t n, Picos t) { (void)n, (void)t; }
  // After settling: does the RTL wait on the outside through this bridge? (Bridges with
  // the kBlocked hook say so through wait_pin_ and queued_, read inline by the clock loop:
  // it waits when nothing is queued and wait_pin_ is high.)
  bool blocked() const { return wait_pin_ != nullptr && !queued_ && wait_pin_->bit(); }
  // The clock loop found the RTL waiting on this bridge before edge n.
  virtual void waited_at(std::uint64_t n) { (void)n; }
  // Called before each edge instead of sample() while the bridge is not active, for
  // bridges that set monitor_idle_ (an output checking its valid/ready handshake).
  virtual void monitor() {}
  // kRise bridges: rise_pin_ rose at edge n (time t), or edge n is after expires_ (a
  // watchdog); the clock loop checks both inline, so they cost no call per cycle.
  virtual void rose(std::uint64_t n, Picos t) { (void)n, (void)t; }
  virtual void expired(std::uint64_t n, Picos t) { (void)n, (void)t; }
  // After settling: does this bridge hold a transaction the RTL takes on at the next edge
  // whether or not the block is busy (a register access, a beat the RTL is ready for)?
  virtual bool can_progress() const { return false; }
  // After settling, before the edge: latch the handshakes (and data) of the edge.
  virtual void sample() {}
  // After edge n at time t: account for the handshakes, complete transactions.
  virtual void commit(std::uint64_t n, Picos t) { (void)n, (void)t; }
  // Time by which the block must have been clocked even if nothing arrives (an armed
  // watchdog), or UINT64_MAX.
  virtual Picos deadline() const { return UINT64_MAX; }
  // The reset sequence is over (pins hold their post-reset values).
  virtual void after_reset() {}
  // The block's busy pin rose at edge n (interrupt watchdogs arm on it).
  virtual void on_busy_rise(std::uint64_t n) { (void)n; }
  // A register write completed at edge n (arms watchdogs of blocks without busy pin).
  virtual void on_register_write(std::uint64_t n) { (void)n; }
  // Does a process wait on this bridge's event now (an interrupt)?
  virtual bool awaited() const { return false; }
  // The block is clocked from edge n because a process waits on this bridge's event.
  virtual void on_awaited(std::uint64_t n) { (void)n; }

 protected:
  RtlBlock& block_;
  std::string name_;
  bool active_ = true;
  bool monitor_idle_ = false;
  const Pin* wait_pin_ = nullptr;  // see blocked()
  bool queued_ = false;
  // Inline sampling, instead of a sample() call: the clock loop latches sample_pin_ into
  // sampled_ before each edge while the bridge is active (a stream input's ready).
  const Pin* sample_pin_ = nullptr;
  bool sampled_ = false;
  // monitor() is called only while monitor_pin_ is high or monitor_hot_ is set.
  const Pin* monitor_pin_ = nullptr;
  bool monitor_hot_ = false;
  const Pin* rise_pin_ = nullptr;  // see rose()
  bool rise_last_ = false;
  std::uint64_t expires_ = UINT64_MAX;

  friend class RtlBlock;
};

class RtlBlock : public Model {
 public:
  SC_HAS_PROCESS(RtlBlock);
  RtlBlock(const sc_core::sc_module_name& name, const Params& p);
  ~RtlBlock() override;

  // ---- used by bridges
  const std::string& top() const { return model_->library().top; }
  std::string label() const;  // "rtl block 'soc.sa' (systolic_array)"
  Picos period() const { return period_; }
  std::uint64_t cycle() const { return cycle_; }
  Picos edge_time(std::uint64_t n) const { return n * period_; }
  std::uint64_t cycle_budget() const { return budget_; }
  // First edge that can see something arriving at time t.
  std::uint64_t first_edge_after(Picos t) const { return t / period_ + 1; }

  // A pin for role `role` of bridge `bridge`, checked for direction and width; throws
  // std::invalid_argument naming the block, the bridge and the pin (Python sees a
  // BindingError, or a ParameterError from the constructor). An input pin can be
  // claimed by one bridge only.
  Pin& claim_pin(const std::string& bridge, const std::string& role, const std::string& pin,
                 PinDir dir, std::uint32_t min_width, std::uint32_t max_width);
  Pin* find_pin(const std::string& name) { return model_->find(name); }
  // The bridge (or "(clock)", "(reset)") that drives input pin p; empty if none.
  const std::string& input_owner(const Pin& p) const {
    return input_owner_[static_cast<std::size_t>(&p - model_->pins().data())];
  }
  std::vector<Pin>& pins() { return model_->pins(); }

  // Add a bridge (during elaboration); its sockets must have been created with
  // this block as the current module (see ChildScope).
  Adapter& add_adapter(std::unique_ptr<Adapter> a);
  void check_bridge_name(const std::string& name) const;
  template <typename Socket>
  void expose_bridge_target(const std::string& name, Socket& s) { expose_target(name, s); }
  template <typename Socket>
  void expose_bridge_initiator(const std::string& name, Socket& s) { expose_initiator(name, s); }
  void expose_bridge_event(const std::string& name, sc_core::sc_event& e) { expose_event(name, e); }
  Counter& stat_counter(const std::string& leaf, const std::string& desc, const std::string& unit = "") {
    return counter(leaf, desc, unit);
  }
  Average& stat_average(const std::string& leaf, const std::string& desc, const std::string& unit = "") {
    return average(leaf, desc, unit);
  }

  // Work in progress (a transaction queued or under way, a request in flight) keeps
  // the block clocked; bridges count it up when it starts and down when it ends.
  void work_started() { ++pending_; }
  void work_finished() { --pending_; }
  // A bridge that needs every cycle simulated as if the block were busy (the slow
  // Python callback: it may drive anything at any cycle).
  void keep_clock(bool on) { clocked_ += on ? 1 : -1; }
  // A transaction arrived at time t on a bridge: wake the clock thread. It is counted
  // as late if its queue was empty and the RTL already simulated an edge at or after
  // the first one that should have seen it, up to `relevant_edge` (the last edge at
  // which the RTL waited on this bridge; a register port passes cycle()).
  void arrived(Picos t, bool queue_was_empty, std::uint64_t relevant_edge);
  // A transaction of bridge `by` completed at edge time t: before simulating further,
  // the thread lets the kernel reach t and yields, so the initiator's next transaction
  // (issued at t) is seen at the next edge ("synchronise at transactions"). It goes on
  // earlier once `by` has its next transaction queued (a decoupled initiator sends it
  // at its local time, t).
  void completed(Picos t, const Adapter* by = nullptr) {
    completer_ = (!sync_requested_ || completer_ == by) ? by : nullptr;
    sync_to_ = std::max(sync_to_, t);
    sync_requested_ = true;
  }
  // Notify `ev` at the time of edge t, after which the thread yields to the processes
  // it wakes before simulating further edges.
  void raise_at(sc_core::sc_event& ev, Picos t);
  void register_write_done(std::uint64_t n);
  // Stop the simulation with SimulationError(msg) (prefixed with label()); called by
  // the clock thread, which then never returns from it.
  [[noreturn]] void fail(const std::string& msg);
  // The clock thread runs Python (slow path): a Python exception stops the simulation.
  [[noreturn]] void fail_with_python_error(const std::string& where);

  // RAII: make this block the current module, so sockets and events created now
  // become its children.
  class ChildScope {
   public:
    explicit ChildScope(RtlBlock& b);
    ~ChildScope();
  };

  bool elaborating() const;
  // Finish the waveform file (also done when its window ends and when the simulation
  // is stopped); later edges are not dumped.
  void close_waves();
  void end_of_simulation() override;
  void start_of_simulation() override;

  // Hold input pin p at `value` (bytes, least significant first) from time 0.
  void tie(Pin& p, std::vector<std::uint8_t> value);
  // Inputs that nothing drives (no bridge, clock, reset or tie), in port order.
  std::vector<std::string> undriven_inputs() const;

 private:
  void run();
  void reset_sequence();
  void settle(std::uint64_t n, Picos t);  // drive + evaluate with the clock low
  void clock_edge(std::uint64_t n, Picos t);
  void park();
  void dump(Picos t) {
    if (waves_on_) dump_waves(t);
  }
  void dump_waves(Picos t);
  void before_wait() { last_edge_time_.set(static_cast<double>(edge_time(cycle_))); }
  void after_eval(bool finished, std::uint64_t n);
  // Does a process wait on one of the block's interrupts? Arms their watchdogs from edge n.
  bool interrupt_awaited(std::uint64_t n);
  std::string parked_note() const;  // for DeadlockError messages, "" unless parked
  std::string blocked_bridges() const;

  std::unique_ptr<RtlModel> model_;
  std::vector<std::unique_ptr<Adapter>> adapters_;
  // Adapters by the hooks they implement, for the per-cycle loop.
  std::vector<Adapter*> drivers_, blockers_, samplers_, committers_, risers_;
  int pending_ = 0;  // transactions and requests under way (all bridges)
  int clocked_ = 0;  // bridges that keep the clock running
  std::vector<std::string> input_owner_;  // per pin index: bridge that drives it
  std::vector<std::pair<Pin*, std::vector<std::uint8_t>>> ties_;
  std::string undriven_;  // "warn", "error" or "ignore"
  std::size_t deadlock_note_ = 0;
  bool parked_ = false;
  std::uint64_t parked_at_ = 0;
  Pin* clk_ = nullptr;
  Pin* reset_ = nullptr;
  Pin* busy_ = nullptr;
  bool reset_active_low_ = true;
  std::uint64_t reset_cycles_;
  Picos period_;
  Picos quantum_;
  std::uint64_t budget_;
  bool gate_idle_;
  std::string waves_path_;
  Picos waves_start_, waves_end_;
  bool waves_on_ = false, waves_open_ = false, waves_done_ = false;
  Picos last_dump_ = UINT64_MAX;

  // Kernel time, read after each wait of the clock thread (only its waits move it).
  Picos now_ = 0;
  void kernel_wait(const sc_core::sc_time& d) {
    sc_core::wait(d);
    now_ = now_ps();
  }
  void kernel_wait(const sc_core::sc_time& d, sc_core::sc_event& e) {
    sc_core::wait(d, e);
    now_ = now_ps();
  }
  void kernel_wait(sc_core::sc_event& e) {
    sc_core::wait(e);
    now_ = now_ps();
  }

  std::uint64_t cycle_ = 0;  // edges simulated
  Picos catchup_until_ = 0;  // edges up to this time are simulated without waiting
  bool busy_prev_ = false;
  Picos sync_to_ = 0;        // a completion or interrupt asks the kernel to reach this time
  bool sync_requested_ = false;
  const Adapter* completer_ = nullptr;  // the bridge whose transaction completed
  sc_core::sc_event* pending_raise_ = nullptr;
  std::vector<sc_core::sc_event*> raise_events_;
  sc_core::sc_event work_;   // a transaction arrived
  sc_core::sc_event never_;  // waited on forever after a failure

  Counter& cycles_;
  Counter& idle_cycles_;
  Counter& gated_cycles_;
  Counter& kernel_syncs_;
  Counter& blocked_waits_;
  Counter& parks_;
  Counter& late_;
  Counter& late_ps_;
  Value& last_edge_time_;
};

}  // namespace cosim::rtl

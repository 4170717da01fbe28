#include "rtl_block.h"

#include <algorithm>
#include <stdexcept>

#include "cosim/python.h"
#include "cosim/waiting.h"

namespace cosim::rtl {
namespace {

// A Python UserWarning (the kernel runs with the GIL held); a warning filter that turns
// it into an error stops the simulation with that error.
void warn_python(const std::string& msg) {
  if (PyErr_WarnEx(PyExc_UserWarning, msg.c_str(), 1) != 0)
    fail_simulation_with_python_error("warning about undriven inputs");
}

}  // namespace

RtlBlock::ChildScope::ChildScope(RtlBlock& b) { sc_core::sc_get_curr_simcontext()->hierarchy_push(&b); }
RtlBlock::ChildScope::~ChildScope() { sc_core::sc_get_curr_simcontext()->hierarchy_pop(); }

RtlBlock::RtlBlock(const sc_core::sc_module_name& name, const Params& p)
    : Model(name, "rtl_block", p),
      reset_active_low_(p.get_bool("reset_active_low")),
      reset_cycles_(p.get_uint("reset_cycles")),
      period_(p.get_time_ps("clock")),
      quantum_(p.get_time_ps("quantum")),
      budget_(p.get_uint("cycle_budget")),
      gate_idle_(p.get_string("idle") == "gate"),
      waves_path_(p.get_string("waves")),
      waves_start_(p.get_time_ps("waves_start")),
      waves_end_(p.get_time_ps("waves_end")),
      cycles_(counter("cycles", "clock edges simulated (reset included)")),
      idle_cycles_(counter("idle_cycles", "edges simulated while the block was parked (catch-up)")),
      gated_cycles_(counter("gated_cycles", "idle edges skipped without evaluation (idle='gate')")),
      kernel_syncs_(counter("kernel_syncs", "waits of the clock thread in the SystemC kernel")),
      blocked_waits_(counter("blocked_waits", "kernel waits because the RTL waited on a bridge")),
      parks_(counter("parks", "times the block went idle until a transaction arrived")),
      late_(counter("late_transactions",
                    "transactions or events applied after the edge that should have seen them")),
      late_ps_(counter("late_ps", "total lateness of late transactions", "ps")),
      last_edge_time_(value("rtl_time", "time of the last simulated clock edge", "ps")) {
  const RtlLibrary& lib = RtlLibrary::load(p.get_string("library"));
  model_ = std::make_unique<RtlModel>(lib);
  input_owner_.resize(model_->pins().size());
  clk_ = &claim_pin("(clock)", "clock", p.get_string("clock_pin"), PinDir::Input, 1, 1);
  if (!p.get_string("reset").empty())
    reset_ = &claim_pin("(reset)", "reset", p.get_string("reset"), PinDir::Input, 1, 1);
  else
    reset_cycles_ = 0;
  if (!p.get_string("busy").empty())
    busy_ = &claim_pin("(busy)", "busy", p.get_string("busy"), PinDir::Output, 1, 1);
  if (gate_idle_ && busy_ == nullptr)
    throw std::invalid_argument(label() + ": idle='gate' needs the busy pin (the clock may be "
                                "gated only while the block says it is idle)");
  if (!waves_path_.empty() && !model_->traced())
    throw std::invalid_argument(label() + ": waves requested but '" + lib.path +
                                "' was built without tracing (build it with trace='fst' or 'vcd')");
  if (waves_end_ != 0 && waves_end_ <= waves_start_)
    throw std::invalid_argument(label() + ": waves_end must be after waves_start");
  waves_on_ = !waves_path_.empty();
  undriven_ = p.get_string("undriven");
  deadlock_note_ = add_deadlock_note([this] { return parked_note(); });
  SC_THREAD(run);
  // The slow Python path runs Python code on this thread's stack.
  set_stack_size(kPythonSafeStackBytes);
}

RtlBlock::~RtlBlock() { remove_deadlock_note(deadlock_note_); }

void RtlBlock::tie(Pin& p, std::vector<std::uint8_t> value) {
  value.resize(p.bytes(), 0);
  ties_.emplace_back(&p, std::move(value));
}

std::vector<std::string> RtlBlock::undriven_inputs() const {
  std::vector<std::string> out;
  const auto& pins = model_->pins();
  for (std::size_t i = 0; i < pins.size(); ++i)
    if (pins[i].dir() == PinDir::Input && input_owner_[i].empty()) out.push_back(pins[i].name());
  return out;
}

void RtlBlock::start_of_simulation() {
  if (undriven_ == "ignore" || clocked_ > 0) return;  // the slow callback may drive any pin
  const auto pins = undriven_inputs();
  if (pins.empty()) return;
  std::string list;
  for (const auto& p : pins) list += (list.empty() ? "'" : ", '") + p + "'";
  const std::string msg = label() + ": input" + (pins.size() > 1 ? "s " : " ") + list +
                          (pins.size() > 1 ? " are" : " is") +
                          " driven by no bridge and held at 0; bind them, or tie them to a value "
                          "with tie={pin: value} to say so";
  if (undriven_ == "error") {
    fail_simulation("BindingError", msg);
    return;
  }
  warn_python(msg);
}

std::string RtlBlock::blocked_bridges() const {
  std::string out;
  for (const Adapter* a : blockers_)
    if (a->blocked()) out += (out.empty() ? "'" : ", '") + a->name() + "'";
  return out;
}

std::string RtlBlock::parked_note() const {
  if (!parked_) return "";
  std::string s = label() + ": parked since cycle " + std::to_string(parked_at_) + " (t = " +
                  format_ps(edge_time(parked_at_)) + ")";
  if (busy_ == nullptr)
    s += ", nothing under way and no busy pin (it is clocked only while a transaction is under way)";
  else if (!busy_->bit())
    s += ", its busy pin '" + busy_->name() + "' low and nothing under way";
  else
    s += ", its busy pin '" + busy_->name() + "' high";
  const std::string blocked = blocked_bridges();
  if (!blocked.empty()) s += "; the RTL waits on stream bridge(s) " + blocked;
  return s;
}

bool RtlBlock::interrupt_awaited(std::uint64_t n) {
  bool any = false;
  for (const auto& a : adapters_)
    if (a->awaited()) {
      a->on_awaited(n);
      any = true;
    }
  return any;
}

std::string RtlBlock::label() const {
  return std::string("rtl block '") + name() + "' (" + model_->library().top + ")";
}

bool RtlBlock::elaborating() const {
  return sc_core::sc_get_status() == sc_core::SC_ELABORATION;
}

Pin& RtlBlock::claim_pin(const std::string& bridge, const std::string& role, const std::string& pin,
                         PinDir dir, std::uint32_t min_width, std::uint32_t max_width) {
  const std::string who = label() + (bridge.front() == '(' ? " " + role : ", bridge '" + bridge + "'");
  Pin* p = model_->find(pin);
  if (p == nullptr) {
    std::string known;
    for (const auto& q : model_->pins()) known += (known.empty() ? "" : ", ") + q.name();
    throw std::invalid_argument(who + ": no pin '" + pin + "' (" + role + "); the pins are: " + known);
  }
  if (p->dir() != dir)
    throw std::invalid_argument(who + ": pin '" + pin + "' (" + role + ") is an " +
                                pin_dir_name(p->dir()) + ", the " + role + " must be an " +
                                pin_dir_name(dir));
  if (p->width() < min_width || p->width() > max_width)
    throw std::invalid_argument(
        who + ": pin '" + pin + "' (" + role + ") is " + std::to_string(p->width()) +
        " bits wide, the " + role + " must be " +
        (min_width == max_width ? std::to_string(min_width)
                                : std::to_string(min_width) + ".." + std::to_string(max_width)) +
        " bits");
  if (dir == PinDir::Input) {
    auto& owner = input_owner_[static_cast<std::size_t>(p - model_->pins().data())];
    if (!owner.empty())
      throw std::invalid_argument(who + ": pin '" + pin + "' is already driven by " +
                                  (owner.front() == '(' ? "the block " + owner : "bridge '" + owner + "'"));
    owner = bridge;
  }
  return *p;
}

void RtlBlock::check_bridge_name(const std::string& name) const {
  if (!elaborating())
    throw std::invalid_argument(label() + ": cannot add bridge '" + name +
                                "' after the simulation has started");
  if (name.empty() || name.find('.') != std::string::npos)
    throw std::invalid_argument(label() + ": bridge name '" + name + "' must be non-empty without '.'");
  if (find_port(name) != nullptr)
    throw std::invalid_argument(label() + " already has a bridge named '" + name + "'");
}

Adapter& RtlBlock::add_adapter(std::unique_ptr<Adapter> a) {
  Adapter* p = a.get();
  adapters_.push_back(std::move(a));
  const unsigned h = p->hooks();
  if (h & Adapter::kDrive) drivers_.push_back(p);
  if (h & Adapter::kBlocked) blockers_.push_back(p);
  if (h & Adapter::kSample) samplers_.push_back(p);
  if (h & Adapter::kCommit) committers_.push_back(p);
  if (h & Adapter::kRise) risers_.push_back(p);
  return *p;
}

void RtlBlock::arrived(Picos t, bool queue_was_empty, std::uint64_t relevant_edge) {
  work_.notify();
  const std::uint64_t ideal = first_edge_after(t);
  if (queue_was_empty && ideal <= cycle_ && ideal <= relevant_edge && ideal > reset_cycles_) {
    late_.inc();
    late_ps_.inc(edge_time(cycle_ + 1) - edge_time(ideal));
  }
}

void RtlBlock::raise_at(sc_core::sc_event& ev, Picos t) {
  raise_events_.push_back(&ev);
  completed(t);
}

void RtlBlock::register_write_done(std::uint64_t n) {
  if (busy_ != nullptr) return;  // watchdogs arm on busy rising instead
  for (auto& a : adapters_) a->on_register_write(n);
}

void RtlBlock::fail(const std::string& msg) {
  close_waves();
  before_wait();
  fail_simulation("SimulationError", label() + ": " + msg);
  for (;;) sc_core::wait(never_);
}

void RtlBlock::fail_with_python_error(const std::string& where) {
  close_waves();
  before_wait();
  fail_simulation_with_python_error(label() + ": " + where);
  for (;;) sc_core::wait(never_);
}

void RtlBlock::dump_waves(Picos t) {
  if (t < waves_start_ || t == last_dump_) return;
  if (waves_end_ != 0 && t >= waves_end_) {
    close_waves();
    return;
  }
  if (!waves_open_) {
    if (!model_->trace_open(waves_path_)) fail("cannot open waveform file '" + waves_path_ + "'");
    waves_open_ = true;
  }
  model_->trace_dump(t);
  last_dump_ = t;
}

void RtlBlock::end_of_simulation() { close_waves(); }

void RtlBlock::close_waves() {
  if (waves_open_) model_->trace_close();
  waves_open_ = false;
  waves_done_ = true;
  waves_on_ = false;
}

void RtlBlock::after_eval(bool finished, std::uint64_t n) {
  if (finished)
    fail("the RTL executed $finish, $stop or $fatal at cycle " + std::to_string(n) + " (t = " +
         format_ps(edge_time(n)) + "); see its message in the output above");
}

void RtlBlock::reset_sequence() {
  for (auto& p : model_->pins())
    if (p.dir() == PinDir::Input) p.clear();
  for (auto& [pin, value] : ties_) pin->write(value.data());
  if (reset_ != nullptr) reset_->set_bit(!reset_active_low_);
  for (std::uint64_t n = 1; n <= reset_cycles_; ++n) {
    const Picos t = edge_time(n);
    clk_->set_bit(false);
    after_eval(model_->eval(t - period_ / 2), n);
    dump(t - period_ / 2);
    clk_->set_bit(true);
    after_eval(model_->eval(t), n);
    dump(t);
    cycle_ = n;
    cycles_.inc();
  }
  if (reset_ != nullptr) reset_->set_bit(reset_active_low_);
  busy_prev_ = busy_ != nullptr && busy_->bit();
  for (auto& a : adapters_) a->after_reset();
}

void RtlBlock::settle(std::uint64_t n, Picos t) {
  for (Adapter* a : drivers_)
    if (a->active()) a->drive(n, t);
  clk_->set_bit(false);
  after_eval(model_->eval(t - period_ / 2), n);
  dump(t - period_ / 2);
}

void RtlBlock::clock_edge(std::uint64_t n, Picos t) {
  for (Adapter* a : samplers_)
    if (a->active_) {
      if (a->sample_pin_ != nullptr)
        a->sampled_ = a->sample_pin_->bit();
      else
        a->sample();
    } else if (a->monitor_idle_ && (a->monitor_hot_ || a->monitor_pin_->bit())) {
      a->monitor();
    }
  clk_->set_bit(true);
  const bool finished = model_->eval(t);
  cycle_ = n;
  cycles_.inc();
  dump(t);
  for (Adapter* a : committers_)
    if (a->active()) a->commit(n, t);
  for (Adapter* a : risers_) {
    const bool v = a->rise_pin_->bit();
    if (v != a->rise_last_) {
      a->rise_last_ = v;
      if (v) a->rose(n, t);
    }
    if (n > a->expires_) a->expired(n, t);
  }
  after_eval(finished, n);
  if (busy_ != nullptr) {
    const bool b = busy_->bit();
    if (b && !busy_prev_)
      for (auto& a : adapters_) a->on_busy_rise(n);
    busy_prev_ = b;
  }
  if (sync_requested_) {
    const Picos now = now_;
    before_wait();
    if (sync_to_ > now && raise_events_.empty() && completer_ != nullptr) {
      // A completion: let the kernel reach its edge, unless the initiator (temporally
      // decoupled: it runs at its local time, the edge's) sends its next transaction
      // to the same bridge first, which is then taken at the next edge as it should be.
      kernel_syncs_.inc();
      do {
        kernel_wait(from_ps(sync_to_ - now_), work_);
      } while (now_ < sync_to_ && !completer_->queued_);
    } else if (sync_to_ > now) {
      kernel_syncs_.inc();
      kernel_wait(from_ps(sync_to_ - now));
    } else if (sync_to_ < now && !raise_events_.empty()) {
      late_.inc();  // an interrupt found while catching up with the kernel
      late_ps_.inc(now - sync_to_);
    }
    for (sc_core::sc_event* ev : raise_events_) ev->notify();
    raise_events_.clear();
    sync_to_ = 0;
    sync_requested_ = false;
    completer_ = nullptr;
    // Let the processes woken by the completion or the events run (and send their next
    // transactions) before the next edge; when none is runnable (a decoupled initiator
    // already sent its next one) there is nothing to wait for.
    if (sc_core::sc_pending_activity_at_current_time()) kernel_wait(sc_core::SC_ZERO_TIME);
  }
}

void RtlBlock::park() {
  parks_.inc();
  parked_ = true;
  parked_at_ = cycle_;
  before_wait();
  Picos deadline = UINT64_MAX;
  for (const auto& a : adapters_) deadline = std::min(deadline, a->deadline());
  const Picos now = now_;
  if (deadline != UINT64_MAX && deadline <= now && edge_time(cycle_ + 1) <= deadline) {
    catchup_until_ = deadline;  // a watchdog expired in the past: simulate up to it
    return;
  }
  kernel_syncs_.inc();
  if (deadline != UINT64_MAX && deadline > now)
    kernel_wait(from_ps(deadline - now), work_);
  else
    kernel_wait(work_);
  parked_ = false;
  // Edges up to the kernel's time could not have seen anything that arrives now: they
  // are simulated with the bridges idle, or skipped when the clock is gated while the
  // block is idle.
  catchup_until_ = now_;
  if (gate_idle_ && !busy_->bit()) {
    const std::uint64_t last = catchup_until_ / period_;
    if (last > cycle_) {
      gated_cycles_.inc(last - cycle_);
      cycle_ = last;
    }
  }
}

void RtlBlock::run() {
  now_ = now_ps();
  reset_sequence();
  for (;;) {
    const std::uint64_t n = cycle_ + 1;
    const Picos t = edge_time(n);
    if (t <= catchup_until_) {
      idle_cycles_.inc();
      settle(n, t);
      clock_edge(n, t);
      continue;
    }
    const bool pending = pending_ > 0;
    const bool clocked = clocked_ > 0;
    bool busy = (busy_ != nullptr && busy_->bit()) || clocked;
    if (!pending && !busy) {
      // Idle by its busy pin, or without one nothing under way. A block without a busy
      // pin may still be working towards an interrupt a process waits for: clock it.
      if (busy_ != nullptr || !interrupt_awaited(n)) {
        park();
        continue;
      }
      busy = true;
    }
    settle(n, t);
    const Picos now = now_;
    bool blocked = false;
    for (Adapter* a : blockers_)
      if (!a->queued_ && a->wait_pin_->bit()) {
        blocked = true;
        a->waited_at(n);
        break;
      }
    if (blocked && now < t) {
      bool progress = false;
      if (pending && busy_ != nullptr && !busy)
        for (const auto& a : adapters_)
          if (a->active() && a->can_progress()) {
            progress = true;
            break;
          }
      if (!clocked && (!pending || (busy_ != nullptr && !busy && !progress)) &&
          !(!pending && busy && interrupt_awaited(n))) {
        // Waiting on the outside with nothing under way, or with only a transaction
        // that needs the outside first while the block says it is idle: wait for a
        // transaction (the edges in between are caught up exactly when it comes). A
        // transaction the RTL takes on by itself (a register access, a beat on another
        // stream it is ready for) keeps the clock running instead, and so does a
        // process waiting on an interrupt of a busy block: the block may still work
        // towards it (an output buffer offering results while the core computes), so
        // parking would raise the interrupt late.
        park();
        continue;
      }
      // Something is under way and the RTL also waits on the outside: advance in step
      // with the kernel so that whatever arrives is taken at its exact cycle.
      blocked_waits_.inc();
      kernel_syncs_.inc();
      before_wait();
      kernel_wait(from_ps(t - now), work_);
      continue;
    }
    if (!blocked && t > now + quantum_) {
      const Picos target = std::max(edge_time(cycle_), t - quantum_);
      kernel_syncs_.inc();
      before_wait();
      kernel_wait(from_ps(target - now));
      continue;
    }
    clock_edge(n, t);
  }
}

}  // namespace cosim::rtl

namespace cosim::rtl {
namespace {

ModelSpec rtl_block_spec() {
  ModelSpec s;
  s.name = "rtl_block";
  s.summary = "A Verilated RTL block clocked in C++; bridges connect its pins to TLM";
  s.doc =
      "Loads an RTL library built by cosim.rtl.build and runs its clock in a C++ SystemC "
      "thread, ahead of kernel time by up to `quantum`. Bridges (stream, register, memory "
      "master, interrupt; cosim.rtl.block adds them) turn TLM transactions into pin "
      "handshakes. Use cosim.rtl.block() rather than creating it directly.";
  s.source =
      "Timing is the RTL's own, cycle by cycle, at the clock period given; no figures "
      "are assumed by the bridge.";
  s.params = {
      string_param("library", "", {}, "path of the RTL library (cosim.rtl.build(...).library)"),
      time_param("clock", 1'000, 2, 1'000'000'000'000ULL,
                 "clock period (edge n happens at n * clock)",
                 "the engine's target clock; 1 GHz is a round default, edit per design"),
      string_param("clock_pin", "clk", {}, "the clock input"),
      string_param("reset", "", {}, "the reset input ('' for none)"),
      bool_param("reset_active_low", true, "reset is asserted low (rst_n)"),
      int_param("reset_cycles", 4, 0, 1'000'000, "", "clock cycles in reset at time 0"),
      string_param("busy", "", {},
                   "output that is high while the block works on its own ('' for none); "
                   "the block is clocked while it is high or a transaction is under way"),
      time_param("quantum", 1'000'000, 0, 1'000'000'000'000ULL,
                 "how far the RTL may run ahead of SystemC time between synchronisations"),
      int_param("cycle_budget", 1'000'000, 1, std::int64_t(1) << 62, "",
                "cycles a handshake (ready, ack, valid, done) may take before the run stops "
                "with an error naming the pin"),
      string_param("idle", "run", {"run", "gate"},
                   "idle cycles (busy low, nothing pending) are simulated ('run') or skipped "
                   "like a gated clock ('gate', needs the busy pin)"),
      string_param("undriven", "warn", {"warn", "error", "ignore"},
                   "inputs no bridge drives (nor clock, reset or tie) when the simulation "
                   "starts: a warning listing them, an error, or nothing"),
      string_param("waves", "", {}, "waveform file (.fst or .vcd; needs a traced build)"),
      time_param("waves_start", 0, 0, UINT64_MAX / 2, "start of the waveform window"),
      time_param("waves_end", 0, 0, UINT64_MAX / 2, "end of the waveform window (0: no end)"),
  };
  s.ports = {};  // bridges add their ports after construction
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* {
    return new RtlBlock(n, p);
  };
  return s;
}

const RegisterModel reg_rtl_block(rtl_block_spec());

}  // namespace
}  // namespace cosim::rtl

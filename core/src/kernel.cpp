#include "kernel.h"

#include <cctype>
#include <cstdio>
#include <deque>
#include <sstream>

#include "awaitables.h"
#include "cosim/waiting.h"

// libsystemc.so references sc_main; a Python extension that links it must define and
// export one. cosim never calls it: Python drives elaboration and sc_start directly.
extern "C" __attribute__((visibility("default"))) int sc_main(int, char**) {
  std::fprintf(stderr, "cosim: sc_main is not used; drive simulations from Python\n");
  return 1;
}

namespace cosim::py {

nb::handle error_class(const char* name) {
  // Leaked on purpose: a handle kept past interpreter shutdown must not be released.
  static PyObject* errors = nullptr;
  if (errors == nullptr) {
    errors = PyImport_ImportModule("cosim.errors");
    if (errors == nullptr) throw nb::python_error();
  }
  PyObject* cls = PyObject_GetAttrString(errors, name);
  if (cls == nullptr) throw nb::python_error();
  Py_DECREF(cls);  // the module keeps it alive
  return cls;
}

void raise(const char* name, const std::string& msg) {
  PyErr_SetString(error_class(name).ptr(), msg.c_str());
  throw nb::python_error();
}

Kernel& Kernel::instance() {
  static auto* k = new Kernel();
  return *k;
}

Kernel::Kernel() {
  // An error must stop the run at once, not at the end of the delta cycle.
  sc_core::sc_set_stop_mode(sc_core::SC_STOP_IMMEDIATE);
}

void Kernel::require_elaboration(const char* what) const {
  if (phase_ != Phase::Elaboration)
    raise("BindingError", std::string("cannot ") + what +
                              " after the simulation has started: build the whole system "
                              "before the first run()");
}

void Kernel::require_runnable() const {
  if (phase_ == Phase::Finished)
    raise("SimulationError",
          "this simulation has finished (stopped, failed or deadlocked) and SystemC cannot "
          "restart it; run each simulation in a fresh process with cosim.simulate()");
}

void Kernel::set_quantum(Picos q) {
  quantum_ = q;
  tlm::tlm_global_quantum::instance().set(from_ps(q));
}

Picos Kernel::now() const {
  const Picos t = now_ps();
  return current_ != nullptr ? t + current_->local() : t;
}

PyProcess* Kernel::spawn(nb::object coro, std::string name, bool daemon,
                         std::size_t stack_bytes) {
  require_runnable();
  auto p = std::make_unique<PyProcess>(std::move(coro), name, daemon);
  PyProcess* raw = p.get();
  processes_.push_back(std::move(p));
  sc_core::sc_spawn_options opts;
  opts.set_stack_size(stack_bytes);
  // SystemC process names may not contain the hierarchy separator.
  std::string sc_name = "py_";
  for (char c : name) sc_name += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  sc_name += "_" + std::to_string(processes_.size());
  sc_core::sc_spawn([raw] { raw->body(); }, sc_name.c_str(), &opts);
  return raw;
}

void Kernel::fail_with_current_error(const std::string& where) {
  PyObject *t = nullptr, *v = nullptr, *tb = nullptr;
  PyErr_Fetch(&t, &v, &tb);
  if (t == nullptr) return;
  PyErr_NormalizeException(&t, &v, &tb);
  if (tb != nullptr) PyException_SetTraceback(v, tb);
  if (!failed()) {
    if (!where.empty()) {
      PyObject* r = PyObject_CallMethod(v, "add_note", "s", where.c_str());
      if (r == nullptr) PyErr_Clear();
      Py_XDECREF(r);
    }
    err_type_ = nb::steal(t);
    err_value_ = nb::steal(v);
    err_tb_ = nb::steal(tb);
  } else {
    Py_XDECREF(t);
    Py_XDECREF(v);
    Py_XDECREF(tb);
  }
  if (phase_ == Phase::Running) sc_core::sc_stop();
}

void Kernel::fail(const char* cls, const std::string& msg) {
  PyErr_SetString(error_class(cls).ptr(), msg.c_str());
  fail_with_current_error("");
}

void Kernel::stop() {
  stop_requested_ = true;
  if (phase_ == Phase::Running) sc_core::sc_stop();
}

void Kernel::raise_failure() {
  phase_ = Phase::Finished;
  PyErr_Restore(err_type_.inc_ref().ptr(), err_value_.inc_ref().ptr(),
                err_tb_ ? err_tb_.inc_ref().ptr() : nullptr);
  throw nb::python_error();
}

std::string Kernel::describe_waiting() const {
  std::ostringstream os;
  for (const auto& p : processes_) {
    if (p->done() || p->daemon()) continue;
    os << "\n  process '" << p->name() << "': " << p->waiting_on();
  }
  return os.str();
}

Picos Kernel::run(std::int64_t until_ps) {
  require_runnable();
  if (until_ps >= 0 && static_cast<Picos>(until_ps) < now_ps())
    raise("SimulationError", "run(until=" + format_ps(static_cast<Picos>(until_ps)) +
                                 ") is in the past: simulated time is already " +
                                 format_ps(now_ps()));
  if (stop_requested_) {
    phase_ = Phase::Finished;
    return now_ps();
  }
  phase_ = Phase::Running;
  try {
    if (until_ps < 0)
      sc_core::sc_start();
    else
      sc_core::sc_start(from_ps(static_cast<Picos>(until_ps) - now_ps()),
                        sc_core::SC_RUN_TO_TIME);
  } catch (const sc_core::sc_report& r) {
    phase_ = Phase::Finished;
    if (failed()) raise_failure();
    raise("SimulationError", r.what());
  } catch (const nb::python_error&) {
    phase_ = Phase::Finished;
    throw;
  } catch (const std::exception& e) {
    phase_ = Phase::Finished;
    if (failed()) raise_failure();
    raise("SimulationError", std::string("C++ exception escaped the simulation: ") + e.what());
  }
  if (failed()) raise_failure();
  if (stop_requested_) {
    phase_ = Phase::Finished;
    return now_ps();
  }
  phase_ = Phase::Paused;
  if (until_ps < 0 && !sc_core::sc_pending_activity()) {
    const std::string waiting = describe_waiting();
    if (!waiting.empty()) {
      phase_ = Phase::Finished;
      const std::string notes = deadlock_notes();
      raise("DeadlockError", "deadlock at " + format_ps(now_ps()) +
                                 ": no events are pending but these processes are still "
                                 "waiting:" +
                                 waiting + (notes.empty() ? "" : "\nparked models:" + notes));
    }
  }
  return now_ps();
}

}  // namespace cosim::py

// Internal: the state that ties the SystemC kernel to Python in this process.
//
// One simulation per process (docs/design.md, principle 4): SystemC cannot elaborate twice,
// so there is exactly one Kernel, and it is never destroyed (SystemC objects must not be
// torn down under Python's interpreter shutdown).
#pragma once

#include <nanobind/nanobind.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cosim/common.h"
#include "cosim/model.h"

namespace nb = nanobind;

namespace cosim::py {

class PyProcess;

// Raise the Python exception class `name` from cosim.errors with `msg` (throws
// nb::python_error, which nanobind turns back into the Python exception).
[[noreturn]] void raise(const char* name, const std::string& msg);
// The class object cosim.errors.<name>.
nb::handle error_class(const char* name);

enum class Phase { Elaboration, Running, Paused, Finished };

class Kernel {
 public:
  static Kernel& instance();

  Phase phase() const { return phase_; }
  // Throw a BindingError/SimulationError if the model structure can no longer change.
  void require_elaboration(const char* what) const;
  // Throw if the simulation can no longer run (finished or failed).
  void require_runnable() const;

  // Time quantum for temporal decoupling of Python processes (0: no decoupling).
  Picos quantum() const { return quantum_; }
  void set_quantum(Picos q);

  // --- processes -------------------------------------------------------------------
  PyProcess* spawn(nb::object coro, std::string name, bool daemon, std::size_t stack_bytes);
  const std::vector<std::unique_ptr<PyProcess>>& processes() const { return processes_; }
  PyProcess* current() const { return current_; }
  void set_current(PyProcess* p) { current_ = p; }
  // Simulated time seen by the running Python code: kernel time plus the local offset of
  // a temporally decoupled current process.
  Picos now() const;

  // --- failure -----------------------------------------------------------------------
  // Record the Python exception currently set (PyErr) as the reason the run stops,
  // with a note of where it happened; only the first failure is kept. Stops SystemC.
  void fail_with_current_error(const std::string& where);
  // Same for a failure raised as cosim.errors.<cls>(msg).
  void fail(const char* cls, const std::string& msg);
  bool failed() const { return static_cast<bool>(err_value_); }

  // --- running -----------------------------------------------------------------------
  // Run until `until_ps` (absolute) or, with until_ps < 0, until no activity is left.
  // Raises the first failure, a SimulationError for a SystemC error report, or a
  // DeadlockError when non-daemon Python processes are left waiting with nothing to wake
  // them. Returns the simulated time reached.
  Picos run(std::int64_t until_ps);
  void stop();
  bool stopped() const { return stop_requested_; }
  std::string describe_waiting() const;

  // Models created from Python, in creation order (owned here, never destroyed).
  void adopt(Model* m) { models_.push_back(m); }
  const std::vector<Model*>& models() const { return models_; }

  std::uint64_t python_resumes() const { return python_resumes_; }
  void count_resume() { ++python_resumes_; }

 private:
  Kernel();
  void raise_failure();
  Phase phase_ = Phase::Elaboration;
  Picos quantum_ = 0;
  PyProcess* current_ = nullptr;
  bool stop_requested_ = false;
  std::vector<std::unique_ptr<PyProcess>> processes_;
  std::vector<Model*> models_;
  nb::object err_type_, err_value_, err_tb_;
  std::uint64_t python_resumes_ = 0;
};

}  // namespace cosim::py

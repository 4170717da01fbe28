// Optional: extra Python methods for a C++ model (beyond params, ports, stats and
// events, which every model gets). A model file that includes this header registers a
// function that adds a nanobind class for its Model subclass; objects returned by
// Simulation.model() are then of that class.
//
//   static void bind(nanobind::module_& m) {
//     nanobind::class_<Router, cosim::Model>(m, "Router").def("map", &Router::map);
//   }
//   static const cosim::RegisterPythonBindings reg_py(bind);
#pragma once

#include <nanobind/nanobind.h>

#include <string>
#include <vector>

namespace cosim {

using PythonBinder = void (*)(nanobind::module_&);

std::vector<PythonBinder>& python_binders();

struct RegisterPythonBindings {
  explicit RegisterPythonBindings(PythonBinder b) { python_binders().push_back(b); }
};

struct Port;

// Bind an initiator port to a target port (either order), checking kinds and multiplicity
// and recording both ends; raises cosim.errors.BindingError naming both ends.
void bind_ports(Port& a, Port& b);

// Raise the Python exception cosim.errors.<cls> with `msg`.
[[noreturn]] void raise_python_error(const char* cls, const std::string& msg);

// For C++ SystemC processes that cannot throw into Python (they run under sc_start):
// stop the simulation so that run() raises cosim.errors.<cls>(msg), or the Python
// exception currently set (PyErr) with `where` added as a note. Only the first failure
// is kept. The calling process must not go on simulating: it should wait forever.
void fail_simulation(const char* cls, const std::string& msg);
void fail_simulation_with_python_error(const std::string& where);

// End the run normally, as a program that exits does: run() returns and the simulation
// is finished (no further run). The calling process should wait forever.
void stop_simulation();

}  // namespace cosim

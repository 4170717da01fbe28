// Python bindings of what a process can await (cosim._core.Event, Process, Awaitable,
// delay, sync, any_of, all_of). The await protocol and the process thread are in
// awaitables.cpp.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

#include "awaitables.h"

namespace cosim::py {

namespace {

Picos checked_time(std::int64_t t, const char* what) {
  if (t < 0) {
    PyErr_Format(PyExc_ValueError, "%s must be a non-negative time in ps, got %lld", what,
                 static_cast<long long>(t));
    throw nb::python_error();
  }
  return static_cast<Picos>(t);
}

std::vector<nb::object> collect_items(const nb::args& args, const char* fn, bool allow_delay) {
  std::vector<nb::object> items;
  for (nb::handle h : args) {
    PyObject* o = h.ptr();
    const bool ok = is_event(o) || is_process(o) ||
                    (allow_delay && is_request(o) && nb::inst_ptr<Request>(h)->kind == ReqKind::Delay);
    if (!ok) {
      std::string r = nb::cast<std::string>(nb::repr(h));
      PyErr_Format(PyExc_TypeError, "%s() accepts %s; got %s", fn,
                   allow_delay ? "Events, Processes and cosim.delay(...)" : "Events and Processes",
                   r.c_str());
      throw nb::python_error();
    }
    items.push_back(nb::borrow(h));
  }
  return items;
}

}  // namespace

void bind_awaitables(nb::module_& m) {
  static PyType_Slot request_slots[] = {{Py_am_await, reinterpret_cast<void*>(request_await)},
                                        {Py_am_send, reinterpret_cast<void*>(request_send)},
                                        {Py_tp_iter, reinterpret_cast<void*>(request_await)},
                                        {Py_tp_iternext, reinterpret_cast<void*>(request_next)},
                                        {0, nullptr}};
  static PyType_Slot event_slots[] = {{Py_am_await, reinterpret_cast<void*>(event_await)},
                                      {0, nullptr}};
  static PyType_Slot process_slots[] = {{Py_am_await, reinterpret_cast<void*>(process_await)},
                                        {0, nullptr}};

  auto req_cls = nb::class_<Request>(m, "Awaitable", nb::type_slots(request_slots),
                                     "Something a cosim process can await (returned by "
                                     "delay(), any_of(), socket operations, ...).")
                     .def("__repr__", [](const Request& r) { return "<cosim await " + r.describe() + ">"; });

  auto ev_cls =
      nb::class_<EventObj>(m, "Event", nb::type_slots(event_slots),
                           "A SystemC event. `await event` waits for its next notification.")
          .def(nb::init<std::string>(), nb::arg("name") = "event")
          .def_prop_ro("name", &EventObj::name)
          .def("notify",
               [](EventObj& e, nb::object delay) {
                 e.notify(delay.is_none() ? -1
                                          : static_cast<std::int64_t>(checked_time(
                                                nb::cast<std::int64_t>(delay), "notify delay")));
               },
               nb::arg("delay") = nb::none(),
               "Notify now (delay=None), in the next delta cycle (0) or after `delay` ps.")
          .def("cancel", &EventObj::cancel, "Cancel a pending delayed notification.")
          .def_prop_ro("triggered", &EventObj::triggered)
          .def("__repr__", [](const EventObj& e) { return "<cosim.Event '" + e.name() + "'>"; });

  auto proc_cls =
      nb::class_<ProcessHandle>(m, "Process", nb::type_slots(process_slots),
                                "A running Python process. `await process` waits for it to "
                                "finish and returns its result.")
          .def_prop_ro("name", [](const ProcessHandle& h) { return h.p->name(); })
          .def_prop_ro("done", [](const ProcessHandle& h) { return h.p->done(); })
          .def_prop_ro("failed", [](const ProcessHandle& h) { return h.p->failed(); })
          .def_prop_ro("daemon", [](const ProcessHandle& h) { return h.p->daemon(); })
          .def_prop_ro("state", [](const ProcessHandle& h) { return std::string(h.p->state_name()); })
          .def_prop_ro("waiting_on", [](const ProcessHandle& h) { return h.p->waiting_on(); })
          .def_prop_ro("local_time", [](const ProcessHandle& h) { return h.p->local(); },
                       "How far (ps) this process has run ahead of kernel time (temporal "
                       "decoupling).")
          .def_prop_ro("result",
                       [](const ProcessHandle& h) -> nb::object {
                         if (!h.p->done())
                           raise("SimulationError",
                                 "process '" + h.p->name() + "' has not finished (" +
                                     h.p->waiting_on() + ")");
                         return h.p->result() ? h.p->result() : nb::none();
                       })
          .def("__eq__", [](const ProcessHandle& a, const ProcessHandle& b) { return a.p == b.p; })
          .def("__hash__", [](const ProcessHandle& h) { return reinterpret_cast<std::uintptr_t>(h.p); })
          .def("__repr__", [](const ProcessHandle& h) {
            return "<cosim.Process '" + h.p->name() + "' " + h.p->state_name() + ">";
          });
  set_python_types(reinterpret_cast<PyTypeObject*>(req_cls.ptr()),
                   reinterpret_cast<PyTypeObject*>(ev_cls.ptr()),
                   reinterpret_cast<PyTypeObject*>(proc_cls.ptr()));

  m.def("delay",
        [](std::int64_t t) {
          Request r;
          r.kind = ReqKind::Delay;
          r.time = checked_time(t, "delay");
          return make_request(std::move(r));
        },
        nb::arg("t"), "Await to let `t` picoseconds of simulated time pass (0: one delta cycle).");
  m.def("sync",
        [] {
          Request r;
          r.kind = ReqKind::Sync;
          return make_request(std::move(r));
        },
        "Await to bring a temporally decoupled process back in step with kernel time.");
  m.def("any_of",
        [](nb::args args, nb::object timeout) {
          Request r;
          r.kind = ReqKind::AnyOf;
          r.items = collect_items(args, "any_of", true);
          if (!timeout.is_none()) {
            r.has_timeout = true;
            r.time = checked_time(nb::cast<std::int64_t>(timeout), "any_of timeout");
          }
          if (r.items.empty() && !r.has_timeout)
            throw nb::value_error("any_of() needs at least one event, process or delay");
          return make_request(std::move(r));
        },
        nb::arg("items"), nb::kw_only(), nb::arg("timeout") = nb::none(),
        "Await the first of several events/processes/delays; returns the one that fired "
        "(None when `timeout` expired first).");
  m.def("all_of",
        [](nb::args args, nb::object timeout) {
          Request r;
          r.kind = ReqKind::AllOf;
          r.items = collect_items(args, "all_of", false);
          if (!timeout.is_none()) {
            r.has_timeout = true;
            r.time = checked_time(nb::cast<std::int64_t>(timeout), "all_of timeout");
          }
          if (r.items.empty()) throw nb::value_error("all_of() needs at least one event or process");
          return make_request(std::move(r));
        },
        nb::arg("items"), nb::kw_only(), nb::arg("timeout") = nb::none(),
        "Await all of several events/processes; returns True, or False if `timeout` expired "
        "first.");
}

}  // namespace cosim::py

// The cosim._core extension module: binds the kernel, the model registry, ports, stats
// and tracing. The Python package (cosim/) builds its public API on top of this.
#include <nanobind/nanobind.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <deque>

#include "awaitables.h"
#include "cosim/model.h"
#include "cosim/python.h"
#include "cosim/stats.h"
#include "cosim/trace.h"
#include "kernel.h"
#include "numpy_util.h"
#include "sockets.h"

namespace cosim {

std::vector<PythonBinder>& python_binders() {
  static auto* v = new std::vector<PythonBinder>();
  return *v;
}

void raise_python_error(const char* cls, const std::string& msg) { py::raise(cls, msg); }

void fail_simulation(const char* cls, const std::string& msg) { py::Kernel::instance().fail(cls, msg); }

void fail_simulation_with_python_error(const std::string& where) {
  py::Kernel::instance().fail_with_current_error(where);
}

void stop_simulation() {
  // A program ending the run is normal: no "simulation stopped by user" info line.
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  py::Kernel::instance().stop();
}

}  // namespace cosim

using namespace cosim;
using namespace cosim::py;

namespace {

std::deque<std::string> g_warnings;
constexpr std::size_t kMaxWarnings = 200;

void report_handler(const sc_core::sc_report& rep, const sc_core::sc_actions& actions) {
  if (rep.get_severity() == sc_core::SC_WARNING) {
    g_warnings.push_back(std::string(rep.get_msg_type()) + ": " + rep.get_msg());
    if (g_warnings.size() > kMaxWarnings) g_warnings.pop_front();
  }
  sc_core::sc_report_handler::default_handler(rep, actions);
}

// An empty module that only groups the models created while it is open (Python:
// `with sim.scope("soc"):`). Its sc_module_name stays alive, and hence the module stays
// the current parent in SystemC's hierarchy, until the scope is closed.
struct Scope : sc_core::sc_module {
  explicit Scope(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {}
};
std::vector<sc_core::sc_module_name*> g_scope_names;

nb::object to_py(const ParamValue& v) {
  return std::visit([](const auto& x) -> nb::object { return nb::cast(x); }, v);
}

nb::dict param_spec_dict(const ParamSpec& p) {
  nb::dict d;
  d["name"] = p.name;
  d["type"] = param_type_name(p.type);
  d["default"] = to_py(p.default_value);
  const bool numeric = p.type == ParamType::Int || p.type == ParamType::Float || p.type == ParamType::Time;
  d["min"] = numeric ? nb::cast(p.min) : nb::none();
  d["max"] = numeric ? nb::cast(p.max) : nb::none();
  d["choices"] = p.choices;
  d["unit"] = p.unit;
  d["doc"] = p.doc;
  d["source"] = p.source;
  return d;
}

nb::dict spec_dict(const ModelSpec& s) {
  nb::dict d;
  d["name"] = s.name;
  d["summary"] = s.summary;
  d["doc"] = s.doc;
  d["source"] = s.source;
  nb::list params;
  for (const auto& p : s.params) params.append(param_spec_dict(p));
  d["params"] = params;
  nb::list ports;
  for (const auto& p : s.ports) {
    nb::dict pd;
    pd["name"] = p.name;
    pd["kind"] = port_kind_name(p.kind);
    pd["doc"] = p.doc;
    pd["multi"] = p.multi;
    ports.append(pd);
  }
  d["ports"] = ports;
  return d;
}

ParamValue from_py(const std::string& model, const ParamSpec& spec, nb::handle v) {
  try {
    switch (spec.type) {
      case ParamType::Int:
      case ParamType::Time:
        if (PyBool_Check(v.ptr())) break;
        return nb::cast<std::int64_t>(v);
      case ParamType::Float:
        if (PyBool_Check(v.ptr())) break;
        return nb::cast<double>(v);
      case ParamType::Bool:
        if (!PyBool_Check(v.ptr())) break;
        return nb::cast<bool>(v);
      case ParamType::String:
        return nb::cast<std::string>(v);
    }
  } catch (const nb::cast_error&) {
  }
  raise("ParameterError", "model '" + model + "': parameter '" + spec.name + "' expects " +
                              param_type_name(spec.type) + ", got " +
                              nb::cast<std::string>(nb::repr(v)));
}

Model* create_model(const std::string& kind, const std::string& name, const nb::dict& values) {
  Kernel::instance().require_elaboration("create models");
  const ModelSpec* spec = ModelRegistry::instance().find(kind);
  if (spec == nullptr) raise("ParameterError", "unknown model '" + kind + "'");
  std::map<std::string, ParamValue> vals;
  for (const auto& p : spec->params) {
    nb::str key(p.name.c_str());
    vals[p.name] = values.contains(key) ? from_py(name, p, values[key]) : p.default_value;
  }
  for (auto [k, v] : values) {
    const std::string key = nb::cast<std::string>(k);
    if (vals.find(key) == vals.end())
      raise("ParameterError", "model '" + name + "' (" + kind + "): unknown parameter '" + key + "'");
  }
  Model* m = nullptr;
  try {
    m = ModelRegistry::instance().create(kind, name, Params(name, std::move(vals)));
  } catch (const std::invalid_argument& e) {
    raise("ParameterError", e.what());
  }
  Kernel::instance().adopt(m);
  return m;
}

nb::dict stat_dict(const Stat& s) {
  nb::dict d;
  d["path"] = s.path();
  d["desc"] = s.desc();
  d["unit"] = s.unit();
  switch (s.kind()) {
    case StatKind::Counter:
      d["kind"] = "counter";
      d["value"] = static_cast<const Counter&>(s).value();
      break;
    case StatKind::Value:
      d["kind"] = "value";
      d["value"] = static_cast<const Value&>(s).value();
      break;
    case StatKind::Average:
    case StatKind::Histogram: {
      const auto& a = static_cast<const Average&>(s);
      d["kind"] = s.kind() == StatKind::Average ? "average" : "histogram";
      d["count"] = a.count();
      d["mean"] = a.mean();
      d["min"] = a.min();
      d["max"] = a.max();
      d["sum"] = a.sum();
      if (s.kind() == StatKind::Histogram) {
        const auto& h = static_cast<const Histogram&>(s);
        d["lo"] = h.lo();
        d["hi"] = h.hi();
        d["bins"] = h.bins();
        d["underflow"] = h.underflow();
        d["overflow"] = h.overflow();
        d["p50"] = h.percentile(50);
        d["p90"] = h.percentile(90);
        d["p99"] = h.percentile(99);
      }
      break;
    }
  }
  return d;
}

}  // namespace

static std::string port_desc(const Port& p) {
  return "'" + p.full_name() + "' (" + port_kind_name(p.kind) + ")";
}

void cosim::bind_ports(Port& a, Port& b) {
  Kernel::instance().require_elaboration("bind ports");
  Port* ini = &a;
  Port* tgt = &b;
  if (a.kind == PortKind::TlmTarget && b.kind == PortKind::TlmInitiator) std::swap(ini, tgt);
  if (ini->kind != PortKind::TlmInitiator || tgt->kind != PortKind::TlmTarget)
    raise("BindingError", "cannot bind " + port_desc(a) + " to " + port_desc(b) +
                              ": a binding joins one tlm_initiator port to one tlm_target port");
  if (!ini->multi && !ini->peers.empty())
    raise("BindingError", "cannot bind " + port_desc(*ini) + " to " + port_desc(*tgt) + ": '" +
                              ini->full_name() + "' is already bound to '" + ini->peers.front() +
                              "' and takes only one binding");
  if (!tgt->multi && !tgt->peers.empty())
    raise("BindingError", "cannot bind " + port_desc(*ini) + " to " + port_desc(*tgt) + ": '" +
                              tgt->full_name() + "' is already bound to '" + tgt->peers.front() +
                              "' and takes only one binding");
  for (const auto& peer : ini->peers)
    if (peer == tgt->full_name())
      raise("BindingError", port_desc(*ini) + " is already bound to " + port_desc(*tgt));
  ini->bind_initiator(*tgt->target);
  ini->peers.push_back(tgt->full_name());
  tgt->peers.push_back(ini->full_name());
}

NB_MODULE(_core, m) {
  if (!init_numpy()) throw nb::python_error();
  nb::set_leak_warnings(false);
  if (sc_core::sc_get_time_resolution() != sc_core::sc_time(1, sc_core::SC_PS))
    throw std::runtime_error("cosim needs SystemC's time resolution to be 1 ps");
  sc_core::sc_report_handler::set_handler(report_handler);
  // sc_stop() announces "Simulation stopped by user." on stdout; cosim stops the kernel
  // itself (an exception, a deadlock, sim.stop()) and says why where it matters.
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  // A fatal report must not abort() the Python process: turn it into an exception like
  // an error report, and show it.
  sc_core::sc_report_handler::set_actions(
      sc_core::SC_FATAL, sc_core::SC_LOG | sc_core::SC_DISPLAY | sc_core::SC_CACHE_REPORT | sc_core::SC_THROW);
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const sc_core::sc_report& r) {
      PyErr_SetString(error_class("SimulationError").ptr(), r.what());
    }
  });
  Kernel::instance();

  m.attr("SYSTEMC_VERSION") = sc_core::sc_release();
  m.attr("TLM_VERSION") = tlm::tlm_release();

  // ---- stats
  nb::class_<Stat>(m, "Stat")
      .def_prop_ro("path", &Stat::path)
      .def_prop_ro("desc", &Stat::desc)
      .def_prop_ro("unit", &Stat::unit)
      .def("reset", &Stat::reset)
      .def("snapshot", [](const Stat& s) { return stat_dict(s); });
  nb::class_<Counter, Stat>(m, "Counter")
      .def("inc", &Counter::inc, nb::arg("n") = 1)
      .def_prop_ro("value", &Counter::value);
  nb::class_<Average, Stat>(m, "Average")
      .def("sample", &Average::sample, nb::arg("x"))
      .def_prop_ro("count", &Average::count)
      .def_prop_ro("mean", &Average::mean)
      .def_prop_ro("min", &Average::min)
      .def_prop_ro("max", &Average::max)
      .def_prop_ro("sum", &Average::sum);
  nb::class_<Histogram, Average>(m, "Histogram")
      .def("sample", &Histogram::sample, nb::arg("x"))
      .def("percentile", &Histogram::percentile, nb::arg("p"))
      .def_prop_ro("bins", &Histogram::bins)
      .def_prop_ro("underflow", &Histogram::underflow)
      .def_prop_ro("overflow", &Histogram::overflow);
  nb::class_<Value, Stat>(m, "Value").def("set", &Value::set, nb::arg("v")).def_prop_ro("value", &Value::value);

  auto wrap_stat_error = [](auto&& fn) {
    try {
      return fn();
    } catch (const std::invalid_argument& e) {
      throw nb::value_error(e.what());
    }
  };
  m.def("stat_counter", [wrap_stat_error](const std::string& path, const std::string& desc, const std::string& unit) {
    return wrap_stat_error([&]() -> Counter* { return &stats().counter(path, desc, unit); });
  }, nb::rv_policy::reference, nb::arg("path"), nb::arg("desc") = "", nb::arg("unit") = "");
  m.def("stat_average", [wrap_stat_error](const std::string& path, const std::string& desc, const std::string& unit) {
    return wrap_stat_error([&]() -> Average* { return &stats().average(path, desc, unit); });
  }, nb::rv_policy::reference, nb::arg("path"), nb::arg("desc") = "", nb::arg("unit") = "");
  m.def("stat_histogram", [wrap_stat_error](const std::string& path, double lo, double hi, std::size_t bins,
                                            const std::string& desc, const std::string& unit) {
    return wrap_stat_error([&]() -> Histogram* { return &stats().histogram(path, lo, hi, bins, desc, unit); });
  }, nb::rv_policy::reference, nb::arg("path"), nb::arg("lo"), nb::arg("hi"), nb::arg("bins"),
     nb::arg("desc") = "", nb::arg("unit") = "");
  m.def("stat_value", [wrap_stat_error](const std::string& path, const std::string& desc, const std::string& unit) {
    return wrap_stat_error([&]() -> Value* { return &stats().value(path, desc, unit); });
  }, nb::rv_policy::reference, nb::arg("path"), nb::arg("desc") = "", nb::arg("unit") = "");
  m.def("stats_snapshot", [] {
    nb::list out;
    for (const Stat* s : stats().all()) out.append(stat_dict(*s));
    return out;
  });
  m.def("stats_reset", [] { stats().reset_all(); });

  // ---- tracing
  m.def("trace_enable", [](bool on, std::size_t max_events) { tracer().enable(on, max_events); },
        nb::arg("on"), nb::arg("max_events") = 10'000'000);
  m.def("trace_enabled", [] { return tracer().enabled(); });
  m.def("trace_track", [](const std::string& name) { return tracer().track(name); });
  m.def("trace_span", [](std::uint32_t track, std::string name, Picos start, Picos dur, std::string args) {
    tracer().span(track, std::move(name), start, dur, std::move(args));
  }, nb::arg("track"), nb::arg("name"), nb::arg("start"), nb::arg("dur"), nb::arg("args_json") = "");
  m.def("trace_instant", [](std::uint32_t track, std::string name, Picos at, std::string args) {
    tracer().instant(track, std::move(name), at, std::move(args));
  }, nb::arg("track"), nb::arg("name"), nb::arg("at"), nb::arg("args_json") = "");
  m.def("trace_size", [] { return tracer().size(); });
  m.def("trace_dropped", [] { return tracer().dropped(); });
  m.def("trace_write", [](const std::string& path) { return tracer().write_chrome_json(path); });

  // ---- models and ports
  nb::class_<Port>(m, "Port")
      .def_prop_ro("name", [](const Port& p) { return p.name; })
      .def_prop_ro("full_name", &Port::full_name)
      .def_prop_ro("kind", [](const Port& p) { return std::string(port_kind_name(p.kind)); })
      .def_prop_ro("multi", [](const Port& p) { return p.multi; })
      .def_prop_ro("peers", [](const Port& p) { return p.peers; })
      .def_prop_ro("bound", [](const Port& p) { return !p.peers.empty(); })
      .def_prop_ro("model", [](const Port& p) { return p.owner; }, nb::rv_policy::reference)
      .def("__repr__", [](const Port& p) { return "<cosim.Port " + port_desc(p) + ">"; });

  nb::class_<Model>(m, "Model", "A C++ SystemC model instance.")
      .def_prop_ro("name", [](const Model& md) { return std::string(md.name()); })
      .def_prop_ro("basename", [](const Model& md) { return std::string(md.basename()); })
      .def_prop_ro("kind", &Model::model_kind)
      .def_prop_ro("params", [](const Model& md) {
        nb::dict d;
        for (const auto& [k, v] : md.params().values()) d[k.c_str()] = to_py(v);
        return d;
      })
      .def_prop_ro("ports", [](const Model& md) {
        std::vector<Port*> out;
        for (const auto& p : md.ports()) out.push_back(p.get());
        return out;
      }, nb::rv_policy::reference)
      .def("port", [](const Model& md, const std::string& name) {
        Port* p = md.find_port(name);
        if (p == nullptr) {
          std::string known;
          for (const auto& q : md.ports()) known += (known.empty() ? "" : ", ") + q->name;
          raise("BindingError", std::string("model '") + md.name() + "' has no port '" + name +
                                    "'; its ports are: " + (known.empty() ? "(none)" : known));
        }
        return p;
      }, nb::rv_policy::reference, nb::arg("name"))
      .def("event", [](const Model& md, const std::string& name) {
        Port* p = md.find_port(name);
        if (p == nullptr || p->kind != PortKind::Event) {
          std::string known;
          for (const auto& q : md.ports())
            if (q->kind == PortKind::Event) known += (known.empty() ? "" : ", ") + q->name;
          raise("BindingError", std::string("model '") + md.name() + "' has no event '" + name +
                                    "'; its events are: " + (known.empty() ? "(none)" : known));
        }
        return EventObj(p->full_name(), p->event);
      }, nb::arg("name"))
      .def("__repr__", [](const Model& md) {
        return "<cosim.Model " + md.model_kind() + " '" + md.name() + "'>";
      });

  m.def("model_specs", [] {
    nb::list out;
    for (const ModelSpec* s : ModelRegistry::instance().all()) out.append(spec_dict(*s));
    return out;
  });
  m.def("create_model", &create_model, nb::rv_policy::reference, nb::arg("kind"),
        nb::arg("name"), nb::arg("params"));
  m.def("bind", [](Port& a, Port& b) { bind_ports(a, b); }, nb::arg("a"), nb::arg("b"));
  m.def("unbound_ports", [] {
    std::vector<std::string> out;
    for (Model* md : Kernel::instance().models())
      for (const auto& p : md->ports())
        if (p->kind != PortKind::Event && p->peers.empty())
          out.push_back(port_desc(*p) + " of " + md->model_kind() + " '" + md->name() + "'");
    return out;
  });

  bind_awaitables(m);
  bind_sockets(m);

  m.def("create_initiator", [](const std::string& name) {
    Kernel::instance().require_elaboration("create sockets");
    auto* s = new PyInitiator(sc_core::sc_module_name(name.c_str()));
    Kernel::instance().adopt(s);
    return s;
  }, nb::rv_policy::reference, nb::arg("name"));
  m.def("create_target", [](const std::string& name, nb::object impl) {
    Kernel::instance().require_elaboration("create targets");
    auto* t = new PyTarget(sc_core::sc_module_name(name.c_str()), std::move(impl));
    Kernel::instance().adopt(t);
    return t;
  }, nb::rv_policy::reference, nb::arg("name"), nb::arg("impl"));

  // ---- hierarchy scopes
  m.def("push_scope", [](const std::string& name) {
    Kernel::instance().require_elaboration("open a scope");
    auto* nm = new sc_core::sc_module_name(name.c_str());
    new Scope(*nm);  // owned by SystemC's object hierarchy for the rest of the process
    g_scope_names.push_back(nm);
  }, nb::arg("name"));
  m.def("pop_scope", [] {
    if (g_scope_names.empty()) throw nb::value_error("no scope is open");
    delete g_scope_names.back();  // ends the module: later models go to the parent
    g_scope_names.pop_back();
  });
  m.def("open_scopes", [] { return g_scope_names.size(); });

  // ---- kernel
  m.def("spawn", [](nb::object coro, std::string name, bool daemon, std::size_t stack) {
    return ProcessHandle{Kernel::instance().spawn(std::move(coro), std::move(name), daemon, stack)};
  }, nb::arg("coro"), nb::arg("name"), nb::arg("daemon") = false, nb::arg("stack_size") = kPythonSafeStackBytes);
  m.def("processes", [] {
    nb::list out;
    for (const auto& p : Kernel::instance().processes()) out.append(ProcessHandle{p.get()});
    return out;
  });
  m.def("current_process", []() -> nb::object {
    PyProcess* p = Kernel::instance().current();
    if (p == nullptr) return nb::none();
    return nb::cast(ProcessHandle{p});
  });
  m.def("run", [](std::int64_t until) { return Kernel::instance().run(until); }, nb::arg("until") = -1);
  m.def("stop", [] { Kernel::instance().stop(); });
  m.def("end_simulation", [] {
    // Called once the simulation is over for good (the worker does, before it exits
    // without interpreter teardown): SystemC's sc_stop() between runs ends the
    // simulation and gives every module its end_of_simulation() callback, where models
    // finish files they write (waveforms).
    Kernel::instance().stop();
    if (sc_core::sc_get_status() == sc_core::SC_PAUSED) {
      sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
      sc_core::sc_stop();
    }
  }, "End the simulation for good: models get end_of_simulation() and finish their files.");
  m.def("now", [] { return Kernel::instance().now(); });
  m.def("kernel_time", [] { return now_ps(); });
  m.def("phase", [] {
    switch (Kernel::instance().phase()) {
      case Phase::Elaboration: return "elaboration";
      case Phase::Running: return "running";
      case Phase::Paused: return "paused";
      case Phase::Finished: return "finished";
    }
    return "?";
  });
  m.def("set_quantum", [](std::int64_t q) {
    if (q < 0) throw nb::value_error("quantum must be >= 0 ps");
    Kernel::instance().set_quantum(static_cast<Picos>(q));
  });
  m.def("quantum", [] { return Kernel::instance().quantum(); });
  m.def("delta_count", [] { return sc_core::sc_delta_count(); });
  m.def("python_resumes", [] { return Kernel::instance().python_resumes(); });
  m.def("pending_activity", [] { return sc_core::sc_pending_activity(); });
  m.def("describe_waiting", [] { return Kernel::instance().describe_waiting(); });
  m.def("report", [](const std::string& severity, const std::string& msg_type, const std::string& msg) {
    sc_core::sc_severity sev;
    if (severity == "info") sev = sc_core::SC_INFO;
    else if (severity == "warning") sev = sc_core::SC_WARNING;
    else if (severity == "error") sev = sc_core::SC_ERROR;
    else if (severity == "fatal") sev = sc_core::SC_FATAL;
    else throw nb::value_error("severity must be one of: info, warning, error, fatal");
    sc_core::sc_report_handler::report(sev, msg_type.c_str(), msg.c_str(), "<python>", 0);
  }, nb::arg("severity"), nb::arg("msg_type"), nb::arg("msg"));
  m.def("warnings", [] { return std::vector<std::string>(g_warnings.begin(), g_warnings.end()); });

  for (PythonBinder b : python_binders()) b(m);
}

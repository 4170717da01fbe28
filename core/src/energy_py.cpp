// Python bindings of the energy table (cosim._core.energy_*; cosim/energy.py is the
// Python view). The model lives in energy.cpp.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <stdexcept>

#include "cosim/energy.h"
#include "cosim/python.h"

namespace cosim {

// ------------------------------------------------------------------- Python bindings

namespace {

namespace nb = nanobind;

template <typename F>
auto value_errors(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    throw nb::value_error(e.what());
  } catch (const std::logic_error& e) {
    throw nb::value_error(e.what());
  }
}

nb::dict entry_dict(const EnergyEntry& e) {
  const EnergyTable& t = EnergyTable::instance();
  nb::dict d;
  d["key"] = e.key;
  d["default_pj"] = e.pj;
  d["reference_pj"] = t.reference_pj(e.key);
  d["pj"] = t.pj(e.key);
  d["overridden"] = t.overridden(e.key);
  d["unit"] = e.unit;
  d["node_nm"] = e.node_nm;
  d["scaling"] = energy_scaling_name(e.scaling);
  d["scale_factor"] = t.scale_factor(e);
  d["source"] = e.source;
  d["doc"] = e.doc;
  return d;
}

void bind_energy(nb::module_& m) {
  nb::class_<EnergyEvent>(m, "EnergyEvent",
                          "Counts one kind of event of one component and charges its energy.")
      .def("add", &EnergyEvent::add, nb::arg("n") = 1, "Count `n` more events.")
      .def_prop_ro("count", &EnergyEvent::count)
      .def_prop_ro("energy_pj", &EnergyEvent::energy_pj)
      .def_prop_ro("pj_per_unit", &EnergyEvent::pj_per_unit)
      .def_prop_ro("component", &EnergyEvent::component)
      .def_prop_ro("kind", &EnergyEvent::kind)
      .def_prop_ro("key", [](const EnergyEvent& e) { return e.entry().key; })
      .def("__repr__", [](const EnergyEvent& e) {
        return "<cosim.EnergyEvent " + e.component() + "." + e.kind() + " (" + e.entry().key +
               "): " + std::to_string(e.count()) + " x " + std::to_string(e.pj_per_unit()) +
               " pJ>";
      });

  m.def("energy_define",
        [](const std::string& key, double pj, const std::string& unit, double node_nm,
           const std::string& scaling, const std::string& source, const std::string& doc) {
          if (scaling != "logic" && scaling != "fixed")
            throw nb::value_error("scaling must be 'logic' or 'fixed'");
          EnergyEntry e{key, pj, unit, node_nm,
                        scaling == "logic" ? EnergyScaling::Logic : EnergyScaling::Fixed, source, doc};
          value_errors([&] {
            EnergyTable::instance().define(e);
            return 0;
          });
        },
        nb::arg("key"), nb::arg("pj"), nb::arg("unit"), nb::arg("node_nm"), nb::arg("scaling"),
        nb::arg("source"), nb::arg("doc") = "");
  m.def("energy_entries", [] {
    nb::list out;
    for (const EnergyEntry* e : EnergyTable::instance().entries()) out.append(entry_dict(*e));
    return out;
  });
  m.def("energy_entry", [](const std::string& key) {
    return value_errors([&] { return entry_dict(EnergyTable::instance().entry(key)); });
  }, nb::arg("key"));
  m.def("energy_pj", [](const std::string& key) {
    return value_errors([&] { return EnergyTable::instance().pj(key); });
  }, nb::arg("key"));
  m.def("energy_set", [](const std::string& key, double pj) {
    value_errors([&] {
      EnergyTable::instance().set(key, pj);
      return 0;
    });
  }, nb::arg("key"), nb::arg("pj"));
  m.def("energy_reset", [](const std::string& key) {
    value_errors([&] {
      if (key.empty())
        EnergyTable::instance().reset_all();
      else
        EnergyTable::instance().reset(key);
      return 0;
    });
  }, nb::arg("key") = "");
  m.def("energy_set_node", [](double nm, double vdd) {
    value_errors([&] {
      EnergyTable::instance().set_node(nm, vdd);
      return 0;
    });
  }, nb::arg("node_nm"), nb::arg("vdd") = 0.0);
  m.def("energy_node", [] {
    return nb::make_tuple(EnergyTable::instance().node_nm(), EnergyTable::instance().vdd());
  });
  m.def("energy_scaling_nodes", [] { return EnergyTable::scaling_nodes(); });
  m.def("energy_nominal_vdd", [](double nm) {
    return value_errors([&] { return EnergyTable::nominal_vdd(nm); });
  }, nb::arg("node_nm"));
  m.def("energy_event",
        [](const std::string& component, const std::string& kind, const std::string& key,
           const std::string& desc) {
          return value_errors(
              [&]() -> EnergyEvent* { return &EnergyTable::instance().event(component, kind, key, desc); });
        },
        nb::rv_policy::reference, nb::arg("component"), nb::arg("kind"), nb::arg("key"),
        nb::arg("desc") = "");
  m.def("energy_events", [] {
    nb::list out;
    for (const EnergyEvent* e : EnergyTable::instance().events()) {
      nb::dict d;
      d["component"] = e->component();
      d["kind"] = e->kind();
      d["key"] = e->entry().key;
      d["count"] = e->count();
      d["pj_per_unit"] = e->pj_per_unit();
      d["energy_pj"] = e->energy_pj();
      d["unit"] = e->entry().unit;
      out.append(d);
    }
    return out;
  });
}

const RegisterPythonBindings reg_energy_py(bind_energy);

}  // namespace
}  // namespace cosim

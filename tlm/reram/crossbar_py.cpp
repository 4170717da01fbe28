// Python access to the crossbar model itself (cosim.system.reram.Crossbar), without a
// simulation: for accuracy/energy studies of the analog array on its own.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>

#include <map>

#include "cosim/model.h"
#include "cosim/python.h"
#include "crossbar.h"

namespace cosim::reram {

std::vector<ParamSpec> crossbar_params();
CrossbarConfig crossbar_config(const Params& p);

namespace {

namespace nb = nanobind;
using I64Matrix = nb::ndarray<const std::int64_t, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using I64Vector = nb::ndarray<const std::int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

nb::dict cost_dict(const Cost& c) {
  nb::dict d;
  d["latency_ps"] = c.latency_ps;
  d["energy_pj"] = c.energy_pj();
  nb::dict e;
  e["adc"] = c.e_adc;
  e["dac"] = c.e_dac;
  e["array"] = c.e_array;
  e["sample_hold"] = c.e_sh;
  e["shift_add"] = c.e_shift_add;
  e["compare"] = c.e_compare;
  e["write"] = c.e_write;
  d["energy_breakdown_pj"] = e;
  nb::dict n;
  n["array_reads"] = c.array_reads;
  n["dac_drives"] = c.dac_drives;
  n["adc_conversions"] = c.adc_conversions;
  n["sample_holds"] = c.sample_holds;
  n["shift_adds"] = c.shift_adds;
  n["comparisons"] = c.comparisons;
  n["cell_writes"] = c.cell_writes;
  n["row_writes"] = c.row_writes;
  d["counts"] = n;
  return d;
}

struct PyCrossbar {
  CrossbarMatrix m;
  Cost last, total;
  explicit PyCrossbar(const CrossbarConfig& c) : m(c) {}
};

template <typename F>
auto translate(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    raise_python_error("ParameterError", e.what());
  } catch (const std::logic_error& e) {
    raise_python_error("SimulationError", e.what());
  }
}

}  // namespace

void bind_reram(nb::module_& m) {
  nb::class_<PyCrossbar>(m, "CrossbarArray", "ReRAM crossbar arrays holding one weight matrix.")
      .def("__init__",
           [](PyCrossbar* self, const nb::dict& values) {
             std::map<std::string, ParamValue> vals;
             for (const auto& spec : crossbar_params()) {
               nb::str key(spec.name.c_str());
               if (!values.contains(key)) {
                 vals[spec.name] = spec.default_value;
               } else if (spec.type == ParamType::Float) {
                 vals[spec.name] = nb::cast<double>(values[key]);
               } else if (spec.type == ParamType::Bool) {
                 vals[spec.name] = nb::cast<bool>(values[key]);
               } else {
                 vals[spec.name] = nb::cast<std::int64_t>(values[key]);
               }
             }
             const CrossbarConfig cfg = crossbar_config(Params("crossbar", std::move(vals)));
             translate([&] {
               new (self) PyCrossbar(cfg);
               return 0;
             });
           },
           nb::arg("params"))
      .def("program",
           [](PyCrossbar& x, I64Matrix w) {
             return translate([&] {
               x.last = x.m.program(w.data(), static_cast<int>(w.shape(0)), static_cast<int>(w.shape(1)));
               x.total += x.last;
               return cost_dict(x.last);
             });
           },
           nb::arg("weights"))
      .def("mvm",
           [](PyCrossbar& x, I64Vector in) {
             return translate([&] {
               auto* y = new double[x.m.outputs() > 0 ? x.m.outputs() : 1];
               nb::capsule owner(y, [](void* p) noexcept { delete[] static_cast<double*>(p); });
               try {
                 x.last = x.m.mvm(in.data(), static_cast<int>(in.shape(0)), y);
               } catch (...) {
                 throw;
               }
               x.total += x.last;
               return nb::ndarray<nb::numpy, double, nb::ndim<1>>(y, {std::size_t(x.m.outputs())}, owner);
             });
           },
           nb::arg("x"))
      .def("threshold",
           [](PyCrossbar& x, I64Vector in, double t) {
             return translate([&] {
               auto* mask = new bool[x.m.outputs() > 0 ? x.m.outputs() : 1];
               nb::capsule owner(mask, [](void* p) noexcept { delete[] static_cast<bool*>(p); });
               std::vector<std::uint8_t> bits(x.m.outputs() > 0 ? x.m.outputs() : 1);
               x.last = x.m.threshold(in.data(), static_cast<int>(in.shape(0)), t, bits.data());
               for (int i = 0; i < x.m.outputs(); ++i) mask[i] = bits[i] != 0;
               x.total += x.last;
               return nb::ndarray<nb::numpy, bool, nb::ndim<1>>(mask, {std::size_t(x.m.outputs())}, owner);
             });
           },
           nb::arg("x"), nb::arg("threshold"))
      .def_prop_ro("last_cost", [](const PyCrossbar& x) { return cost_dict(x.last); })
      .def_prop_ro("total_cost", [](const PyCrossbar& x) { return cost_dict(x.total); })
      .def_prop_ro("programmed", [](const PyCrossbar& x) { return x.m.programmed(); })
      .def_prop_ro("shape", [](const PyCrossbar& x) { return nb::make_tuple(x.m.outputs(), x.m.inputs()); })
      .def("arrays_for", [](const PyCrossbar& x, int n_out, int n_in) { return x.m.arrays_for(n_out, n_in); })
      .def_prop_ro("max_cell_writes", [](const PyCrossbar& x) { return x.m.max_cell_writes(); })
      .def_prop_ro("total_cell_writes", [](const PyCrossbar& x) { return x.m.total_cell_writes(); })
      .def_prop_ro("worn_cells", [](const PyCrossbar& x) { return x.m.worn_cells(); })
      .def_prop_ro("stuck_cells", [](const PyCrossbar& x) { return x.m.stuck_cells(); })
      .def_prop_ro("adc_energy_pj", [](const PyCrossbar& x) { return x.m.adc_energy_pj(); });
}

}  // namespace cosim::reram

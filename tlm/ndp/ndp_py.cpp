// Python bindings of the 'ndp' model (cosim._core.NdpModel; cosim/system/ndp.py is the
// Python view). The model lives in ndp.cpp.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <stdexcept>
#include <string>

#include "cosim/python.h"
#include "ndp.h"

namespace cosim::ndp {
namespace {

namespace nb = nanobind;

nb::dict region_dict(const Region& r) {
  nb::dict d;
  d["kind"] = kind_name(r.kind);
  d["dtype"] = dtype_name(r.dtype);
  d["m"] = r.m;
  d["n"] = r.n;
  d["base_row"] = r.base_row;
  d["rows"] = r.rows;
  d["address"] = r.address;
  d["row_stride"] = r.row_stride;
  d["stream_bytes"] = r.stream_bytes;
  return d;
}

DType dtype_of(const std::string& s) {
  for (std::uint32_t c = 1; c <= 4; ++c)
    if (s == dtype_name(DType(c))) return DType(c);
  throw nb::value_error(("dtype '" + s + "' is not one of int8, int32, fp16, fp32").c_str());
}

void bind_ndp(nb::module_& m) {
  nb::class_<Ndp, Model>(m, "NdpModel", "The 'ndp' model (see cosim.system.ndp.NdpDriver).")
      .def_prop_ro("last_error", &Ndp::last_error, "why the last command failed ('' if it did not)")
      .def_prop_ro("memory_name", [](Ndp& n) { return n.memory().instance_name(); })
      .def_prop_ro("datapath", &Ndp::datapath, "the RTL datapath library ('' for the C++ datapath)")
      .def_prop_ro("buffer_bytes", &Ndp::xbuf_bytes)
      .def_prop_ro("geometry",
                   [](Ndp& n) {
                     const Geometry& g = n.geometry();
                     nb::dict d;
                     d["channels"] = g.channels;
                     d["units_per_channel"] = g.units_per_channel;
                     d["units"] = g.units();
                     d["banks"] = g.banks;
                     d["banks_per_group"] = g.banks_per_group;
                     d["banks_per_unit"] = g.banks_per_unit;
                     d["rows"] = g.rows;
                     d["row_bytes"] = g.row_bytes;
                     d["burst_bytes"] = g.burst_bytes;
                     d["unit_interval"] = n.sequencer().unit_interval();
                     d["unit_latency"] = n.sequencer().unit_latency();
                     d["tck_ps"] = n.memory().engine().config().timing.tck_ps;
                     return d;
                   })
      .def_prop_ro("regions",
                   [](Ndp& n) {
                     nb::list out;
                     for (const auto& [addr, r] : n.regions()) out.append(region_dict(r));
                     return out;
                   })
      .def("region",
           [](Ndp& n, const std::string& kind, const std::string& dtype, std::uint64_t m, std::uint64_t cols,
              std::uint64_t base_row) {
             if (kind != "matrix" && kind != "vector")
               throw nb::value_error(("kind '" + kind + "' is not 'matrix' or 'vector'").c_str());
             try {
               return region_dict(
                   n.region_for(kind == "matrix" ? Kind::Matrix : Kind::Vector, dtype_of(dtype), m, cols, base_row));
             } catch (const std::invalid_argument& e) {
               throw nb::value_error(e.what());
             }
           },
           nb::arg("kind"), nb::arg("dtype"), nb::arg("m"), nb::arg("n"), nb::arg("base_row"),
           "The layout of a region (rows per bank, stream bytes, address) as the units see it.")
      .def("locate",
           [](Ndp& n, unsigned unit, std::uint64_t offset, std::uint64_t base_row) {
             const Geometry& g = n.geometry();
             if (unit >= g.units())
               throw nb::value_error(("unit " + std::to_string(unit) + " is out of range 0.." +
                                      std::to_string(g.units() - 1))
                                         .c_str());
             const dram::Location l = g.locate(unit, offset, base_row);
             nb::dict d;
             d["channel"] = l.channel;
             d["bankgroup"] = l.bankgroup;
             d["bank"] = l.bank;
             d["row"] = l.row;
             d["column"] = l.column;
             try {
               d["address"] = n.memory().engine().encode(l) + offset % g.burst_bytes;
             } catch (const std::invalid_argument& e) {
               throw nb::value_error(e.what());
             }
             return d;
           },
           nb::arg("unit"), nb::arg("offset"), nb::arg("base_row"),
           "Where byte `offset` of unit `unit`'s stream of a region at `base_row` lies.")
      .def_prop_ro("last_command", [](Ndp& n) {
        const Ndp::Report& r = n.last_report();
        nb::dict d;
        d["op"] = r.op;
        d["issued_ps"] = r.issued;
        d["start_ps"] = r.start;
        d["done_ps"] = r.done;
        d["start_cycle"] = r.start_cycle;
        d["units_from_cycle"] = r.units_from;
        d["read_floor_cycle"] = r.read_floor;
        d["done_cycle"] = r.done_cycle;
        nb::list first_act;  // None: the unit had no work
        for (Cycle c : r.first_act) first_act.append(c == dram::kNever ? nb::none() : nb::cast(c));
        d["first_act_cycles"] = first_act;
        d["unit_done_cycles"] = r.unit_done;
        d["channel_done_cycles"] = r.channel_done;
        d["act"] = r.counts.act;
        d["pre"] = r.counts.pre;
        d["rd"] = r.counts.rd;
        d["wr"] = r.counts.wr;
        d["refreshes"] = r.counts.ref;
        d["internal_read_bytes"] = r.internal_read;
        d["internal_written_bytes"] = r.internal_written;
        d["external_bytes"] = r.external;
        d["macs"] = r.macs;
        d["alu_ops"] = r.alu_ops;
        return d;
      });
}

const RegisterPythonBindings reg_ndp_py(bind_ndp);

}  // namespace
}  // namespace cosim::ndp

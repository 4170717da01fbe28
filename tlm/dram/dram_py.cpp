// Python bindings of the dram model (dram.h), its presets and the benchmark's C++-only
// baseline loop. Only conversion here: the logic lives in the model files.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <stdexcept>

#include "cosim/python.h"
#include "baseline.h"
#include "config.h"
#include "dram.h"

namespace cosim::dram {
namespace {

namespace nb = nanobind;

nb::dict org_dict(const Organization& o) {
  nb::dict d;
  d["channels"] = o.channels;
  d["ranks"] = o.ranks;
  d["bankgroups"] = o.bankgroups;
  d["banks_per_group"] = o.banks_per_group;
  d["rows"] = o.rows;
  d["columns"] = o.columns;
  d["bus_bytes"] = o.bus_bytes;
  d["bus_width"] = o.bus_bytes * 8;
  d["burst_length"] = o.burst_length;
  d["burst_bytes"] = o.burst_bytes();
  d["row_bytes"] = o.row_bytes();
  d["page_size"] = o.row_bytes();
  d["capacity"] = o.capacity();
  return d;
}

nb::dict timing_dict(const Timing& tm) {
  nb::dict t;
  t["tCK_ps"] = tm.tck_ps;
  t["burst_cycles"] = tm.burst;
  for (const auto& tp : timing_params()) t[tp.name] = tm.*tp.member;
  t["tREFI"] = tm.refi;
  t["act_cycles"] = tm.act_cycles;
  t["col_cycles"] = tm.col_cycles;
  t["pre_cycles"] = tm.pre_cycles;
  t["dual_command_bus"] = tm.dual_command_bus;
  return t;
}

nb::dict preset_dict(const Preset& p) {
  nb::dict d;
  d["name"] = p.name;
  d["title"] = p.title;
  d["standard"] = p.standard;
  d["source"] = p.source;
  d["org"] = org_dict(p.org);
  d["timing"] = timing_dict(p.timing);
  nb::dict e;
  e["act_pj"] = p.act_pj();
  e["rd_pj"] = p.rd_pj();
  e["wr_pj"] = p.wr_pj();
  e["ref_pj"] = p.ref_pj();
  e["io_pj_per_bit"] = p.energy.io_pj_per_bit;
  e["idd_source"] = p.energy.idd_source;
  e["io_source"] = p.energy.io_source;
  d["energy"] = e;
  d["peak_bytes_per_s_per_channel"] = p.peak_bytes_per_s();
  d["default_mapping"] = p.default_mapping;
  d["channel_mode"] = p.channel_mode;
  return d;
}

// The configuration in use: the preset's entries with this instance's values.
nb::dict config_dict(Dram& d) {
  nb::dict out = preset_dict(d.preset());
  const Config& c = d.engine().config();
  out["org"] = org_dict(c.org);
  out["timing"] = timing_dict(c.timing);
  out["mapping"] = c.mapping;
  out["bank_xor"] = c.bank_xor;
  out["page_policy"] = page_policy_name(c.page);
  out["refresh"] = c.refresh;
  out["refresh_policy"] = !c.refresh ? "none" : c.refresh_staggered ? "staggered" : "simultaneous";
  out["read_queue"] = c.read_queue;
  out["write_queue"] = c.write_queue;
  out["write_high"] = c.write_high;
  out["write_low"] = c.write_low;
  out["row_hit_cap"] = c.row_hit_cap;
  const Timing& t = c.timing;
  out["peak_bytes_per_s_per_channel"] =
      double(c.org.burst_bytes()) / (double(t.burst) * double(t.tck_ps) * 1e-12);
  return out;
}

nb::dict location_dict(const Location& l) {
  nb::dict d;
  d["channel"] = l.channel;
  d["rank"] = l.rank;
  d["bankgroup"] = l.bankgroup;
  d["bank"] = l.bank;
  d["row"] = l.row;
  d["column"] = l.column;
  return d;
}

// Commands per bank as nested lists [channel][rank][bank group * banks_per_group + bank].
nb::dict bank_commands_dict(Dram& d) {
  const Engine& e = d.engine();
  const Organization& o = e.config().org;
  const auto& v = e.bank_commands();
  const char* names[kBankCmds] = {"act", "pre", "rd", "wr"};
  nb::dict out;
  for (unsigned k = 0; k < kBankCmds; ++k) {
    nb::list chans;
    std::size_t i = 0;
    for (unsigned ch = 0; ch < o.channels; ++ch) {
      nb::list ranks;
      for (unsigned r = 0; r < o.ranks; ++r) {
        nb::list banks;
        for (unsigned b = 0; b < o.banks(); ++b, ++i) banks.append(v[i * kBankCmds + k]);
        ranks.append(banks);
      }
      chans.append(ranks);
    }
    out[names[k]] = chans;
  }
  nb::list refs;
  for (unsigned ch = 0; ch < o.channels; ++ch) {
    nb::list ranks;
    for (unsigned r = 0; r < o.ranks; ++r) ranks.append(e.rank_refreshes()[std::size_t(ch) * o.ranks + r]);
    refs.append(ranks);
  }
  out["ref"] = refs;
  return out;
}

nb::dict baseline_dict(const std::string& preset, std::uint64_t count, const std::string& pattern,
                       unsigned outstanding, unsigned size, std::uint64_t span, std::uint64_t seed,
                       unsigned channels) {
  BaselineResult b;
  try {
    b = run_baseline(preset, count, pattern, outstanding, size, span, seed, channels);
  } catch (const std::invalid_argument& e) {
    throw nb::value_error(e.what());
  }
  nb::dict r;
  r["requests"] = b.requests;
  r["wall_s"] = b.wall_s;
  r["sim_ps"] = b.sim_ps;
  r["bytes"] = b.bytes;
  r["commands"] = b.commands;
  return r;
}

void bind_dram(nb::module_& m) {
  nb::class_<Dram, Model>(m, "Dram", "The 'dram' model (see cosim.model_info('dram')).")
      .def_prop_ro("capacity", &Dram::capacity)
      .def_prop_ro("burst_bytes", [](Dram& d) { return d.engine().burst_bytes(); })
      .def_prop_ro("tck_ps", [](Dram& d) { return d.engine().config().timing.tck_ps; })
      .def_prop_ro("preset_name", [](Dram& d) { return d.preset().name; })
      .def("config", &config_dict, "The configuration in use: the preset with this instance's overrides.")
      .def(
          "address",
          [](Dram& d, unsigned channel, unsigned rank, unsigned bankgroup, unsigned bank, std::uint64_t row,
             std::uint64_t column) {
            try {
              return d.engine().encode(Location{channel, rank, bankgroup, bank, row, column});
            } catch (const std::invalid_argument& e) {
              throw nb::value_error((std::string(d.name()) + ".address(): " + e.what()).c_str());
            }
          },
          nb::arg("channel") = 0, nb::arg("rank") = 0, nb::arg("bankgroup") = 0, nb::arg("bank") = 0,
          nb::arg("row") = 0, nb::arg("column") = 0, "Byte address of a burst (column = burst index within the row).")
      .def("decode", [](Dram& d, std::uint64_t addr) { return location_dict(d.engine().decode(addr)); },
           nb::arg("address"), "Channel, rank, bank group, bank, row and column of a byte address.")
      .def("bank_commands", &bank_commands_dict,
           "Commands issued per bank: {'act'|'pre'|'rd'|'wr': [channel][rank][bank]} (bank = bank group x "
           "banks_per_group + bank; 'pre' counts explicit and auto precharges) and 'ref': [channel][rank].")
      .def(
          "bandwidth_series",
          [](Dram& d) {
            nb::list out;
            const double w = double(d.window_ps());
            for (std::uint64_t b : d.bandwidth_series()) out.append(double(b) / (w * 1e-12));
            return out;
          },
          "Bandwidth (B/s) of each bandwidth_window from time 0, counting each request's bytes in the window of "
          "its completion.")
      .def(
          "array",
          [](nb::handle_t<Dram> self) {
            Dram* d = nb::inst_ptr<Dram>(self);
            nb::object np = nb::module_::import_("numpy");
            nb::object buf = nb::steal(PyMemoryView_FromMemory(reinterpret_cast<char*>(d->data()),
                                                               Py_ssize_t(d->capacity()), PyBUF_WRITE));
            return np.attr("frombuffer")(buf, np.attr("uint8"));
          },
          "Zero-copy numpy uint8 view of the whole memory (backdoor: no time, no stats).");
  m.def("dram_presets", [] {
    nb::list out;
    for (const auto& p : presets()) out.append(preset_dict(p));
    return out;
  });
  m.def("dram_baseline", &baseline_dict, nb::arg("preset"), nb::arg("count"), nb::arg("pattern") = "sequential",
        nb::arg("outstanding") = 16, nb::arg("size") = 64, nb::arg("span") = 0, nb::arg("seed") = 1,
        nb::arg("channels") = 0);
}

const RegisterPythonBindings reg_dram_py(bind_dram);

}  // namespace
}  // namespace cosim::dram

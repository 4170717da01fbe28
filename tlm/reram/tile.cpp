// reram_tile: a memory-side accelerator of ReRAM crossbars behind one TLM target socket.
//
// The host (or a DMA) writes weights, inputs and commands into the tile's address space
// and waits for its 'done' event; the tile programs its crossbars, runs matrix-vector
// products or in-array thresholding (see crossbar.h) and charges their latency and
// energy. Several matrices (slots) share the tile's arrays.
//
// Address map (offsets from the tile's base; little-endian):
//   0x00000  CMD        write 1 = PROGRAM, 2 = MVM, 3 = THRESHOLD (starts the command)
//   0x00004  STATUS     0 idle, 1 busy, 2 done, 3 error (see last_error)
//   0x00008  SLOT       matrix slot the command uses
//   0x0000c  N_OUT      rows of the matrix (PROGRAM)
//   0x00010  N_IN       columns of the matrix (PROGRAM)
//   0x00014  THRESHOLD  int32, in product units (THRESHOLD)
//   0x10000  IN         input vector, int16 per element
//   0x20000  OUT        MVM: int32 per output; THRESHOLD: one byte (0/1) per output
//   0x40000  WEIGHTS    int16 row-major N_OUT x N_IN (PROGRAM)
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <tlm_utils/simple_target_socket.h>

#include "cosim/energy.h"
#include "cosim/model.h"
#include "cosim/python.h"
#include "cosim/trace.h"
#include "crossbar.h"

namespace cosim::reram {

namespace {

constexpr std::uint64_t kCmd = 0x0, kStatus = 0x4, kSlot = 0x8, kNOut = 0xc, kNIn = 0x10,
                        kThreshold = 0x14;
constexpr std::uint64_t kIn = 0x10000, kOut = 0x20000, kWeights = 0x40000;
constexpr std::uint64_t kInBytes = kOut - kIn, kOutBytes = kWeights - kOut;
constexpr std::uint64_t kWeightBytes = 0x100000;
constexpr std::uint64_t kSize = kWeights + kWeightBytes;

enum Status : std::uint32_t { kIdle = 0, kBusy = 1, kDone = 2, kError = 3 };

const char* kIsaac = "ISAAC (Shafiee et al., ISCA 2016), Table 2, 32 nm";
const char* kWrite =
    "assumption of this model: ReRAM SET/RESET pulses take 10-100 ns and program-and-verify "
    "needs several (Yu, Proc. IEEE 106(2), 2018); 1 us per row and 10 pJ per cell";

}  // namespace

// The crossbar parameters as model parameters (shared by reram_tile and the Python
// Crossbar class through cosim.model_info("reram_tile")).
std::vector<ParamSpec> crossbar_params() {
  return {
      int_param("rows", 128, 1, 4096, "", "rows (inputs) of one crossbar array", kIsaac),
      int_param("cols", 128, 1, 4096, "", "columns of one crossbar array", kIsaac),
      int_param("bits_per_cell", 2, 1, 8, "bit", "levels per cell = 2^bits", kIsaac),
      int_param("weight_bits", 8, 2, 16, "bit", "signed weight precision (sign by differential pair)"),
      int_param("input_bits", 8, 1, 16, "bit", "input precision"),
      bool_param("input_signed", false, "signed inputs (a positive and a negative pass)"),
      int_param("dac_bits", 1, 1, 16, "bit", "input bits applied per crossbar read", kIsaac),
      int_param("adc_bits", 8, 1, 24, "bit", "ADC resolution", kIsaac),
      int_param("cols_per_adc", 128, 1, 4096, "", "columns sharing one ADC", kIsaac),
      bool_param("adc_clip", false, "ADC with a 1-unit LSB that saturates (else its range covers full scale)"),
      float_param("on_off_ratio", 0.0, 0.0, 1e12, "", "G_on / G_off; 0 means infinite (no leakage)"),
      int_param("conductance_levels", 0, 0, 256, "", "device states per cell; 0 means 2^bits_per_cell"),
      float_param("sigma_d2d", 0.0, 0.0, 1.0, "", "device-to-device variation (relative sigma)"),
      float_param("sigma_read", 0.0, 0.0, 1.0, "", "read noise per cell and read (relative sigma)"),
      float_param("p_stuck_on", 0.0, 0.0, 1.0, "", "fraction of cells stuck at the on state"),
      float_param("p_stuck_off", 0.0, 0.0, 1.0, "", "fraction of cells stuck at the off state"),
      float_param("ir_drop", 0.0, 0.0, 0.9, "", "attenuation of the cell farthest from driver and sense amplifier"),
      float_param("sigma_cmp", 0.0, 0.0, 1e12, "", "threshold comparator offset sigma (product units)"),
      int_param("seed", 1, 0, INT64_MAX, "", "seed of device variation, faults and noise"),
      int_param("endurance", 1'000'000, 1, INT64_MAX, "writes",
                "writes per cell before wear-out is reported", "Yu, Proc. IEEE 106(2), 2018 (10^6..10^12)"),
      time_param("t_read", 100'000, 1, 1'000'000'000, "one crossbar read", kIsaac),
      float_param("adc_rate", 1.28e9, 1e3, 1e12, "Hz", "ADC conversion rate", kIsaac),
      time_param("t_write_row", 1'000'000, 1, 1'000'000'000, "program-and-verify of one row", kWrite),
  };
}

// Per-event energies live in the shared energy table (cosim/energy.h), so one override
// (sim.energy.set("reram.array_read", ...)) reaches every tile and standalone crossbar.
const RegisterEnergy reg_reram_energy({
    {"reram.adc_8bit", 1.5625, "conversion", 32, EnergyScaling::Logic,
     std::string(kIsaac) + ": 8-bit SAR ADC, 2 mW at 1.28 GS/s", "one 8-bit ADC conversion"},
    {"reram.dac_1bit", 0.00039, "drive", 32, EnergyScaling::Logic,
     std::string(kIsaac) + ": 1024 1-bit DACs, 4 mW, 100 ns read", "one 1-bit DAC drive for one read"},
    {"reram.array_read", 30.0, "read", 32, EnergyScaling::Fixed,
     std::string(kIsaac) + ": 8 arrays of 128x128, 2.4 mW, 100 ns read", "one 128x128 crossbar read"},
    {"reram.sample_hold", 0.000001, "sample", 32, EnergyScaling::Logic,
     std::string(kIsaac) + ": 1024 sample-and-hold circuits, 10 uW, 100 ns", "one sample-and-hold"},
    {"reram.shift_add", 0.04, "op", 32, EnergyScaling::Logic,
     std::string(kIsaac) + ": 4 shift-and-add units, 0.2 mW, 1.28 GHz", "one shift-and-add"},
    {"reram.compare", 0.01, "comparison", 32, EnergyScaling::Logic,
     "assumption: a latch comparator decision, well below an ADC conversion", "one threshold comparison"},
    {"reram.cell_write", 10.0, "cell", 32, EnergyScaling::Fixed, kWrite, "one cell program-and-verify"},
});

// The ADC entry of a resolution: the 8-bit figure scaled by 2^(bits - 8) (Walden figure
// of merit: energy per conversion doubles with each bit of resolution).
std::string adc_energy_key(int bits) {
  const std::string key = "reram.adc_" + std::to_string(bits) + "bit";
  if (energy_table().find(key) == nullptr) {
    const EnergyEntry& ref = energy_table().entry("reram.adc_8bit");
    energy_table().define({key, ref.pj * std::ldexp(1.0, bits - 8), "conversion", ref.node_nm,
                           EnergyScaling::Logic,
                           ref.source + ", scaled by 2^(bits-8) (Walden figure of merit)",
                           "one " + std::to_string(bits) + "-bit ADC conversion"});
  }
  return key;
}

CrossbarConfig crossbar_config(const Params& p) {
  CrossbarConfig c;
  c.rows = static_cast<int>(p.get_int("rows"));
  c.cols = static_cast<int>(p.get_int("cols"));
  c.bits_per_cell = static_cast<int>(p.get_int("bits_per_cell"));
  c.weight_bits = static_cast<int>(p.get_int("weight_bits"));
  c.input_bits = static_cast<int>(p.get_int("input_bits"));
  c.input_signed = p.get_bool("input_signed");
  c.dac_bits = static_cast<int>(p.get_int("dac_bits"));
  c.adc_bits = static_cast<int>(p.get_int("adc_bits"));
  c.cols_per_adc = static_cast<int>(p.get_int("cols_per_adc"));
  c.adc_clip = p.get_bool("adc_clip");
  c.on_off_ratio = p.get_float("on_off_ratio");
  c.conductance_levels = static_cast<int>(p.get_int("conductance_levels"));
  c.sigma_d2d = p.get_float("sigma_d2d");
  c.sigma_read = p.get_float("sigma_read");
  c.p_stuck_on = p.get_float("p_stuck_on");
  c.p_stuck_off = p.get_float("p_stuck_off");
  c.ir_drop = p.get_float("ir_drop");
  c.sigma_cmp = p.get_float("sigma_cmp");
  c.seed = p.get_uint("seed");
  c.endurance = p.get_uint("endurance");
  c.t_read_ps = p.get_time_ps("t_read");
  c.adc_rate_hz = p.get_float("adc_rate");
  c.t_write_row_ps = p.get_time_ps("t_write_row");
  const EnergyTable& e = energy_table();
  c.e_adc_pj = e.pj(adc_energy_key(c.adc_bits));
  c.e_adc_ref_bits = c.adc_bits;
  c.e_dac_pj = e.pj("reram.dac_1bit");
  c.e_array_pj = e.pj("reram.array_read");
  c.e_sh_pj = e.pj("reram.sample_hold");
  c.e_shift_add_pj = e.pj("reram.shift_add");
  c.e_compare_pj = e.pj("reram.compare");
  c.e_write_cell_pj = e.pj("reram.cell_write");
  return c;
}

class ReramTile : public Model {
 public:
  SC_HAS_PROCESS(ReramTile);

  ReramTile(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "reram_tile", p),
        socket_("target"),
        cfg_(crossbar_config(p)),
        arrays_(static_cast<int>(p.get_int("arrays"))),
        slots_(static_cast<int>(p.get_int("slots"))),
        buffer_latency_(from_ps(p.get_time_ps("buffer_latency"))),
        regs_(kIn, 0),
        in_(kInBytes, 0),
        out_(kOutBytes, 0),
        weights_(kWeightBytes, 0),
        track_(tracer().track(this->name())),
        programs_(counter("programs", "PROGRAM commands")),
        mvms_(counter("mvms", "MVM commands")),
        thresholds_(counter("thresholds", "THRESHOLD commands")),
        errors_(counter("errors", "commands that failed")),
        cell_writes_(counter("cell_writes", "cells programmed")),
        array_reads_(counter("array_reads", "crossbar array reads")),
        dac_drives_(counter("dac_drives", "DAC drives (rows x reads)")),
        adc_conversions_(counter("adc_conversions", "ADC conversions")),
        comparisons_(counter("comparisons", "threshold comparisons")),
        shift_adds_(counter("shift_adds", "shift-and-add operations")),
        busy_(value("busy_time", "time spent executing commands", "ps")),
        e_adc_(energy_event(this->name(), "adc", adc_energy_key(cfg_.adc_bits), "ADC conversions")),
        e_dac_(energy_event(this->name(), "dac", "reram.dac_1bit", "1-bit DAC drives")),
        e_array_(energy_event(this->name(), "array", "reram.array_read", "crossbar array reads")),
        e_sh_(energy_event(this->name(), "sample_hold", "reram.sample_hold", "sample-and-holds")),
        e_shift_add_(energy_event(this->name(), "shift_add", "reram.shift_add", "shift-and-adds")),
        e_compare_(energy_event(this->name(), "compare", "reram.compare", "threshold comparisons")),
        e_write_(energy_event(this->name(), "write", "reram.cell_write", "cell programming")),
        max_writes_(value("max_cell_writes", "most writes to any one cell")),
        worn_(value("worn_cells", "cells written more often than their endurance")) {
    cfg_.validate();
    expose_target("target", socket_);
    expose_event("done", done_);
    socket_.register_b_transport(this, &ReramTile::b_transport);
    socket_.register_transport_dbg(this, &ReramTile::transport_dbg);
    SC_THREAD(run);
  }

  const std::string& last_error() const { return last_error_; }
  int arrays_used() const {
    int n = 0;
    for (const auto& [slot, m] : matrices_) n += m->arrays();
    return n;
  }
  int arrays() const { return arrays_; }

 private:
  std::uint32_t reg(std::uint64_t off) const {
    std::uint32_t v;
    std::memcpy(&v, &regs_[off], 4);
    return v;
  }
  void set_reg(std::uint64_t off, std::uint32_t v) { std::memcpy(&regs_[off], &v, 4); }

  // Which buffer an access falls in; false (and an error response) when none.
  unsigned char* locate(tlm::tlm_generic_payload& gp) {
    const std::uint64_t a = gp.get_address();
    const std::uint64_t n = gp.get_data_length();
    auto in_range = [&](std::uint64_t base, std::uint64_t size) {
      return a >= base && n <= size && a - base <= size - n;
    };
    if (in_range(0, 0x18)) return &regs_[a];
    if (in_range(kIn, kInBytes)) return &in_[a - kIn];
    if (in_range(kOut, kOutBytes)) return &out_[a - kOut];
    if (in_range(kWeights, kWeightBytes)) return &weights_[a - kWeights];
    set_error(gp, tlm::TLM_ADDRESS_ERROR_RESPONSE, name(),
              "no register or buffer at offset " + hex(a) + " (+" + std::to_string(n) +
                  " B); see the address map in tlm/reram/tile.cpp");
    return nullptr;
  }

  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE, name(), "byte enables are not supported");
      return;
    }
    unsigned char* p = locate(gp);
    if (p == nullptr) return;
    const std::uint64_t a = gp.get_address();
    const unsigned n = gp.get_data_length();
    if (gp.is_write() && a <= kCmd + 3 && a + n > kCmd) {  // a command
      if (reg(kStatus) == kBusy) {
        set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(), "a command is still running");
        return;
      }
      std::memcpy(p, gp.get_data_ptr(), n);
      set_reg(kStatus, kBusy);
      start_.notify(delay + buffer_latency_);
    } else if (gp.is_write()) {
      std::memcpy(p, gp.get_data_ptr(), n);
    } else if (gp.is_read()) {
      std::memcpy(gp.get_data_ptr(), p, n);
    }
    delay += buffer_latency_;
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  unsigned transport_dbg(tlm::tlm_generic_payload& gp) {
    unsigned char* p = locate(gp);
    if (p == nullptr) return 0;
    if (gp.is_read()) std::memcpy(gp.get_data_ptr(), p, gp.get_data_length());
    else if (gp.is_write()) std::memcpy(p, gp.get_data_ptr(), gp.get_data_length());
    return gp.get_data_length();
  }

  void account(const Cost& c) {
    cell_writes_.inc(c.cell_writes);
    array_reads_.inc(c.array_reads);
    dac_drives_.inc(c.dac_drives);
    adc_conversions_.inc(c.adc_conversions);
    comparisons_.inc(c.comparisons);
    shift_adds_.inc(c.shift_adds);
    e_adc_.add(c.adc_conversions);
    e_dac_.add(c.dac_drives * std::uint64_t(cfg_.dac_bits));
    e_array_.add(c.array_reads);
    e_sh_.add(c.sample_holds);
    e_shift_add_.add(c.shift_adds);
    e_compare_.add(c.comparisons);
    e_write_.add(c.cell_writes);
  }

  std::vector<std::int64_t> read_ints16(const std::vector<unsigned char>& buf, std::size_t count) {
    std::vector<std::int64_t> v(count);
    for (std::size_t i = 0; i < count; ++i) {
      std::int16_t x;
      std::memcpy(&x, &buf[2 * i], 2);
      v[i] = x;
    }
    return v;
  }

  // Execute one command; returns its cost or throws with the reason it failed.
  Cost execute(std::uint32_t cmd) {
    const int slot = static_cast<int>(reg(kSlot));
    if (slot < 0 || slot >= slots_)
      throw std::invalid_argument("slot " + std::to_string(slot) + " does not exist; the tile has slots 0 .. " +
                                  std::to_string(slots_ - 1));
    if (cmd == 1) {
      const int n_out = static_cast<int>(reg(kNOut)), n_in = static_cast<int>(reg(kNIn));
      if (n_out < 1 || n_in < 1 || std::uint64_t(n_out) * n_in * 2 > kWeightBytes)
        throw std::invalid_argument("matrix " + std::to_string(n_out) + "x" + std::to_string(n_in) +
                                    " does not fit the weight buffer (" + std::to_string(kWeightBytes / 2) +
                                    " int16 values)");
      auto it = matrices_.find(slot);
      if (it == matrices_.end()) {
        auto m = std::make_unique<CrossbarMatrix>(cfg_);
        const int need = m->arrays_for(n_out, n_in);
        if (arrays_used() + need > arrays_)
          throw std::invalid_argument("a " + std::to_string(n_out) + "x" + std::to_string(n_in) + " matrix needs " +
                                      std::to_string(need) + " crossbar arrays; the tile has " +
                                      std::to_string(arrays_ - arrays_used()) + " free of " +
                                      std::to_string(arrays_));
        it = matrices_.emplace(slot, std::move(m)).first;
      }
      const auto w = read_ints16(weights_, std::size_t(n_out) * n_in);
      Cost c = it->second->program(w.data(), n_out, n_in);
      programs_.inc();
      max_writes_.set(static_cast<double>(it->second->max_cell_writes()));
      double worn = 0;
      for (const auto& [s, m] : matrices_) worn += static_cast<double>(m->worn_cells());
      if (worn > worn_.value() && worn_.value() == 0)
        SC_REPORT_WARNING("cosim/reram", (std::string(name()) + ": cells written beyond their endurance of " +
                                          std::to_string(cfg_.endurance) + " writes").c_str());
      worn_.set(worn);
      return c;
    }
    auto it = matrices_.find(slot);
    if (it == matrices_.end())
      throw std::logic_error("slot " + std::to_string(slot) + " holds no weights: PROGRAM it before an MVM");
    CrossbarMatrix& m = *it->second;
    const auto x = read_ints16(in_, m.inputs());
    if (cmd == 2) {
      if (std::uint64_t(m.outputs()) * 4 > kOutBytes) throw std::invalid_argument("output buffer too small");
      std::vector<double> y(m.outputs());
      Cost c = m.mvm(x.data(), m.inputs(), y.data());
      for (int i = 0; i < m.outputs(); ++i) {
        const auto v = static_cast<std::int32_t>(std::llround(y[i]));
        std::memcpy(&out_[4 * i], &v, 4);
      }
      mvms_.inc();
      return c;
    }
    if (cmd == 3) {
      std::int32_t t;
      std::memcpy(&t, &regs_[kThreshold], 4);
      std::vector<std::uint8_t> mask(m.outputs());
      Cost c = m.threshold(x.data(), m.inputs(), t, mask.data());
      std::memcpy(out_.data(), mask.data(), mask.size());
      thresholds_.inc();
      return c;
    }
    throw std::invalid_argument("unknown command " + std::to_string(cmd) + " (1 PROGRAM, 2 MVM, 3 THRESHOLD)");
  }

  void run() {
    while (true) {
      sc_core::wait(start_);
      const std::uint32_t cmd = reg(kCmd);
      const Picos t0 = now_ps();
      Cost c;
      bool ok = true;
      try {
        c = execute(cmd);
        last_error_.clear();
      } catch (const std::exception& e) {
        ok = false;
        last_error_ = e.what();
        errors_.inc();
      }
      if (ok) {
        account(c);
        sc_core::wait(from_ps(c.latency_ps));
      }
      busy_.set(busy_.value() + static_cast<double>(now_ps() - t0));
      static const char* names[] = {"?", "program", "mvm", "threshold"};
      tracer().span(track_, names[cmd <= 3 ? cmd : 0], t0, now_ps() - t0);
      set_reg(kStatus, ok ? kDone : kError);
      done_.notify();
    }
  }

  tlm_utils::simple_target_socket<ReramTile, kBusWidth> socket_;
  CrossbarConfig cfg_;
  int arrays_, slots_;
  sc_core::sc_time buffer_latency_;
  std::vector<unsigned char> regs_, in_, out_, weights_;
  std::map<int, std::unique_ptr<CrossbarMatrix>> matrices_;
  sc_core::sc_event start_, done_;
  std::string last_error_;
  std::uint32_t track_;
  Counter &programs_, &mvms_, &thresholds_, &errors_, &cell_writes_, &array_reads_, &dac_drives_,
      &adc_conversions_, &comparisons_, &shift_adds_;
  Value& busy_;
  EnergyEvent &e_adc_, &e_dac_, &e_array_, &e_sh_, &e_shift_add_, &e_compare_, &e_write_;
  Value &max_writes_, &worn_;
};

namespace {

ModelSpec tile_spec() {
  ModelSpec s;
  s.name = "reram_tile";
  s.summary = "ReRAM crossbar tile: program weights, MVM and in-array thresholding over TLM";
  s.doc =
      "Crossbar arrays with bit-sliced differential weights, bit-serial DAC inputs, shared ADCs "
      "and shift-and-add; seeded non-idealities; ISAAC cost structure. Commands through "
      "registers and buffers (address map in tlm/reram/tile.cpp); notifies 'done'.";
  s.source = kIsaac;
  s.params = crossbar_params();
  s.params.push_back(int_param("arrays", 96, 1, 1 << 20, "", "crossbar arrays in the tile",
                               "ISAAC tile: 12 IMAs x 8 arrays"));
  s.params.push_back(int_param("slots", 16, 1, 1024, "", "matrices the tile can hold at once"));
  s.params.push_back(time_param("buffer_latency", 2'000, 0, 1'000'000, "latency of a register/buffer access",
                                "assumption: on-tile eDRAM/SRAM buffer access of a few ns"));
  s.ports = {{"target", PortKind::TlmTarget, "registers and buffers", false},
             {"done", PortKind::Event, "notified when a command completes", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new ReramTile(n, p); };
  return s;
}

const RegisterModel reg_tile(tile_spec());

}  // namespace

void bind_reram(nanobind::module_& m);  // crossbar_py.cpp

namespace {

void bind_tile(nanobind::module_& m) {
  namespace nb = nanobind;
  nb::class_<ReramTile, Model>(m, "ReramTile", "The 'reram_tile' model.")
      .def_prop_ro("last_error", &ReramTile::last_error, "why the last command failed ('' if it did not)")
      .def_prop_ro("arrays_used", &ReramTile::arrays_used)
      .def_prop_ro("arrays", &ReramTile::arrays);
  bind_reram(m);
}

const RegisterPythonBindings reg_tile_py(bind_tile);

}  // namespace

}  // namespace cosim::reram

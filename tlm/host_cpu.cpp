// host_cpu: the cost model of a host core that runs a driver written as a Python
// coroutine (cosim.system.host.HostCpu wraps it), plus a roofline model of running a kernel on
// the host itself.
//
// Driver side: every access the driver makes goes through 'cpu_side' -> 'bus' and pays
// `access_cycles` of core-side overhead on top of the memory system's own latency
// (drivers map device registers and DMA buffers uncached, so each load/store is a
// serialising uncached access). Straight-line driver code is charged with ops(n): n
// operations at `cpi` cycles each. Taking an interrupt costs `irq_latency`.
// All are counted as instructions for energy (entry cpu_instruction).
//
// Host-compute side (roofline, Williams et al., CACM 2009):
//   time = max(flops / (peak_flops * compute_efficiency),
//              bytes / (memory_bandwidth * memory_efficiency))
// charged as FMA energy (half fp32_mult, half fp32_add per flop), instruction overhead
// (flops / flops_per_instruction instructions) and memory-interface energy per bit.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <cmath>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "cosim/energy.h"
#include "cosim/model.h"
#include "cosim/python.h"

namespace cosim {
namespace {

class HostCpu : public Model {
 public:
  HostCpu(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "host_cpu", p),
        cpu_side_("cpu_side"),
        bus_("bus"),
        clock_hz_(p.get_float("clock_hz")),
        cycle_ps_(1e12 / clock_hz_),
        cpi_(p.get_float("cpi")),
        access_cycles_(p.get_float("access_cycles")),
        irq_latency_(p.get_time_ps("irq_latency")),
        irq_instructions_(p.get_uint("irq_instructions")),
        peak_flops_(p.get_float("peak_flops")),
        mem_bw_(p.get_float("memory_bandwidth")),
        compute_eff_(p.get_float("compute_efficiency")),
        memory_eff_(p.get_float("memory_efficiency")),
        flops_per_instr_(p.get_float("flops_per_instruction")),
        loads_(counter("loads", "driver loads (uncached accesses)")),
        stores_(counter("stores", "driver stores (uncached accesses)")),
        ops_(counter("ops", "driver operations charged with ops()")),
        irqs_(counter("irqs", "interrupts taken")),
        driver_time_(counter("driver_time", "time charged for driver operations and accesses", "ps")),
        kernels_(counter("kernels", "kernels run in host-compute mode")),
        flops_(counter("flops", "floating-point operations run on the host")),
        kernel_bytes_(counter("kernel_bytes", "bytes the host kernels moved to/from memory", "B")),
        kernel_time_(counter("kernel_time", "time of host-compute kernels", "ps")),
        memory_bound_(counter("memory_bound_kernels", "host kernels limited by memory bandwidth")),
        e_instr_(energy_event(this->name(), "instruction", "cpu_instruction",
                              "instructions (driver code, accesses, interrupt handling, kernels)")),
        e_mult_(energy_event(this->name(), "fp32_mult", "fp32_mult", "multiplies of host kernels")),
        e_add_(energy_event(this->name(), "fp32_add", "fp32_add", "adds of host kernels")),
        e_mem_(make_memory_energy(p.get_string("memory_energy"))) {
    expose_target("cpu_side", cpu_side_);
    expose_initiator("bus", bus_);
    cpu_side_.register_b_transport(this, &HostCpu::b_transport);
    cpu_side_.register_transport_dbg(this, &HostCpu::transport_dbg);
  }

  // Charge n driver operations; returns their duration in ps.
  Picos ops(std::uint64_t n) {
    ops_.inc(n);
    e_instr_.add(n);
    const Picos t = Picos(std::llround(double(n) * cpi_ * cycle_ps_));
    driver_time_.inc(t);
    return t;
  }

  // Charge taking one interrupt; returns its latency in ps.
  Picos take_irq() {
    irqs_.inc();
    e_instr_.add(irq_instructions_);
    driver_time_.inc(irq_latency_);
    return irq_latency_;
  }

  struct Roofline {
    Picos time, compute, memory;
    bool memory_bound;
  };
  // Charge a kernel of `flops` floating-point operations moving `bytes`; returns its time.
  Roofline kernel(double flops, double bytes) {
    if (flops < 0 || bytes < 0) throw std::invalid_argument("flops and bytes must be >= 0");
    const double tc = flops / (peak_flops_ * compute_eff_);
    const double tm = bytes / (mem_bw_ * memory_eff_);
    Roofline r;
    r.compute = Picos(std::llround(tc * 1e12));
    r.memory = Picos(std::llround(tm * 1e12));
    r.time = std::max(r.compute, r.memory);
    r.memory_bound = r.memory > r.compute;
    kernels_.inc();
    flops_.inc(std::uint64_t(std::llround(flops)));
    kernel_bytes_.inc(std::uint64_t(std::llround(bytes)));
    kernel_time_.inc(r.time);
    if (r.memory_bound) memory_bound_.inc();
    // Fused multiply-adds: one multiply and one add per two flops.
    const std::uint64_t fma = std::uint64_t(std::llround(flops / 2));
    e_mult_.add(fma);
    e_add_.add(fma);
    e_instr_.add(std::uint64_t(std::llround(flops / flops_per_instr_)));
    if (e_mem_ != nullptr) e_mem_->add(std::uint64_t(std::llround(bytes * 8)));
    return r;
  }

  double cycle_ps() const { return cycle_ps_; }
  Picos irq_latency() const { return irq_latency_; }

 private:
  EnergyEvent* make_memory_energy(const std::string& key) {
    if (key.empty()) return nullptr;
    try {
      return &energy_event(name(), "memory", key, "bits host kernels moved to/from memory");
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("host_cpu '" + std::string(name()) + "': parameter 'memory_energy': " + e.what());
    }
  }

  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const Picos overhead = Picos(std::llround(access_cycles_ * cycle_ps_));
    delay += from_ps(overhead);
    bus_->b_transport(gp, delay);
    (gp.is_write() ? stores_ : loads_).inc();
    e_instr_.add();
    driver_time_.inc(overhead);
  }

  unsigned transport_dbg(tlm::tlm_generic_payload& gp) { return bus_->transport_dbg(gp); }

  tlm_utils::simple_target_socket<HostCpu, kBusWidth> cpu_side_;
  tlm_utils::simple_initiator_socket<HostCpu, kBusWidth> bus_;
  double clock_hz_, cycle_ps_, cpi_, access_cycles_;
  Picos irq_latency_;
  std::uint64_t irq_instructions_;
  double peak_flops_, mem_bw_, compute_eff_, memory_eff_, flops_per_instr_;
  Counter &loads_, &stores_, &ops_, &irqs_, &driver_time_, &kernels_, &flops_, &kernel_bytes_, &kernel_time_,
      &memory_bound_;
  EnergyEvent &e_instr_, &e_mult_, &e_add_;
  EnergyEvent* e_mem_;
};

ModelSpec host_cpu_spec() {
  ModelSpec s;
  s.name = "host_cpu";
  s.summary = "Host core: cost of a Python driver (accesses, ops, interrupts) and a roofline compute mode";
  s.doc =
      "Bind a Python socket to 'cpu_side' and 'bus' to the fabric (cosim.system.host.HostCpu does "
      "both). Each access pays access_cycles on top of the memory system's latency; "
      "ops(n) costs n * cpi cycles; an interrupt irq_latency. Host-compute mode: "
      "time = max(flops / (peak_flops * compute_efficiency), bytes / (memory_bandwidth * "
      "memory_efficiency)).";
  s.source =
      "Defaults describe a 4-core, 2 GHz desktop-class core with two DDR4-2400 channels: peak "
      "4 cores x 2 GHz x 32 fp32 flop/cycle (two 8-wide FMA units, Intel 64 and IA-32 "
      "Optimization Reference Manual) = 256 GFLOP/s, 2 x 19.2 GB/s DRAM; efficiencies 0.7 / 0.8 "
      "are assumptions (STREAM-style sustained bandwidth is ~80% of peak). access_cycles 20 "
      "irq_latency 1 us and 300 instructions per interrupt (an OS interrupt path) are "
      "assumptions to set from the platform. "
      "Energy: Horowitz ISSCC 2014 (instruction ~70 pJ, fp32 mult/add) and the DDR4 interface "
      "energy (docs/energy.md).";
  s.params = {
      float_param("clock_hz", 2e9, 1e6, 1e11, "Hz", "core clock"),
      float_param("cpi", 1.0, 0.01, 1000.0, "cycles", "cycles per driver operation"),
      float_param("access_cycles", 20.0, 0.0, 1e6, "cycles", "core-side cost of one uncached load/store"),
      time_param("irq_latency", 1'000'000, 0, 1'000'000'000'000ULL, "interrupt to handler latency"),
      int_param("irq_instructions", 300, 0, 1 << 30, "", "instructions executed to take and dispatch an interrupt (energy)"),
      float_param("peak_flops", 256e9, 1e6, 1e18, "FLOP/s", "peak floating-point rate (host-compute mode)"),
      float_param("memory_bandwidth", 38.4e9, 1e6, 1e15, "B/s", "peak memory bandwidth (host-compute mode)"),
      float_param("compute_efficiency", 0.7, 0.001, 1.0, "", "sustained fraction of peak_flops"),
      float_param("memory_efficiency", 0.8, 0.001, 1.0, "", "sustained fraction of memory_bandwidth"),
      float_param("flops_per_instruction", 16.0, 1.0, 1024.0, "", "flops per vector instruction (8-wide FMA: 16)"),
      string_param("memory_energy", "ddr4_interface_bit", {},
                   "energy-table key charged per bit a host kernel moves (empty: none)"),
  };
  s.ports = {{"cpu_side", PortKind::TlmTarget, "the driver's socket binds here", false},
             {"bus", PortKind::TlmInitiator, "to the SoC fabric", false}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new HostCpu(n, p); };
  return s;
}

const RegisterModel reg_host_cpu(host_cpu_spec());

void bind_host_cpu(nanobind::module_& m) {
  namespace nb = nanobind;
  nb::class_<HostCpu, Model>(m, "HostCpuModel", "The 'host_cpu' model (see cosim.system.host.HostCpu).")
      .def("ops", &HostCpu::ops, nb::arg("n"), "Charge n driver operations; returns their time in ps.")
      .def("take_irq", &HostCpu::take_irq, "Charge taking an interrupt; returns its latency in ps.")
      .def("kernel",
           [](HostCpu& h, double flops, double bytes) {
             HostCpu::Roofline r;
             try {
               r = h.kernel(flops, bytes);
             } catch (const std::invalid_argument& e) {
               throw nb::value_error(e.what());
             }
             nb::dict d;
             d["time_ps"] = r.time;
             d["compute_ps"] = r.compute;
             d["memory_ps"] = r.memory;
             d["bound"] = r.memory_bound ? "memory" : "compute";
             return d;
           },
           nb::arg("flops"), nb::arg("bytes"),
           "Charge a host-compute kernel (roofline); returns its time and which roof bounds it.")
      .def_prop_ro("cycle_ps", &HostCpu::cycle_ps)
      .def_prop_ro("irq_latency", &HostCpu::irq_latency);
}

const RegisterPythonBindings reg_host_cpu_py(bind_host_cpu);

}  // namespace
}  // namespace cosim

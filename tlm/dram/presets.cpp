// The DRAM presets and the energy-table entries derived from them.
//
// Timing: JEDEC speed-bin values converted to clock cycles (ceil(t / tCK), at least the
// standard's nCK minimum). Energy: per-command energies with the Micron TN-40-07 method
// ("Calculating Memory Power for DDR4 SDRAM"): the current drawn above the standby
// background while a command is in progress, times the supply voltage and the command's
// duration:
//   E_act = V (IDD0 tRC - (IDD3N tRAS + IDD2N (tRC - tRAS)))   one ACT with its PRE
//   E_rd  = V (IDD4R - IDD3N) t_burst                         core energy of a read burst
//   E_wr  = V (IDD4W - IDD3N) t_burst
//   E_ref = V (IDD5 - IDD3N) tRFC                             one all-bank refresh
// summed over supply domains and the devices of a rank. Background (standby, power-down)
// energy is not modelled. The interface energy per transferred bit comes on top.
#include "presets.h"

#include <cmath>

#include "cosim/energy.h"

namespace cosim::dram {
namespace {

// JEDEC rounding (JESD79-4 / JESD21-C SPD annex): nCK = floor(t / tCK + 0.974), computed
// with the exact clock period (tck_ps is a double: 833.33 ps for DDR4-2400), and at least
// the standard's minimum number of clocks.
unsigned ns_to_ck(double ns, double tck_ps, unsigned min_ck = 0) {
  const double ck = std::floor(ns * 1000.0 / tck_ps + 0.974);
  return std::max(min_ck, static_cast<unsigned>(ck));
}

// tREFI is a maximum average interval: round down.
std::uint64_t refi_ck(double ns, double tck_ps) {
  return static_cast<std::uint64_t>(std::floor(ns * 1000.0 / tck_ps + 1e-9));
}

Preset ddr4_2400() {
  Preset p;
  p.name = "ddr4_2400";
  p.title = "DDR4-2400R (8 Gb x8 devices, one rank of 8 on a 64-bit channel)";
  p.standard = "JESD79-4";
  p.source =
      "JESD79-4 DDR4-2400R speed bin (CL-tRCD-tRP 16-16-16) and 8 Gb x8 organisation, as "
      "in the Micron MT40A1G8-083E datasheet: tCK 0.833 ns, tRAS 32 ns, tRRD_S/L "
      "max(4 nCK, 3.3 / 4.9 ns), tFAW 21 ns (1 KB page), tCCD_S/L 4 / max(5 nCK, 5 ns), "
      "tWTR_S/L max(2 nCK, 2.5 ns) / max(4 nCK, 7.5 ns), tWR 15 ns, tRTP max(4 nCK, 7.5 ns), "
      "CWL 12, tRFC 350 ns (8 Gb), tREFI 7.8 us; tRTRS 2 nCK is a controller choice";
  p.org.channels = 1;
  p.org.ranks = 1;
  p.org.bankgroups = 4;
  p.org.banks_per_group = 4;
  p.org.rows = 65536;
  p.org.columns = 1024;
  p.org.bus_bytes = 8;
  p.org.burst_length = 8;
  Timing& t = p.timing;
  const double tck = 1e6 / 1200.0;  // 1200 MHz clock, 833.33 ps (simulated as 833 ps)
  t.tck_ps = 833;
  t.burst = 4;
  t.cl = 16;
  t.cwl = 12;
  t.rcd = 16;
  t.rp = 16;
  t.ras = ns_to_ck(32.0, tck);  // 39
  t.rc = t.ras + t.rp;               // 55
  t.rtp = ns_to_ck(7.5, tck, 4);
  t.wr = ns_to_ck(15.0, tck);
  t.rrd_s = ns_to_ck(3.3, tck, 4);
  t.rrd_l = ns_to_ck(4.9, tck, 4);
  t.faw = ns_to_ck(21.0, tck, 20);
  t.ccd_s = 4;
  t.ccd_l = ns_to_ck(5.0, tck, 5);
  t.wtr_s = ns_to_ck(2.5, tck, 2);
  t.wtr_l = ns_to_ck(7.5, tck, 4);
  t.rtrs = 2;
  t.rfc = ns_to_ck(350.0, tck);
  t.refi = refi_ck(7800.0, tck);
  p.default_mapping = "ro-ra-ba-co-bg-ch";
  EnergyBasis& e = p.energy;
  e.domains = {{1.2, 48, 34, 43, 135, 123, 250}};
  e.devices = 8;
  e.idd_source = "Micron MT40A1G8 (8 Gb x8 DDR4) datasheet, -083E: IDD0 48, IDD2N 34, IDD3N 43, "
                 "IDD4R 135, IDD4W 123, IDD5B 250 mA at VDD 1.2 V (VPP current not included)";
  e.io_source = "ddr4_interface_bit (15 pJ/bit for a row-hit access) "
                "minus the core read energy per bit, so a streaming read costs 15 pJ/bit";
  return p;
}

Preset lpddr4_3200() {
  Preset p;
  p.name = "lpddr4_3200";
  p.title = "LPDDR4-3200 (one x16 channel, 8 Gb per channel)";
  p.standard = "JESD209-4";
  p.source =
      "JESD209-4 LPDDR4-3200: tCK 0.625 ns, BL16, RL 28 / WL 14 (set A, DBI off), tRCD "
      "max(18 ns, 4 nCK), tRPpb max(18 ns, 4 nCK), tRAS max(42 ns, 3 nCK), tRRD max(10 ns, "
      "4 nCK), tFAW 40 ns, tCCD 8 nCK, tWTR max(10 ns, 8 nCK), tWR max(18 ns, 6 nCK), tRTP "
      "max(7.5 ns, 8 nCK), tRFCab 280 ns (8 Gb per channel), tREFI 3.904 us; 8 banks, no bank "
      "groups; 2-cycle commands (ACT-1/ACT-2 and RD/WR + CAS-2 take 4 clocks, PRE 2)";
  p.org.channels = 1;
  p.org.ranks = 1;
  p.org.bankgroups = 1;
  p.org.banks_per_group = 8;
  p.org.rows = 65536;
  p.org.columns = 1024;
  p.org.bus_bytes = 2;
  p.org.burst_length = 16;
  Timing& t = p.timing;
  const double tck = 625.0;
  t.tck_ps = 625;
  t.burst = 8;
  t.cl = 28;
  t.cwl = 14;
  t.rcd = ns_to_ck(18.0, tck, 4);
  t.rp = ns_to_ck(18.0, tck, 4);
  t.ras = ns_to_ck(42.0, tck, 3);
  t.rc = t.ras + t.rp;
  t.rtp = ns_to_ck(7.5, tck, 8);
  t.wr = ns_to_ck(18.0, tck, 6);
  t.rrd_s = t.rrd_l = ns_to_ck(10.0, tck, 4);
  t.faw = ns_to_ck(40.0, tck);
  t.ccd_s = t.ccd_l = 8;
  t.wtr_s = t.wtr_l = ns_to_ck(10.0, tck, 8);
  t.rtrs = 1;
  t.rfc = ns_to_ck(280.0, tck);
  t.refi = refi_ck(3904.0, tck);
  t.act_cycles = 4;
  t.col_cycles = 4;
  t.pre_cycles = 2;
  p.default_mapping = "ro-ra-ba-co-bg-ch";
  EnergyBasis& e = p.energy;
  // VDD1 (1.8 V) and VDD2 (1.1 V); IDD5 is the burst-refresh current.
  e.domains = {{1.8, 3.5, 2.0, 2.25, 2.25, 2.25, 10.0}, {1.1, 45.0, 27.0, 30.0, 275.0, 210.0, 90.0}};
  e.devices = 1;
  e.idd_source =
      "Micron 6 Gb LPDDR4-3200 x16 channel currents (as tabulated in the DRAMSys/DRAMPower "
      "memspec MICRON_6Gb_LPDDR4-3200): VDD1 1.8 V IDD01 3.5, IDD2N1 2.0, IDD3N1 2.25, "
      "IDD4R1/W1 2.25, IDD51 10 mA; VDD2 1.1 V IDD02 45, IDD2N2 27, IDD3N2 30, IDD4R2 275, "
      "IDD4W2 210, IDD52 90 mA";
  // I/O: VDDQ read current IDD4RQ 150 mA (IDD3NQ 0.75 mA) at 1.1 V over one BL16 burst.
  e.io_pj_per_bit = 1.1 * (150.0 - 0.75) * (8 * 0.625) / (16.0 * 16.0);
  e.io_source = "same memspec: VDDQ (1.1 V) read current IDD4RQ 150 mA above IDD3NQ 0.75 mA "
                "during a 5 ns BL16 burst of 256 bits";
  return p;
}

// HBM2 in pseudo-channel mode: each 128-bit channel splits into two 64-bit pseudo
// channels with their own banks and data bus; one preset channel is one pseudo channel.
Preset hbm2() {
  Preset p;
  p.name = "hbm2";
  p.title = "HBM2 2 Gb/s/pin, pseudo-channel mode (one stack: 8 channels x 2 pseudo channels)";
  p.standard = "JESD235";
  p.source =
      "JESD235 HBM2 at 2 Gb/s/pin (tCK 1 ns): 64-bit pseudo channels, BL4, 1 KB page, 16 "
      "banks in 4 bank groups, separate row and column command buses (ACT takes 2 cycles); "
      "CL 14, CWL 4, tRCD 14, tRP 14, tRAS 34, tRRD_S/L 4/6, tFAW 30, tWR 16, tWTR_S/L 6/8, "
      "tRTP 4, tCCD_S/L 2/4, tRFC 260 ns, tREFI 3.9 us, the parameter set of the DRAMsim3 "
      "HBM2_8Gb_x128 configuration (Li et al., IEEE CAL 2020)";
  p.org.channels = 16;
  p.org.ranks = 1;
  p.org.bankgroups = 4;
  p.org.banks_per_group = 4;
  p.org.rows = 32768;
  p.org.columns = 128;
  p.org.bus_bytes = 8;
  p.org.burst_length = 4;
  Timing& t = p.timing;
  t.tck_ps = 1000;
  t.burst = 2;
  t.cl = 14;
  t.cwl = 4;
  t.rcd = 14;
  t.rp = 14;
  t.ras = 34;
  t.rc = t.ras + t.rp;
  t.rtp = 4;
  t.wr = 16;
  t.rrd_s = 4;
  t.rrd_l = 6;
  t.faw = 30;
  t.ccd_s = 2;
  t.ccd_l = 4;
  t.wtr_s = 6;
  t.wtr_l = 8;
  t.rtrs = 1;
  t.rfc = 260;
  t.refi = 3900;
  t.act_cycles = 2;
  t.dual_command_bus = true;
  p.default_mapping = "ro-ra-ba-co-bg-ch";
  p.channel_mode = "pseudo";
  p.sibling = "hbm2_legacy";
  EnergyBasis& e = p.energy;
  e.domains = {{1.2, 65, 40, 55, 390, 500, 250}};
  e.devices = 1;
  e.share = 0.5;
  e.idd_source = "per-channel currents of the DRAMsim3 HBM2_8Gb_x128 configuration (Li et al., "
                 "IEEE CAL 2020): IDD0 65, IDD2N 40, IDD3N 55, IDD4R 390, IDD4W 500, IDD5AB 250 "
                 "mA at 1.2 V; a pseudo channel is charged half (half the page, half the "
                 "data per burst)";
  e.io_source = "hbm2_interface_bit (O'Connor et al. MICRO 2017, 3.9 pJ/bit) minus the core read "
                "energy per bit, so a streaming read costs 3.9 pJ/bit";
  return p;
}

// HBM2 in legacy mode (JESD235): the same stack as eight 128-bit channels. A BL4 burst
// moves 64 B in 2 clocks and an ACT opens a 2 KB page (both halves of the channel);
// 16 banks per channel, so the stack holds the same 8 GB as in pseudo-channel mode.
// Array timings as the hbm2 preset.
Preset hbm2_legacy() {
  Preset p = hbm2();
  p.name = "hbm2_legacy";
  p.title = "HBM2 2 Gb/s/pin, legacy mode (one stack: 8 x 128-bit channels, 64 B bursts)";
  p.source =
      "JESD235 HBM2 legacy mode at 2 Gb/s/pin (tCK 1 ns): 128-bit channels, BL4 (64 B per "
      "burst, 2 clocks), 2 KB page, 16 banks in 4 bank groups per channel, separate row and "
      "column command buses; array timings as the hbm2 (pseudo-channel) preset";
  p.org.channels = 8;
  p.org.bus_bytes = 16;
  p.org.columns = 128;  // 2 KB page of 16-byte columns
  p.channel_mode = "legacy";
  p.sibling = "hbm2";
  p.energy.share = 1.0;  // the whole channel's currents
  p.energy.idd_source = "per-channel currents of the DRAMsim3 HBM2_8Gb_x128 configuration (Li et al., "
                        "IEEE CAL 2020): IDD0 65, IDD2N 40, IDD3N 55, IDD4R 390, IDD4W 500, IDD5AB "
                        "250 mA at 1.2 V, charged in full to a 128-bit legacy channel";
  return p;
}

// HBM3: JESD238 data rate, width and organisation; the array timings are the HBM2
// nanosecond values (no public HBM3 speed-bin table was available to us), converted at
// the HBM3 clock, as Ramulator2's HBM3 model does.
Preset hbm3() {
  Preset p;
  p.name = "hbm3";
  p.title = "HBM3 6.4 Gb/s/pin (one stack: 16 channels x 2 pseudo channels)";
  p.standard = "JESD238";
  p.source =
      "JESD238 HBM3: 6.4 Gb/s/pin, 32-bit pseudo channels (two per 64-bit channel, 16 "
      "channels per stack), BL8, 1 KB page, 16 banks in 4 bank groups, separate row/column "
      "command buses; command clock 1.6 GHz (tCK 0.625 ns, 4 data beats per clock, so a "
      "BL8 burst is 2 clocks). Array timings in ns taken from the HBM2 preset (tRCD/tRP "
      "14, tRAS 34, CL 14, CWL 4, tRRD_S/L 4/6, tFAW 30, tWR 16, tWTR_S/L 6/8, tRTP 4 ns, "
      "tRFC 260 ns, tREFI 3.9 us) because no public HBM3 speed bin was available";
  p.org.channels = 32;
  p.org.ranks = 1;
  p.org.bankgroups = 4;
  p.org.banks_per_group = 4;
  p.org.rows = 32768;
  p.org.columns = 256;
  p.org.bus_bytes = 4;
  p.org.burst_length = 8;
  Timing& t = p.timing;
  const double tck = 625.0;
  t.tck_ps = 625;
  t.burst = 2;
  t.cl = ns_to_ck(14, tck);
  t.cwl = ns_to_ck(4, tck);
  t.rcd = ns_to_ck(14, tck);
  t.rp = ns_to_ck(14, tck);
  t.ras = ns_to_ck(34, tck);
  t.rc = t.ras + t.rp;
  t.rtp = ns_to_ck(4, tck);
  t.wr = ns_to_ck(16, tck);
  t.rrd_s = ns_to_ck(4, tck);
  t.rrd_l = ns_to_ck(6, tck);
  t.faw = ns_to_ck(30, tck);
  t.ccd_s = 2;
  t.ccd_l = 4;
  t.wtr_s = ns_to_ck(6, tck);
  t.wtr_l = ns_to_ck(8, tck);
  t.rtrs = 1;
  t.rfc = ns_to_ck(260, tck);
  t.refi = refi_ck(3900, tck);
  t.act_cycles = 2;
  t.dual_command_bus = true;
  p.default_mapping = "ro-ra-ba-co-bg-ch";
  EnergyBasis& e = p.energy;
  e.domains = hbm2().energy.domains;
  e.devices = 1;
  e.share = 0.5;
  e.core_scale = (1.1 / 1.2) * (1.1 / 1.2);
  e.burst_ns = 2.0;  // an HBM2 pseudo-channel burst moves the same 32 B in 2 ns
  e.idd_source = "HBM2 preset currents and per-burst energies (no public HBM3 IDD table "
                 "available), scaled by (1.1 V / 1.2 V)^2 for the JESD238 core supply";
  e.io_source = "HBM2 preset interface energy per bit (assumption: no public HBM3 figure)";
  return p;
}

double sum_domains(const Preset& p, double (*f)(const SupplyDomain&, const Preset&)) {
  double s = 0;
  for (const auto& d : p.energy.domains) s += f(d, p);
  return s * p.energy.devices * p.energy.share * p.energy.core_scale;
}

double ck_ns(const Preset& p, double cycles) { return cycles * double(p.timing.tck_ps) / 1000.0; }

double burst_time_ns(const Preset& p) {
  return p.energy.burst_ns > 0 ? p.energy.burst_ns : ck_ns(p, p.timing.burst);
}

std::vector<Preset> build() {
  std::vector<Preset> v = {ddr4_2400(), lpddr4_3200(), hbm2(), hbm2_legacy(), hbm3()};
  // Interface energy per bit where it is derived from a quoted total (see io_source).
  const double ddr4_interface = 15.0, hbm2_interface = 3.9;
  for (auto& p : v) {
    const double rd_per_bit = p.rd_pj() / (8.0 * p.org.burst_bytes());
    if (p.name == "ddr4_2400") p.energy.io_pj_per_bit = ddr4_interface - rd_per_bit;
    if (p.name == "hbm2" || p.name == "hbm2_legacy") p.energy.io_pj_per_bit = hbm2_interface - rd_per_bit;
  }
  for (auto& p : v)
    if (p.name == "hbm3")
      for (const auto& q : v)
        if (q.name == "hbm2") p.energy.io_pj_per_bit = q.energy.io_pj_per_bit;
  return v;
}

}  // namespace

double Preset::act_pj() const {
  return sum_domains(*this, [](const SupplyDomain& d, const Preset& p) {
    const double trc = ck_ns(p, p.timing.rc), tras = ck_ns(p, p.timing.ras);
    return d.volts * (d.idd0 * trc - (d.idd3n * tras + d.idd2n * (trc - tras)));
  });
}

double Preset::rd_pj() const {
  return sum_domains(*this, [](const SupplyDomain& d, const Preset& p) {
    return d.volts * (d.idd4r - d.idd3n) * burst_time_ns(p);
  });
}

double Preset::wr_pj() const {
  return sum_domains(*this, [](const SupplyDomain& d, const Preset& p) {
    return d.volts * (d.idd4w - d.idd3n) * burst_time_ns(p);
  });
}

double Preset::ref_pj() const {
  return sum_domains(*this, [](const SupplyDomain& d, const Preset& p) {
    return d.volts * (d.idd5 - d.idd3n) * ck_ns(p, p.timing.rfc);
  });
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> v = build();
  return v;
}

const Preset* find_preset(const std::string& name) {
  for (const auto& p : presets())
    if (p.name == name) return &p;
  return nullptr;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> out;
  for (const auto& p : presets()) out.push_back(p.name);
  return out;
}

std::string energy_key(const Preset& p, const char* what) { return "dram." + p.name + "." + what; }

namespace {

// Register every preset's energy entries at load time so the table is complete (and
// overridable) before any model exists.
struct RegisterPresetEnergy {
  RegisterPresetEnergy() {
    const auto F = EnergyScaling::Fixed;
    const std::string method = " (Micron TN-40-07 method; see tlm/dram/presets.cpp)";
    for (const auto& p : presets()) {
      const std::string src = p.energy.idd_source + method;
      energy_table().define({energy_key(p, "act"), p.act_pj(), "command", 0, F, src,
                             p.title + ": one ACT together with its PRE"});
      energy_table().define({energy_key(p, "rd"), p.rd_pj(), "burst", 0, F, src,
                             p.title + ": array/datapath energy of one read burst of " +
                                 std::to_string(p.org.burst_bytes()) + " B"});
      energy_table().define({energy_key(p, "wr"), p.wr_pj(), "burst", 0, F, src,
                             p.title + ": array/datapath energy of one write burst"});
      energy_table().define({energy_key(p, "ref"), p.ref_pj(), "command", 0, F, src,
                             p.title + ": one all-bank refresh of a rank"});
      energy_table().define({energy_key(p, "io"), p.energy.io_pj_per_bit, "bit", 0, F,
                             p.energy.io_source, p.title + ": interface energy per bit moved"});
    }
  }
};
const RegisterPresetEnergy reg_preset_energy;

}  // namespace
}  // namespace cosim::dram

// DRAM device presets: organisation, JEDEC timing (in clock cycles) and the current/
// voltage figures the per-command energies are derived from. One preset describes ONE
// channel as the controller sees it (an HBM pseudo channel, a DDR4 64-bit channel).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cosim::dram {

struct Organization {
  unsigned channels = 1;         // independent channels (HBM: pseudo channels)
  unsigned ranks = 1;
  unsigned bankgroups = 1;
  unsigned banks_per_group = 1;
  std::uint64_t rows = 0;        // per bank
  std::uint64_t columns = 0;     // column addresses per row, each bus_bytes wide
  unsigned bus_bytes = 8;        // data-bus width of the channel in bytes (one beat)
  unsigned burst_length = 8;     // beats per burst (BL)

  unsigned banks() const { return bankgroups * banks_per_group; }
  unsigned burst_bytes() const { return bus_bytes * burst_length; }
  std::uint64_t row_bytes() const { return columns * bus_bytes; }
  std::uint64_t bursts_per_row() const { return columns / burst_length; }
  std::uint64_t channel_bytes() const { return ranks * std::uint64_t(banks()) * rows * row_bytes(); }
  std::uint64_t capacity() const { return channels * channel_bytes(); }
};

// All in clock cycles (tCK) unless named otherwise.
struct Timing {
  std::uint64_t tck_ps = 0;
  unsigned burst = 4;      // cycles one burst occupies the data bus (BL/2 DDR, BL/4 HBM3)
  unsigned cl = 0;         // read latency (RL)
  unsigned cwl = 0;        // write latency (WL)
  unsigned rcd = 0;        // ACT to RD/WR
  unsigned rp = 0;         // PRE to ACT
  unsigned ras = 0;        // ACT to PRE
  unsigned rc = 0;         // ACT to ACT, same bank
  unsigned rtp = 0;        // RD to PRE
  unsigned wr = 0;         // end of write data to PRE (write recovery)
  unsigned rrd_s = 0;      // ACT to ACT, different bank group
  unsigned rrd_l = 0;      // ACT to ACT, same bank group
  unsigned faw = 0;        // window for four ACTs
  unsigned ccd_s = 0;      // column to column, different bank group
  unsigned ccd_l = 0;      // column to column, same bank group
  unsigned wtr_s = 0;      // end of write data to RD, different bank group
  unsigned wtr_l = 0;      // end of write data to RD, same bank group
  unsigned rtrs = 0;       // data-bus bubble when the driving rank changes
  unsigned rfc = 0;        // all-bank refresh cycle time
  std::uint64_t refi = 0;  // average refresh interval
  unsigned act_cycles = 1;  // command-bus cycles an ACT takes
  unsigned col_cycles = 1;  // ... a RD/WR
  unsigned pre_cycles = 1;  // ... a PRE/PREA/REF
  bool dual_command_bus = false;  // HBM: separate row and column command buses
};

// Current drawn per device in one supply domain (mA), for the Micron TN-40-07 method.
struct SupplyDomain {
  double volts = 0;
  double idd0 = 0, idd2n = 0, idd3n = 0, idd4r = 0, idd4w = 0, idd5 = 0;
};

struct EnergyBasis {
  std::vector<SupplyDomain> domains;
  double devices = 1;         // devices that make up one rank of the channel
  double share = 1;           // fraction of the device's figures one channel uses (HBM PC: 1/2)
  double core_scale = 1;      // extra factor on core energies (HBM3: (1.1 V / 1.2 V)^2)
  double io_pj_per_bit = 0;   // interface energy per transferred bit
  double burst_ns = 0;        // duration the read/write currents flow per burst (0: the burst)
  std::string idd_source;
  std::string io_source;
};

struct Preset {
  std::string name;           // "ddr4_2400"
  std::string title;          // "DDR4-2400 (8 Gb x8, 1 rank of 8 devices)"
  std::string standard;       // "JESD79-4"
  std::string source;         // where the organisation and timing come from
  Organization org;
  Timing timing;
  EnergyBasis energy;
  std::string default_mapping;  // address mapping, most to least significant field
  std::string channel_mode;     // HBM2: "pseudo" or "legacy" (empty: no such choice)
  std::string sibling;          // HBM2: the preset of the other channel mode

  double peak_bytes_per_s() const {
    return double(org.burst_bytes()) / (double(timing.burst) * double(timing.tck_ps) * 1e-12);
  }
  // Per-command energies in pJ (TN-40-07: energy above the standby background).
  double act_pj() const;    // one ACT with its PRE
  double rd_pj() const;     // core energy of one read burst
  double wr_pj() const;     // core energy of one write burst
  double ref_pj() const;    // one all-bank refresh of a rank
};

const std::vector<Preset>& presets();
const Preset* find_preset(const std::string& name);
std::vector<std::string> preset_names();

// Energy-table keys of a preset: "dram.<preset>.<what>", what in act, rd, wr, ref, io.
std::string energy_key(const Preset& p, const char* what);

}  // namespace cosim::dram

// The bank-command timing of near-data units: free of SystemC, like the dram model's
// engine, and driven by the same dram::Config (preset timing with the dram instance's
// overrides), so both paths obey one set of JEDEC numbers.
//
// Each unit runs a program of jobs; a job reads or writes a run of columns of one DRAM
// row in one of the unit's banks. A unit's sequencer sits next to its banks: it issues
// ACT / RD / WR / PRE itself (as the broadcast commands of Samsung's HBM-PIM all-bank
// mode or SK hynix AiM reach every bank at once), so the channel's command bus and
// data bus are not used and do not limit the units. What does limit them:
//
//   same bank   ACT->RD/WR tRCD, ACT->PRE tRAS, ACT->ACT tRC, PRE->ACT tRP, RD->PRE
//               tRTP, WR->PRE CWL+burst+tWR, column->column tCCD_L (reads and writes
//               of one bank), WR->RD CWL+burst+tWTR_L
//   channel     ACT->ACT tRRD_S (other bank group) / tRRD_L (same bank group) and four
//               ACTs per tFAW, over all units of the channel (the activation power
//               limits of the die); all-bank refresh every tREFI: every bank precharged,
//               then nothing for tRFC, at the dram engine's due times
//   unit        one column access per `unit_interval` cycles (the datapath takes one
//               burst-wide operand per access); columns in program order; a write waits
//               for the data it depends on: its last read + CL + `unit_latency`
//
// Read data reaches the unit CL after the RD (tAA; no serialisation onto the external
// bus). Within the program order a unit may open the banks of its next jobs early
// (up to banks_per_unit jobs ahead, not a bank an earlier unfinished job still uses).
// Among all units' next commands the earliest issues first (ties: column commands, then
// the lower unit). A unit's results are ready at max(last read + CL + unit_latency,
// last write + CWL + burst). The channel is handed back with every bank precharged.
#pragma once

#include <cstdint>
#include <vector>

#include "../dram/engine.h"

namespace cosim::ndp {

using dram::Cycle;

struct Job {
  unsigned bank = 0;          // the unit's own bank index, 0 .. banks_per_unit - 1
  std::uint64_t row = 0;
  unsigned col0 = 0, ncols = 0;
  bool write = false;
  int dep = -1;               // writes: index of the read job whose data they need
};

struct Counts {
  std::uint64_t act = 0, pre = 0, rd = 0, wr = 0, ref = 0;
};

struct ChannelSchedule {
  Cycle done = 0;                 // results ready and every bank precharged
  Cycle results = 0;              // latest unit result (before the closing precharge)
  Cycle closed = 0;               // banks may be activated again from here
  std::vector<Cycle> first_act;   // per unit of the channel (kNever: no work)
  std::vector<Cycle> unit_done;   // per unit: its results ready
  Counts counts;
};

class Sequencer {
 public:
  Sequencer(const dram::Config& cfg, unsigned units_per_channel, unsigned unit_interval,
            unsigned unit_latency);

  // The units of one channel run `programs` (one per unit of the channel; banks are
  // precharged and may be activated from `start`). Column reads wait for `read_floor`.
  ChannelSchedule run(const std::vector<std::vector<Job>>& programs, Cycle start, Cycle read_floor) const;

  unsigned unit_interval() const { return interval_; }
  unsigned unit_latency() const { return latency_; }

 private:
  dram::Config cfg_;
  unsigned units_, banks_per_unit_, interval_, latency_;
};

}  // namespace cosim::ndp

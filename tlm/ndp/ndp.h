// ndp: the near-data units' model class, for its Python bindings (ndp_py.cpp). What it
// models, its address map and its timing: ndp.cpp.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <tlm_utils/simple_target_socket.h>

#include "../dram/access.h"
#include "cosim/model.h"
#include "layout.h"
#include "rtl_datapath.h"
#include "sequencer.h"
#include "unit_ops.h"

namespace cosim::ndp {

class Ndp : public Model {
 public:
  SC_HAS_PROCESS(Ndp);

  Ndp(const sc_core::sc_module_name& name, const Params& p);

  const std::string& last_error() const { return last_error_; }
  std::string datapath() const { return rtl_ ? rtl_->library() : std::string(); }
  const Geometry& geometry() const { return geom_; }
  const Sequencer& sequencer() const { return seq_; }
  dram::DramAccess& memory() { return mem_; }
  const std::map<std::uint64_t, Region>& regions() const { return regions_; }
  std::uint64_t xbuf_bytes() const { return xbuf_.size(); }

  struct Report {
    std::string op;
    Picos issued = 0, start = 0, done = 0;
    Cycle start_cycle = 0, units_from = 0, read_floor = 0, done_cycle = 0;
    std::vector<Cycle> first_act;  // units of channel 0
    std::vector<Cycle> unit_done;  // units of channel 0
    std::vector<Cycle> channel_done;
    Counts counts;
    std::uint64_t internal_read = 0, internal_written = 0, external = 0;
    std::uint64_t macs = 0, alu_ops = 0;
  };
  const Report& last_report() const { return report_; }

  Region region_for(Kind kind, DType dtype, std::uint64_t m, std::uint64_t n, std::uint64_t base_row) const;

 private:
  static dram::DramAccess& find_memory(const std::string& name, const std::string& self);
  static Geometry build_geometry(const dram::Config& cfg, unsigned units, const std::string& self);

  // The units' GEMV datapath on RTL (rtl_datapath.h): it must take the dram's bursts,
  // hold the largest x and have the pipeline depth the sequencer assumes.
  void attach_datapath(const std::string& library);

  // ----------------------------------------------------------------- registers
  std::uint32_t reg(std::uint64_t off) const;
  std::uint64_t reg64(std::uint64_t off) const;
  void set_reg(std::uint64_t off, std::uint32_t v) { std::memcpy(&regs_[off], &v, 4); }
  void set_reg64(std::uint64_t off, std::uint64_t v) { std::memcpy(&regs_[off], &v, 8); }

  unsigned char* locate(tlm::tlm_generic_payload& gp);

  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);

  unsigned transport_dbg(tlm::tlm_generic_payload& gp);

  // ------------------------------------------------------------------ operands
  DType dtype_reg() const;

  std::string region_list() const;

  // The region registered at `addr` (operand `what` of the command), checked against the
  // shape and type the command states.
  const Region& operand(const char* what, std::uint64_t addr, Kind kind, DType dtype, std::uint64_t m,
                        std::uint64_t n) const;

  void check_address(const char* what, std::uint64_t addr, std::uint64_t* base_row) const;

  // ----------------------------------------------------------------- streams
  std::uint64_t round_burst(std::uint64_t b) const { return (b + geom_.burst_bytes - 1) / geom_.burst_bytes * geom_.burst_bytes; }

  std::vector<std::uint8_t> gather(const Region& r, unsigned unit, std::uint64_t bytes);

  void scatter(const Region& r, unsigned unit, const std::vector<std::uint8_t>& data);

  // Jobs for bytes [0, bytes) of a unit's stream in region r, split at DRAM rows.
  struct Chunk {
    unsigned bank;
    std::uint64_t k;  // the stream's DRAM row
    unsigned col0, ncols;
  };
  std::vector<Chunk> chunks(std::uint64_t bytes) const;
  Job job(const Region& r, const Chunk& c, bool write, int dep) const;

  // ------------------------------------------------------------------ commands
  struct Pending {
    const Region* region;
    unsigned unit;
    std::vector<std::uint8_t> data;
  };
  struct Plan {
    std::vector<std::vector<std::vector<Job>>> programs;  // [channel][unit]
    std::vector<Pending> writes;
    std::uint64_t x_bursts = 0;    // GEMV: bursts of x broadcast into each channel
    bool reduction = false;
    Partial result;
    DType dtype = DType::Int8;
    std::uint64_t macs = 0, alu_ops = 0;
  };

  EnergyEvent& op_event(const std::string& kind, const std::string& key, const std::string& desc);
  static const char* add_key(DType t);
  static const char* mult_key(DType t);
  void charge(const std::string& key, std::uint64_t n, const char* what);

  void program_shape();
  std::vector<Job>& program(unsigned unit);

  void layout_command(bool release);

  void gemv_command();

  void elementwise_command(std::uint32_t op);

  void reduce_command(bool is_max);

  // Wait until the controller has nothing queued, schedule the units channel by channel,
  // wait for the command to complete and commit its results.
  void execute_plan();

  std::uint64_t host_accesses() const;

  void execute(std::uint32_t op);

  void run();

  tlm_utils::simple_target_socket<Ndp, kBusWidth> socket_;
  dram::DramAccess& mem_;
  dram::Engine& engine_;
  const dram::Config& cfg_;
  Geometry geom_;
  Sequencer seq_;
  Picos command_latency_, register_latency_;
  std::vector<unsigned char> regs_, xbuf_;
  std::map<std::uint64_t, Region> regions_;
  Plan plan_;
  Report report_;
  Picos issued_ = 0;
  sc_core::sc_event start_, done_;
  std::string last_error_;
  std::uint32_t track_;
  Counter &errors_, &act_, &pre_, &rd_, &wr_, &ref_, &bytes_internal_, &bytes_external_, &busy_, &overlap_;
  Value &internal_bw_, &peak_internal_;
  EnergyEvent &e_act_, &e_rd_, &e_wr_, &e_io_, &e_buf_;
  std::map<std::string, EnergyEvent*> op_events_;
  std::map<std::string, Counter*> op_counts_;
  Counter* mem_reads_ = nullptr;
  Counter* mem_writes_ = nullptr;
  std::unique_ptr<RtlMacDatapath> rtl_;
  Counter* datapath_cycles_ = nullptr;
};

}  // namespace cosim::ndp

// dram: a JEDEC DRAM/HBM memory (controller + devices) behind one TLM target port; the
// model class, for its Python bindings (dram_py.cpp). See dram.cpp for how it works.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <tlm_utils/multi_passthrough_target_socket.h>

#include "cosim/model.h"
#include "access.h"
#include "engine.h"
#include "storage.h"

namespace cosim::dram {

class Dram : public Model, public DramAccess {
 public:
  SC_HAS_PROCESS(Dram);
  Dram(const sc_core::sc_module_name& name, const Params& p);

  Engine& engine() override { return *engine_; }
  const Preset& preset() const override { return preset_; }
  unsigned char* data() override { return store_.flat(); }
  std::uint64_t capacity() const override { return capacity_; }
  std::string instance_name() const override { return name(); }

  // Bytes moved (completed requests) per window of `window_ps()`, from time 0.
  const std::vector<std::uint64_t>& bandwidth_series() const { return window_bytes_; }
  Picos window_ps() const { return window_; }

 private:
  struct Request {
    tlm::tlm_generic_payload* gp = nullptr;
    unsigned pending = 0;
    Picos start = 0;     // issue: the initiator's time of the request (with its delay)
    Picos accepted = 0;  // the controller took it into its queue
    Picos done = 0;      // latest burst completion (+ backend latency)
    int initiator = -1;
    bool write = false;
    bool blocking = false;
    sc_core::sc_event* ev = nullptr;
  };
  struct PendingNb {
    int initiator;
    tlm::tlm_generic_payload* gp;
    Picos start;
  };

  static std::unique_ptr<Engine> build_engine(const Params& p, const std::string& name);
  std::string initiator_name(int id) const;
  bool check(int id, tlm::tlm_generic_payload& gp);
  void copy(tlm::tlm_generic_payload& gp);
  void bursts_of(const tlm::tlm_generic_payload& gp, std::vector<std::uint64_t>& out) const;
  bool fits(const std::vector<std::uint64_t>& bursts, bool write);
  std::uint32_t alloc_request();
  sc_core::sc_event* alloc_event();
  unsigned enqueue(const std::vector<std::uint64_t>& bursts, bool write, Picos arrival, std::uint32_t tag);
  void account(bool write, std::uint64_t len, Picos start, Picos accepted, Picos done);
  void b_transport(int id, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  void release(std::uint32_t tag);
  void finish_accounting(std::uint32_t tag);
  tlm::tlm_sync_enum nb_transport_fw(int id, tlm::tlm_generic_payload& gp, tlm::tlm_phase& phase,
                                     sc_core::sc_time& delay);
  bool admit_nb(int id, tlm::tlm_generic_payload& gp, Picos start, sc_core::sc_time& delay,
                const std::vector<std::uint64_t>& bursts);
  void send_response(std::uint32_t tag);
  void send_queued_responses(int id);
  bool on_space();
  bool deliver();
  Picos horizon(Picos now) const;
  void on_wake();
  unsigned transport_dbg(int, tlm::tlm_generic_payload& gp);
  bool get_direct_mem_ptr(int, tlm::tlm_generic_payload&, tlm::tlm_dmi&) { return false; }

  tlm_utils::multi_passthrough_target_socket<Dram, kBusWidth> socket_;
  std::unique_ptr<Engine> engine_;
  const Preset& preset_;
  bool posted_writes_;
  Picos frontend_, backend_, window_;
  std::uint64_t capacity_ = 0;
  Storage store_;
  sc_core::sc_event wake_, space_ev_;
  bool in_engine_ = false;
  unsigned space_waiters_ = 0;
  std::vector<Request> reqs_;
  std::vector<std::uint32_t> free_;
  std::vector<std::unique_ptr<sc_core::sc_event>> events_;
  std::vector<sc_core::sc_event*> free_events_;
  std::deque<PendingNb> pending_nb_;
  std::vector<char> resp_busy_;  // per initiator: a BEGIN_RESP awaits its END_RESP
  std::vector<std::deque<std::uint32_t>> resp_queue_;
  std::vector<Completion> done_batch_;
  std::vector<std::uint64_t> scratch_;
  std::vector<unsigned> counts_;
  std::vector<std::uint64_t> window_bytes_;
  bool any_ = false;
  Picos first_ = 0, last_ = 0;
  Counter &reads_, &writes_, &bytes_read_, &bytes_written_, &errors_, &forwards_, &merges_;
  Histogram& read_latency_;
  Histogram& read_latency_accepted_;
  Average& write_latency_;
  Average& occupancy_;
  Value& bandwidth_;
  Value& peak_;
  Value& window_peak_;
};

}  // namespace cosim::dram

// trace_player: an AT (non-blocking) C++ initiator that replays a DRAMsim3 or Ramulator
// memory trace (trace.h) into a memory system, without Python in the loop.
//
// Closed loop: requests go out in trace order as fast as the target accepts them, at most
// `outstanding` in flight; a response frees a slot and the next request goes out at the
// response's time (annotated, no context switch), as at_traffic_gen does.
// Open loop: each request goes out at its trace time (cycle x `cycle`, plus `start`), or
// later when `outstanding` requests are in flight; an SC_METHOD wakes at trace times, so
// a request never reaches the target before its time.
// Base protocol (IEEE 1666-2011, 15.2): BEGIN_REQ, END_REQ before the next BEGIN_REQ,
// BEGIN_RESP answered with TLM_COMPLETED. The trace is read and checked when the model
// is built: a bad file stops the run before anything is simulated.
#include <tlm_utils/simple_initiator_socket.h>

#include "cosim/model.h"
#include "trace.h"

namespace cosim::dram {
namespace {

class TracePlayer : public Model {
 public:
  SC_HAS_PROCESS(TracePlayer);

  TracePlayer(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "trace_player", p),
        socket_("initiator"),
        trace_(load(p, this->name())),
        open_loop_(p.get_string("mode") == "open"),
        outstanding_(unsigned(p.get_uint("outstanding"))),
        size_(unsigned(p.get_uint("size"))),
        base_(p.get_uint("base")),
        cycle_(p.get_time_ps("cycle")),
        start_(p.get_time_ps("start")),
        reads_(counter("reads", "read requests completed")),
        writes_(counter("writes", "write requests completed")),
        bytes_(counter("bytes", "bytes transferred", "B")),
        latency_(histogram("latency", 0.0, 5000.0, 500, "BEGIN_REQ to BEGIN_RESP", "ns")),
        lateness_(average("issue_lateness", "open loop: issue time minus trace time", "ns")),
        finish_(value("finish_time", "simulated time of the last response", "ps")),
        bandwidth_(value("bandwidth", "bytes / (last response - start)", "B/s")) {
    expose_initiator("initiator", socket_);
    expose_event("done", done_);
    socket_.register_nb_transport_bw(this, &TracePlayer::nb_transport_bw);
    payloads_.reset(new tlm::tlm_generic_payload[outstanding_]);
    buffers_.resize(std::size_t(outstanding_) * size_);
    for (std::size_t i = 0; i < buffers_.size(); ++i) buffers_[i] = static_cast<unsigned char>(i * 13 + 7);
    for (unsigned i = outstanding_; i-- > 0;) free_.push_back(i);
    issue_time_.assign(outstanding_, 0);
    slot_free_.assign(outstanding_, 0);
    SC_METHOD(on_wake);
    sensitive << wake_;
  }

 private:
  static std::vector<TraceRequest> load(const Params& p, const std::string& self) {
    try {
      if (p.get_string("file").empty()) throw std::invalid_argument("parameter 'file' names no trace");
      return read_trace(p.get_string("file"), trace_format(p.get_string("format")));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("trace_player '" + self + "': " + e.what());
    }
  }

  Picos trace_time(std::size_t i) const { return start_ + trace_[i].cycle * cycle_; }

  void on_wake() { pump(); }

  // Issue requests while slots are free and the target accepts them.
  void pump() {
    if (in_pump_) {
      repump_ = true;
      return;
    }
    in_pump_ = true;
    do {
      repump_ = false;
      while (next_ < trace_.size() && !free_.empty() && !waiting_end_req_) {
        const Picos now = now_ps();
        if (open_loop_) {  // the slot free soonest: the count in flight at each time is what limits
          std::size_t k = free_.size() - 1;
          for (std::size_t j = 0; j + 1 < free_.size(); ++j)
            if (slot_free_[free_[j]] < slot_free_[free_[k]]) k = j;
          std::swap(free_[k], free_.back());
        }
        const unsigned slot = free_.back();
        Picos at = std::max(slot_free_[slot], open_loop_ ? trace_time(next_) : start_);
        if (open_loop_ && at > now) {  // not yet: wake at its time
          wake_.notify(from_ps(at - now));
          break;
        }
        issue_one(std::max(at, now));
      }
    } while (repump_);
    in_pump_ = false;
  }

  void issue_one(Picos at) {
    const unsigned i = free_.back();
    free_.pop_back();
    const TraceRequest& r = trace_[next_];
    if (open_loop_) lateness_.sample(double(at - trace_time(next_)) / 1000.0);
    ++next_;
    tlm::tlm_generic_payload& gp = payloads_[i];
    gp.set_command(r.write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    gp.set_address(base_ + r.address);
    gp.set_data_ptr(&buffers_[std::size_t(i) * size_]);
    gp.set_data_length(size_);
    gp.set_streaming_width(size_);
    gp.set_byte_enable_ptr(nullptr);
    gp.set_dmi_allowed(false);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    const Picos now = now_ps();
    issue_time_[i] = at;
    tlm::tlm_phase ph = tlm::BEGIN_REQ;
    sc_core::sc_time d = from_ps(at - now);
    const tlm::tlm_sync_enum s = socket_->nb_transport_fw(gp, ph, d);
    if (s == tlm::TLM_ACCEPTED) {
      waiting_end_req_ = true;
      awaiting_ = i;
    } else if (s == tlm::TLM_COMPLETED || ph == tlm::BEGIN_RESP) {
      response(i, now + to_ps(d));
    }
  }

  void response(unsigned i, Picos at) {
    tlm::tlm_generic_payload& gp = payloads_[i];
    if (!gp.is_response_ok()) {
      ErrorInfo* info = nullptr;
      gp.get_extension(info);
      const std::string why = std::string(command_name(gp.get_command())) + " at " + hex(gp.get_address()) +
                              " (trace request " + std::to_string(completed_ + 1) + ") got " +
                              response_name(gp.get_response_status()) + " from '" +
                              (info ? info->target : std::string("?")) + "'" +
                              (info && !info->message.empty() ? ": " + info->message : "");
      clear_error_info(gp);
      SC_REPORT_ERROR("cosim/trace_player", (std::string(name()) + ": " + why).c_str());
      return;
    }
    (gp.is_read() ? reads_ : writes_).inc();
    bytes_.inc(size_);
    latency_.sample(double(at - issue_time_[i]) / 1000.0);
    ++completed_;
    last_ = std::max(last_, at);
    slot_free_[i] = at;
    free_.push_back(i);
    if (completed_ == trace_.size()) {
      finish_.set(double(last_));
      if (last_ > start_) bandwidth_.set(double(bytes_.value()) / (double(last_ - start_) * 1e-12));
      done_.notify(from_ps(last_ - now_ps()));
      return;
    }
    pump();
  }

  tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& phase, sc_core::sc_time& delay) {
    const Picos at = now_ps() + to_ps(delay);
    const unsigned i = unsigned(&gp - payloads_.get());
    if (phase == tlm::END_REQ) {
      waiting_end_req_ = false;
      // The next request cannot go out before this one was accepted.
      for (auto& t : slot_free_) t = std::max(t, at);
      pump();
      return tlm::TLM_ACCEPTED;
    }
    if (phase == tlm::BEGIN_RESP) {
      if (waiting_end_req_ && i == awaiting_) waiting_end_req_ = false;
      response(i, at);
      return tlm::TLM_COMPLETED;
    }
    SC_REPORT_ERROR("cosim/trace_player", (std::string(name()) + ": unexpected phase on nb_transport_bw").c_str());
    return tlm::TLM_COMPLETED;
  }

  tlm_utils::simple_initiator_socket<TracePlayer, kBusWidth> socket_;
  std::vector<TraceRequest> trace_;
  bool open_loop_;
  unsigned outstanding_, size_;
  std::uint64_t base_;
  Picos cycle_, start_;
  std::unique_ptr<tlm::tlm_generic_payload[]> payloads_;
  std::vector<unsigned char> buffers_;
  std::vector<unsigned> free_;
  std::vector<Picos> issue_time_, slot_free_;
  std::size_t next_ = 0, completed_ = 0;
  Picos last_ = 0;
  bool in_pump_ = false, repump_ = false, waiting_end_req_ = false;
  unsigned awaiting_ = 0;
  sc_core::sc_event wake_, done_;
  Counter &reads_, &writes_, &bytes_;
  Histogram& latency_;
  Average& lateness_;
  Value& finish_;
  Value& bandwidth_;
};

ModelSpec trace_player_spec() {
  ModelSpec s;
  s.name = "trace_player";
  s.summary = "Replays a DRAMsim3 or Ramulator memory trace, open or closed loop (AT initiator)";
  s.doc =
      "Reads `file` when built (format 'dramsim3': '<address> <READ|WRITE> <cycle>' lines; "
      "'ramulator': '<address> <R|W>' lines; '#' comments and blank lines skipped) and "
      "refuses a malformed line naming file and line. Closed loop: requests in trace order, "
      "as fast as the target accepts them, at most `outstanding` in flight. Open loop: each "
      "request at start + cycle x its trace cycle (a Ramulator trace: one per cycle), later "
      "only if `outstanding` are in flight (stat issue_lateness). Each request moves `size` "
      "bytes at base + its address. Notifies event 'done' at the last response.";
  s.source = "Trace formats of DRAMsim3 (Li et al., IEEE CAL 2020) and Ramulator (Kim et al., IEEE CAL 2015).";
  s.params = {
      string_param("file", "", {}, "trace file path"),
      string_param("format", "dramsim3", {"dramsim3", "ramulator"}, "trace format"),
      string_param("mode", "closed", {"closed", "open"},
                   "closed: as fast as accepted; open: at the trace's times"),
      int_param("outstanding", 32, 1, 4096, "", "requests in flight at most"),
      int_param("size", 64, 1, 1 << 20, "B", "bytes per request"),
      int_param("base", 0, 0, INT64_MAX, "B", "added to every trace address"),
      time_param("cycle", 1000, 1, 1'000'000'000, "length of one trace cycle (DRAMsim3 traces count memory clock "
                                                  "cycles: use the dram's tCK)"),
      time_param("start", 0, 0, 1'000'000'000'000ULL, "time of trace cycle 0"),
  };
  s.ports = {{"initiator", PortKind::TlmInitiator, "bind to the memory system", false},
             {"done", PortKind::Event, "notified at the last response", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new TracePlayer(n, p); };
  return s;
}

const RegisterModel reg_trace_player(trace_player_spec());

}  // namespace
}  // namespace cosim::dram

// at_traffic_gen: an approximately-timed (AT, non-blocking) C++ initiator that keeps up to
// `outstanding` requests in flight, for measuring a memory system's bandwidth and
// latency under load without Python in the loop (the LT traffic_gen has one request in
// flight at a time).
//
// Base protocol (IEEE 1666-2011, 15.2): BEGIN_REQ, then END_REQ (immediate or later)
// before the next BEGIN_REQ; a BEGIN_RESP is answered with TLM_COMPLETED. The
// generator issues a new request the moment a response frees a slot, at the response's
// annotated time, so it never waits in the kernel: issuing and completing are
// timestamps, not context switches. Addresses are aligned to `size` in [base, base+span),
// sequential (wrapping) or uniformly random; each access is a read with probability
// read_fraction, or follows the repeating `rw_pattern` ("RRW": two reads, one write) when
// one is given. Error responses stop the run with a SystemC error naming the address.
#include <random>
#include <tlm_utils/simple_initiator_socket.h>

#include "cosim/model.h"

namespace cosim {
namespace {

class AtTrafficGen : public Model {
 public:
  SC_HAS_PROCESS(AtTrafficGen);

  AtTrafficGen(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "at_traffic_gen", p),
        socket_("initiator"),
        count_(p.get_uint("count")),
        outstanding_(unsigned(p.get_uint("outstanding"))),
        size_(unsigned(p.get_uint("size"))),
        read_fraction_(p.get_float("read_fraction")),
        base_(p.get_uint("base")),
        span_(p.get_uint("span")),
        random_(p.get_string("pattern") == "random"),
        rw_pattern_(p.get_string("rw_pattern")),
        start_(p.get_time_ps("start")),
        rng_(std::uint64_t(p.get_int("seed"))),
        reads_(counter("reads", "read transactions completed")),
        writes_(counter("writes", "write transactions completed")),
        bytes_(counter("bytes", "bytes transferred", "B")),
        latency_(histogram("latency", 0.0, 5000.0, 500, "BEGIN_REQ to BEGIN_RESP", "ns")),
        finish_(value("finish_time", "simulated time of the last response", "ps")),
        bandwidth_(value("bandwidth", "bytes / (last response - start)", "B/s")) {
    if (span_ < size_)
      throw std::invalid_argument("at_traffic_gen '" + std::string(this->name()) +
                                  "': span must be at least size");
    for (char c : rw_pattern_)
      if (c != 'R' && c != 'W')
        throw std::invalid_argument("at_traffic_gen '" + std::string(this->name()) + "': rw_pattern '" +
                                    rw_pattern_ + "' may hold only R and W");
    slots_ = span_ / size_;
    expose_initiator("initiator", socket_);
    expose_event("done", done_);
    socket_.register_nb_transport_bw(this, &AtTrafficGen::nb_transport_bw);
    payloads_.reset(new tlm::tlm_generic_payload[outstanding_]);
    buffers_.resize(std::size_t(outstanding_) * size_);
    for (std::size_t i = 0; i < buffers_.size(); ++i) buffers_[i] = static_cast<unsigned char>(i * 13 + 7);
    for (unsigned i = 0; i < outstanding_; ++i) free_.push_back(i);
    issue_time_.assign(outstanding_, 0);
    SC_THREAD(run);
  }

 private:
  void run() {
    if (count_ == 0) {
      done_.notify(sc_core::SC_ZERO_TIME);
      return;
    }
    ready_at_ = now_ps() + start_;
    pump();
  }

  // Issue requests while slots are free and the target accepts them.
  void pump() {
    if (in_pump_) {
      repump_ = true;
      return;
    }
    in_pump_ = true;
    do {
      repump_ = false;
      while (issued_ < count_ && !free_.empty() && !waiting_end_req_) issue_one();
    } while (repump_);
    in_pump_ = false;
  }

  void issue_one() {
    const unsigned i = free_.back();
    free_.pop_back();
    tlm::tlm_generic_payload& gp = payloads_[i];
    const std::uint64_t slot = random_ ? rng_() % slots_ : next_slot_;
    next_slot_ = next_slot_ + 1 == slots_ ? 0 : next_slot_ + 1;
    // All-read or all-write traffic draws no coin, so its address sequence is the plain
    // seeded sequence (the benchmark's C++ baseline draws the same one).
    bool read;
    if (!rw_pattern_.empty()) {
      read = rw_pattern_[rw_next_] == 'R';
      rw_next_ = rw_next_ + 1 == rw_pattern_.size() ? 0 : rw_next_ + 1;
    } else {
      read = read_fraction_ >= 1.0 || (read_fraction_ > 0.0 && coin_(rng_) < read_fraction_);
    }
    gp.set_command(read ? tlm::TLM_READ_COMMAND : tlm::TLM_WRITE_COMMAND);
    gp.set_address(base_ + slot * size_);
    gp.set_data_ptr(&buffers_[std::size_t(i) * size_]);
    gp.set_data_length(size_);
    gp.set_streaming_width(size_);
    gp.set_byte_enable_ptr(nullptr);
    gp.set_dmi_allowed(false);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    ++issued_;
    const Picos now = now_ps();
    const Picos at = std::max(ready_at_, now);
    issue_time_[i] = at;
    tlm::tlm_phase ph = tlm::BEGIN_REQ;
    sc_core::sc_time d = from_ps(at - now);
    const tlm::tlm_sync_enum s = socket_->nb_transport_fw(gp, ph, d);
    if (s == tlm::TLM_ACCEPTED) {
      waiting_end_req_ = true;
      awaiting_ = i;
    } else if (s == tlm::TLM_COMPLETED) {
      response(i, now + to_ps(d));
    } else if (ph == tlm::BEGIN_RESP) {  // END_REQ skipped: the response is here
      response(i, now + to_ps(d));
    }
  }

  void response(unsigned i, Picos at) {
    tlm::tlm_generic_payload& gp = payloads_[i];
    if (!gp.is_response_ok()) {
      ErrorInfo* info = nullptr;
      gp.get_extension(info);
      const std::string why = std::string(command_name(gp.get_command())) + " at " + hex(gp.get_address()) +
                              " got " + response_name(gp.get_response_status()) + " from '" +
                              (info ? info->target : std::string("?")) + "'" +
                              (info && !info->message.empty() ? ": " + info->message : "");
      clear_error_info(gp);
      SC_REPORT_ERROR("cosim/at_traffic_gen", (std::string(name()) + ": " + why).c_str());
      return;
    }
    (gp.is_read() ? reads_ : writes_).inc();
    bytes_.inc(size_);
    latency_.sample(double(at - issue_time_[i]) / 1000.0);
    ++completed_;
    last_ = std::max(last_, at);
    ready_at_ = at;
    free_.push_back(i);
    if (completed_ == count_) {
      finish_.set(double(last_));
      const Picos t0 = start_;
      if (last_ > t0) bandwidth_.set(double(bytes_.value()) / (double(last_ - t0) * 1e-12));
      done_.notify(from_ps(last_ - now_ps()));
      return;
    }
    pump();
  }

  unsigned index_of(tlm::tlm_generic_payload& gp) const {
    return unsigned(&gp - payloads_.get());
  }

  tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& phase,
                                     sc_core::sc_time& delay) {
    const Picos at = now_ps() + to_ps(delay);
    if (phase == tlm::END_REQ) {
      waiting_end_req_ = false;
      ready_at_ = std::max(ready_at_, at);
      pump();
      return tlm::TLM_ACCEPTED;
    }
    if (phase == tlm::BEGIN_RESP) {
      // BEGIN_RESP also ends the request phase of that transaction.
      if (waiting_end_req_ && index_of(gp) == awaiting_) waiting_end_req_ = false;
      response(index_of(gp), at);
      return tlm::TLM_COMPLETED;
    }
    SC_REPORT_ERROR("cosim/at_traffic_gen",
                    (std::string(name()) + ": unexpected phase on nb_transport_bw").c_str());
    return tlm::TLM_COMPLETED;
  }

  tlm_utils::simple_initiator_socket<AtTrafficGen, kBusWidth> socket_;
  std::uint64_t count_;
  unsigned outstanding_, size_;
  double read_fraction_;
  std::uint64_t base_, span_, slots_ = 1;
  bool random_;
  std::string rw_pattern_;
  std::size_t rw_next_ = 0;
  Picos start_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> coin_{0.0, 1.0};
  std::unique_ptr<tlm::tlm_generic_payload[]> payloads_;
  std::vector<unsigned char> buffers_;
  std::vector<unsigned> free_;
  std::vector<Picos> issue_time_;
  std::uint64_t issued_ = 0, completed_ = 0, next_slot_ = 0;
  Picos ready_at_ = 0, last_ = 0;
  bool in_pump_ = false, repump_ = false, waiting_end_req_ = false;
  unsigned awaiting_ = 0;  // the payload whose END_REQ is awaited
  sc_core::sc_event done_;
  Counter &reads_, &writes_, &bytes_;
  Histogram& latency_;
  Value& finish_;
  Value& bandwidth_;
};

ModelSpec at_traffic_gen_spec() {
  ModelSpec s;
  s.name = "at_traffic_gen";
  s.summary = "AT (non-blocking) traffic with up to `outstanding` requests in flight";
  s.doc =
      "Issues `count` accesses of `size` bytes inside [base, base+span), sequential or "
      "random, reads with probability read_fraction (or in the repeating order rw_pattern), "
      "keeping up to `outstanding` in "
      "flight (TLM-2.0 base protocol over nb_transport). A new request goes out at the "
      "time a response frees a slot. Notifies event 'done' at the last response.";
  s.source = "Synthetic workload; no timing of its own.";
  s.params = {
      int_param("count", 1000, 0, std::int64_t(1) << 40, "", "number of transactions"),
      int_param("outstanding", 16, 1, 4096, "", "requests in flight at most"),
      int_param("size", 64, 1, 1 << 20, "B", "bytes per transaction"),
      float_param("read_fraction", 1.0, 0.0, 1.0, "", "probability that an access is a read"),
      int_param("base", 0, 0, INT64_MAX, "B", "lowest address"),
      int_param("span", 1 << 26, 1, INT64_MAX, "B", "size of the address window (>= size)"),
      string_param("pattern", "sequential", {"sequential", "random"}, "address pattern"),
      string_param("rw_pattern", "", {},
                   "deterministic read/write order, repeated: R and W characters ('RRW': two reads, "
                   "then a write); empty: each access is a read with probability read_fraction"),
      int_param("seed", 1, 0, INT64_MAX, "", "random seed"),
      time_param("start", 0, 0, 1'000'000'000'000ULL, "time of the first request"),
  };
  s.ports = {{"initiator", PortKind::TlmInitiator, "bind to the memory system", false},
             {"done", PortKind::Event, "notified at the last response", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* {
    return new AtTrafficGen(n, p);
  };
  return s;
}

const RegisterModel reg_at_traffic_gen(at_traffic_gen_spec());

}  // namespace
}  // namespace cosim

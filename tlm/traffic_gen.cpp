// traffic_gen: a C++ initiator that issues a seeded stream of reads and writes, for
// loading a memory system and measuring it without Python in the loop.
//
// Addresses are aligned to `size` inside [base, base+span), sequential (wrapping) or
// uniformly random; each access is a read with probability read_fraction. With
// `decoupled` the generator keeps a local time offset and synchronises once per global
// quantum (IEEE 1666-2011, 16.2 tlm_quantumkeeper), the usual loosely-timed style;
// otherwise it waits out every annotated delay. An error response stops the simulation
// with a SystemC error naming the address and the responder (stop_on_error), or is only
// counted.
#include <random>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "cosim/model.h"
#include "cosim/trace.h"

namespace cosim {
namespace {

class TrafficGen : public Model {
 public:
  SC_HAS_PROCESS(TrafficGen);

  TrafficGen(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "traffic_gen", p),
        socket_("initiator"),
        count_(p.get_uint("count")),
        read_fraction_(p.get_float("read_fraction")),
        size_(static_cast<unsigned>(p.get_uint("size"))),
        base_(p.get_uint("base")),
        span_(p.get_uint("span")),
        random_(p.get_string("pattern") == "random"),
        interval_(from_ps(p.get_time_ps("interval"))),
        decoupled_(p.get_bool("decoupled")),
        stop_on_error_(p.get_bool("stop_on_error")),
        rng_(static_cast<std::uint64_t>(p.get_int("seed"))),
        track_(tracer().track(this->name())),
        reads_(counter("reads", "read transactions")),
        writes_(counter("writes", "write transactions")),
        bytes_(counter("bytes", "bytes transferred", "B")),
        errors_(counter("errors", "error responses")),
        latency_(average("latency", "annotated latency per transaction", "ps")),
        finish_(value("finish_time", "simulated time when the last transaction completed", "ps")) {
    if (span_ < size_)
      throw std::invalid_argument(std::string("traffic_gen '") + this->name() +
                                  "': span must be at least size");
    expose_initiator("initiator", socket_);
    expose_event("done", done_);
    SC_THREAD(run);
    set_stack_size(kPythonSafeStackBytes);
  }

 private:
  void run() {
    std::vector<unsigned char> buf(size_);
    for (unsigned i = 0; i < size_; ++i) buf[i] = static_cast<unsigned char>(i * 7 + 1);
    tlm::tlm_generic_payload gp;
    tlm_utils::tlm_quantumkeeper qk;
    qk.reset();
    std::uniform_real_distribution<double> coin(0.0, 1.0);
    const std::uint64_t slots = span_ / size_;
    std::uint64_t next = 0;
    for (std::uint64_t i = 0; i < count_; ++i) {
      const std::uint64_t slot = random_ ? rng_() % slots : next;
      next = next + 1 == slots ? 0 : next + 1;
      const bool read = coin(rng_) < read_fraction_;
      gp.set_command(read ? tlm::TLM_READ_COMMAND : tlm::TLM_WRITE_COMMAND);
      gp.set_address(base_ + slot * size_);
      gp.set_data_ptr(buf.data());
      gp.set_data_length(size_);
      gp.set_streaming_width(size_);
      gp.set_byte_enable_ptr(nullptr);
      gp.set_dmi_allowed(false);
      gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
      sc_core::sc_time d = decoupled_ ? qk.get_local_time() : sc_core::SC_ZERO_TIME;
      const sc_core::sc_time d0 = d;
      socket_->b_transport(gp, d);
      const sc_core::sc_time lat = d - d0;
      latency_.sample(static_cast<double>(to_ps(lat)));
      tracer().transaction(track_, gp.get_command(), gp.get_address(), size_,
                           now_ps() + to_ps(d0), to_ps(lat), gp.get_response_status());
      if (!gp.is_response_ok()) {
        errors_.inc();
        ErrorInfo* info = nullptr;
        gp.get_extension(info);
        const std::string why = std::string(command_name(gp.get_command())) + " at " +
                                hex(gp.get_address()) + " got " +
                                response_name(gp.get_response_status()) + " from '" +
                                (info ? info->target : std::string("?")) + "'" +
                                (info && !info->message.empty() ? ": " + info->message : "");
        clear_error_info(gp);
        if (stop_on_error_)
          SC_REPORT_ERROR("cosim/traffic_gen", (std::string(name()) + ": " + why).c_str());
      } else if (read) {
        reads_.inc();
        bytes_.inc(size_);
      } else {
        writes_.inc();
        bytes_.inc(size_);
      }
      if (decoupled_) {
        qk.set(d + interval_);
        if (qk.need_sync()) qk.sync();
      } else {
        sc_core::wait(d + interval_);
      }
    }
    if (decoupled_) qk.sync();
    finish_.set(static_cast<double>(now_ps()));
    done_.notify();
  }

  tlm_utils::simple_initiator_socket<TrafficGen, kBusWidth> socket_;
  std::uint64_t count_;
  double read_fraction_;
  unsigned size_;
  std::uint64_t base_, span_;
  bool random_;
  sc_core::sc_time interval_;
  bool decoupled_, stop_on_error_;
  std::mt19937_64 rng_;
  sc_core::sc_event done_;
  std::uint32_t track_;
  Counter &reads_, &writes_, &bytes_, &errors_;
  Average& latency_;
  Value& finish_;
};

ModelSpec traffic_gen_spec() {
  ModelSpec s;
  s.name = "traffic_gen";
  s.summary = "Seeded C++ read/write traffic (sequential or random), loosely timed";
  s.doc =
      "Issues `count` accesses of `size` bytes inside [base, base+span), each a read with "
      "probability read_fraction; waits `interval` after each. Notifies event 'done' at the "
      "end. Uses the global quantum when decoupled.";
  s.source = "Synthetic workload; no timing of its own beyond `interval`.";
  s.params = {
      int_param("count", 1000, 0, std::int64_t(1) << 40, "", "number of transactions"),
      float_param("read_fraction", 0.75, 0.0, 1.0, "", "probability that an access is a read"),
      int_param("size", 8, 1, 4096, "B", "bytes per transaction"),
      int_param("base", 0, 0, INT64_MAX, "B", "lowest address"),
      int_param("span", 4096, 1, INT64_MAX, "B", "size of the address window (>= size)"),
      string_param("pattern", "sequential", {"sequential", "random"}, "address pattern"),
      int_param("seed", 1, 0, INT64_MAX, "", "random seed"),
      time_param("interval", 0, 0, 1'000'000'000'000ULL, "idle time after each transaction"),
      bool_param("decoupled", true, "run ahead of kernel time up to the global quantum"),
      bool_param("stop_on_error", true, "an error response stops the run with a SystemC error"),
  };
  s.ports = {{"initiator", PortKind::TlmInitiator, "bind to the memory system", false},
             {"done", PortKind::Event, "notified after the last transaction", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* {
    return new TrafficGen(n, p);
  };
  return s;
}

const RegisterModel reg_traffic_gen(traffic_gen_spec());

}  // namespace
}  // namespace cosim

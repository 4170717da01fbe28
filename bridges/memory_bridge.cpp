// Memory-master bridge: the RTL's memory request port becomes TLM transactions into the
// system (a memory, a router, a DRAM model), and the RTL stalls for the latency the
// target annotates.
//
// A request transfers at a rising edge where req_valid (RTL) and req_ready (bridge) are
// both high; the bridge then issues one b_transport of ceil(width(wdata)/8) bytes at
// address_offset + addr, at the time of that edge (passed as the local-time offset of
// the clock thread, TLM-2.0 loosely-timed style). The response, rsp_valid with rsp_rdata
// for a read, is presented at the first edge at or after the completion time the target
// annotated (at least one edge after the request, responses in request order), for one
// cycle. req_ready is high while fewer than max_outstanding requests are in flight. An
// error response stops the run with a message naming the access and the target.
#include <tlm_utils/simple_initiator_socket.h>

#include <vector>

#include "bridges.h"

namespace cosim::rtl {
namespace {

class MemoryBridge final : public Adapter {
 public:
  tlm_utils::simple_initiator_socket<MemoryBridge, kBusWidth> socket;

  MemoryBridge(RtlBlock& b, const std::string& name, Pin& req_valid, Pin& req_ready, Pin& write,
               Pin& addr, Pin& wdata, Pin& rsp_valid, Pin& rsp_rdata, std::uint32_t max_outstanding,
               std::uint64_t offset)
      : Adapter(b, name),
        socket(name.c_str()),
        req_valid_(req_valid), req_ready_(req_ready), write_(write), addr_(addr), wdata_(wdata),
        rsp_valid_(rsp_valid), rsp_rdata_(rsp_rdata),
        bytes_(wdata.bytes()),
        offset_(offset),
        slots_(max_outstanding),
        staging_(bytes_),
        reads_(b.stat_counter(name + ".reads", "read requests issued by the RTL")),
        writes_(b.stat_counter(name + ".writes", "write requests issued by the RTL")),
        bytes_moved_(b.stat_counter(name + ".bytes", "bytes read and written", "B")),
        late_(b.stat_counter(name + ".late_requests",
                             "requests issued after kernel time had passed their edge")),
        latency_(b.stat_average(name + ".latency_cycles", "request to response, per request", "cycles")) {
    for (auto& s : slots_) s.data.resize(bytes_);
  }

  void drive(std::uint64_t n, Picos) override {
    req_ready_.set_bit(count_ < slots_.size());
    const Slot* head = count_ > 0 ? &slots_[head_] : nullptr;
    respond_ = head != nullptr && head->edge <= n;
    rsp_valid_.set_bit(respond_);
    if (respond_ && !head->write) rsp_rdata_.write(head->data.data());
  }

  void sample() override {
    request_ = count_ < slots_.size() && req_valid_.bit();
    if (request_) {
      req_write_ = write_.bit();
      req_addr_ = addr_.get();
      if (req_write_) wdata_.read(staging_.data());
    }
  }

  void commit(std::uint64_t n, Picos t) override {
    if (respond_) {
      latency_.sample(static_cast<double>(n - slots_[head_].issued));
      head_ = (head_ + 1) % slots_.size();
      --count_;
      block_.work_finished();
    }
    if (request_) issue(n, t);
  }

  unsigned hooks() const override { return kDrive | kSample | kCommit; }

 private:
  struct Slot {
    std::uint64_t edge = 0;    // edge at which the response is presented
    std::uint64_t issued = 0;  // edge of the request
    bool write = false;
    std::vector<std::uint8_t> data;
  };

  void issue(std::uint64_t n, Picos t) {
    Slot& s = slots_[(head_ + count_) % slots_.size()];
    s.write = req_write_;
    s.issued = n;
    if (req_write_) s.data = staging_;
    const std::uint64_t address = offset_ + req_addr_;
    gp_.set_command(req_write_ ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    gp_.set_address(address);
    gp_.set_data_ptr(s.data.data());
    gp_.set_data_length(bytes_);
    gp_.set_streaming_width(bytes_);
    gp_.set_byte_enable_ptr(nullptr);
    gp_.set_byte_enable_length(0);
    gp_.set_dmi_allowed(false);
    gp_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    Picos now = now_ps();
    if (t < now) late_.inc();
    sc_core::sc_time delay = from_ps(t > now ? t - now : 0);
    socket->b_transport(gp_, delay);
    if (!gp_.is_response_ok()) {
      ErrorInfo* info = nullptr;
      gp_.get_extension(info);
      const std::string who = info != nullptr ? info->target : std::string("the target");
      const std::string why = info != nullptr && !info->message.empty() ? ": " + info->message : "";
      clear_error_info(gp_);
      block_.fail("memory bridge '" + name_ + "': " + (req_write_ ? "write" : "read") + " of " +
                  std::to_string(bytes_) + " B at " + hex(address) + " (cycle " + std::to_string(n) +
                  ") got " + response_name(gp_.get_response_status()) + " from '" + who + "'" + why);
    }
    now = now_ps();
    const Picos done = now + to_ps(delay);
    const Picos p = block_.period();
    std::uint64_t edge = (done + p - 1) / p;  // first edge at or after completion
    edge = std::max(edge, n + 1);
    if (count_ > 0) edge = std::max(edge, last_edge_ + 1);
    s.edge = edge;
    last_edge_ = edge;
    ++count_;
    block_.work_started();
    (req_write_ ? writes_ : reads_).inc();
    bytes_moved_.inc(bytes_);
  }

  Pin &req_valid_, &req_ready_, &write_, &addr_, &wdata_, &rsp_valid_, &rsp_rdata_;
  std::uint32_t bytes_;
  std::uint64_t offset_;
  std::vector<Slot> slots_;  // ring of in-flight requests
  std::size_t head_ = 0, count_ = 0;
  std::uint64_t last_edge_ = 0;
  std::vector<std::uint8_t> staging_;
  bool request_ = false, respond_ = false, req_write_ = false;
  std::uint64_t req_addr_ = 0;
  tlm::tlm_generic_payload gp_;
  Counter &reads_, &writes_, &bytes_moved_, &late_;
  Average& latency_;
};

}  // namespace

Port& add_memory_master(RtlBlock& b, const std::string& name, const std::string& req_valid,
                        const std::string& req_ready, const std::string& write,
                        const std::string& addr, const std::string& wdata,
                        const std::string& rsp_valid, const std::string& rsp_rdata,
                        std::uint32_t max_outstanding, std::uint64_t address_offset) {
  b.check_bridge_name(name);
  if (max_outstanding < 1 || max_outstanding > 1024)
    throw std::invalid_argument(b.label() + ", bridge '" + name + "': max_outstanding must be 1..1024");
  Pin& rv = b.claim_pin(name, "req_valid", req_valid, PinDir::Output, 1, 1);
  Pin& rr = b.claim_pin(name, "req_ready", req_ready, PinDir::Input, 1, 1);
  Pin& we = b.claim_pin(name, "write", write, PinDir::Output, 1, 1);
  Pin& ad = b.claim_pin(name, "addr", addr, PinDir::Output, 1, 64);
  Pin& wd = b.claim_pin(name, "wdata", wdata, PinDir::Output, 8, 1024);
  Pin& sv = b.claim_pin(name, "rsp_valid", rsp_valid, PinDir::Input, 1, 1);
  Pin& sd = b.claim_pin(name, "rsp_rdata", rsp_rdata, PinDir::Input, wd.width(), wd.width());
  if (wd.width() % 8 != 0)
    throw std::invalid_argument(b.label() + ", bridge '" + name + "': pin '" + wdata + "' is " +
                                std::to_string(wd.width()) + " bits; memory data must be whole bytes");
  RtlBlock::ChildScope scope(b);
  auto bridge = std::make_unique<MemoryBridge>(b, name, rv, rr, we, ad, wd, sv, sd, max_outstanding,
                                               address_offset);
  b.expose_bridge_initiator(name, bridge->socket);
  b.add_adapter(std::move(bridge));
  return *b.find_port(name);
}

}  // namespace cosim::rtl

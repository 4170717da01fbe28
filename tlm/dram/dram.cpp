// dram: a JEDEC DRAM/HBM memory (controller + devices) behind one TLM target port.
//
// The timing engine (engine.h) holds the per-channel FR-FCFS queues and the bank, rank
// and bus state; this file connects it to SystemC:
//
// - b_transport (LT initiators: Python sockets, DMA lanes, fabric): the request's bursts
//   are queued with its arrival time (kernel time + annotated delay) and the calling
//   thread waits until the last burst's data has been transferred. Posted writes
//   (default) are answered as soon as the controller has accepted them.
// - nb_transport_fw (AT initiators with many requests in flight, e.g. at_traffic_gen):
//   BEGIN_REQ is accepted at once while the queue has room (END_REQ later otherwise);
//   BEGIN_RESP is sent with the completion time as annotated delay, as soon as that time
//   is known.
//
// Commands are decided in global time order by one SC_METHOD. It commits every command
// that lies before the next pending activity of the whole simulation
// (sc_time_to_pending_activity): nothing can arrive before then, so the decisions are
// final. With only C++ AT initiators in the system that is the whole run in one
// activation; with waiting threads it is up to the next completion. An idle memory
// schedules nothing (refreshes due while idle are issued when the next request comes).
//
// Functional data lives in anonymous memory (MAP_NORESERVE): untouched pages cost no host
// RAM. Reads return what was written, at the time of the access.
#include <sys/mman.h>

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <random>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include "cosim/model.h"
#include "cosim/python.h"
#include "access.h"
#include "engine.h"

namespace cosim {
namespace {

using dram::Cycle;
using dram::Engine;
using dram::kNever;

constexpr std::uint32_t kPosted = 0xffffffffu;

// Timing parameters that can override the preset: name, member, doc.
struct TimingParam {
  const char* name;
  unsigned dram::Timing::*member;
  const char* doc;
};
const TimingParam kTimingParams[] = {
    {"tCL", &dram::Timing::cl, "read latency (RL)"},
    {"tCWL", &dram::Timing::cwl, "write latency (WL)"},
    {"tRCD", &dram::Timing::rcd, "ACT to RD/WR"},
    {"tRP", &dram::Timing::rp, "PRE to ACT"},
    {"tRAS", &dram::Timing::ras, "ACT to PRE"},
    {"tRC", &dram::Timing::rc, "ACT to ACT in one bank"},
    {"tRTP", &dram::Timing::rtp, "RD to PRE"},
    {"tWR", &dram::Timing::wr, "write recovery (end of write data to PRE)"},
    {"tRRD_S", &dram::Timing::rrd_s, "ACT to ACT, different bank group"},
    {"tRRD_L", &dram::Timing::rrd_l, "ACT to ACT, same bank group"},
    {"tFAW", &dram::Timing::faw, "four-activate window"},
    {"tCCD_S", &dram::Timing::ccd_s, "column to column, different bank group"},
    {"tCCD_L", &dram::Timing::ccd_l, "column to column, same bank group"},
    {"tWTR_S", &dram::Timing::wtr_s, "write to read, different bank group"},
    {"tWTR_L", &dram::Timing::wtr_l, "write to read, same bank group"},
    {"tRTRS", &dram::Timing::rtrs, "rank-to-rank data-bus bubble"},
    {"tRFC", &dram::Timing::rfc, "all-bank refresh cycle time"},
};

std::string preset_choices_doc() {
  std::string s;
  for (const auto& p : dram::presets()) s += (s.empty() ? "" : "; ") + p.name + ": " + p.title;
  return s;
}

dram::Config make_config(const Params& p) {
  const std::string& name = p.get_string("preset");
  const dram::Preset* pr = dram::find_preset(name);
  if (pr == nullptr) throw std::invalid_argument("unknown DRAM preset '" + name + "'");
  dram::Config c;
  c.preset = pr->name;
  c.org = pr->org;
  c.timing = pr->timing;
  if (p.get_uint("channels") != 0) c.org.channels = unsigned(p.get_uint("channels"));
  if (p.get_uint("ranks") != 0) c.org.ranks = unsigned(p.get_uint("ranks"));
  for (const auto& tp : kTimingParams)
    if (p.get_uint(tp.name) != 0) c.timing.*tp.member = unsigned(p.get_uint(tp.name));
  if (p.get_uint("tREFI") != 0) c.timing.refi = p.get_uint("tREFI");
  c.page = dram::page_policy(p.get_string("page_policy"));
  c.mapping = p.get_string("mapping").empty() ? pr->default_mapping : p.get_string("mapping");
  c.bank_xor = p.get_bool("bank_xor");
  c.read_queue = unsigned(p.get_uint("read_queue"));
  c.write_queue = unsigned(p.get_uint("write_queue"));
  c.write_high = p.get_uint("write_high") != 0 ? unsigned(p.get_uint("write_high"))
                                               : (c.write_queue * 3 + 3) / 4;
  c.write_low = p.get_uint("write_low") != 0 ? unsigned(p.get_uint("write_low")) : c.write_queue / 4;
  c.row_hit_cap = unsigned(p.get_uint("row_hit_cap"));
  c.refresh = p.get_bool("refresh");
  return c;
}

class Dram : public Model, public dram::DramAccess {
 public:
  SC_HAS_PROCESS(Dram);

  Dram(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "dram", p),
        socket_("target"),
        engine_(build_engine(p, this->name())),
        preset_(*dram::find_preset(p.get_string("preset"))),
        posted_writes_(p.get_bool("posted_writes")),
        frontend_(p.get_time_ps("frontend_latency")),
        backend_(p.get_time_ps("backend_latency")),
        reads_(counter("reads", "read requests")),
        writes_(counter("writes", "write requests")),
        bytes_read_(counter("bytes_read", "bytes read", "B")),
        bytes_written_(counter("bytes_written", "bytes written", "B")),
        errors_(counter("errors", "requests answered with an error response")),
        forwards_(counter("write_forwards", "read bursts served from the write queue")),
        merges_(counter("write_merges", "write bursts merged into a queued write")),
        read_latency_(histogram("read_latency", 0.0, 2000.0, 400,
                                "read request latency, arrival to last data beat", "ns")),
        write_latency_(average("write_latency",
                               "write request latency (to acceptance when writes are posted)", "ns")),
        occupancy_(average("queue_occupancy", "bursts queued in the request's channel at arrival")),
        bandwidth_(value("bandwidth", "bytes moved / (last completion - first arrival)", "B/s")),
        peak_(value("peak_bandwidth", "peak data-bus bandwidth of all channels", "B/s")) {
    capacity_ = engine_->capacity();
    void* m = ::mmap(nullptr, capacity_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<unsigned char*>(m);
    peak_.set(preset_.peak_bytes_per_s() * engine_->channels());
    expose_target("target", socket_, true);
    socket_.register_b_transport(this, &Dram::b_transport);
    socket_.register_nb_transport_fw(this, &Dram::nb_transport_fw);
    socket_.register_transport_dbg(this, &Dram::transport_dbg);
    socket_.register_get_direct_mem_ptr(this, &Dram::get_direct_mem_ptr);
    SC_METHOD(on_wake);
    sensitive << wake_;
    dont_initialize();
  }
  ~Dram() override { ::munmap(data_, capacity_); }

  Engine& engine() override { return *engine_; }
  const dram::Preset& preset() const override { return preset_; }
  unsigned char* data() override { return data_; }
  std::uint64_t capacity() const override { return capacity_; }
  std::string instance_name() const override { return name(); }

 private:
  struct Request {
    tlm::tlm_generic_payload* gp = nullptr;
    unsigned pending = 0;
    Picos start = 0;  // arrival at the controller (before the frontend latency)
    Picos done = 0;   // latest burst completion (+ backend latency)
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

  // Configuration errors become ParameterError in Python (create_model maps
  // std::invalid_argument); the message names the instance.
  static std::unique_ptr<Engine> build_engine(const Params& p, const std::string& name) {
    try {
      return std::make_unique<Engine>(make_config(p), name);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("dram '" + name + "': " + e.what());
    }
  }

  std::string initiator_name(int id) const {
    const Port* port = find_port("target");
    if (port != nullptr && id >= 0 && std::size_t(id) < port->peers.size()) return port->peers[std::size_t(id)];
    return "initiator #" + std::to_string(id);
  }

  bool check(int id, tlm::tlm_generic_payload& gp) {
    const std::uint64_t a = gp.get_address();
    const std::uint64_t len = gp.get_data_length();
    std::string why;
    tlm::tlm_response_status st = tlm::TLM_GENERIC_ERROR_RESPONSE;
    if (!gp.is_read() && !gp.is_write()) {
      why = "only read and write commands are supported";
      st = tlm::TLM_COMMAND_ERROR_RESPONSE;
    } else if (gp.get_data_ptr() == nullptr || len == 0) {
      why = "payload has no data buffer";
    } else if (gp.get_streaming_width() < len) {
      why = "streaming width " + std::to_string(gp.get_streaming_width()) +
            " < length is not supported by a DRAM";
      st = tlm::TLM_BURST_ERROR_RESPONSE;
    } else if (a >= capacity_ || len > capacity_ - a) {
      why = "access [" + hex(a) + ", " + hex(a + len - 1) + "] is outside the DRAM [0x0, " +
            hex(capacity_ - 1) + "] (" + std::to_string(capacity_) + " B)";
      st = tlm::TLM_ADDRESS_ERROR_RESPONSE;
    }
    if (why.empty()) return true;
    errors_.inc();
    set_error(gp, st, name(), why + "; requested by '" + initiator_name(id) + "'");
    return false;
  }

  void copy(tlm::tlm_generic_payload& gp) {
    const std::uint64_t a = gp.get_address();
    const unsigned len = gp.get_data_length();
    unsigned char* d = gp.get_data_ptr();
    const unsigned char* be = gp.get_byte_enable_ptr();
    const unsigned be_len = gp.get_byte_enable_length();
    if (be == nullptr) {
      if (gp.is_read())
        std::memcpy(d, data_ + a, len);
      else
        std::memcpy(data_ + a, d, len);
      return;
    }
    for (unsigned i = 0; i < len; ++i) {
      if (be[i % be_len] == TLM_BYTE_DISABLED) continue;
      if (gp.is_read())
        d[i] = data_[a + i];
      else
        data_[a + i] = d[i];
    }
  }

  // The bursts of a request: addresses aligned to the burst size.
  void bursts_of(const tlm::tlm_generic_payload& gp, std::vector<std::uint64_t>& out) const {
    const std::uint64_t bb = engine_->burst_bytes();
    const std::uint64_t first = gp.get_address() / bb * bb;
    const std::uint64_t last = (gp.get_address() + gp.get_data_length() - 1) / bb * bb;
    out.clear();
    for (std::uint64_t b = first; b <= last; b += bb) out.push_back(b);
  }

  bool fits(const std::vector<std::uint64_t>& bursts, bool write) {
    counts_.assign(engine_->channels(), 0);
    for (auto b : bursts) ++counts_[engine_->channel_of(b)];
    for (unsigned c = 0; c < counts_.size(); ++c)
      if (counts_[c] != 0 && !engine_->fits(c, write, counts_[c])) return false;
    return true;
  }

  std::uint32_t alloc_request() {
    if (free_.empty()) {
      reqs_.emplace_back();
      return std::uint32_t(reqs_.size() - 1);
    }
    const std::uint32_t i = free_.back();
    free_.pop_back();
    return i;
  }

  sc_core::sc_event* alloc_event() {
    if (free_events_.empty()) {
      events_.push_back(std::make_unique<sc_core::sc_event>());
      return events_.back().get();
    }
    sc_core::sc_event* e = free_events_.back();
    free_events_.pop_back();
    return e;
  }

  // Queue the bursts of an admitted request. Returns the number of bursts that go to the
  // DRAM (reads served from the write queue and merged writes do not).
  unsigned enqueue(const std::vector<std::uint64_t>& bursts, bool write, Picos arrival,
                   std::uint32_t tag) {
    const Cycle arr = engine_->cycle_of_ps(arrival);
    unsigned n = 0;
    for (auto b : bursts) {
      const unsigned ch = engine_->channel_of(b);
      occupancy_.sample(double(engine_->queued(ch, false) + engine_->queued(ch, true)));
      if (engine_->write_queued(ch, b)) {
        (write ? merges_ : forwards_).inc();
        continue;
      }
      engine_->push(b, write, arr, tag);
      ++n;
    }
    if (!in_engine_) wake_.notify(sc_core::SC_ZERO_TIME);
    return n;
  }

  void account(bool write, std::uint64_t len, Picos start, Picos done) {
    if (write) {
      writes_.inc();
      bytes_written_.inc(len);
      write_latency_.sample(double(done - start) / 1000.0);
    } else {
      reads_.inc();
      bytes_read_.inc(len);
      read_latency_.sample(double(done - start) / 1000.0);
    }
    if (!any_) {
      first_ = start;
      any_ = true;
    }
    first_ = std::min(first_, start);
    last_ = std::max(last_, done);
    if (last_ > first_)
      bandwidth_.set(double(bytes_read_.value() + bytes_written_.value()) /
                     (double(last_ - first_) * 1e-12));
  }

  // ----------------------------------------------------------------- LT: b_transport
  void b_transport(int id, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (!check(id, gp)) return;
    copy(gp);
    const bool write = gp.is_write();
    const Picos start = now_ps() + to_ps(delay);
    Picos arrival = start + frontend_;
    std::vector<std::uint64_t> bursts;
    bursts_of(gp, bursts);
    while (!fits(bursts, write)) {
      ++space_waiters_;
      sc_core::wait(space_ev_);
      --space_waiters_;
      arrival = std::max(arrival, now_ps() + frontend_);
    }
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
    if (write && posted_writes_) {
      enqueue(bursts, true, arrival, kPosted);
      account(true, gp.get_data_length(), start, arrival);
      delay = from_ps(arrival - now_ps());
      return;
    }
    const std::uint32_t tag = alloc_request();
    Request& r = reqs_[tag];
    r = Request{};
    r.gp = &gp;
    r.start = start;
    r.write = write;
    r.blocking = true;
    r.ev = alloc_event();
    r.done = arrival + backend_;
    r.pending = enqueue(bursts, write, arrival, tag);
    if (reqs_[tag].pending == 0) {  // served from the write queue
      finish_accounting(tag);
      delay = from_ps(reqs_[tag].done - now_ps());
      release(tag);
      return;
    }
    sc_core::sc_event* ev = reqs_[tag].ev;
    sc_core::wait(*ev);
    delay = sc_core::SC_ZERO_TIME;
    release(tag);
  }

  void release(std::uint32_t tag) {
    Request& r = reqs_[tag];
    if (r.ev != nullptr) free_events_.push_back(r.ev);
    r = Request{};
    free_.push_back(tag);
  }

  void finish_accounting(std::uint32_t tag) {
    const Request& r = reqs_[tag];
    account(r.write, r.gp->get_data_length(), r.start, r.done);
  }

  // ------------------------------------------------------------ AT: nb_transport_fw
  tlm::tlm_sync_enum nb_transport_fw(int id, tlm::tlm_generic_payload& gp, tlm::tlm_phase& phase,
                                     sc_core::sc_time& delay) {
    if (phase == tlm::BEGIN_REQ) {
      if (!check(id, gp)) {
        phase = tlm::BEGIN_RESP;
        return tlm::TLM_COMPLETED;
      }
      const Picos start = now_ps() + to_ps(delay);
      std::vector<std::uint64_t>& bursts = scratch_;
      bursts_of(gp, bursts);
      if (!pending_nb_.empty() || !fits(bursts, gp.is_write())) {
        pending_nb_.push_back({id, &gp, start});
        return tlm::TLM_ACCEPTED;
      }
      if (admit_nb(id, gp, start, delay, bursts)) {
        phase = tlm::BEGIN_RESP;
        return tlm::TLM_COMPLETED;
      }
      phase = tlm::END_REQ;
      return tlm::TLM_UPDATED;
    }
    if (phase == tlm::END_RESP) {
      if (std::size_t(id) < resp_busy_.size()) resp_busy_[std::size_t(id)] = 0;
      send_queued_responses(id);
      return tlm::TLM_COMPLETED;
    }
    SC_REPORT_ERROR("cosim/dram", (std::string(name()) + ": unexpected phase on nb_transport_fw from '" +
                                   initiator_name(id) + "' (base protocol: BEGIN_REQ, END_RESP)")
                                      .c_str());
    return tlm::TLM_COMPLETED;
  }

  // Admit an AT request whose bursts fit. Returns true when it completed at once (posted
  // write or served from the write queue); `delay` then holds its completion time.
  // `bursts` are the request's burst addresses (bursts_of).
  bool admit_nb(int id, tlm::tlm_generic_payload& gp, Picos start, sc_core::sc_time& delay,
                const std::vector<std::uint64_t>& bursts) {
    copy(gp);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
    const bool write = gp.is_write();
    const Picos arrival = std::max(start, now_ps()) + frontend_;
    if (write && posted_writes_) {
      enqueue(bursts, true, arrival, kPosted);
      account(true, gp.get_data_length(), start, arrival);
      delay = from_ps(arrival - now_ps());
      return true;
    }
    const std::uint32_t tag = alloc_request();
    Request& r = reqs_[tag];
    r = Request{};
    r.gp = &gp;
    r.start = start;
    r.write = write;
    r.initiator = id;
    r.done = arrival + backend_;
    r.pending = enqueue(bursts, write, arrival, tag);
    if (reqs_[tag].pending == 0) {
      finish_accounting(tag);
      delay = from_ps(reqs_[tag].done - now_ps());
      release(tag);
      return true;
    }
    return false;
  }

  void send_response(std::uint32_t tag) {
    Request& r = reqs_[tag];
    const int id = r.initiator;
    if (std::size_t(id) >= resp_busy_.size()) {
      resp_busy_.resize(std::size_t(id) + 1, 0);
      resp_queue_.resize(std::size_t(id) + 1);
    }
    if (resp_busy_[std::size_t(id)]) {
      resp_queue_[std::size_t(id)].push_back(tag);
      return;
    }
    tlm::tlm_generic_payload& gp = *r.gp;
    const Picos now = now_ps();
    sc_core::sc_time d = from_ps(r.done > now ? r.done - now : 0);
    release(tag);
    tlm::tlm_phase ph = tlm::BEGIN_RESP;
    const tlm::tlm_sync_enum s = socket_[id]->nb_transport_bw(gp, ph, d);
    if (s == tlm::TLM_ACCEPTED || (s == tlm::TLM_UPDATED && ph == tlm::BEGIN_RESP))
      resp_busy_[std::size_t(id)] = 1;  // wait for END_RESP
  }

  void send_queued_responses(int id) {
    if (std::size_t(id) >= resp_queue_.size()) return;
    auto& q = resp_queue_[std::size_t(id)];
    while (!q.empty() && !resp_busy_[std::size_t(id)]) {
      const std::uint32_t tag = q.front();
      q.pop_front();
      send_response(tag);
    }
  }

  // Space freed in a queue: admit waiting AT requests (in order), wake LT threads.
  // Returns true if it called or notified anyone.
  bool on_space() {
    bool called = false;
    while (!pending_nb_.empty()) {
      PendingNb p = pending_nb_.front();
      bursts_of(*p.gp, scratch_);
      if (!fits(scratch_, p.gp->is_write())) break;
      pending_nb_.pop_front();
      sc_core::sc_time d = sc_core::SC_ZERO_TIME;
      const bool done = admit_nb(p.initiator, *p.gp, p.start, d, scratch_);
      tlm::tlm_phase ph = done ? tlm::BEGIN_RESP : tlm::END_REQ;
      socket_[p.initiator]->nb_transport_bw(*p.gp, ph, d);
      called = true;
    }
    if (space_waiters_ > 0) {
      space_ev_.notify();
      called = true;
    }
    return called;
  }

  // ------------------------------------------------------------------ the scheduler
  // Returns true if it notified anyone (which may create new activity).
  bool deliver() {
    std::vector<dram::Completion>& c = engine_->completions();
    if (c.empty()) return false;
    bool called = false;
    done_batch_.swap(c);
    c.clear();
    const Picos now = now_ps();
    for (const auto& d : done_batch_) {
      if (d.tag == kPosted) continue;
      Request& r = reqs_[d.tag];
      r.done = std::max(r.done, engine_->ps_of_cycle(d.cycle) + backend_);
      if (--r.pending != 0) continue;
      finish_accounting(d.tag);
      called = true;
      if (r.blocking)
        r.ev->notify(from_ps(r.done - now));
      else
        send_response(d.tag);
    }
    done_batch_.clear();
    return called;
  }

  // Time of the next activity anywhere in the simulation: commands before it are final.
  Picos horizon(Picos now) const {
    const sc_core::sc_time t = sc_core::sc_time_to_pending_activity();
    const Picos dt = to_ps(t);
    const Picos room = ~Picos(0) - now;
    return dt >= room ? ~Picos(0) : now + dt;
  }

  void on_wake() {
    in_engine_ = true;
    const Picos now = now_ps();
    const Cycle floor = engine_->cycle_of_ps(now);
    // The horizon only moves when code outside the engine ran (a response delivered, an
    // AT request admitted): recompute it then, not for every command.
    Picos h = horizon(now);
    for (;;) {
      unsigned ch = 0;
      const Cycle t = engine_->next(floor, &ch);
      if (t == kNever) break;
      const Picos tp = engine_->ps_of_cycle(t);
      if (tp > now && tp >= h) {
        wake_.notify(from_ps(tp - now));
        break;
      }
      engine_->issue(ch, floor);
      bool called_out = deliver();
      if (engine_->take_freed()) called_out |= on_space();
      if (called_out) h = horizon(now);
    }
    in_engine_ = false;
  }

  // ------------------------------------------------------------------ untimed access
  unsigned transport_dbg(int, tlm::tlm_generic_payload& gp) {
    const std::uint64_t a = gp.get_address();
    if (a >= capacity_) return 0;
    const std::uint64_t n = std::min<std::uint64_t>(gp.get_data_length(), capacity_ - a);
    if (gp.is_read())
      std::memcpy(gp.get_data_ptr(), data_ + a, n);
    else if (gp.is_write())
      std::memcpy(data_ + a, gp.get_data_ptr(), n);
    return static_cast<unsigned>(n);
  }

  // Direct access would bypass the timing model.
  bool get_direct_mem_ptr(int, tlm::tlm_generic_payload&, tlm::tlm_dmi&) { return false; }

  tlm_utils::multi_passthrough_target_socket<Dram, kBusWidth> socket_;
  std::unique_ptr<Engine> engine_;
  const dram::Preset& preset_;
  bool posted_writes_;
  Picos frontend_, backend_;
  std::uint64_t capacity_ = 0;
  unsigned char* data_ = nullptr;
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
  std::vector<dram::Completion> done_batch_;
  std::vector<std::uint64_t> scratch_;
  std::vector<unsigned> counts_;
  bool any_ = false;
  Picos first_ = 0, last_ = 0;
  Counter &reads_, &writes_, &bytes_read_, &bytes_written_, &errors_, &forwards_, &merges_;
  Histogram& read_latency_;
  Average& write_latency_;
  Average& occupancy_;
  Value& bandwidth_;
  Value& peak_;
};

ModelSpec dram_spec() {
  ModelSpec s;
  s.name = "dram";
  s.summary = "JEDEC DRAM/HBM: per-channel FR-FCFS controller and device timing, refresh, energy";
  s.doc =
      "Presets DDR4-2400, LPDDR4-3200, HBM2, HBM3 (see cosim.system.dram.presets()). Requests are "
      "split into bursts, mapped to channel/rank/bank group/bank/row/column by `mapping` "
      "(fields ro, ra, bg, ba, co, ch, most significant first) and scheduled FR-FCFS with "
      "open, closed or adaptive page policy under the JEDEC timing rules (tRCD, tRP, tRAS, "
      "tRC, tRTP, tWR, tRRD_S/L, tFAW, tCCD_S/L, tWTR_S/L, read/write turnaround, tRTRS, "
      "refresh tREFI/tRFC). Accepts b_transport (the caller waits until its data is "
      "transferred; writes are posted) and AT nb_transport (many requests in flight). "
      "Integer timing parameters are in clock cycles; 0 keeps the preset's value. Stats: "
      "command counts, row hits/misses/conflicts, latency histogram, bandwidth; energy per "
      "command and per bit moved.";
  s.source =
      "JESD79-4 (DDR4), JESD209-4 (LPDDR4), JESD235 (HBM2), JESD238 (HBM3) timing; per-"
      "command energy from device currents with Micron TN-40-07; see each preset's source "
      "(cosim.system.dram.preset_info(name)).";
  std::vector<std::string> names = dram::preset_names();
  s.params = {
      string_param("preset", "ddr4_2400", names, "device and speed grade: " + preset_choices_doc()),
      int_param("channels", 0, 0, 1024, "", "independent channels (0: preset; HBM: pseudo channels)"),
      int_param("ranks", 0, 0, 16, "", "ranks per channel (0: preset)"),
      string_param("page_policy", "open", {"open", "closed", "adaptive"},
                   "open: rows stay open; closed: auto-precharge after every access; adaptive: "
                   "auto-precharge unless another queued request hits the row"),
      string_param("mapping", "", {},
                   "address mapping, most significant field first, fields ro ra bg ba co ch "
                   "(empty: preset default 'ro-ra-ba-co-bg-ch')"),
      bool_param("bank_xor", false,
                 "XOR bank and bank-group bits with low row bits (permutation-based "
                 "interleaving, Zhang et al. MICRO 2000)"),
      int_param("read_queue", 32, 1, 4096, "", "read queue entries (bursts) per channel",
                "gem5 DRAM controller default (Hansson et al., ISPASS 2014)"),
      int_param("write_queue", 32, 1, 4096, "", "write queue entries (bursts) per channel"),
      int_param("write_high", 0, 0, 4096, "", "start draining writes at this many queued (0: 3/4 of the queue)"),
      int_param("write_low", 0, 0, 4096, "", "stop draining at this many when reads wait (0: 1/4 of the queue)"),
      int_param("row_hit_cap", 16, 0, 1 << 20, "",
                "hits served from an open row before a waiting conflict may close it (0: no cap)"),
      bool_param("refresh", true, "issue all-bank refreshes every tREFI"),
      bool_param("posted_writes", true, "answer writes when the controller accepts them"),
      time_param("frontend_latency", 0, 0, 1'000'000, "controller latency before a request is "
                 "schedulable (gem5 uses 10 ns)"),
      time_param("backend_latency", 0, 0, 1'000'000, "controller latency from data to response "
                 "(gem5 uses 10 ns)"),
  };
  for (const auto& tp : kTimingParams)
    s.params.push_back(int_param(tp.name, 0, 0, 1 << 20, "cycles",
                                 std::string(tp.doc) + " (0: preset value)"));
  s.params.push_back(int_param("tREFI", 0, 0, std::int64_t(1) << 40, "cycles",
                               "average refresh interval (0: preset value)"));
  s.ports = {{"target", PortKind::TlmTarget, "read/write requests (b_transport or AT nb_transport)", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new Dram(n, p); };
  return s;
}

const RegisterModel reg_dram(dram_spec());

}  // namespace

dram::DramAccess* dram::find_dram(const std::string& name) {
  return dynamic_cast<DramAccess*>(sc_core::sc_find_object(name.c_str()));
}

namespace {

// -------------------------------------------------------------------- Python bindings

namespace nb = nanobind;

nb::dict preset_dict(const dram::Preset& p) {
  nb::dict d;
  d["name"] = p.name;
  d["title"] = p.title;
  d["standard"] = p.standard;
  d["source"] = p.source;
  nb::dict o;
  o["channels"] = p.org.channels;
  o["ranks"] = p.org.ranks;
  o["bankgroups"] = p.org.bankgroups;
  o["banks_per_group"] = p.org.banks_per_group;
  o["rows"] = p.org.rows;
  o["columns"] = p.org.columns;
  o["bus_bytes"] = p.org.bus_bytes;
  o["burst_length"] = p.org.burst_length;
  o["burst_bytes"] = p.org.burst_bytes();
  o["row_bytes"] = p.org.row_bytes();
  o["capacity"] = p.org.capacity();
  d["org"] = o;
  nb::dict t;
  const dram::Timing& tm = p.timing;
  t["tCK_ps"] = tm.tck_ps;
  t["burst_cycles"] = tm.burst;
  for (const auto& tp : kTimingParams) t[tp.name] = tm.*tp.member;
  t["tREFI"] = tm.refi;
  t["act_cycles"] = tm.act_cycles;
  t["col_cycles"] = tm.col_cycles;
  t["pre_cycles"] = tm.pre_cycles;
  t["dual_command_bus"] = tm.dual_command_bus;
  d["timing"] = t;
  nb::dict e;
  e["act_pj"] = p.act_pj();
  e["rd_pj"] = p.rd_pj();
  e["wr_pj"] = p.wr_pj();
  e["ref_pj"] = p.ref_pj();
  e["io_pj_per_bit"] = p.energy.io_pj_per_bit;
  e["idd_source"] = p.energy.idd_source;
  e["io_source"] = p.energy.io_source;
  d["energy"] = e;
  d["peak_bytes_per_s_per_channel"] = p.peak_bytes_per_s();
  d["default_mapping"] = p.default_mapping;
  return d;
}

nb::dict location_dict(const dram::Location& l) {
  nb::dict d;
  d["channel"] = l.channel;
  d["rank"] = l.rank;
  d["bankgroup"] = l.bankgroup;
  d["bank"] = l.bank;
  d["row"] = l.row;
  d["column"] = l.column;
  return d;
}

// The C++-only reference loop of the benchmark: the same engine and traffic as a
// dram model driven by at_traffic_gen, without SystemC or TLM. Keeps `outstanding`
// requests of `size` bytes in flight, each reissued as soon as the previous completes.
nb::dict dram_baseline(const std::string& preset, std::uint64_t count, const std::string& pattern,
                       unsigned outstanding, unsigned size, std::uint64_t span, std::uint64_t seed,
                       unsigned channels) {
  const dram::Preset* pr = dram::find_preset(preset);
  if (pr == nullptr) throw nb::value_error(("unknown DRAM preset '" + preset + "'").c_str());
  if (outstanding == 0 || size == 0 || count == 0)
    throw nb::value_error("count, outstanding and size must be >= 1");
  if (pattern != "sequential" && pattern != "random")
    throw nb::value_error("pattern must be 'sequential' or 'random'");
  dram::Config c;
  c.preset = pr->name;
  c.org = pr->org;
  if (channels != 0) c.org.channels = channels;
  c.timing = pr->timing;
  c.mapping = pr->default_mapping;
  c.write_high = 24;
  c.write_low = 8;
  static unsigned instance = 0;
  Engine eng(c, "dram_baseline" + std::to_string(instance++));
  if (span == 0) span = eng.capacity();
  const std::uint64_t slots = std::max<std::uint64_t>(1, span / size);
  std::mt19937_64 rng(seed);
  const std::uint64_t bb = eng.burst_bytes();
  struct Slot {
    unsigned pending = 0;
    Cycle done = 0;
  };
  std::vector<Slot> reqs(outstanding);
  std::uint64_t issued = 0, completed = 0, next_addr = 0;
  Cycle last = 0;
  auto issue = [&](std::uint32_t tag, Cycle at) {
    const std::uint64_t slot = pattern == "random" ? rng() % slots : next_addr++ % slots;
    const std::uint64_t a = slot * size;
    reqs[tag].pending = 0;
    reqs[tag].done = at;
    for (std::uint64_t b = a / bb * bb; b <= (a + size - 1) / bb * bb; b += bb) {
      eng.push(b, false, at, tag);
      ++reqs[tag].pending;
    }
    ++issued;
  };
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint32_t i = 0; i < outstanding && issued < count; ++i) issue(i, 0);
  std::vector<dram::Completion> batch;
  while (completed < count) {
    unsigned ch = 0;
    if (eng.next(0, &ch) == kNever) break;
    eng.issue(ch, 0);
    batch.swap(eng.completions());
    eng.completions().clear();
    for (const auto& d : batch) {
      Slot& s = reqs[d.tag];
      s.done = std::max(s.done, d.cycle);
      if (--s.pending != 0) continue;
      ++completed;
      last = std::max(last, s.done);
      if (issued < count) issue(d.tag, s.done);
    }
    batch.clear();
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nb::dict r;
  r["requests"] = completed;
  r["wall_s"] = wall;
  r["sim_ps"] = eng.ps_of_cycle(last);
  r["bytes"] = completed * size;
  r["commands"] = eng.commands_issued();
  return r;
}

void bind_dram(nb::module_& m) {
  nb::class_<Dram, Model>(m, "Dram", "The 'dram' model (see cosim.model_info('dram')).")
      .def_prop_ro("capacity", &Dram::capacity)
      .def_prop_ro("burst_bytes", [](Dram& d) { return d.engine().burst_bytes(); })
      .def_prop_ro("tck_ps", [](Dram& d) { return d.engine().config().timing.tck_ps; })
      .def_prop_ro("preset_name", [](Dram& d) { return d.preset().name; })
      .def("config",
           [](Dram& d) {
             nb::dict out = preset_dict(d.preset());
             const dram::Config& c = d.engine().config();
             nb::dict t = nb::cast<nb::dict>(out["timing"]);
             for (const auto& tp : kTimingParams) t[tp.name] = c.timing.*tp.member;
             t["tREFI"] = c.timing.refi;
             nb::dict o = nb::cast<nb::dict>(out["org"]);
             o["channels"] = c.org.channels;
             o["ranks"] = c.org.ranks;
             o["capacity"] = c.org.capacity();
             out["mapping"] = c.mapping;
             out["page_policy"] = dram::page_policy_name(c.page);
             out["refresh"] = c.refresh;
             return out;
           },
           "The configuration in use: the preset with this instance's overrides.")
      .def("address",
           [](Dram& d, unsigned channel, unsigned rank, unsigned bankgroup, unsigned bank,
              std::uint64_t row, std::uint64_t column) {
             dram::Location l{channel, rank, bankgroup, bank, row, column};
             try {
               return d.engine().encode(l);
             } catch (const std::invalid_argument& e) {
               throw nb::value_error((std::string(d.name()) + ".address(): " + e.what()).c_str());
             }
           },
           nb::arg("channel") = 0, nb::arg("rank") = 0, nb::arg("bankgroup") = 0, nb::arg("bank") = 0,
           nb::arg("row") = 0, nb::arg("column") = 0,
           "Byte address of a burst (column = burst index within the row).")
      .def("decode", [](Dram& d, std::uint64_t addr) { return location_dict(d.engine().decode(addr)); },
           nb::arg("address"))
      .def("array",
           [](nb::handle_t<Dram> self) {
             Dram* d = nb::inst_ptr<Dram>(self);
             nb::object np = nb::module_::import_("numpy");
             nb::object buf = nb::steal(PyMemoryView_FromMemory(reinterpret_cast<char*>(d->data()),
                                                                Py_ssize_t(d->capacity()), PyBUF_WRITE));
             return np.attr("frombuffer")(buf, np.attr("uint8"));
           },
           "Zero-copy numpy uint8 view of the whole memory (backdoor: no time, no stats).");
  m.def("dram_presets", [] {
    nb::list out;
    for (const auto& p : dram::presets()) out.append(preset_dict(p));
    return out;
  });
  m.def("dram_baseline", &dram_baseline, nb::arg("preset"), nb::arg("count"),
        nb::arg("pattern") = "sequential", nb::arg("outstanding") = 16, nb::arg("size") = 64,
        nb::arg("span") = 0, nb::arg("seed") = 1, nb::arg("channels") = 0);
}

const RegisterPythonBindings reg_dram_py(bind_dram);

}  // namespace
}  // namespace cosim

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
// Functional data lives in sparse storage (storage.h): untouched pages cost no host RAM
// and reading them costs no page fault. Reads return what was written, at the time of
// the access. Queue depths count requests (a request holds one entry in each channel it
// has bursts in). The parameters and their consistency rules are declared in config.cpp;
// the Python bindings are in dram_py.cpp.
#include "dram.h"

#include <cstring>

#include "config.h"
#include "cosim/energy.h"

namespace cosim::dram {
namespace {

constexpr std::uint32_t kPosted = 0xffffffffu;

}  // namespace

Dram::Dram(const sc_core::sc_module_name& name, const Params& p)
    : Model(name, "dram", p),
      socket_("target"),
      engine_(build_engine(p, this->name())),
      preset_(*find_preset(engine_->config().preset)),
      posted_writes_(p.get_bool("posted_writes")),
      frontend_(p.get_time_ps("frontend_latency")),
      backend_(p.get_time_ps("backend_latency")),
      window_(p.get_time_ps("bandwidth_window")),
      capacity_(engine_->capacity()),
      store_(capacity_),
      reads_(counter("reads", "read requests")),
      writes_(counter("writes", "write requests")),
      bytes_read_(counter("bytes_read", "bytes read", "B")),
      bytes_written_(counter("bytes_written", "bytes written", "B")),
      errors_(counter("errors", "requests answered with an error response")),
      forwards_(counter("write_forwards", "read bursts served from the write queue")),
      merges_(counter("write_merges", "write bursts merged into a queued write")),
      read_latency_(histogram("read_latency", 0.0, 2000.0, 400,
                              "read request latency from issue (the initiator's request time) to "
                              "the last data beat",
                              "ns")),
      read_latency_accepted_(histogram("read_latency_accepted", 0.0, 2000.0, 400,
                                       "read request latency from acceptance into the controller's "
                                       "queue to the last data beat",
                                       "ns")),
      write_latency_(average("write_latency", "write request latency (to acceptance when writes are posted)", "ns")),
      occupancy_(average("queue_occupancy", "requests queued in the request's channel at arrival")),
      bandwidth_(value("bandwidth", "bytes moved / (last completion - first arrival)", "B/s")),
      peak_(value("peak_bandwidth", "peak data-bus bandwidth of all channels", "B/s")),
      window_peak_(value("bandwidth_window_peak", "highest bandwidth of one bandwidth_window", "B/s")) {
  const Timing& t = engine_->config().timing;
  peak_.set(double(engine_->burst_bytes()) / (double(t.burst) * double(t.tck_ps) * 1e-12) * engine_->channels());
  expose_target("target", socket_, true);
  socket_.register_b_transport(this, &Dram::b_transport);
  socket_.register_nb_transport_fw(this, &Dram::nb_transport_fw);
  socket_.register_transport_dbg(this, &Dram::transport_dbg);
  socket_.register_get_direct_mem_ptr(this, &Dram::get_direct_mem_ptr);
  SC_METHOD(on_wake);
  sensitive << wake_;
  dont_initialize();
}

// Configuration errors become ParameterError in Python (create_model maps
// std::invalid_argument); the message names the instance.
std::unique_ptr<Engine> Dram::build_engine(const Params& p, const std::string& name) {
  try {
    Config c = make_config(p);
    // Energies given as parameters become this instance's own energy-table entries.
    const char* whats[] = {"act", "rd", "wr", "ref"};
    bool own = false;
    for (const char* w : whats) own |= p.get_float(std::string(w) + "_pj") >= 0;
    if (own) {
      const Preset& pr = *find_preset(c.preset);
      const double preset_pj[] = {pr.act_pj(), pr.rd_pj(), pr.wr_pj(), pr.ref_pj()};
      c.energy_key = "dram." + name;
      for (unsigned i = 0; i < 4; ++i) {
        const double v = p.get_float(std::string(whats[i]) + "_pj");
        energy_table().define({c.energy_key + "." + whats[i], v >= 0 ? v : preset_pj[i],
                               i == 1 || i == 2 ? "burst" : "command", 0, EnergyScaling::Fixed,
                               v >= 0 ? "parameter " + std::string(whats[i]) + "_pj of dram '" + name + "'"
                                      : pr.energy.idd_source,
                               "dram '" + name + "': " + whats[i]});
      }
      const EnergyEntry& io = energy_table().entry(energy_key(pr, "io"));
      energy_table().define({c.energy_key + ".io", io.pj, "bit", 0, EnergyScaling::Fixed, io.source, io.doc});
    }
    return std::make_unique<Engine>(std::move(c), name);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("dram '" + name + "': " + e.what());
  }
}

std::string Dram::initiator_name(int id) const {
  const Port* port = find_port("target");
  if (port != nullptr && id >= 0 && std::size_t(id) < port->peers.size()) return port->peers[std::size_t(id)];
  return "initiator #" + std::to_string(id);
}

bool Dram::check(int id, tlm::tlm_generic_payload& gp) {
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

void Dram::bursts_of(const tlm::tlm_generic_payload& gp, std::vector<std::uint64_t>& out) const {
  const std::uint64_t bb = engine_->burst_bytes();
  const std::uint64_t first = gp.get_address() / bb * bb;
  const std::uint64_t last = (gp.get_address() + gp.get_data_length() - 1) / bb * bb;
  out.clear();
  for (std::uint64_t b = first; b <= last; b += bb) out.push_back(b);
}

bool Dram::fits(const std::vector<std::uint64_t>& bursts, bool write) {
  counts_.assign(engine_->channels(), 0);
  for (auto b : bursts) ++counts_[engine_->channel_of(b)];
  for (unsigned c = 0; c < counts_.size(); ++c)
    if (counts_[c] != 0 && !engine_->fits(c, write)) return false;
  return true;
}

std::uint32_t Dram::alloc_request() {
  if (free_.empty()) {
    reqs_.emplace_back();
    return std::uint32_t(reqs_.size() - 1);
  }
  const std::uint32_t i = free_.back();
  free_.pop_back();
  return i;
}

sc_core::sc_event* Dram::alloc_event() {
  if (free_events_.empty()) {
    events_.push_back(std::make_unique<sc_core::sc_event>());
    return events_.back().get();
  }
  sc_core::sc_event* e = free_events_.back();
  free_events_.pop_back();
  return e;
}

unsigned Dram::enqueue(const std::vector<std::uint64_t>& bursts, bool write, Picos arrival, std::uint32_t tag) {
  const Cycle arr = engine_->cycle_of_ps(arrival);
  unsigned n = 0;
  const unsigned ch0 = engine_->channel_of(bursts.front());
  occupancy_.sample(double(engine_->queued(ch0, false) + engine_->queued(ch0, true)));
  engine_->begin_request();
  for (auto b : bursts) {
    const unsigned ch = engine_->channel_of(b);
    if (engine_->write_queued(ch, b)) {
      (write ? merges_ : forwards_).inc();
      continue;
    }
    engine_->push(b, write, arr, tag);
    ++n;
  }
  engine_->end_request();
  if (!in_engine_) wake_.notify(sc_core::SC_ZERO_TIME);
  return n;
}

void Dram::account(bool write, std::uint64_t len, Picos start, Picos accepted, Picos done) {
  if (write) {
    writes_.inc();
    bytes_written_.inc(len);
    write_latency_.sample(double(done - start) / 1000.0);
  } else {
    reads_.inc();
    bytes_read_.inc(len);
    read_latency_.sample(double(done - start) / 1000.0);
    read_latency_accepted_.sample(double(done - std::min(done, accepted)) / 1000.0);
  }
  // Bandwidth over time: the request's bytes count in the window of its completion.
  const std::size_t w = std::size_t(done / window_);
  if (w >= window_bytes_.size()) window_bytes_.resize(w + 1, 0);
  window_bytes_[w] += len;
  window_peak_.set(std::max(window_peak_.value(), double(window_bytes_[w]) / (double(window_) * 1e-12)));
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

void Dram::b_transport(int id, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
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
    account(true, gp.get_data_length(), start, arrival - frontend_, arrival);
    delay = from_ps(arrival - now_ps());
    return;
  }
  const std::uint32_t tag = alloc_request();
  Request& r = reqs_[tag];
  r = Request{};
  r.gp = &gp;
  r.start = start;
  r.write = write;
  r.accepted = arrival - frontend_;
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

void Dram::release(std::uint32_t tag) {
  Request& r = reqs_[tag];
  if (r.ev != nullptr) free_events_.push_back(r.ev);
  r = Request{};
  free_.push_back(tag);
}

void Dram::finish_accounting(std::uint32_t tag) {
  const Request& r = reqs_[tag];
  account(r.write, r.gp->get_data_length(), r.start, r.accepted, r.done);
}

tlm::tlm_sync_enum Dram::nb_transport_fw(int id, tlm::tlm_generic_payload& gp, tlm::tlm_phase& phase,
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

bool Dram::admit_nb(int id, tlm::tlm_generic_payload& gp, Picos start, sc_core::sc_time& delay,
                    const std::vector<std::uint64_t>& bursts) {
  copy(gp);
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  const bool write = gp.is_write();
  const Picos arrival = std::max(start, now_ps()) + frontend_;
  if (write && posted_writes_) {
    enqueue(bursts, true, arrival, kPosted);
    account(true, gp.get_data_length(), start, arrival - frontend_, arrival);
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
  r.accepted = arrival - frontend_;
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

void Dram::send_response(std::uint32_t tag) {
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

void Dram::send_queued_responses(int id) {
  if (std::size_t(id) >= resp_queue_.size()) return;
  auto& q = resp_queue_[std::size_t(id)];
  while (!q.empty() && !resp_busy_[std::size_t(id)]) {
    const std::uint32_t tag = q.front();
    q.pop_front();
    send_response(tag);
  }
}

bool Dram::on_space() {
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

bool Dram::deliver() {
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

Picos Dram::horizon(Picos now) const {
  const sc_core::sc_time t = sc_core::sc_time_to_pending_activity();
  const Picos dt = to_ps(t);
  const Picos room = ~Picos(0) - now;
  return dt >= room ? ~Picos(0) : now + dt;
}

void Dram::on_wake() {
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

unsigned Dram::transport_dbg(int, tlm::tlm_generic_payload& gp) {
  const std::uint64_t a = gp.get_address();
  if (a >= capacity_) return 0;
  const std::uint64_t n = std::min<std::uint64_t>(gp.get_data_length(), capacity_ - a);
  if (gp.is_read())
    store_.read(a, gp.get_data_ptr(), n);
  else if (gp.is_write())
    store_.write(a, gp.get_data_ptr(), n);
  return static_cast<unsigned>(n);
}
void Dram::copy(tlm::tlm_generic_payload& gp) {
  const std::uint64_t a = gp.get_address();
  const unsigned len = gp.get_data_length();
  unsigned char* d = gp.get_data_ptr();
  const unsigned char* be = gp.get_byte_enable_ptr();
  const unsigned be_len = gp.get_byte_enable_length();
  if (be == nullptr) {
    if (gp.is_read())
      store_.read(a, d, len);
    else
      store_.write(a, d, len);
    return;
  }
  for (unsigned i = 0; i < len; ++i) {
    if (be[i % be_len] == TLM_BYTE_DISABLED) continue;
    if (gp.is_read())
      d[i] = store_.get(a + i);
    else
      store_.put(a + i, d[i]);
  }
}

namespace {

ModelSpec dram_spec() {
  ModelSpec s;
  s.name = "dram";
  s.summary = "JEDEC DRAM/HBM: per-channel FR-FCFS controller and device timing, refresh, energy";
  s.doc =
      "Presets DDR4-2400, LPDDR4-3200, HBM2 (pseudo-channel and legacy mode), HBM3 (see "
      "cosim.system.dram.presets()); every organisation and timing parameter can override the "
      "preset, and cosim.system.dram.load_config() reads a DRAMsim3 .ini or DRAMSys JSON memspec "
      "into these parameters. Requests are split into bursts, mapped to channel/rank/bank "
      "group/bank/row/column by `mapping` (fields ro, ra, bg, ba, co, ch, most significant "
      "first) and scheduled FR-FCFS with open, closed or adaptive page policy under the "
      "JEDEC timing rules (tRCD, tRP, tRAS, tRC, tRTP, tWR, tRRD_S/L, tFAW, tCCD_S/L, "
      "tWTR_S/L, read/write turnaround, tRTRS, refresh tREFI/tRFC). Queue depths count "
      "requests. Accepts b_transport (the caller waits until its data is transferred; writes "
      "are posted) and AT nb_transport (many requests in flight). Integer timing parameters "
      "are in clock cycles; 0 keeps the preset's value. Stats: command counts, row-hit rate "
      "per burst and per request, read latency from issue and from acceptance, bandwidth "
      "(overall and per window), energy per command and per bit moved; per-bank command "
      "counts and the bandwidth series from the Dram object.";
  s.source =
      "JESD79-4 (DDR4), JESD209-4 (LPDDR4), JESD235 (HBM2), JESD238 (HBM3) timing; per-"
      "command energy from device currents with Micron TN-40-07; see each preset's source "
      "(cosim.system.dram.preset_info(name)).";
  s.params = param_specs();
  s.ports = {{"target", PortKind::TlmTarget, "read/write requests (b_transport or AT nb_transport)", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new Dram(n, p); };
  return s;
}

const RegisterModel reg_dram(dram_spec());

}  // namespace

DramAccess* find_dram(const std::string& name) {
  return dynamic_cast<DramAccess*>(sc_core::sc_find_object(name.c_str()));
}

}  // namespace cosim::dram

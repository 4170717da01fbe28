// fabric: an address-mapped SoC interconnect with data-path width, hop latency,
// arbitration and contention.
//
// Initiators bind to 'target' (in bind order: index 0, 1, ...); targets are attached with
// fabric.map(port, base, size). Every target has its own data channel ('per_target', a
// crossbar) or all share one ('shared', a bus); with `duplex` a target's reads and writes
// use separate channels, as AXI's independent read-data and write-data channels do
// (ARM IHI 0022). A transaction holds its channel for ceil(bytes / width) cycles; the
// channel is granted among the transactions waiting for it by `arbitration`:
// round_robin (rotating over initiators), fixed_priority (lower initiator index wins) or
// fifo (arrival order). Requests that arrive in the same time step are arbitrated
// together. The transaction then reaches its target `latency` cycles later (split
// transactions: the channel is free again after the data beats, while the target
// works). Latency seen by the initiator = arbitration wait + latency + the target's
// latency + data beats.
//
// Stats per channel (grants, contended grants, wait time, busy time) and per initiator
// (transactions, wait) make contention visible. An access that falls in no range, or
// crosses the end of one, gets ADDRESS_ERROR naming the address, the initiator and the
// map; overlapping ranges are refused when mapped. Errors from a target are passed back
// with the requesting initiator appended to the explanation.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include "cosim/energy.h"
#include "cosim/model.h"
#include "cosim/python.h"

namespace cosim {
namespace {

std::string stat_safe(std::string s) {
  std::replace(s.begin(), s.end(), '.', '_');
  return s;
}

class Fabric : public Model {
 public:
  SC_HAS_PROCESS(Fabric);

  struct Range {
    std::uint64_t base = 0, size = 0;
    bool translate = true;
    unsigned index = 0;  // binding index on the initiator socket
    std::string target;
    std::uint64_t last() const { return base + size - 1; }
  };
  struct Waiter {
    unsigned initiator;
    std::uint64_t seq;
    Picos arrival;
    Picos hold;
    sc_core::sc_event granted;
  };
  struct Channel {
    std::string name;
    bool busy = false;
    Picos busy_until = 0;
    std::vector<Waiter*> waiting;
    sc_core::sc_event wake;
    unsigned rr_next = 0;
    Counter* grants = nullptr;
    Counter* contended = nullptr;
    Average* wait = nullptr;
    Counter* busy_ps = nullptr;
  };
  struct InitiatorStats {
    Counter* transactions;
    Average* wait;
  };

  Fabric(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "fabric", p),
        target_("target"),
        initiator_("initiator"),
        width_(p.get_uint("width")),
        cycle_(Picos(std::llround(1e12 / p.get_float("clock_hz")))),
        latency_cycles_(p.get_uint("latency")),
        policy_(p.get_string("arbitration")),
        shared_(p.get_string("sharing") == "shared"),
        duplex_(p.get_bool("duplex")),
        transactions_(counter("transactions", "transactions routed to a target")),
        bytes_(counter("bytes", "bytes moved", "B")),
        beats_(counter("beats", "data beats (cycles of a channel)")),
        unmapped_(counter("unmapped", "accesses to no mapped range (ADDRESS_ERROR)")) {
    if (cycle_ == 0) throw std::invalid_argument("fabric: clock_hz must be at most 1e12");
    const std::string& ekey = p.get_string("bit_energy");
    if (!ekey.empty()) {
      try {
        bit_energy_ = &energy_event(this->name(), "bits", ekey, "bits moved over the fabric");
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("fabric '" + std::string(this->name()) + "': parameter 'bit_energy': " +
                                    e.what());
      }
    }
    expose_target("target", target_, true);
    expose_initiator("initiator", initiator_, true);
    target_.register_b_transport(this, &Fabric::b_transport);
    target_.register_transport_dbg(this, &Fabric::transport_dbg);
    target_.register_get_direct_mem_ptr(this, &Fabric::get_direct_mem_ptr);
    if (shared_) add_channel("bus");
  }

  void map(Port& target, std::uint64_t base, std::uint64_t size, bool translate) {
    const std::string me = "fabric '" + std::string(name()) + "'";
    if (size == 0) raise_python_error("BindingError", me + ": mapping '" + target.full_name() + "' needs size >= 1");
    if (base + size - 1 < base)
      raise_python_error("BindingError", me + ": range of '" + target.full_name() + "' wraps past 2**64");
    for (const auto& r : ranges_)
      if (base <= r.last() && r.base <= base + size - 1)
        raise_python_error("BindingError", me + ": range [" + hex(base) + ", " + hex(base + size - 1) +
                                               "] for '" + target.full_name() + "' overlaps [" +
                                               hex(r.base) + ", " + hex(r.last()) +
                                               "] already mapped to '" + r.target + "'");
    bind_ports(*find_port("initiator"), target);
    Range r;
    r.base = base;
    r.size = size;
    r.translate = translate;
    r.index = static_cast<unsigned>(ranges_.size());
    r.target = target.full_name();
    ranges_.push_back(r);
    std::sort(ranges_.begin(), ranges_.end(), [](const Range& a, const Range& b) { return a.base < b.base; });
    if (!shared_) {
      const std::string t = stat_safe(target.owner->basename() + std::string("_") + target.name);
      if (duplex_) {
        add_channel(t + ".read");
        add_channel(t + ".write");
      } else {
        add_channel(t);
      }
    }
  }

  const std::vector<Range>& ranges() const { return ranges_; }
  std::vector<std::string> initiators() const { return find_port("target")->peers; }

  std::string describe_map() const {
    std::ostringstream os;
    for (const auto& r : ranges_)
      os << (&r == &ranges_.front() ? "" : ", ") << r.target << " [" << hex(r.base) << ", " << hex(r.last()) << "]";
    return ranges_.empty() ? "(nothing mapped)" : os.str();
  }

 private:
  void add_channel(const std::string& leaf) {
    auto ch = std::make_unique<Channel>();
    ch->name = leaf;
    ch->grants = &counter("channel." + leaf + ".grants", "transactions granted the channel");
    ch->contended = &counter("channel." + leaf + ".contended",
                             "grants that had to wait for another transaction (contention)");
    ch->wait = &average("channel." + leaf + ".wait", "arbitration wait per transaction", "ns");
    ch->busy_ps = &counter("channel." + leaf + ".busy", "time the channel carried data", "ps");
    Channel* raw = ch.get();
    channels_.push_back(std::move(ch));
    sc_core::sc_spawn_options o;
    o.spawn_method();
    o.set_sensitivity(&raw->wake);
    o.dont_initialize();
    sc_core::sc_spawn([this, raw] { arbitrate(*raw); }, sc_core::sc_gen_unique_name("arbiter"), &o);
  }

  // Channel of a mapped range (channels_ are created in map order; ranges_ are sorted).
  Channel& channel_for(const Range& r, bool read) {
    if (shared_) return *channels_[0];
    const std::size_t per = duplex_ ? 2 : 1;
    return *channels_[r.index * per + (duplex_ && !read ? 1 : 0)];
  }

  std::string initiator_name(int id) const {
    const Port* p = find_port("target");
    if (p != nullptr && id >= 0 && std::size_t(id) < p->peers.size()) return p->peers[std::size_t(id)];
    return "initiator #" + std::to_string(id);
  }

  InitiatorStats& stats_for(int id) {
    if (std::size_t(id) >= initiator_stats_.size()) initiator_stats_.resize(std::size_t(id) + 1, {nullptr, nullptr});
    InitiatorStats& s = initiator_stats_[std::size_t(id)];
    if (s.transactions == nullptr) {
      const std::string n = "from." + stat_safe(initiator_name(id));
      s.transactions = &counter(n + ".transactions", "transactions from " + initiator_name(id));
      s.wait = &average(n + ".wait", "arbitration wait of " + initiator_name(id), "ns");
    }
    return s;
  }

  const Range* decode(std::uint64_t addr) const {
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), addr,
                               [](std::uint64_t a, const Range& r) { return a < r.base; });
    if (it == ranges_.begin()) return nullptr;
    --it;
    return addr <= it->last() ? &*it : nullptr;
  }

  const Range* route(int id, tlm::tlm_generic_payload& gp) {
    const std::uint64_t a = gp.get_address();
    const Range* r = decode(a);
    if (r == nullptr) {
      unmapped_.inc();
      set_error(gp, tlm::TLM_ADDRESS_ERROR_RESPONSE, name(),
                "no target is mapped at " + hex(a) + " (requested by '" + initiator_name(id) +
                    "'); map: " + describe_map());
      return nullptr;
    }
    const std::uint64_t len = std::max<std::uint64_t>(1, std::min<std::uint64_t>(gp.get_data_length(),
                                                                                  gp.get_streaming_width()));
    if (len - 1 > r->last() - a) {
      unmapped_.inc();
      set_error(gp, tlm::TLM_ADDRESS_ERROR_RESPONSE, name(),
                "access [" + hex(a) + ", " + hex(a + len - 1) + "] by '" + initiator_name(id) +
                    "' crosses the end of '" + r->target + "' [" + hex(r->base) + ", " + hex(r->last()) + "]");
      return nullptr;
    }
    return r;
  }

  // Grant the channel to the next waiter, by policy. Runs (as a method) when a request
  // arrives at a free channel or when the channel's current transfer ends.
  void arbitrate(Channel& ch) {
    const Picos now = now_ps();
    if (ch.busy && now >= ch.busy_until) ch.busy = false;
    if (ch.busy || ch.waiting.empty()) return;
    std::size_t pick = 0;
    const unsigned n = std::max<unsigned>(1, unsigned(find_port("target")->peers.size()));
    for (std::size_t i = 1; i < ch.waiting.size(); ++i) {
      const Waiter* a = ch.waiting[i];
      const Waiter* b = ch.waiting[pick];
      bool better;
      if (policy_ == "fifo") {
        better = a->seq < b->seq;
      } else if (policy_ == "fixed_priority") {
        better = a->initiator != b->initiator ? a->initiator < b->initiator : a->seq < b->seq;
      } else {  // round_robin: next initiator at or after rr_next
        const unsigned da = (a->initiator + n - ch.rr_next % n) % n;
        const unsigned db = (b->initiator + n - ch.rr_next % n) % n;
        better = da != db ? da < db : a->seq < b->seq;
      }
      if (better) pick = i;
    }
    Waiter* w = ch.waiting[pick];
    ch.waiting.erase(ch.waiting.begin() + std::ptrdiff_t(pick));
    ch.rr_next = w->initiator + 1;
    ch.busy = true;
    ch.busy_until = now + w->hold;
    ch.wake.notify(from_ps(w->hold));
    w->granted.notify();
  }

  void b_transport(int id, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const Range* r = route(id, gp);
    const sc_core::sc_time hop = from_ps(latency_cycles_ * cycle_);
    if (r == nullptr) {
      delay += hop;
      return;
    }
    // Arbitration happens in simulated time: catch up with the initiator's local time.
    if (delay > sc_core::SC_ZERO_TIME) {
      sc_core::wait(delay);
      delay = sc_core::SC_ZERO_TIME;
    }
    const unsigned len = gp.get_data_length();
    const std::uint64_t beats = std::max<std::uint64_t>(1, (len + width_ - 1) / width_);
    Channel& ch = channel_for(*r, !gp.is_write());
    Waiter w{unsigned(id), seq_++, now_ps(), beats * cycle_, {}};
    ch.waiting.push_back(&w);
    if (!ch.busy) ch.wake.notify(sc_core::SC_ZERO_TIME);
    sc_core::wait(w.granted);
    const Picos waited = now_ps() - w.arrival;
    ch.grants->inc();
    if (waited > 0) ch.contended->inc();
    ch.wait->sample(double(waited) / 1000.0);
    ch.busy_ps->inc(w.hold);
    InitiatorStats& is = stats_for(id);
    is.transactions->inc();
    is.wait->sample(double(waited) / 1000.0);
    const std::uint64_t a = gp.get_address();
    if (r->translate) gp.set_address(a - r->base);
    sc_core::sc_time d = hop;
    initiator_[r->index]->b_transport(gp, d);
    gp.set_address(a);
    if (!gp.is_response_ok()) {
      ErrorInfo* info = nullptr;
      gp.get_extension(info);
      if (info != nullptr) info->message += " (requested by '" + initiator_name(id) + "' through '" + name() + "')";
    }
    transactions_.inc();
    bytes_.inc(len);
    beats_.inc(beats);
    if (bit_energy_ != nullptr) bit_energy_->add(std::uint64_t(len) * 8);
    delay = d + from_ps(w.hold);
  }

  unsigned transport_dbg(int, tlm::tlm_generic_payload& gp) {
    const std::uint64_t a = gp.get_address();
    const Range* r = decode(a);
    if (r == nullptr) return 0;
    if (r->translate) gp.set_address(a - r->base);
    const unsigned n = initiator_[r->index]->transport_dbg(gp);
    gp.set_address(a);
    return n;
  }

  // Direct access would bypass arbitration and contention.
  bool get_direct_mem_ptr(int, tlm::tlm_generic_payload&, tlm::tlm_dmi&) { return false; }

  void before_end_of_elaboration() override {
    if (initiator_.size() != ranges_.size())
      SC_REPORT_ERROR("cosim/fabric", (std::string("fabric '") + name() +
                                       "' has a target bound to its initiator port without an address "
                                       "range; attach targets with fabric.map(port, base, size)")
                                          .c_str());
  }

  tlm_utils::multi_passthrough_target_socket<Fabric, kBusWidth> target_;
  tlm_utils::multi_passthrough_initiator_socket<Fabric, kBusWidth> initiator_;
  std::uint64_t width_;
  Picos cycle_;
  std::uint64_t latency_cycles_;
  std::string policy_;
  bool shared_, duplex_;
  std::vector<Range> ranges_;
  std::vector<std::unique_ptr<Channel>> channels_;
  std::vector<InitiatorStats> initiator_stats_;
  std::uint64_t seq_ = 0;
  EnergyEvent* bit_energy_ = nullptr;
  Counter &transactions_, &bytes_, &beats_, &unmapped_;
};

ModelSpec fabric_spec() {
  ModelSpec s;
  s.name = "fabric";
  s.summary = "Address-mapped interconnect: width, hop latency, arbitration, contention stats";
  s.doc =
      "Initiators bind to 'target'; targets are attached with fabric.map(port, base, size, "
      "translate=True). A transaction waits for its channel (per target, or one shared bus; "
      "reads and writes separate with duplex), holds it ceil(bytes/width) cycles and reaches "
      "the target `latency` cycles later. Arbitration: round_robin, fixed_priority (bind "
      "order) or fifo. Unmapped or range-crossing accesses get ADDRESS_ERROR naming the "
      "address, the initiator and the map. No DMI (it would bypass contention).";
  s.source =
      "Structural model; defaults are a 128-bit, 1 GHz on-chip interconnect with a 2-cycle "
      "hop (the order of an AXI crossbar stage), to be set from the SoC being modelled. "
      "Independent read/write data channels as in AMBA AXI (ARM IHI 0022).";
  s.params = {
      int_param("width", 16, 1, 4096, "B", "data-path width: bytes per beat"),
      float_param("clock_hz", 1e9, 1e6, 1e12, "Hz", "fabric clock"),
      int_param("latency", 2, 0, 1 << 20, "cycles", "hop latency from grant to the target"),
      string_param("arbitration", "round_robin", {"round_robin", "fixed_priority", "fifo"},
                   "how a channel is granted among waiting transactions"),
      string_param("sharing", "per_target", {"per_target", "shared"},
                   "per_target: a channel per target (crossbar); shared: one channel (bus)"),
      bool_param("duplex", true, "separate read and write channels per target (AXI-style)"),
      string_param("bit_energy", "", {},
                   "energy-table key charged per bit moved (empty: no fabric energy)"),
  };
  s.ports = {{"target", PortKind::TlmTarget, "initiators bind here", true},
             {"initiator", PortKind::TlmInitiator, "targets, attached with map()", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new Fabric(n, p); };
  return s;
}

const RegisterModel reg_fabric(fabric_spec());

void bind_fabric(nanobind::module_& m) {
  namespace nb = nanobind;
  nb::class_<Fabric, Model>(m, "Fabric", "The 'fabric' model (see cosim.model_info('fabric')).")
      .def("map", &Fabric::map, nb::arg("port"), nb::arg("base"), nb::arg("size"), nb::arg("translate") = true,
           "Map target `port` at [base, base+size); with translate the target sees offsets.")
      .def_prop_ro("address_map",
                   [](const Fabric& f) {
                     nb::list out;
                     for (const auto& x : f.ranges()) out.append(nb::make_tuple(x.target, x.base, x.size, x.translate));
                     return out;
                   })
      .def_prop_ro("initiators", &Fabric::initiators, "Bound initiators, in priority (bind) order.");
}

const RegisterPythonBindings reg_fabric_py(bind_fabric);

}  // namespace
}  // namespace cosim

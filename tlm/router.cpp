// router: address-mapped routing between any number of initiators and targets.
//
// Each target is mapped to [base, base+size) with Python: `bus.map(mem.port("target"),
// base=0x8000_0000, size=1 << 20)`. By default the router subtracts `base` before
// forwarding (the target sees offsets from 0), forwards DMI requests and translates the
// granted region and invalidations back into the global address map. An access that
// falls in no range, or crosses the end of one, is answered with ADDRESS_ERROR naming
// the address, the initiator's view of the map and the router. A fixed forwarding
// latency models a simple bus; contention, widths and arbitration belong to the fabric
// models.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <sstream>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include "cosim/model.h"
#include "cosim/python.h"

namespace cosim {
namespace {

class Router : public Model {
 public:
  struct Range {
    std::uint64_t base = 0, size = 0;
    bool translate = true;
    unsigned index = 0;  // binding index on the initiator socket
    std::string target;
    Counter* hits = nullptr;
    std::uint64_t last() const { return base + size - 1; }
  };

  Router(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "router", p),
        target_("target"),
        initiator_("initiator"),
        latency_(from_ps(p.get_time_ps("latency"))),
        routed_(counter("transactions", "transactions routed to a target")),
        unmapped_(counter("unmapped", "accesses to no mapped range (ADDRESS_ERROR)")) {
    expose_target("target", target_, true);
    expose_initiator("initiator", initiator_, true);
    target_.register_b_transport(this, &Router::b_transport);
    target_.register_get_direct_mem_ptr(this, &Router::get_direct_mem_ptr);
    target_.register_transport_dbg(this, &Router::transport_dbg);
    initiator_.register_invalidate_direct_mem_ptr(this, &Router::invalidate);
  }

  void map(Port& target, std::uint64_t base, std::uint64_t size, bool translate) {
    if (size == 0) raise_python_error("BindingError", "router '" + std::string(name()) +
                                                          "': mapping '" + target.full_name() +
                                                          "' needs size >= 1");
    if (base + size - 1 < base)
      raise_python_error("BindingError", "router '" + std::string(name()) + "': range of '" +
                                             target.full_name() + "' wraps past 2**64");
    for (const auto& r : ranges_)
      if (base <= r.last() && r.base <= base + size - 1)
        raise_python_error(
            "BindingError", "router '" + std::string(name()) + "': range [" + hex(base) + ", " +
                                hex(base + size - 1) + "] for '" + target.full_name() +
                                "' overlaps [" + hex(r.base) + ", " + hex(r.last()) +
                                "] already mapped to '" + r.target + "'");
    Port* mine = find_port("initiator");
    bind_ports(*mine, target);
    Range r;
    r.base = base;
    r.size = size;
    r.translate = translate;
    r.index = static_cast<unsigned>(ranges_.size());
    r.target = target.full_name();
    r.hits = &counter(std::string("to.") + target.owner->basename() + "_" + target.name,
                      "transactions routed to " + target.full_name());
    ranges_.push_back(r);
    std::sort(ranges_.begin(), ranges_.end(),
              [](const Range& a, const Range& b) { return a.base < b.base; });
  }

  const std::vector<Range>& ranges() const { return ranges_; }

  std::string describe_map() const {
    std::ostringstream os;
    for (const auto& r : ranges_)
      os << (&r == &ranges_.front() ? "" : ", ") << r.target << " [" << hex(r.base) << ", "
         << hex(r.last()) << "]";
    return ranges_.empty() ? "(nothing mapped)" : os.str();
  }

 private:
  const Range* decode(std::uint64_t addr) const {
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), addr,
                               [](std::uint64_t a, const Range& r) { return a < r.base; });
    if (it == ranges_.begin()) return nullptr;
    --it;
    return addr <= it->last() ? &*it : nullptr;
  }

  const Range* route(tlm::tlm_generic_payload& gp) {
    const std::uint64_t a = gp.get_address();
    const Range* r = decode(a);
    if (r == nullptr) {
      unmapped_.inc();
      set_error(gp, tlm::TLM_ADDRESS_ERROR_RESPONSE, name(),
                "no target is mapped at " + hex(a) + "; map: " + describe_map());
      return nullptr;
    }
    const std::uint64_t len = std::max<std::uint64_t>(
        1, std::min<std::uint64_t>(gp.get_data_length(), gp.get_streaming_width()));
    if (len - 1 > r->last() - a) {
      unmapped_.inc();
      set_error(gp, tlm::TLM_ADDRESS_ERROR_RESPONSE, name(),
                "access [" + hex(a) + ", " + hex(a + len - 1) + "] crosses the end of '" +
                    r->target + "' [" + hex(r->base) + ", " + hex(r->last()) + "]");
      return nullptr;
    }
    return r;
  }

  void b_transport(int, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const Range* r = route(gp);
    if (r == nullptr) return;
    const std::uint64_t a = gp.get_address();
    if (r->translate) gp.set_address(a - r->base);
    delay += latency_;
    initiator_[r->index]->b_transport(gp, delay);
    gp.set_address(a);
    routed_.inc();
    r->hits->inc();
  }

  bool get_direct_mem_ptr(int, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
    const std::uint64_t a = gp.get_address();
    const Range* r = decode(a);
    if (r == nullptr) return false;
    const std::uint64_t off = r->translate ? r->base : 0;
    gp.set_address(a - off);
    const bool ok = initiator_[r->index]->get_direct_mem_ptr(gp, dmi);
    gp.set_address(a);
    // Translate the granted region back to global addresses and clip it to the range, so
    // an initiator never reaches another target's addresses through this pointer.
    std::uint64_t start = dmi.get_start_address() + off;
    std::uint64_t end = dmi.get_end_address() + off;
    if (start < r->base) {
      dmi.set_dmi_ptr(dmi.get_dmi_ptr() + (r->base - start));
      start = r->base;
    }
    end = std::min(end, r->last());
    dmi.set_start_address(start);
    dmi.set_end_address(end);
    dmi.set_read_latency(dmi.get_read_latency() + latency_);
    dmi.set_write_latency(dmi.get_write_latency() + latency_);
    return ok;
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

  void invalidate(int index, sc_dt::uint64 start, sc_dt::uint64 end) {
    for (const auto& r : ranges_) {
      if (r.index != static_cast<unsigned>(index)) continue;
      const std::uint64_t off = r.translate ? r.base : 0;
      const std::uint64_t s = std::max<std::uint64_t>(start + off, r.base);
      const std::uint64_t e = std::min<std::uint64_t>(end + off, r.last());
      if (s > e) continue;
      for (unsigned i = 0; i < target_.size(); ++i) target_[i]->invalidate_direct_mem_ptr(s, e);
    }
  }

  void before_end_of_elaboration() override {
    if (initiator_.size() != ranges_.size())
      SC_REPORT_ERROR("cosim/router",
                      (std::string("router '") + name() +
                       "' has a target bound to its initiator port without an address range; "
                       "connect targets with router.map(port, base, size)")
                          .c_str());
  }

  tlm_utils::multi_passthrough_target_socket<Router, kBusWidth> target_;
  tlm_utils::multi_passthrough_initiator_socket<Router, kBusWidth> initiator_;
  sc_core::sc_time latency_;
  std::vector<Range> ranges_;
  Counter& routed_;
  Counter& unmapped_;
};

ModelSpec router_spec() {
  ModelSpec s;
  s.name = "router";
  s.summary = "Address-mapped router: many initiators to many targets, DMI forwarding";
  s.doc =
      "Initiators bind to 'target'; targets are attached with router.map(port, base, size, "
      "translate=True). Adds a fixed forwarding latency. Unmapped or range-crossing "
      "accesses get ADDRESS_ERROR naming the address and the map.";
  s.source = "Functional routing only; latency is a user figure (0 by default).";
  s.params = {time_param("latency", 0, 0, 1'000'000'000, "forwarding latency per transaction")};
  s.ports = {{"target", PortKind::TlmTarget, "initiators bind here", true},
             {"initiator", PortKind::TlmInitiator, "targets, attached with map()", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* {
    return new Router(n, p);
  };
  return s;
}

const RegisterModel reg_router(router_spec());

void bind_router(nanobind::module_& m) {
  namespace nb = nanobind;
  nb::class_<Router, Model>(m, "Router", "The 'router' model (see cosim.model_info('router')).")
      .def("map", &Router::map, nb::arg("port"), nb::arg("base"), nb::arg("size"),
           nb::arg("translate") = true,
           "Map target `port` at [base, base+size); with translate the target sees offsets.")
      .def_prop_ro("address_map", [](const Router& r) {
        nb::list out;
        for (const auto& x : r.ranges())
          out.append(nb::make_tuple(x.target, x.base, x.size, x.translate));
        return out;
      });
}

const RegisterPythonBindings reg_router_py(bind_router);

}  // namespace
}  // namespace cosim

#include "cosim/model.h"

#include <set>
#include <stdexcept>

namespace cosim {

const char* port_kind_name(PortKind k) {
  switch (k) {
    case PortKind::TlmInitiator: return "tlm_initiator";
    case PortKind::TlmTarget: return "tlm_target";
    case PortKind::Event: return "event";
  }
  return "?";
}

std::string Port::full_name() const { return std::string(owner->name()) + "." + name; }

Model::Model(const sc_core::sc_module_name& name, std::string kind, Params params)
    : sc_core::sc_module(name), kind_(std::move(kind)), params_(std::move(params)) {}

Model::~Model() = default;

Port* Model::find_port(const std::string& name) const {
  for (const auto& p : ports_)
    if (p->name == name) return p.get();
  return nullptr;
}

Port& Model::add_port(const std::string& name, PortKind kind, bool multi) {
  if (find_port(name) != nullptr)
    throw std::logic_error(std::string("model '") + this->name() + "' exposes port '" + name +
                           "' twice");
  auto p = std::make_unique<Port>();
  p->owner = this;
  p->name = name;
  p->kind = kind;
  p->multi = multi;
  ports_.push_back(std::move(p));
  return *ports_.back();
}

void Model::expose_event(const std::string& name, sc_core::sc_event& e) {
  add_port(name, PortKind::Event, true).event = &e;
}

Counter& Model::counter(const std::string& leaf, const std::string& desc,
                        const std::string& unit) {
  return stats().counter(std::string(name()) + "." + leaf, desc, unit);
}
Average& Model::average(const std::string& leaf, const std::string& desc,
                        const std::string& unit) {
  return stats().average(std::string(name()) + "." + leaf, desc, unit);
}
Histogram& Model::histogram(const std::string& leaf, double lo, double hi, std::size_t bins,
                            const std::string& desc, const std::string& unit) {
  return stats().histogram(std::string(name()) + "." + leaf, lo, hi, bins, desc, unit);
}
Value& Model::value(const std::string& leaf, const std::string& desc, const std::string& unit) {
  return stats().value(std::string(name()) + "." + leaf, desc, unit);
}

ModelRegistry& ModelRegistry::instance() {
  static auto* r = new ModelRegistry();
  return *r;
}

void ModelRegistry::add(ModelSpec spec) {
  if (find(spec.name) != nullptr)
    throw std::logic_error("model '" + spec.name + "' is registered twice");
  std::set<std::string> seen;
  for (const auto& p : spec.params)
    if (!seen.insert(p.name).second)
      throw std::logic_error("model '" + spec.name + "' declares parameter '" + p.name +
                             "' twice");
  specs_.push_back(std::make_unique<ModelSpec>(std::move(spec)));
}

const ModelSpec* ModelRegistry::find(const std::string& name) const {
  for (const auto& s : specs_)
    if (s->name == name) return s.get();
  return nullptr;
}

std::vector<const ModelSpec*> ModelRegistry::all() const {
  std::vector<const ModelSpec*> out;
  for (const auto& s : specs_) out.push_back(s.get());
  return out;
}

Model* ModelRegistry::create(const std::string& kind, const std::string& name,
                             const Params& params) const {
  const ModelSpec* spec = find(kind);
  if (spec == nullptr) throw std::invalid_argument("unknown model '" + kind + "'");
  Model* m = spec->factory(sc_core::sc_module_name(name.c_str()), params);
  // A mismatch between the declared and the exposed ports is a bug in the model.
  for (const auto& ps : spec->ports) {
    Port* p = m->find_port(ps.name);
    if (p == nullptr || p->kind != ps.kind || p->multi != ps.multi)
      throw std::logic_error("model '" + kind + "' declares port '" + ps.name +
                             "' but its instance does not expose it as declared");
  }
  if (m->ports().size() != spec->ports.size())
    throw std::logic_error("model '" + kind + "' exposes ports its spec does not declare");
  return m;
}

}  // namespace cosim

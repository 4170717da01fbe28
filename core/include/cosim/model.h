// The base class of every C++ model that Python can instantiate, and the registry that
// makes a model known by name with its parameter schema and ports.
//
// A model file (tlm/memory.cpp, ...) defines a Model subclass and registers it:
//
//   static cosim::ModelSpec memory_spec() {
//     cosim::ModelSpec s;
//     s.name = "memory"; s.summary = "..."; s.source = "...";
//     s.params = {cosim::int_param("size", ...), ...};
//     s.ports = {{"target", cosim::PortKind::TlmTarget, "accesses"}};
//     s.factory = [](const sc_core::sc_module_name& n, const cosim::Params& p) {
//       return new Memory(n, p); };
//     return s;
//   }
//   static const cosim::RegisterModel reg(memory_spec());
//
// and in its constructor exposes the sockets and events it declared:
//   expose_target("target", socket_);
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cosim/common.h"
#include "cosim/params.h"
#include "cosim/stats.h"

namespace cosim {

enum class PortKind { TlmInitiator, TlmTarget, Event };
const char* port_kind_name(PortKind k);

struct PortSpec {
  std::string name;
  PortKind kind = PortKind::TlmTarget;
  std::string doc;
  bool multi = false;  // may be bound more than once (interconnect sockets)
};

class Model;

// A port of a live model instance. Binding is done through these (from Python), so the
// framework can check it and name both ends when something is wrong.
struct Port {
  Model* owner = nullptr;
  std::string name;
  PortKind kind = PortKind::TlmTarget;
  bool multi = false;
  InitiatorSocketBase* initiator = nullptr;
  std::function<void(TargetSocketBase&)> bind_initiator;  // for initiator ports
  TargetSocketBase* target = nullptr;
  sc_core::sc_event* event = nullptr;
  std::vector<std::string> peers;  // full names of the ports this one is bound to

  std::string full_name() const;
};

// Stack size for SC_THREADs that may end up running Python code (a Python target called
// from a C++ initiator). SystemC's default (64 KiB) is too small for the interpreter.
constexpr std::size_t kPythonSafeStackBytes = 2u << 20;

class Model : public sc_core::sc_module {
 public:
  Model(const sc_core::sc_module_name& name, std::string kind, Params params);
  ~Model() override;

  const std::string& model_kind() const { return kind_; }
  const Params& params() const { return params_; }
  Port* find_port(const std::string& name) const;
  const std::vector<std::unique_ptr<Port>>& ports() const { return ports_; }

 protected:
  template <typename Socket>
  void expose_initiator(const std::string& name, Socket& s, bool multi = false) {
    auto& p = add_port(name, PortKind::TlmInitiator, multi);
    p.initiator = &s;
    p.bind_initiator = [&s](TargetSocketBase& t) { s.bind(t); };
  }
  template <typename Socket>
  void expose_target(const std::string& name, Socket& s, bool multi = false) {
    auto& p = add_port(name, PortKind::TlmTarget, multi);
    p.target = &s;
  }
  void expose_event(const std::string& name, sc_core::sc_event& e);

  // Stats named "<this model's hierarchical name>.<leaf>".
  Counter& counter(const std::string& leaf, const std::string& desc,
                   const std::string& unit = "");
  Average& average(const std::string& leaf, const std::string& desc,
                   const std::string& unit = "");
  Histogram& histogram(const std::string& leaf, double lo, double hi, std::size_t bins,
                       const std::string& desc, const std::string& unit = "");
  Value& value(const std::string& leaf, const std::string& desc, const std::string& unit = "");

 private:
  Port& add_port(const std::string& name, PortKind kind, bool multi);
  std::string kind_;
  Params params_;
  std::vector<std::unique_ptr<Port>> ports_;
};

struct ModelSpec {
  std::string name;     // registry key: "memory", "traffic_gen", ...
  std::string summary;  // one line
  std::string doc;      // longer description: behaviour, timing model
  std::string source;   // where the timing/energy figures come from
  std::vector<ParamSpec> params;
  std::vector<PortSpec> ports;
  std::function<Model*(const sc_core::sc_module_name&, const Params&)> factory;
};

class ModelRegistry {
 public:
  static ModelRegistry& instance();
  void add(ModelSpec spec);  // throws std::logic_error on a duplicate name
  const ModelSpec* find(const std::string& name) const;
  std::vector<const ModelSpec*> all() const;
  // Build an instance and check that it exposed exactly the ports its spec declares.
  Model* create(const std::string& kind, const std::string& name, const Params& params) const;

 private:
  std::vector<std::unique_ptr<ModelSpec>> specs_;
};

struct RegisterModel {
  explicit RegisterModel(ModelSpec spec) { ModelRegistry::instance().add(std::move(spec)); }
};

}  // namespace cosim

#include "rtl_library.h"

#include <dlfcn.h>

#include <map>
#include <stdexcept>

namespace cosim::rtl {

const char* pin_dir_name(PinDir d) {
  switch (d) {
    case PinDir::Input: return "input";
    case PinDir::Output: return "output";
    case PinDir::Inout: return "inout";
  }
  return "?";
}

template <typename Fn>
static Fn symbol(void* so, const std::string& path, const char* name) {
  dlerror();
  void* p = dlsym(so, name);
  if (p == nullptr)
    throw std::invalid_argument("'" + path + "' is not a cosim RTL library: it has no symbol " +
                                name + " (build it with cosim.rtl.build)");
  return reinterpret_cast<Fn>(p);
}

const RtlLibrary& RtlLibrary::load(const std::string& path) {
  // Loaded libraries stay loaded for the life of the process, as the models do.
  static auto* loaded = new std::map<std::string, std::unique_ptr<RtlLibrary>>();
  auto it = loaded->find(path);
  if (it != loaded->end()) return *it->second;
  // RTLD_LOCAL: each library keeps its own copy of Verilator's run-time library.
  void* so = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (so == nullptr) {
    const char* err = dlerror();
    throw std::invalid_argument("cannot load RTL library '" + path + "': " + (err ? err : "?"));
  }
  auto lib = std::make_unique<RtlLibrary>();
  lib->path = path;
  const auto abi = symbol<cosim_rtl_abi_version_fn>(so, path, "cosim_rtl_abi_version")();
  if (abi != COSIM_RTL_ABI_VERSION)
    throw std::invalid_argument("RTL library '" + path + "' has ABI version " + std::to_string(abi) +
                                ", this cosim needs " + std::to_string(COSIM_RTL_ABI_VERSION) +
                                ": rebuild it with cosim.rtl.build");
  lib->top = symbol<cosim_rtl_top_fn>(so, path, "cosim_rtl_top")();
  lib->trace_format = symbol<cosim_rtl_trace_format_fn>(so, path, "cosim_rtl_trace_format")();
  const std::uint32_t n = symbol<cosim_rtl_num_ports_fn>(so, path, "cosim_rtl_num_ports")();
  const cosim_rtl_port* ports = symbol<cosim_rtl_ports_fn>(so, path, "cosim_rtl_ports")();
  lib->ports.assign(ports, ports + n);
  lib->create = symbol<cosim_rtl_create_fn>(so, path, "cosim_rtl_create");
  lib->destroy = symbol<cosim_rtl_destroy_fn>(so, path, "cosim_rtl_destroy");
  lib->eval = symbol<cosim_rtl_eval_fn>(so, path, "cosim_rtl_eval");
  lib->port_data = symbol<cosim_rtl_port_data_fn>(so, path, "cosim_rtl_port_data");
  lib->trace_open = symbol<cosim_rtl_trace_open_fn>(so, path, "cosim_rtl_trace_open");
  lib->trace_dump = symbol<cosim_rtl_trace_dump_fn>(so, path, "cosim_rtl_trace_dump");
  lib->trace_close = symbol<cosim_rtl_trace_close_fn>(so, path, "cosim_rtl_trace_close");
  return *loaded->emplace(path, std::move(lib)).first->second;
}

RtlModel::RtlModel(const RtlLibrary& lib) : lib_(lib), handle_(lib.create()) {
  pins_.reserve(lib.ports.size());
  for (std::uint32_t i = 0; i < lib.ports.size(); ++i) {
    const auto& p = lib.ports[i];
    pins_.emplace_back(p.name, static_cast<PinDir>(p.direction), p.width, p.storage,
                       lib.port_data(handle_, i));
  }
}

RtlModel::~RtlModel() { lib_.destroy(handle_); }

Pin* RtlModel::find(const std::string& name) {
  for (auto& p : pins_)
    if (p.name() == name) return &p;
  return nullptr;
}

}  // namespace cosim::rtl

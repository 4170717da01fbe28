// The Python face of rtl_block (cosim._core.RtlBlock): bridges declared by naming pins
// (cosim.rtl.block wraps these with defaults and friendlier checks), pin access, and the
// slow per-cycle Python callback for prototyping.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <stdexcept>
#include <vector>

#include "bridges.h"
#include "cosim/python.h"

namespace nb = nanobind;

namespace cosim::rtl {
namespace {

template <typename F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    raise_python_error("BindingError", e.what());
  }
}

Pin& pin_or_raise(RtlBlock& b, const std::string& name) {
  Pin* p = b.find_pin(name);
  if (p == nullptr) {
    std::string known;
    for (const auto& q : b.pins()) known += (known.empty() ? "" : ", ") + q.name();
    throw nb::key_error((b.label() + " has no pin '" + name + "'; its pins: " + known).c_str());
  }
  return *p;
}

nb::object pin_value(const Pin& p) {
  if (p.width() <= 64) return nb::steal(PyLong_FromUnsignedLongLong(p.get()));
  std::vector<std::uint8_t> buf(p.bytes());
  p.read(buf.data());
  nb::object int_type = nb::module_::import_("builtins").attr("int");
  return int_type.attr("from_bytes")(nb::bytes(buf.data(), buf.size()), "little");
}

// `value` as the pin's bytes, least significant first; ValueError if it does not fit.
std::vector<std::uint8_t> pin_bytes(const Pin& p, nb::handle value) {
  if (PyBool_Check(value.ptr()) || !PyLong_Check(value.ptr()))
    throw nb::type_error(("pin '" + p.name() + "' takes an int, got " +
                          nb::cast<std::string>(nb::repr(value))).c_str());
  if (PyObject_RichCompareBool(value.ptr(), nb::int_(0).ptr(), Py_LT) == 1 ||
      nb::cast<std::size_t>(value.attr("bit_length")()) > p.width())
    throw nb::value_error(("value " + nb::cast<std::string>(nb::repr(value)) + " does not fit the " +
                           std::to_string(p.width()) + "-bit pin '" + p.name() + "'").c_str());
  nb::bytes b = nb::cast<nb::bytes>(value.attr("to_bytes")(p.bytes(), "little"));
  const auto* d = static_cast<const std::uint8_t*>(b.data());
  return std::vector<std::uint8_t>(d, d + b.size());
}

// Pin access handed to the slow per-cycle callback: reads see the settled pins before
// the coming edge, writes take effect after it (like a non-blocking assignment in a
// synchronous test bench).
struct RtlPins {
  RtlBlock* block;
  std::vector<std::pair<Pin*, std::vector<std::uint8_t>>> staged;

  void set(const std::string& name, nb::handle value) {
    Pin& p = pin_or_raise(*block, name);
    if (p.dir() != PinDir::Input)
      throw nb::value_error(("pin '" + name + "' of " + block->label() + " is an " + pin_dir_name(p.dir()) +
                             "; the callback can only drive inputs").c_str());
    const std::string& owner = block->input_owner(p);
    if (!owner.empty())
      throw nb::value_error(("pin '" + name + "' of " + block->label() + " is driven by " +
                             (owner.front() == '(' ? "the block " + owner : "bridge '" + owner + "'")).c_str());
    staged.emplace_back(&p, pin_bytes(p, value));
  }
  void apply() {
    for (auto& [pin, bytes] : staged) pin->write(bytes.data());
    staged.clear();
  }
};

class SlowCycleBridge final : public Adapter {
 public:
  SlowCycleBridge(RtlBlock& b, nb::object fn)
      : Adapter(b, "(slow Python callback)"),
        fn_(std::move(fn)),
        pins_obj_(nb::cast(RtlPins{&b, {}})),
        pins_(nb::inst_ptr<RtlPins>(pins_obj_)),
        calls_(b.stat_counter("slow_callback_calls", "calls of the slow per-cycle Python callback")) {
    b.keep_clock(true);
  }

  void sample() override {
    nb::object r;
    calls_.inc();
    try {
      r = fn_(block_.cycle() + 1, pins_obj_);
    } catch (nb::python_error& e) {
      e.restore();
      block_.fail_with_python_error("in the slow per-cycle Python callback before edge " +
                                    std::to_string(block_.cycle() + 1));
    }
    finished_ = r.ptr() == Py_False;
  }

  void commit(std::uint64_t, Picos) override {
    pins_->apply();
    if (finished_) {  // the callback returned False: no more calls
      active_ = false;
      block_.keep_clock(false);
    }
  }

  unsigned hooks() const override { return kSample | kCommit; }

 private:
  nb::object fn_;
  nb::object pins_obj_;
  RtlPins* pins_;
  bool finished_ = false;
  Counter& calls_;
};

void bind(nb::module_& m) {
  nb::class_<RtlPins>(m, "RtlPins",
                      "Pins of an RTL block for the slow per-cycle callback: pins['name'] reads "
                      "(settled values before the coming edge), pins['name'] = v drives an "
                      "input from the edge on.")
      .def("__getitem__", [](RtlPins& p, const std::string& name) { return pin_value(pin_or_raise(*p.block, name)); })
      .def("__setitem__", &RtlPins::set)
      .def("__contains__", [](RtlPins& p, const std::string& name) { return p.block->find_pin(name) != nullptr; })
      .def("names", [](RtlPins& p) {
        std::vector<std::string> out;
        for (const auto& q : p.block->pins()) out.push_back(q.name());
        return out;
      });

  nb::class_<RtlBlock, Model>(m, "RtlBlock", "An RTL block (model 'rtl_block'); see cosim.rtl.block().")
      .def_prop_ro("top", &RtlBlock::top)
      .def_prop_ro("period", &RtlBlock::period, "clock period in ps")
      .def_prop_ro("cycle", &RtlBlock::cycle, "clock edges simulated so far (reset included)")
      .def("pins", [](RtlBlock& b) {
        std::vector<std::tuple<std::string, std::string, std::uint32_t>> out;
        for (const auto& p : b.pins()) out.emplace_back(p.name(), pin_dir_name(p.dir()), p.width());
        return out;
      }, "(name, direction, width) of every pin")
      .def("peek", [](RtlBlock& b, const std::string& name) { return pin_value(pin_or_raise(b, name)); },
           nb::arg("pin"), "The pin's value now (as of the last simulated edge).")
      .def("close_waves", &RtlBlock::close_waves, "Finish the waveform file now.")
      .def("add_stream_in",
           [](RtlBlock& b, const std::string& name, const std::string& valid, const std::string& ready,
              const std::vector<std::string>& data, bool blocking) {
             return guarded([&] { return &add_stream_in(b, name, valid, ready, data, blocking); });
           },
           nb::rv_policy::reference, nb::arg("name"), nb::arg("valid"), nb::arg("ready"), nb::arg("data"),
           nb::arg("blocking") = true,
           "ready '' : the RTL takes a beat at every edge where valid is high; data: pins packed "
           "least significant first")
      .def("add_stream_out",
           [](RtlBlock& b, const std::string& name, const std::string& valid, const std::string& ready,
              const std::vector<std::string>& data, bool blocking, std::uint64_t capture_depth) {
             return guarded(
                 [&] { return &add_stream_out(b, name, valid, ready, data, blocking, capture_depth); });
           },
           nb::rv_policy::reference, nb::arg("name"), nb::arg("valid"), nb::arg("ready"), nb::arg("data"),
           nb::arg("blocking") = true, nb::arg("capture_depth") = 0,
           "ready '' : capture mode, beats buffered (capture_depth beats) until read")
      .def("add_tie",
           [](RtlBlock& b, const std::string& pin, nb::bytes value) {
             const auto* d = static_cast<const std::uint8_t*>(value.data());
             guarded([&] {
               add_tie(b, pin, std::vector<std::uint8_t>(d, d + value.size()));
               return 0;
             });
           },
           nb::arg("pin"), nb::arg("value"), "Hold input `pin` at `value` (bytes, least significant first).")
      .def("undriven_inputs", &RtlBlock::undriven_inputs,
           "Inputs no bridge, clock, reset or tie drives (held at 0).")
      .def("add_register_port",
           [](RtlBlock& b, const std::string& name, const std::string& req, const std::string& ack,
              const std::string& write, const std::string& addr, const std::string& wdata, const std::string& rdata) {
             return guarded([&] { return &add_register_port(b, name, req, ack, write, addr, wdata, rdata); });
           },
           nb::rv_policy::reference, nb::arg("name"), nb::arg("req"), nb::arg("ack"), nb::arg("write"),
           nb::arg("addr"), nb::arg("wdata"), nb::arg("rdata"))
      .def("add_memory_master",
           [](RtlBlock& b, const std::string& name, const std::string& req_valid, const std::string& req_ready,
              const std::string& write, const std::string& addr, const std::string& wdata,
              const std::string& rsp_valid, const std::string& rsp_rdata, std::uint32_t max_outstanding,
              std::uint64_t address_offset) {
             return guarded([&] {
               return &add_memory_master(b, name, req_valid, req_ready, write, addr, wdata, rsp_valid, rsp_rdata,
                                         max_outstanding, address_offset);
             });
           },
           nb::rv_policy::reference, nb::arg("name"), nb::arg("req_valid"), nb::arg("req_ready"), nb::arg("write"),
           nb::arg("addr"), nb::arg("wdata"), nb::arg("rsp_valid"), nb::arg("rsp_rdata"),
           nb::arg("max_outstanding") = 1, nb::arg("address_offset") = 0)
      .def("add_interrupt",
           [](RtlBlock& b, const std::string& name, const std::string& pin, std::uint64_t timeout_cycles) {
             return guarded([&] { return &add_interrupt(b, name, pin, timeout_cycles); });
           },
           nb::rv_policy::reference, nb::arg("name"), nb::arg("pin"), nb::arg("timeout_cycles") = 0)
      .def("set_slow_cycle_callback",
           [](RtlBlock& b, nb::object fn) {
             if (!PyCallable_Check(fn.ptr())) throw nb::type_error("the slow per-cycle callback must be callable");
             guarded([&] {
               if (!b.elaborating())
                 throw std::invalid_argument(b.label() + ": cannot add a callback after the simulation has started");
               b.add_adapter(std::make_unique<SlowCycleBridge>(b, std::move(fn)));
               return 0;
             });
           },
           nb::arg("fn"),
           "SLOW (prototyping only): call fn(cycle, pins) from the clock thread once per clock "
           "edge while it does not return False. Python in the per-cycle loop is hundreds of "
           "times slower than a bridge.");
}

const RegisterPythonBindings reg_py(bind);

}  // namespace
}  // namespace cosim::rtl

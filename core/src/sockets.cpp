#include "sockets.h"

#include <nanobind/stl/string.h>

#include <algorithm>
#include <cstring>

#include "awaitables.h"
#include "numpy_util.h"

namespace cosim::py {

// ---------------------------------------------------------------------------- payload

Payload::Payload() : owned_(std::make_unique<tlm::tlm_generic_payload>()) {}

Payload::Payload(tlm::tlm_generic_payload* in_flight) : view_(in_flight) {}

tlm::tlm_generic_payload& Payload::gp() {
  if (owned_) return *owned_;
  if (view_ == nullptr)
    raise("SimulationError",
          "this payload was handed to b_transport and may not be used after that call "
          "returned (TLM-2.0 payloads belong to their initiator)");
  return *view_;
}

// A contiguous copy of any bytes-like object as a new uint8 array, or the object itself
// when it already is a writable C-contiguous uint8 ndarray (zero-copy).
static nb::object as_u8_array(nb::handle data, const char* what) {
  PyObject* o = data.ptr();
  Py_buffer view{};
  if (PyObject_GetBuffer(o, &view, PyBUF_RECORDS_RO) < 0) {
    PyErr_Clear();
    PyErr_Format(PyExc_TypeError, "%s must be a bytes-like object or numpy array, got %s", what,
                 Py_TYPE(o)->tp_name);
    throw nb::python_error();
  }
  const bool zero_copy = !view.readonly && view.format != nullptr &&
                         std::strcmp(view.format, "B") == 0 && view.ndim == 1 &&
                         PyBuffer_IsContiguous(&view, 'C') &&
                         std::strcmp(Py_TYPE(o)->tp_name, "numpy.ndarray") == 0;
  if (zero_copy) {
    PyBuffer_Release(&view);
    return nb::borrow(data);
  }
  const bool contiguous = PyBuffer_IsContiguous(&view, 'C');
  const std::size_t n = static_cast<std::size_t>(view.len);
  std::uint8_t* dst = nullptr;
  PyObject* arr = new_u8_array(n, &dst);
  if (arr == nullptr) {
    PyBuffer_Release(&view);
    throw nb::python_error();
  }
  if (contiguous)
    std::memcpy(dst, view.buf, n);
  else if (PyBuffer_ToContiguous(dst, &view, view.len, 'C') < 0) {
    PyBuffer_Release(&view);
    Py_DECREF(arr);
    throw nb::python_error();
  }
  PyBuffer_Release(&view);
  return nb::steal(arr);
}

static std::uint8_t* array_data(nb::handle arr, std::size_t* n) {
  Py_buffer view{};
  if (PyObject_GetBuffer(arr.ptr(), &view, PyBUF_WRITABLE) < 0) throw nb::python_error();
  auto* p = static_cast<std::uint8_t*>(view.buf);
  *n = static_cast<std::size_t>(view.len);
  PyBuffer_Release(&view);  // the array object (held by the payload) keeps the memory
  return p;
}

// ------------------------------------------------------------------------- initiator

PyInitiator::PyInitiator(const sc_core::sc_module_name& name)
    : Model(name, "python_initiator", Params{}),
      socket_("socket"),
      track_(tracer().track(this->name())),
      reads_(counter("reads", "read transactions")),
      writes_(counter("writes", "write transactions")),
      bytes_read_(counter("bytes_read", "bytes read", "B")),
      bytes_written_(counter("bytes_written", "bytes written", "B")),
      errors_(counter("errors", "transactions answered with an error response")),
      dmi_accesses_(counter("dmi_accesses", "accesses served through DMI")),
      latency_(average("latency", "annotated latency per transaction", "ps")) {
  expose_initiator("socket", socket_);
  socket_.register_invalidate_direct_mem_ptr(this, &PyInitiator::invalidate);
}

std::string PyInitiator::bound_target() const {
  const Port* p = find_port("socket");
  return p != nullptr && !p->peers.empty() ? p->peers.front() : std::string("<unbound>");
}

void PyInitiator::invalidate(sc_dt::uint64 start, sc_dt::uint64 end) {
  if (dmi_valid_ && start <= dmi_.get_end_address() && end >= dmi_.get_start_address())
    dmi_valid_ = false;
}

bool PyInitiator::get_dmi(std::uint64_t addr, bool for_write, tlm::tlm_dmi& out) {
  tlm::tlm_generic_payload g;
  g.set_address(addr);
  g.set_command(for_write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  out.init();
  return socket_->get_direct_mem_ptr(g, out);
}

bool PyInitiator::dmi_hit(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  if (!dmi_valid_) return false;
  const std::uint64_t a = gp.get_address();
  const std::uint64_t len = gp.get_data_length();
  if (len == 0 || a < dmi_.get_start_address() || a + len - 1 > dmi_.get_end_address())
    return false;
  if (gp.get_byte_enable_ptr() != nullptr || gp.get_streaming_width() != len) return false;
  unsigned char* p = dmi_.get_dmi_ptr() + (a - dmi_.get_start_address());
  if (gp.is_read()) {
    if (!dmi_.is_read_allowed()) return false;
    std::memcpy(gp.get_data_ptr(), p, len);
    delay += dmi_.get_read_latency();
  } else if (gp.is_write()) {
    if (!dmi_.is_write_allowed()) return false;
    std::memcpy(p, gp.get_data_ptr(), len);
    delay += dmi_.get_write_latency();
  } else {
    return false;
  }
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  dmi_accesses_.inc();
  return true;
}

void PyInitiator::transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  const Picos d0 = to_ps(delay);
  if (!(use_dmi && dmi_hit(gp, delay))) {
    socket_->b_transport(gp, delay);
    if (use_dmi && !dmi_valid_ && gp.is_dmi_allowed() && gp.is_response_ok()) {
      tlm::tlm_dmi d;
      if (get_dmi(gp.get_address(), gp.is_write(), d)) {
        dmi_ = d;
        dmi_valid_ = true;
      }
    }
  }
  const Picos d1 = to_ps(delay);
  const Picos lat = d1 > d0 ? d1 - d0 : 0;
  const unsigned len = gp.get_data_length();
  if (!gp.is_response_ok()) {
    errors_.inc();
  } else if (gp.is_read()) {
    reads_.inc();
    bytes_read_.inc(len);
  } else if (gp.is_write()) {
    writes_.inc();
    bytes_written_.inc(len);
  }
  latency_.sample(static_cast<double>(lat));
  tracer().transaction(track_, gp.get_command(), gp.get_address(), len, now_ps() + d0, lat,
                       gp.get_response_status());
}

// ---------------------------------------------------------------------------- target

PyTarget::PyTarget(const sc_core::sc_module_name& name, nb::object impl)
    : Model(name, "python_target", Params{}),
      socket_("socket"),
      impl_(std::move(impl)),
      calls_(counter("transactions", "b_transport calls")) {
  if (!nb::hasattr(impl_, "b_transport"))
    raise("BindingError", std::string("Python target '") + this->name() +
                              "' needs a b_transport(payload, delay) method");
  b_transport_ = impl_.attr("b_transport");
  expose_target("socket", socket_);
  socket_.register_b_transport(this, &PyTarget::b_transport);
  socket_.register_get_direct_mem_ptr(this, &PyTarget::get_direct_mem_ptr);
  socket_.register_transport_dbg(this, &PyTarget::transport_dbg);
}

void PyTarget::b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  calls_.inc();
  Kernel& k = Kernel::instance();
  const std::string where = std::string("in Python target '") + name() + "' (" +
                            command_name(gp.get_command()) + " at " + hex(gp.get_address()) +
                            ", t=" + format_ps(k.now()) + ")";
  nb::object view = nb::cast(Payload(&gp), nb::rv_policy::move);
  nb::object r;
  try {
    r = b_transport_(view, to_ps(delay));
  } catch (nb::python_error& e) {
    nb::inst_ptr<Payload>(view)->invalidate();
    e.restore();
    k.fail_with_current_error(where);
    set_error(gp, tlm::TLM_GENERIC_ERROR_RESPONSE, name(), "the Python target raised an exception");
    return;
  }
  nb::inst_ptr<Payload>(view)->invalidate();
  if (!r.is_none()) {
    std::int64_t d = -1;
    if (!nb::try_cast<std::int64_t>(r, d) || PyBool_Check(r.ptr()) || d < 0) {
      PyErr_Format(PyExc_TypeError,
                   "b_transport of Python target '%s' must return the new delay in ps (an int "
                   ">= 0) or None, got %R",
                   name(), r.ptr());
      k.fail_with_current_error(where);
      set_error(gp, tlm::TLM_GENERIC_ERROR_RESPONSE, name(), "bad return value");
      return;
    }
    delay = from_ps(static_cast<Picos>(d));
  }
  if (gp.get_response_status() == tlm::TLM_INCOMPLETE_RESPONSE)
    set_error(gp, tlm::TLM_GENERIC_ERROR_RESPONSE, name(),
              "the Python target left the response status INCOMPLETE; call payload.set_ok() "
              "or payload.set_error(...)");
  ErrorInfo* info = nullptr;
  gp.get_extension(info);
  if (info != nullptr && info->target.empty()) info->target = name();
}

unsigned PyTarget::transport_dbg(tlm::tlm_generic_payload& gp) {
  if (!nb::hasattr(impl_, "transport_dbg")) return 0;
  nb::object view = nb::cast(Payload(&gp), nb::rv_policy::move);
  nb::object r;
  try {
    r = impl_.attr("transport_dbg")(view);
  } catch (nb::python_error& e) {
    nb::inst_ptr<Payload>(view)->invalidate();
    e.restore();
    Kernel::instance().fail_with_current_error(std::string("in transport_dbg of Python target '") +
                                               name() + "'");
    return 0;
  }
  nb::inst_ptr<Payload>(view)->invalidate();
  unsigned n = 0;
  if (!r.is_none()) n = nb::cast<unsigned>(r);
  return n;
}

bool PyTarget::get_direct_mem_ptr(tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
  if (!nb::hasattr(impl_, "get_dmi")) return false;
  Kernel& k = Kernel::instance();
  try {
    nb::object r = impl_.attr("get_dmi")(gp.get_address(), gp.is_write());
    if (r.is_none()) return false;
    nb::object buf = r.attr("buffer");
    const auto start = nb::cast<std::uint64_t>(r.attr("start"));
    const auto end = nb::cast<std::uint64_t>(r.attr("end"));
    std::size_t n = 0;
    std::uint8_t* p = array_data(buf, &n);
    if (end < start || end - start + 1 > n)
      raise("SimulationError", std::string("get_dmi of Python target '") + name() +
                                   "' granted [" + hex(start) + ", " + hex(end) +
                                   "] but its buffer holds only " + std::to_string(n) + " bytes");
    const std::string access = nb::cast<std::string>(r.attr("access"));
    dmi.set_dmi_ptr(p);
    dmi.set_start_address(start);
    dmi.set_end_address(end);
    dmi.set_read_latency(from_ps(nb::cast<std::uint64_t>(r.attr("read_latency"))));
    dmi.set_write_latency(from_ps(nb::cast<std::uint64_t>(r.attr("write_latency"))));
    const bool rd = access.find('r') != std::string::npos;
    const bool wr = access.find('w') != std::string::npos;
    dmi.set_granted_access(rd && wr ? tlm::tlm_dmi::DMI_ACCESS_READ_WRITE
                           : wr    ? tlm::tlm_dmi::DMI_ACCESS_WRITE
                                   : tlm::tlm_dmi::DMI_ACCESS_READ);
    dmi_buffers_.push_back(buf);
    return true;
  } catch (nb::python_error& e) {
    e.restore();
    k.fail_with_current_error(std::string("in get_dmi of Python target '") + name() + "'");
    return false;
  }
}

void PyTarget::invalidate_dmi(std::uint64_t start, std::uint64_t end) {
  socket_->invalidate_direct_mem_ptr(start, end);
}

// -------------------------------------------------------------------------- bindings

namespace {

struct DmiRegion {
  std::uint64_t start, end;
  Picos read_latency, write_latency;
  bool readable, writable;
  nb::object data;
};

void check_started(const char* what) {
  if (Kernel::instance().phase() == Phase::Elaboration)
    raise("SimulationError", std::string(what) +
                                 " is available once the simulation has started (SystemC "
                                 "resolves socket bindings at the end of elaboration)");
}

nb::object make_socket_request(ReqKind kind, PyInitiator& s, nb::handle self, std::uint64_t addr,
                               std::uint64_t len, nb::object buffer) {
  Request r;
  r.kind = kind;
  r.socket = &s;
  r.socket_ref = nb::borrow(self);
  r.addr = addr;
  r.len = len;
  r.buffer = std::move(buffer);
  return make_request(std::move(r));
}

// A socket request that holds the caller's buffer (acquired once, here).
nb::object make_buffer_request(ReqKind kind, PyInitiator& s, nb::handle self, std::uint64_t addr,
                               nb::object data, const char* what) {
  const bool writable = kind == ReqKind::ReadInto;
  Request r;
  if (PyObject_GetBuffer(data.ptr(), &r.view, writable ? PyBUF_WRITABLE : PyBUF_SIMPLE) < 0) {
    PyErr_Clear();
    PyErr_Format(PyExc_TypeError, "%s must be a %scontiguous bytes-like object or numpy array, got %s",
                 what, writable ? "writable " : "", Py_TYPE(data.ptr())->tp_name);
    throw nb::python_error();
  }
  r.has_view = true;
  const auto n = static_cast<std::uint64_t>(r.view.len);
  if (n == 0) throw nb::value_error((std::string(what) + " is empty: a transaction moves at least one byte").c_str());
  if (n > 0xffffffffULL) throw nb::value_error((std::string(what) + " is larger than 4 GiB").c_str());
  r.kind = kind;
  r.socket = &s;
  r.socket_ref = nb::borrow(self);
  r.addr = addr;
  r.len = n;
  r.buffer = std::move(data);
  return make_request(std::move(r));
}

}  // namespace

void bind_sockets(nb::module_& m) {
  nb::enum_<tlm::tlm_command>(m, "Command")
      .value("READ", tlm::TLM_READ_COMMAND)
      .value("WRITE", tlm::TLM_WRITE_COMMAND)
      .value("IGNORE", tlm::TLM_IGNORE_COMMAND);
  nb::enum_<tlm::tlm_response_status>(m, "Response")
      .value("OK", tlm::TLM_OK_RESPONSE)
      .value("INCOMPLETE", tlm::TLM_INCOMPLETE_RESPONSE)
      .value("GENERIC_ERROR", tlm::TLM_GENERIC_ERROR_RESPONSE)
      .value("ADDRESS_ERROR", tlm::TLM_ADDRESS_ERROR_RESPONSE)
      .value("COMMAND_ERROR", tlm::TLM_COMMAND_ERROR_RESPONSE)
      .value("BURST_ERROR", tlm::TLM_BURST_ERROR_RESPONSE)
      .value("BYTE_ENABLE_ERROR", tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);

  nb::class_<Payload>(m, "Payload",
                      "A TLM-2.0 generic payload. `data` and `byte_enable` are zero-copy numpy "
                      "views of the payload's buffers.")
      .def("__init__",
           [](Payload* self, tlm::tlm_command command, std::uint64_t address, nb::object data,
              nb::object length, nb::object byte_enable, nb::object streaming_width) {
             new (self) Payload();
             auto& gp = self->gp();
             if (data.is_none()) {
               if (length.is_none())
                 throw nb::value_error("Payload needs `data` or `length`");
               const auto n = nb::cast<std::int64_t>(length);
               if (n <= 0) throw nb::value_error("Payload length must be >= 1 byte");
               std::uint8_t* p = nullptr;
               PyObject* arr = new_u8_array(static_cast<std::size_t>(n), &p);
               if (arr == nullptr) throw nb::python_error();
               std::memset(p, 0, static_cast<std::size_t>(n));
               self->data_owner = nb::steal(arr);
             } else {
               self->data_owner = as_u8_array(data, "Payload data");
             }
             std::size_t n = 0;
             std::uint8_t* p = array_data(self->data_owner, &n);
             if (n == 0) throw nb::value_error("Payload data is empty");
             if (!length.is_none() && nb::cast<std::size_t>(length) != n)
               throw nb::value_error("Payload length disagrees with the size of `data`");
             gp.set_command(command);
             gp.set_address(address);
             gp.set_data_ptr(p);
             gp.set_data_length(static_cast<unsigned>(n));
             gp.set_streaming_width(streaming_width.is_none()
                                        ? static_cast<unsigned>(n)
                                        : nb::cast<unsigned>(streaming_width));
             if (gp.get_streaming_width() == 0)
               throw nb::value_error("Payload streaming_width must be >= 1");
             if (!byte_enable.is_none()) {
               if (!PyObject_CheckBuffer(byte_enable.ptr())) {  // a list of flags
                 nb::object np = nb::module_::import_("numpy");
                 byte_enable = np.attr("asarray")(byte_enable, np.attr("bool_")).attr("astype")(np.attr("uint8"));
               }
               nb::object be = as_u8_array(byte_enable, "Payload byte_enable");
               if (be.ptr() == byte_enable.ptr()) {  // never alias the caller's mask
                 std::size_t bn = 0;
                 std::uint8_t* src = array_data(be, &bn);
                 std::uint8_t* dst = nullptr;
                 PyObject* copy = new_u8_array(bn, &dst);
                 if (copy == nullptr) throw nb::python_error();
                 std::memcpy(dst, src, bn);
                 be = nb::steal(copy);
               }
               std::size_t bn = 0;
               std::uint8_t* b = array_data(be, &bn);
               if (bn == 0) throw nb::value_error("Payload byte_enable is empty");
               for (std::size_t i = 0; i < bn; ++i) b[i] = b[i] ? TLM_BYTE_ENABLED : TLM_BYTE_DISABLED;
               self->be_owner = be;
               gp.set_byte_enable_ptr(b);
               gp.set_byte_enable_length(static_cast<unsigned>(bn));
             }
             gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
           },
           nb::arg("command"), nb::arg("address"), nb::arg("data") = nb::none(),
           nb::arg("length") = nb::none(), nb::arg("byte_enable") = nb::none(),
           nb::arg("streaming_width") = nb::none())
      .def_prop_ro("command", [](Payload& p) { return p.gp().get_command(); })
      .def_prop_ro("is_read", [](Payload& p) { return p.gp().is_read(); })
      .def_prop_ro("is_write", [](Payload& p) { return p.gp().is_write(); })
      .def_prop_rw("address", [](Payload& p) { return p.gp().get_address(); },
                   [](Payload& p, std::uint64_t a) { p.gp().set_address(a); })
      .def_prop_ro("length", [](Payload& p) { return p.gp().get_data_length(); })
      .def_prop_ro("streaming_width", [](Payload& p) { return p.gp().get_streaming_width(); })
      .def_prop_ro("data",
                   [](nb::pointer_and_handle<Payload> self) {
                     auto& gp = self.p->gp();
                     PyObject* a = u8_view(gp.get_data_ptr(), gp.get_data_length(), self.h.ptr(), true);
                     if (a == nullptr) throw nb::python_error();
                     return nb::steal(a);
                   },
                   "Zero-copy uint8 view of the data buffer.")
      .def_prop_ro("byte_enable",
                   [](nb::pointer_and_handle<Payload> self) -> nb::object {
                     auto& gp = self.p->gp();
                     if (gp.get_byte_enable_ptr() == nullptr) return nb::none();
                     PyObject* a = u8_view(gp.get_byte_enable_ptr(), gp.get_byte_enable_length(),
                                           self.h.ptr(), true);
                     if (a == nullptr) throw nb::python_error();
                     return nb::steal(a);
                   },
                   "Zero-copy uint8 view of the byte-enable mask (0xff enabled, 0 disabled), or "
                   "None.")
      .def_prop_ro("response", [](Payload& p) { return p.gp().get_response_status(); })
      .def_prop_ro("ok", [](Payload& p) { return p.gp().is_response_ok(); })
      .def_prop_rw("dmi_allowed", [](Payload& p) { return p.gp().is_dmi_allowed(); },
                   [](Payload& p, bool v) { p.gp().set_dmi_allowed(v); })
      .def_prop_ro("error_target", [](Payload& p) {
        ErrorInfo* info = nullptr;
        p.gp().get_extension(info);
        return info != nullptr ? info->target : p.last_error_target;
      })
      .def_prop_ro("error_message", [](Payload& p) {
        ErrorInfo* info = nullptr;
        p.gp().get_extension(info);
        return info != nullptr ? info->message : p.last_error_message;
      })
      .def("set_ok", [](Payload& p) { p.gp().set_response_status(tlm::TLM_OK_RESPONSE); })
      .def("set_error",
           [](Payload& p, tlm::tlm_response_status status, const std::string& message) {
             if (status == tlm::TLM_OK_RESPONSE || status == tlm::TLM_INCOMPLETE_RESPONSE)
               throw nb::value_error("set_error needs an error status");
             set_error(p.gp(), status, "", message);
           },
           nb::arg("status"), nb::arg("message") = "",
           "Answer with an error status; `message` tells the initiator why.")
      .def("__repr__", [](Payload& p) {
        if (!p.valid()) return std::string("<cosim.Payload (expired)>");
        auto& gp = p.gp();
        return std::string("<cosim.Payload ") + command_name(gp.get_command()) + " " +
               hex(gp.get_address()) + " [" + std::to_string(gp.get_data_length()) + " B] " +
               response_name(gp.get_response_status()) + ">";
      });

  nb::class_<DmiRegion>(m, "DmiRegion", "A region of a target's memory granted for direct access.")
      .def_ro("start", &DmiRegion::start)
      .def_ro("end", &DmiRegion::end)
      .def_ro("read_latency", &DmiRegion::read_latency)
      .def_ro("write_latency", &DmiRegion::write_latency)
      .def_ro("readable", &DmiRegion::readable)
      .def_ro("writable", &DmiRegion::writable)
      .def_ro("data", &DmiRegion::data, "Zero-copy uint8 view of [start, end].")
      .def("__repr__", [](const DmiRegion& d) {
        return "<cosim.DmiRegion [" + hex(d.start) + ", " + hex(d.end) + "] " +
               (d.readable ? "r" : "") + (d.writable ? "w" : "") + ">";
      });

  nb::class_<PyInitiator, Model>(m, "Socket",
                                 "A TLM initiator socket for Python processes: await its "
                                 "read/write/transport methods.")
      .def("read",
           [](nb::pointer_and_handle<PyInitiator> ps, std::uint64_t addr, std::int64_t n) {
             if (n <= 0 || n > 0xffffffffLL)
               throw nb::value_error("read length must be between 1 and 2**32-1 bytes");
             return make_socket_request(ReqKind::Read, *ps.p, ps.h, addr, static_cast<std::uint64_t>(n), nb::object());
           },
           nb::arg("address"), nb::arg("length"))
      .def("read_into",
           [](nb::pointer_and_handle<PyInitiator> ps, std::uint64_t addr, nb::object buf) {
             return make_buffer_request(ReqKind::ReadInto, *ps.p, ps.h, addr, std::move(buf), "read_into buffer");
           },
           nb::arg("address"), nb::arg("buffer"))
      .def("write",
           [](nb::pointer_and_handle<PyInitiator> ps, std::uint64_t addr, nb::object data) {
             return make_buffer_request(ReqKind::Write, *ps.p, ps.h, addr, std::move(data), "write data");
           },
           nb::arg("address"), nb::arg("data"))
      .def("transport",
           [](nb::pointer_and_handle<PyInitiator> ps, nb::object payload, bool check) {
             if (!nb::isinstance<Payload>(payload))
               throw nb::type_error("transport() takes a cosim.Payload");
             Payload* p = nb::inst_ptr<Payload>(payload);
             if (!p->owned())
               throw nb::value_error("transport() needs a payload created with cosim.Payload(...), not one received by a target");
             nb::object r = make_socket_request(ReqKind::Transport, *ps.p, ps.h, p->gp().get_address(),
                                                p->gp().get_data_length(), payload);
             nb::inst_ptr<Request>(r)->check = check;
             return r;
           },
           nb::arg("payload"), nb::arg("check") = true)
      .def("debug_read",
           [](PyInitiator& s, std::uint64_t addr, std::int64_t n) {
             check_started("debug_read");
             if (n <= 0) throw nb::value_error("debug_read length must be >= 1");
             std::uint8_t* p = nullptr;
             PyObject* arr = new_u8_array(static_cast<std::size_t>(n), &p);
             if (arr == nullptr) throw nb::python_error();
             nb::object out = nb::steal(arr);
             tlm::tlm_generic_payload gp;
             gp.set_command(tlm::TLM_READ_COMMAND);
             gp.set_address(addr);
             gp.set_data_ptr(p);
             gp.set_data_length(static_cast<unsigned>(n));
             const unsigned got = s.debug(gp);
             return nb::make_tuple(out, got);
           },
           nb::arg("address"), nb::arg("length"))
      .def("debug_write",
           [](PyInitiator& s, std::uint64_t addr, nb::object data) {
             check_started("debug_write");
             Py_buffer view{};
             if (PyObject_GetBuffer(data.ptr(), &view, PyBUF_SIMPLE) < 0) throw nb::python_error();
             tlm::tlm_generic_payload gp;
             gp.set_command(tlm::TLM_WRITE_COMMAND);
             gp.set_address(addr);
             gp.set_data_ptr(static_cast<unsigned char*>(view.buf));
             gp.set_data_length(static_cast<unsigned>(view.len));
             const unsigned n = s.debug(gp);
             PyBuffer_Release(&view);
             return n;
           },
           nb::arg("address"), nb::arg("data"))
      .def("dmi",
           [](nb::pointer_and_handle<PyInitiator> ps, std::uint64_t addr, bool write) -> nb::object {
             check_started("dmi");
             tlm::tlm_dmi d;
             if (!ps.p->get_dmi(addr, write, d)) return nb::none();
             DmiRegion r;
             r.start = d.get_start_address();
             r.end = d.get_end_address();
             r.read_latency = to_ps(d.get_read_latency());
             r.write_latency = to_ps(d.get_write_latency());
             r.readable = d.is_read_allowed();
             r.writable = d.is_write_allowed();
             PyObject* a = u8_view(d.get_dmi_ptr(), r.end - r.start + 1, ps.h.ptr(), r.writable);
             if (a == nullptr) throw nb::python_error();
             r.data = nb::steal(a);
             return nb::cast(std::move(r));
           },
           nb::arg("address"), nb::arg("write") = false)
      .def_rw("use_dmi", &PyInitiator::use_dmi,
              "Serve accesses from a DMI region when the target grants one (skips "
              "b_transport and the target's own statistics).")
      .def_prop_ro("target", &PyInitiator::bound_target);

  nb::class_<PyTarget, Model>(m, "PythonTarget", "A TLM target implemented in Python.")
      .def("invalidate_dmi", &PyTarget::invalidate_dmi, nb::arg("start"), nb::arg("end"))
      .def_prop_ro("impl", &PyTarget::impl);
}

}  // namespace cosim::py

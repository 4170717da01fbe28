#include "awaitables.h"

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>

#include "cosim/waiting.h"
#include <sstream>

#include "numpy_util.h"
#include "sockets.h"

namespace cosim::py {

bool g_resuming = false;
PyObject* g_resume = nullptr;

static PyTypeObject* g_request_type = nullptr;
static PyTypeObject* g_event_type = nullptr;
static PyTypeObject* g_process_type = nullptr;

void set_python_types(PyTypeObject* request, PyTypeObject* event, PyTypeObject* process) {
  g_request_type = request;
  g_event_type = event;
  g_process_type = process;
}

// ---------------------------------------------------------------------------- events

EventObj::EventObj(std::string name)
    : name_(std::move(name)), owned_(std::make_unique<sc_core::sc_event>()), ev_(owned_.get()) {}

EventObj::EventObj(std::string name, sc_core::sc_event* ev) : name_(std::move(name)), ev_(ev) {}

void EventObj::notify(std::int64_t delay_ps) {
  // A temporally decoupled process notifies at its local time, not at kernel time.
  const PyProcess* cur = Kernel::instance().current();
  const Picos base = cur != nullptr ? cur->local() : 0;
  if (delay_ps < 0 && base == 0)
    ev_->notify();
  else
    ev_->notify(from_ps(base + static_cast<Picos>(delay_ps < 0 ? 0 : delay_ps)));
}

// -------------------------------------------------------------------------- requests

nb::object make_request(Request&& r) {
  // Allocate the instance directly from the cached type: this is on the path of every
  // socket operation a Python process awaits.
  nb::object o = nb::inst_alloc(nb::handle(reinterpret_cast<PyObject*>(g_request_type)));
  new (nb::inst_ptr<Request>(o)) Request(std::move(r));
  nb::inst_mark_ready(o);
  return o;
}

Request::~Request() {
  if (has_view) PyBuffer_Release(&view);
}

Request::Request(Request&& o) noexcept
    : kind(o.kind), has_timeout(o.has_timeout), check(o.check), time(o.time), addr(o.addr),
      len(o.len), socket(o.socket), socket_ref(std::move(o.socket_ref)),
      buffer(std::move(o.buffer)), items(std::move(o.items)), has_view(o.has_view), view(o.view) {
  o.has_view = false;
}

bool is_request(PyObject* o) { return Py_TYPE(o) == g_request_type; }
bool is_event(PyObject* o) { return Py_TYPE(o) == g_event_type; }
bool is_process(PyObject* o) { return Py_TYPE(o) == g_process_type; }

static std::string describe_item(nb::handle h) {
  if (is_event(h.ptr())) return "event '" + nb::inst_ptr<EventObj>(h)->name() + "'";
  if (is_process(h.ptr())) return "process '" + nb::inst_ptr<ProcessHandle>(h)->p->name() + "'";
  if (is_request(h.ptr())) return nb::inst_ptr<Request>(h)->describe();
  return "?";
}

std::string Request::describe() const {
  std::ostringstream os;
  auto list = [&](const char* fn) {
    os << fn << "(";
    for (std::size_t i = 0; i < items.size(); ++i) os << (i ? ", " : "") << describe_item(items[i]);
    if (has_timeout) os << (items.empty() ? "" : ", ") << "timeout=" << format_ps(time);
    os << ")";
  };
  switch (kind) {
    case ReqKind::Delay: os << "delay " << format_ps(time); break;
    case ReqKind::Sync: os << "sync"; break;
    case ReqKind::Event: os << describe_item(items[0]); break;
    case ReqKind::Join: os << describe_item(items[0]) << " to finish"; break;
    case ReqKind::AnyOf: list("any_of"); break;
    case ReqKind::AllOf: list("all_of"); break;
    case ReqKind::Read:
    case ReqKind::ReadInto:
    case ReqKind::Write:
    case ReqKind::Transport: {
      const char* what = kind == ReqKind::Write ? "write" : kind == ReqKind::Transport ? "transport" : "read";
      os << what << " of " << len << " B at " << hex(addr) << " via '" << socket->name() << "'";
      break;
    }
  }
  return os.str();
}

PyObject* request_await(PyObject* self) {
  Py_INCREF(self);
  return self;
}

// First call (from `await`): yield the request itself to the C++ thread. Call made when
// the thread resumes the coroutine: finish the await with the value the thread left in
// g_resume (StopIteration(value), or plain exhaustion for None).
PyObject* request_next(PyObject* self) {
  if (!g_resuming) {
    Py_INCREF(self);
    return self;
  }
  g_resuming = false;
  PyObject* v = g_resume;
  g_resume = nullptr;
  if (v == nullptr) return nullptr;
  PyObject* stop = PyObject_CallOneArg(PyExc_StopIteration, v);
  Py_DECREF(v);
  if (stop != nullptr) {
    PyErr_SetObject(PyExc_StopIteration, stop);
    Py_DECREF(stop);
  }
  return nullptr;
}

// The same protocol through am_send, which PyIter_Send (and so `await`) prefers: the
// result is handed back directly instead of through a StopIteration exception.
PySendResult request_send(PyObject* self, PyObject*, PyObject** result) {
  if (!g_resuming) {
    *result = Py_NewRef(self);
    return PYGEN_NEXT;
  }
  g_resuming = false;
  PyObject* v = g_resume;
  g_resume = nullptr;
  *result = v != nullptr ? v : Py_NewRef(Py_None);
  return PYGEN_RETURN;
}

PyObject* event_await(PyObject* self) {
  Request r;
  r.kind = ReqKind::Event;
  r.items.push_back(nb::borrow(self));
  try {
    return make_request(std::move(r)).release().ptr();
  } catch (nb::python_error& e) {
    e.restore();
    return nullptr;
  }
}

PyObject* process_await(PyObject* self) {
  Request r;
  r.kind = ReqKind::Join;
  r.items.push_back(nb::borrow(self));
  try {
    return make_request(std::move(r)).release().ptr();
  } catch (nb::python_error& e) {
    e.restore();
    return nullptr;
  }
}

// ------------------------------------------------------------------------- processes

PyProcess::PyProcess(nb::object coro, std::string name, bool daemon)
    : coro_(std::move(coro)), name_(std::move(name)), daemon_(daemon) {}

const char* PyProcess::state_name() const {
  switch (state_) {
    case State::Created: return "created";
    case State::Running: return "running";
    case State::Waiting: return "waiting";
    case State::Done: return "done";
    case State::Failed: return "failed";
  }
  return "?";
}

std::string PyProcess::waiting_on() const {
  switch (state_) {
    case State::Created: return "not started";
    case State::Running: return "running";
    case State::Done: return "done";
    case State::Failed: return "failed";
    case State::Waiting: break;
  }
  if (!waiting_req_) return "waiting for its local time to pass before finishing";
  return "waiting for " + nb::inst_ptr<Request>(waiting_req_)->describe();
}

void PyProcess::sync() {
  if (local_ > 0) {
    const Picos d = local_;
    local_ = 0;
    sc_core::wait(from_ps(d));
  }
}

void PyProcess::consume(Picos dt) {
  const Picos q = Kernel::instance().quantum();
  if (q == 0) {
    if (dt > 0) sc_core::wait(from_ps(dt));
    return;
  }
  local_ += dt;
  if (local_ >= q) sync();
}

PyObject* PyProcess::step(PyObject* exc) {
  Kernel& k = Kernel::instance();
  k.set_current(this);
  k.count_resume();
  PyObject* out = nullptr;
  PySendResult r;
  if (exc != nullptr) {
    out = PyObject_CallMethod(coro_.ptr(), "throw", "O", exc);
    Py_DECREF(exc);
    if (out != nullptr) {
      r = PYGEN_NEXT;
    } else if (PyErr_ExceptionMatches(PyExc_StopIteration)) {
      PyObject *t, *v, *tb;
      PyErr_Fetch(&t, &v, &tb);
      PyErr_NormalizeException(&t, &v, &tb);
      out = v != nullptr ? PyObject_GetAttrString(v, "value") : nullptr;
      if (out == nullptr) {
        PyErr_Clear();
        out = Py_NewRef(Py_None);
      }
      Py_XDECREF(t);
      Py_XDECREF(v);
      Py_XDECREF(tb);
      r = PYGEN_RETURN;
    } else {
      r = PYGEN_ERROR;
    }
  } else {
    g_resuming = state_ != State::Created;
    r = PyIter_Send(coro_.ptr(), Py_None, &out);
    if (g_resuming) {  // resumed somewhere other than a cosim await
      g_resuming = false;
      Py_CLEAR(g_resume);
    }
  }
  k.set_current(nullptr);
  state_ = State::Running;
  if (r == PYGEN_NEXT) return out;
  if (r == PYGEN_RETURN) {
    result_ = nb::steal(out);
    state_ = State::Done;
    return nullptr;
  }
  state_ = State::Failed;
  k.fail_with_current_error("in cosim process '" + name_ + "' at t=" + format_ps(k.now()));
  return nullptr;
}

void PyProcess::body() {
  Kernel& k = Kernel::instance();
  PyObject* exc = nullptr;
  while (true) {
    PyObject* yielded = step(exc);
    exc = nullptr;
    if (yielded == nullptr) break;
    if (!is_request(yielded)) {
      PyObject* tn = PyObject_Repr(reinterpret_cast<PyObject*>(Py_TYPE(yielded)));
      std::string what = tn != nullptr ? PyUnicode_AsUTF8(tn) : "?";
      Py_XDECREF(tn);
      Py_DECREF(yielded);
      PyErr_Format(PyExc_TypeError,
                   "cosim process '%s' awaited an object of %s, which cosim cannot wait for; "
                   "await cosim.delay(), an Event, a Process, any_of/all_of or a socket "
                   "operation (asyncio awaitables do not work inside cosim)",
                   name_.c_str(), what.c_str());
      PyObject *t, *v, *tb;
      PyErr_Fetch(&t, &v, &tb);
      PyErr_NormalizeException(&t, &v, &tb);
      Py_XDECREF(t);
      Py_XDECREF(tb);
      exc = v;
      continue;
    }
    state_ = State::Waiting;
    waiting_req_ = nb::borrow(yielded);
    PyObject* value = nullptr;
    try {
      value = execute(*nb::inst_ptr<Request>(yielded), yielded);
    } catch (const sc_core::sc_report& rep) {
      // A SystemC error report from a model this process called into.
      k.fail("SimulationError", std::string(rep.what()) + "\n(during " +
                                    nb::inst_ptr<Request>(yielded)->describe() +
                                    " in cosim process '" + name_ + "')");
    } catch (nb::python_error& e) {
      e.restore();
    } catch (const std::exception& e) {
      k.fail("SimulationError", std::string("C++ exception during ") +
                                    nb::inst_ptr<Request>(yielded)->describe() +
                                    " in cosim process '" + name_ + "': " + e.what());
    }
    waiting_req_ = nb::object();
    state_ = State::Running;
    Py_DECREF(yielded);
    if (k.failed() || k.stopped()) {
      Py_XDECREF(value);
      PyErr_Clear();
      break;
    }
    if (value == nullptr) {
      if (!PyErr_Occurred()) break;
      PyObject *t, *v, *tb;
      PyErr_Fetch(&t, &v, &tb);
      PyErr_NormalizeException(&t, &v, &tb);
      Py_XDECREF(t);
      Py_XDECREF(tb);
      exc = v;
      continue;
    }
    if (value == Py_None) {
      Py_DECREF(value);
      value = nullptr;
    }
    g_resume = value;
  }
  if (!done()) state_ = State::Failed;  // stopped from elsewhere while this one waited
  // A decoupled process that finishes ahead of the kernel has still used that time: it
  // completes (and its joiners wake) at its local time.
  if (state_ == State::Done && local_ > 0 && !k.failed() && !k.stopped()) {
    state_ = State::Waiting;  // not done (nor joinable) until its time has passed
    sync();
    state_ = State::Done;
  }
  done_event_.notify();
}

PyObject* PyProcess::execute_any_of(Request& req, PyObject*) {
  sync();
  sc_core::sc_event_or_list list;
  std::vector<std::pair<sc_core::sc_event*, PyObject*>> watched;
  PyObject* timeout_item = nullptr;
  Picos timeout = req.time;
  bool has_timeout = req.has_timeout;
  for (const auto& item : req.items) {
    PyObject* o = item.ptr();
    if (is_event(o)) {
      auto& ev = nb::inst_ptr<EventObj>(item)->ev();
      list |= ev;
      watched.emplace_back(&ev, o);
    } else if (is_process(o)) {
      PyProcess* p = nb::inst_ptr<ProcessHandle>(item)->p;
      if (p->done()) return Py_NewRef(o);
      list |= p->done_event();
      watched.emplace_back(&p->done_event(), o);
    } else {  // a delay request
      const Picos t = nb::inst_ptr<Request>(item)->time;
      if (!has_timeout || t < timeout) {
        timeout = t;
        timeout_item = o;
      }
      has_timeout = true;
    }
  }
  if (watched.empty()) {
    sc_core::wait(from_ps(timeout));
    return Py_NewRef(timeout_item != nullptr ? timeout_item : Py_None);
  }
  {
    std::vector<const sc_core::sc_event*> evs;
    for (const auto& w : watched) evs.push_back(w.first);
    const Awaiting counted(std::move(evs));
    if (has_timeout)
      sc_core::wait(from_ps(timeout), list);
    else
      sc_core::wait(list);
  }
  for (const auto& [ev, obj] : watched)
    if (ev->triggered()) return Py_NewRef(obj);
  // Nothing watched fired, so the timeout did.
  return Py_NewRef(timeout_item != nullptr ? timeout_item : Py_None);
}

PyObject* PyProcess::execute_all_of(Request& req) {
  sync();
  // Wait on the events still pending, one or-list at a time, so that each event counts
  // once it has fired and a timeout is told apart from completion exactly.
  std::vector<sc_core::sc_event*> pending;
  for (const auto& item : req.items) {
    PyObject* o = item.ptr();
    if (is_event(o)) {
      pending.push_back(&nb::inst_ptr<EventObj>(item)->ev());
    } else if (is_process(o)) {
      PyProcess* p = nb::inst_ptr<ProcessHandle>(item)->p;
      if (!p->done()) pending.push_back(&p->done_event());
    }
  }
  const Picos deadline = now_ps() + req.time;
  while (!pending.empty()) {
    sc_core::sc_event_or_list list;
    for (auto* e : pending) list |= *e;
    const Awaiting counted(std::vector<const sc_core::sc_event*>(pending.begin(), pending.end()));
    if (req.has_timeout) {
      const Picos t = now_ps();
      if (t >= deadline) Py_RETURN_FALSE;
      sc_core::wait(from_ps(deadline - t), list);
    } else {
      sc_core::wait(list);
    }
    pending.erase(std::remove_if(pending.begin(), pending.end(),
                                 [](sc_core::sc_event* e) { return e->triggered(); }),
                  pending.end());
  }
  Py_RETURN_TRUE;
}

// Raise TlmError for a failed transaction (sets the Python error, returns false).
static bool raise_tlm_error(const Request& req, tlm::tlm_generic_payload& gp, Payload* owner) {
  ErrorInfo* info = nullptr;
  gp.get_extension(info);
  const std::string target = info != nullptr && !info->target.empty()
                                 ? info->target
                                 : req.socket->bound_target();
  const std::string detail = info != nullptr ? info->message : "";
  if (owner != nullptr) {
    owner->last_error_target = target;
    owner->last_error_message = detail;
  }
  clear_error_info(gp);
  std::ostringstream os;
  os << command_name(gp.get_command()) << " of " << gp.get_data_length() << " B at "
     << hex(gp.get_address()) << " from '" << req.socket->name() << "' failed: "
     << response_name(gp.get_response_status()) << " response from '" << target << "'";
  if (!detail.empty()) os << ": " << detail;
  nb::handle cls = error_class("TlmError");
  nb::object e = cls(os.str(), nb::arg("address") = gp.get_address(),
                     nb::arg("length") = gp.get_data_length(),
                     nb::arg("command") = command_name(gp.get_command()),
                     nb::arg("status") = response_name(gp.get_response_status()),
                     nb::arg("target") = target, nb::arg("initiator") = req.socket->name());
  PyErr_SetObject(cls.ptr(), e.ptr());
  return false;
}

PyObject* PyProcess::execute(Request& req, PyObject* req_obj) {
  Kernel& k = Kernel::instance();
  switch (req.kind) {
    case ReqKind::Delay:
      if (k.quantum() == 0)
        sc_core::wait(from_ps(req.time));
      else
        consume(req.time);
      Py_RETURN_NONE;
    case ReqKind::Sync:
      sync();
      Py_RETURN_NONE;
    case ReqKind::Event: {
      sync();
      sc_core::sc_event& ev = nb::inst_ptr<EventObj>(req.items[0])->ev();
      const Awaiting counted(ev);
      sc_core::wait(ev);
      Py_RETURN_NONE;
    }
    case ReqKind::Join: {
      PyProcess* p = nb::inst_ptr<ProcessHandle>(req.items[0])->p;
      if (!p->done()) {
        sync();
        sc_core::wait(p->done_event());
      }
      if (p->result_) return p->result_.inc_ref().ptr();
      Py_RETURN_NONE;
    }
    case ReqKind::AnyOf:
      return execute_any_of(req, req_obj);
    case ReqKind::AllOf:
      return execute_all_of(req);
    default:
      break;
  }

  // Socket operations: one blocking transport at this process's local time.
  tlm::tlm_generic_payload* gp = &gp_;
  Payload* payload = nullptr;
  PyObject* result = nullptr;
  if (req.kind == ReqKind::Transport) {
    payload = nb::inst_ptr<Payload>(req.buffer);
    gp = &payload->gp();
    gp->set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  } else {
    unsigned char* data = nullptr;
    std::uint64_t len = req.len;
    if (req.kind == ReqKind::Read) {
      std::uint8_t* p = nullptr;
      result = new_u8_array(len, &p);
      if (result == nullptr) return nullptr;
      data = p;
    } else {  // the buffer was acquired when the request was made
      data = static_cast<unsigned char*>(req.view.buf);
      len = static_cast<std::uint64_t>(req.view.len);
    }
    gp->set_command(req.kind == ReqKind::Write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    gp->set_address(req.addr);
    gp->set_data_ptr(data);
    gp->set_data_length(static_cast<unsigned>(len));
    gp->set_streaming_width(static_cast<unsigned>(len));
    gp->set_byte_enable_ptr(nullptr);
    gp->set_byte_enable_length(0);
    gp->set_dmi_allowed(false);
    gp->set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  }
  sc_core::sc_time delay = from_ps(local_);
  req.socket->transport(*gp, delay);
  if (k.failed()) {
    Py_XDECREF(result);
    return nullptr;
  }
  // LT timing: the annotated delay is the offset from kernel time at which the
  // transaction completed. Without a quantum, wait for it now.
  const Picos end = to_ps(delay);
  if (k.quantum() == 0) {
    local_ = 0;
    if (end > 0) sc_core::wait(delay);
  } else {
    local_ = end;
    if (local_ >= k.quantum()) sync();
  }
  if (!gp->is_response_ok()) {
    if (req.check) {
      Py_XDECREF(result);
      raise_tlm_error(req, *gp, payload);
      return nullptr;
    }
    if (payload != nullptr) {
      ErrorInfo* info = nullptr;
      gp->get_extension(info);
      payload->last_error_target = info != nullptr ? info->target : req.socket->bound_target();
      payload->last_error_message = info != nullptr ? info->message : "";
      clear_error_info(*gp);
    }
  }
  if (result != nullptr) return result;
  Py_RETURN_NONE;
}

}  // namespace cosim::py

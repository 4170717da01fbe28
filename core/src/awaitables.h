// Internal: what a Python process can await, and the C++ SystemC thread that runs it.
//
// A Python process is an `async def` coroutine. Its C++ SC_THREAD (PyProcess::body)
// resumes it with PyIter_Send; the coroutine runs until it awaits a Request and suspends,
// which hands the Request object back to the C++ thread. The thread then does the waiting
// in SystemC (wait(), b_transport, quantum keeping) and resumes the coroutine with the
// result. So no Python frame is ever live across a SystemC context switch.
//
// Request objects are stateless with respect to awaiting: the value a resumed await
// returns is passed through a slot of the resuming thread (g_resume), so one Request may
// be awaited by several processes, or twice.
#pragma once

#include <nanobind/nanobind.h>

#include <memory>
#include <string>
#include <vector>

#include "kernel.h"

namespace cosim::py {

class PyInitiator;
class Payload;

// A SystemC event visible from Python: either owned (created by Python) or a model's.
class EventObj {
 public:
  explicit EventObj(std::string name);                 // owned
  EventObj(std::string name, sc_core::sc_event* ev);   // a model's event
  sc_core::sc_event& ev() { return *ev_; }
  const std::string& name() const { return name_; }
  void notify(std::int64_t delay_ps);  // < 0: immediate
  void cancel() { ev_->cancel(); }
  bool triggered() const { return ev_->triggered(); }

 private:
  std::string name_;
  std::unique_ptr<sc_core::sc_event> owned_;
  sc_core::sc_event* ev_;
};

enum class ReqKind : std::uint8_t {
  Delay,      // time
  Sync,       // catch up with a decoupled process's local time
  Event,      // items[0] is an EventObj
  Join,       // items[0] is a PyProcess handle
  AnyOf,      // items: EventObj / process / Delay request; optional timeout
  AllOf,      // items: EventObj / process; optional timeout
  Read,       // socket, addr, len -> new uint8 ndarray
  ReadInto,   // socket, addr, buffer (writable) -> None
  Write,      // socket, addr, buffer -> None
  Transport,  // socket, payload -> None
};

struct Request {
  ReqKind kind = ReqKind::Delay;
  bool has_timeout = false;
  bool check = true;         // Transport: raise TlmError on an error response
  Picos time = 0;            // delay, or timeout of AnyOf/AllOf
  std::uint64_t addr = 0;
  std::uint64_t len = 0;
  PyInitiator* socket = nullptr;
  nb::object socket_ref;     // keeps the socket's Python object alive
  nb::object buffer;         // data to write / destination of read_into / Payload
  std::vector<nb::object> items;
  // Write/ReadInto: the caller's buffer, held from the request's creation until it is
  // destroyed (so it is acquired once and cannot be resized meanwhile).
  bool has_view = false;
  Py_buffer view{};

  Request() = default;
  Request(Request&& o) noexcept;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  ~Request();

  std::string describe() const;
};

class PyProcess {
 public:
  PyProcess(nb::object coro, std::string name, bool daemon);
  void body();  // the SC_THREAD

  const std::string& name() const { return name_; }
  bool daemon() const { return daemon_; }
  bool done() const { return state_ == State::Done || state_ == State::Failed; }
  bool failed() const { return state_ == State::Failed; }
  const char* state_name() const;
  nb::object result() const { return result_; }
  sc_core::sc_event& done_event() { return done_event_; }
  // What the process is waiting for now (empty when running or done).
  std::string waiting_on() const;

  // Temporal decoupling: time this process has run ahead of the kernel.
  Picos local() const { return local_; }
  // Consume `dt` of simulated time: with a quantum, add it to the local offset and
  // synchronise when the offset reaches the quantum; without one, wait for it.
  void consume(Picos dt);
  // Wait in SystemC until the local offset is zero.
  void sync();

  tlm::tlm_generic_payload& gp() { return gp_; }
  Picos started_at_local() const { return local_; }

 private:
  enum class State { Created, Running, Waiting, Done, Failed };
  // Resume the coroutine (value None) or throw `exc` into it. Returns the next request
  // (a new reference) or nullptr when the coroutine has finished or failed.
  PyObject* step(PyObject* exc);
  // Carry out `req`: wait in SystemC and/or do the transaction. Returns the value the
  // await evaluates to (new reference) or nullptr with a Python error to throw into the
  // coroutine.
  PyObject* execute(Request& req, PyObject* req_obj);
  PyObject* execute_any_of(Request& req, PyObject* req_obj);
  PyObject* execute_all_of(Request& req);

  nb::object coro_;
  std::string name_;
  bool daemon_;
  State state_ = State::Created;
  nb::object result_;
  nb::object waiting_req_;
  sc_core::sc_event done_event_;
  Picos local_ = 0;
  tlm::tlm_generic_payload gp_;
};

// Python-visible handle of a process.
struct ProcessHandle {
  PyProcess* p;
};

// The value the next resumed await returns (owned; null means None). Set by the C++
// thread just before resuming a coroutine, consumed by Request's tp_iternext.
extern bool g_resuming;
extern PyObject* g_resume;

// Binds EventObj, Request ("Awaitable"), ProcessHandle ("Process") and the free
// functions delay/sync/any_of/all_of into `m` (awaitables_py.cpp).
void bind_awaitables(nb::module_& m);

// The await protocol of the three Python types, which the bindings put in their type
// slots: awaiting a Request yields it to the process's C++ thread; awaiting an Event or
// a Process makes the Request that waits for it.
PyObject* request_await(PyObject* self);
PyObject* request_next(PyObject* self);
PySendResult request_send(PyObject* self, PyObject* arg, PyObject** result);
PyObject* event_await(PyObject* self);
PyObject* process_await(PyObject* self);

// The Python types of Request, EventObj and ProcessHandle, recorded once they are bound,
// and the tests of an object against them.
void set_python_types(PyTypeObject* request, PyTypeObject* event, PyTypeObject* process);
bool is_request(PyObject* o);
bool is_event(PyObject* o);
bool is_process(PyObject* o);

// Build a Request object (a new Python object).
nb::object make_request(Request&& r);

}  // namespace cosim::py

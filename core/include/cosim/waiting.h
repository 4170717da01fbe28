// Who waits on what: processes waiting on an event (counted where they wait), and notes
// that models add to a DeadlockError (what a parked model was waiting for).
//
// An RTL block uses both: it keeps clocking while a process awaits one of its interrupt
// events, and when it parks and the run deadlocks, the error names it.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <systemc>

namespace cosim {

// Processes waiting on `e` now (Python awaits of an event, any_of and all_of).
int waiters(const sc_core::sc_event& e);

// RAII: count the current process as waiting on `events` while it lives.
class Awaiting {
 public:
  explicit Awaiting(const sc_core::sc_event& e);
  explicit Awaiting(std::vector<const sc_core::sc_event*> events);
  ~Awaiting();
  Awaiting(const Awaiting&) = delete;
  Awaiting& operator=(const Awaiting&) = delete;

 private:
  std::vector<const sc_core::sc_event*> events_;
};

// A note for DeadlockError messages: called when the run deadlocks, returns "" when it
// has nothing to say. Returns an id for remove_deadlock_note.
std::size_t add_deadlock_note(std::function<std::string()> note);
void remove_deadlock_note(std::size_t id);
// "\n  <note>" for every non-empty note.
std::string deadlock_notes();

}  // namespace cosim

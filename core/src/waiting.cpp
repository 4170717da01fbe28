#include "cosim/waiting.h"

#include <map>
#include <unordered_map>

namespace cosim {
namespace {

std::unordered_map<const sc_core::sc_event*, int>& counts() {
  static auto* m = new std::unordered_map<const sc_core::sc_event*, int>();
  return *m;
}

std::map<std::size_t, std::function<std::string()>>& notes() {
  static auto* m = new std::map<std::size_t, std::function<std::string()>>();
  return *m;
}

}  // namespace

int waiters(const sc_core::sc_event& e) {
  const auto& m = counts();
  if (m.empty()) return 0;
  auto it = m.find(&e);
  return it == m.end() ? 0 : it->second;
}

Awaiting::Awaiting(const sc_core::sc_event& e) : events_{&e} { ++counts()[&e]; }

Awaiting::Awaiting(std::vector<const sc_core::sc_event*> events) : events_(std::move(events)) {
  for (const auto* e : events_) ++counts()[e];
}

Awaiting::~Awaiting() {
  auto& m = counts();
  for (const auto* e : events_) {
    auto it = m.find(e);
    if (it != m.end() && --it->second <= 0) m.erase(it);
  }
}

std::size_t add_deadlock_note(std::function<std::string()> note) {
  static std::size_t next = 0;
  notes().emplace(++next, std::move(note));
  return next;
}

void remove_deadlock_note(std::size_t id) { notes().erase(id); }

std::string deadlock_notes() {
  std::string out;
  for (const auto& [id, note] : notes()) {
    const std::string s = note();
    if (!s.empty()) out += "\n  " + s;
  }
  return out;
}

}  // namespace cosim

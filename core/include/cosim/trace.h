// Transaction/activity trace, exported as Chrome trace-event JSON (loads in Perfetto and
// chrome://tracing). Off by default; when off, recording costs one branch.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "cosim/common.h"

namespace cosim {

class Tracer {
 public:
  static Tracer& instance();

  bool enabled() const { return enabled_; }
  void enable(bool on, std::size_t max_events);
  // A track is one row on the timeline (an initiator, an engine). Ids are stable.
  std::uint32_t track(const std::string& name);

  // A TLM transaction that started at `start_ps` and took `dur_ps`.
  void transaction(std::uint32_t track, tlm::tlm_command cmd, std::uint64_t addr,
                   std::uint32_t len, Picos start_ps, Picos dur_ps,
                   tlm::tlm_response_status status) {
    if (!enabled_) return;
    record(Event{EventKind::Transaction, track, static_cast<std::uint8_t>(cmd),
                 static_cast<std::int8_t>(status), len, addr, start_ps, dur_ps, {}, {}});
  }
  // A named span of activity (an engine computing a tile); `args_json` is a JSON object
  // text or empty.
  void span(std::uint32_t track, std::string name, Picos start_ps, Picos dur_ps,
            std::string args_json = {}) {
    if (!enabled_) return;
    record(Event{EventKind::Span, track, 0, 0, 0, 0, start_ps, dur_ps, std::move(name),
                 std::move(args_json)});
  }
  // A zero-duration marker.
  void instant(std::uint32_t track, std::string name, Picos at_ps, std::string args_json = {}) {
    if (!enabled_) return;
    record(Event{EventKind::Instant, track, 0, 0, 0, 0, at_ps, 0, std::move(name),
                 std::move(args_json)});
  }

  std::size_t size() const { return events_.size(); }
  std::uint64_t dropped() const { return dropped_; }
  // Write the whole trace; returns the number of events written.
  std::size_t write_chrome_json(const std::string& path) const;
  void clear();

 private:
  enum class EventKind : std::uint8_t { Transaction, Span, Instant };
  struct Event {
    EventKind kind;
    std::uint32_t track;
    std::uint8_t cmd;
    std::int8_t status;
    std::uint32_t len;
    std::uint64_t addr;
    Picos start, dur;
    std::string name;
    std::string args;
  };
  void record(Event&& e) {
    if (events_.size() >= max_events_) {
      ++dropped_;
      return;
    }
    events_.push_back(std::move(e));
  }

  bool enabled_ = false;
  std::size_t max_events_ = 0;
  std::uint64_t dropped_ = 0;
  std::vector<Event> events_;
  std::vector<std::string> track_names_;
  std::unordered_map<std::string, std::uint32_t> track_ids_;
};

inline Tracer& tracer() { return Tracer::instance(); }

}  // namespace cosim

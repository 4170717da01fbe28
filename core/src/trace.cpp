#include "cosim/trace.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace cosim {

Tracer& Tracer::instance() {
  static auto* t = new Tracer();
  return *t;
}

void Tracer::enable(bool on, std::size_t max_events) {
  enabled_ = on;
  max_events_ = max_events;
}

std::uint32_t Tracer::track(const std::string& name) {
  auto it = track_ids_.find(name);
  if (it != track_ids_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(track_names_.size());
  track_names_.push_back(name);
  track_ids_.emplace(name, id);
  return id;
}

void Tracer::clear() {
  events_.clear();
  dropped_ = 0;
}

static void write_json_string(std::ostream& os, const std::string& s) {
  os << '"';
  for (char c : s) {
    switch (c) {
      case '"': os << "\\\""; break;
      case '\\': os << "\\\\"; break;
      case '\n': os << "\\n"; break;
      case '\t': os << "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          os << buf;
        } else {
          os << c;
        }
    }
  }
  os << '"';
}

// Chrome trace timestamps are microseconds; cosim time is integer picoseconds, so
// print exactly with six decimals.
static void write_us(std::ostream& os, Picos ps) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%llu.%06llu", static_cast<unsigned long long>(ps / 1000000),
                static_cast<unsigned long long>(ps % 1000000));
  os << buf;
}

std::size_t Tracer::write_chrome_json(const std::string& path) const {
  std::ofstream os(path);
  if (!os) throw std::runtime_error("cannot open trace file '" + path + "' for writing");
  os << "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"cosim\",\"time_unit\":"
        "\"ps\",\"dropped_events\":"
     << dropped_ << "},\"traceEvents\":[\n";
  bool first = true;
  auto sep = [&] {
    if (!first) os << ",\n";
    first = false;
  };
  sep();
  os << R"({"ph":"M","pid":1,"name":"process_name","args":{"name":"cosim"}})";
  for (std::size_t i = 0; i < track_names_.size(); ++i) {
    sep();
    os << R"({"ph":"M","pid":1,"tid":)" << i << R"(,"name":"thread_name","args":{"name":)";
    write_json_string(os, track_names_[i]);
    os << "}}";
  }
  for (const auto& e : events_) {
    sep();
    os << R"({"pid":1,"tid":)" << e.track << ",\"ts\":";
    write_us(os, e.start);
    switch (e.kind) {
      case EventKind::Transaction: {
        const auto cmd = static_cast<tlm::tlm_command>(e.cmd);
        const auto st = static_cast<tlm::tlm_response_status>(e.status);
        os << R"(,"ph":"X","cat":"tlm","dur":)";
        write_us(os, e.dur);
        os << ",\"name\":\"" << command_name(cmd) << "\",\"args\":{\"addr\":\"" << hex(e.addr)
           << "\",\"bytes\":" << e.len << ",\"status\":\"" << response_name(st) << "\"}}";
        break;
      }
      case EventKind::Span:
        os << R"(,"ph":"X","cat":"activity","dur":)";
        write_us(os, e.dur);
        os << ",\"name\":";
        write_json_string(os, e.name);
        if (!e.args.empty()) os << ",\"args\":" << e.args;
        os << "}";
        break;
      case EventKind::Instant:
        os << R"(,"ph":"i","s":"t","cat":"marker","name":)";
        write_json_string(os, e.name);
        if (!e.args.empty()) os << ",\"args\":" << e.args;
        os << "}";
        break;
    }
  }
  os << "\n]}\n";
  if (!os) throw std::runtime_error("writing trace file '" + path + "' failed");
  return events_.size();
}

}  // namespace cosim

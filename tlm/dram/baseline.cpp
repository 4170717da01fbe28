#include "baseline.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <stdexcept>
#include <vector>

#include "engine.h"

namespace cosim::dram {

BaselineResult run_baseline(const std::string& preset, std::uint64_t count, const std::string& pattern,
                            unsigned outstanding, unsigned size, std::uint64_t span, std::uint64_t seed,
                            unsigned channels) {
  const Preset* pr = find_preset(preset);
  if (pr == nullptr) throw std::invalid_argument("unknown DRAM preset '" + preset + "'");
  if (outstanding == 0 || size == 0 || count == 0)
    throw std::invalid_argument("count, outstanding and size must be >= 1");
  if (pattern != "sequential" && pattern != "random")
    throw std::invalid_argument("pattern must be 'sequential' or 'random', got '" + pattern + "'");
  Config c;
  c.preset = pr->name;
  c.org = pr->org;
  if (channels != 0) c.org.channels = channels;
  c.timing = pr->timing;
  c.mapping = pr->default_mapping;
  c.write_high = 24;
  c.write_low = 8;
  static unsigned instance = 0;
  Engine eng(c, "dram_baseline" + std::to_string(instance++));
  if (span == 0) span = eng.capacity();
  const std::uint64_t slots = std::max<std::uint64_t>(1, span / size);
  const bool random = pattern == "random";
  std::mt19937_64 rng(seed);
  const std::uint64_t bb = eng.burst_bytes();
  struct Slot {
    unsigned pending = 0;
    Cycle done = 0;
  };
  std::vector<Slot> reqs(outstanding);
  std::uint64_t issued = 0, completed = 0, next_addr = 0;
  Cycle last = 0;
  auto issue = [&](std::uint32_t tag, Cycle at) {
    const std::uint64_t slot = random ? rng() % slots : next_addr++ % slots;
    const std::uint64_t a = slot * size;
    reqs[tag].pending = 0;
    reqs[tag].done = at;
    eng.begin_request();
    for (std::uint64_t b = a / bb * bb; b <= (a + size - 1) / bb * bb; b += bb) {
      eng.push(b, false, at, tag);
      ++reqs[tag].pending;
    }
    eng.end_request();
    ++issued;
  };
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint32_t i = 0; i < outstanding && issued < count; ++i) issue(i, 0);
  std::vector<Completion> batch;
  while (completed < count) {
    unsigned ch = 0;
    if (eng.next(0, &ch) == kNever) break;
    eng.issue(ch, 0);
    batch.swap(eng.completions());
    eng.completions().clear();
    for (const auto& d : batch) {
      Slot& s = reqs[d.tag];
      s.done = std::max(s.done, d.cycle);
      if (--s.pending != 0) continue;
      ++completed;
      last = std::max(last, s.done);
      if (issued < count) issue(d.tag, s.done);
    }
    batch.clear();
  }
  BaselineResult r;
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.requests = completed;
  r.sim_ps = eng.ps_of_cycle(last);
  r.bytes = completed * size;
  r.commands = eng.commands_issued();
  return r;
}

}  // namespace cosim::dram

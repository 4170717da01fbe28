// The benchmark's C++-only reference loop: the dram model's timing engine driven by the
// same traffic as at_traffic_gen -> dram, without SystemC or TLM (bench/dram_model.py
// compares the two to price the SystemC/TLM layer).
#pragma once

#include <cstdint>
#include <string>

namespace cosim::dram {

struct BaselineResult {
  std::uint64_t requests = 0;
  double wall_s = 0;
  std::uint64_t sim_ps = 0;
  std::uint64_t bytes = 0;
  std::uint64_t commands = 0;
};

// Keeps `outstanding` reads of `size` bytes in flight on preset `preset` (`channels`
// channels, 0: the preset's), each reissued as soon as the previous completes; addresses
// `sequential` or `random` in [0, span) (span 0: the whole device). Throws
// std::invalid_argument naming the argument at fault.
BaselineResult run_baseline(const std::string& preset, std::uint64_t count, const std::string& pattern,
                            unsigned outstanding, unsigned size, std::uint64_t span, std::uint64_t seed,
                            unsigned channels);

}  // namespace cosim::dram

// What another model may use of a `dram` model instance: its timing engine (the
// configuration in use, address mapping encode/decode, bank-state hand-over) and its
// functional storage. Near-data units (tlm/ndp) find the dram they sit in by name and
// work on the same bytes, under the same timing parameters, as the host path.
#pragma once

#include <cstdint>
#include <string>

#include "engine.h"
#include "presets.h"

namespace cosim::dram {

class DramAccess {
 public:
  virtual ~DramAccess() = default;
  virtual Engine& engine() = 0;
  virtual const Preset& preset() const = 0;
  // The functional contents: capacity() bytes, indexed by the dram's own addresses.
  virtual unsigned char* data() = 0;
  virtual std::uint64_t capacity() const = 0;
  virtual std::string instance_name() const = 0;
};

// The dram model with hierarchical name `name`, or nullptr if there is none (or the
// object of that name is not a dram model).
DramAccess* find_dram(const std::string& name);

}  // namespace cosim::dram

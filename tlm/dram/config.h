// The dram model's parameters, declared once: the schema Python validates (types, ranges,
// units, sources), the table of timing parameters with the JEDEC relations between them,
// and make_config(), which turns a model's parameter values into an engine Config and
// refuses an inconsistent part with an error naming the parameter and the constraint.
#pragma once

#include <string>
#include <vector>

#include "cosim/params.h"
#include "engine.h"
#include "presets.h"

namespace cosim::dram {

// One timing parameter in clock cycles: its name in the schema, the Timing member and
// what it is.
struct TimingParam {
  const char* name;
  unsigned Timing::*member;
  const char* doc;
};
const std::vector<TimingParam>& timing_params();

// The dram model's parameter schema.
std::vector<ParamSpec> param_specs();

// The preset a parameter set starts from (`preset`, switched by `channel_mode`).
// Throws std::invalid_argument naming the parameter.
const Preset& base_preset(const Params& p);

// The engine configuration of a parameter set: the preset with every override applied,
// checked by check_config(). Throws std::invalid_argument naming parameter and constraint.
Config make_config(const Params& p);

// The consistency rules of a part (JESD79-4, JESD209-4, JESD235 relations and what the
// address mapping needs). Throws std::invalid_argument naming the parameter at fault.
void check_config(const Config& c);

}  // namespace cosim::dram

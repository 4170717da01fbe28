// Named, typed model parameters: the schema a model declares (ParamSpec) and the values
// an instance is built with (Params). Python validates user values against the schema
// (names, types, ranges, choices) before a model is constructed, so a model only sees
// well-formed values; the getters here still check the type and name, because a wrong
// getter is a bug in the model that must not turn into a silent default.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace cosim {

enum class ParamType { Int, Float, Bool, String, Time };

const char* param_type_name(ParamType t);

using ParamValue = std::variant<std::int64_t, double, bool, std::string>;

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::Int;
  ParamValue default_value;
  // Inclusive range for Int, Float and Time (Time in ps). Ignored for Bool/String.
  double min = std::numeric_limits<double>::lowest();
  double max = std::numeric_limits<double>::max();
  std::vector<std::string> choices;  // allowed values of a String parameter (empty: any)
  std::string unit;                  // "B", "ps", "Hz", "pJ", "" ...
  std::string doc;
  std::string source;  // where the default comes from (standard, datasheet, paper)
};

// Short constructors for model schemas.
ParamSpec int_param(std::string name, std::int64_t def, std::int64_t min, std::int64_t max,
                    std::string unit, std::string doc, std::string source = "");
ParamSpec float_param(std::string name, double def, double min, double max, std::string unit,
                      std::string doc, std::string source = "");
ParamSpec bool_param(std::string name, bool def, std::string doc, std::string source = "");
ParamSpec string_param(std::string name, std::string def, std::vector<std::string> choices,
                       std::string doc, std::string source = "");
// Times are picoseconds; min/max in ps.
ParamSpec time_param(std::string name, std::uint64_t def_ps, std::uint64_t min_ps,
                     std::uint64_t max_ps, std::string doc, std::string source = "");

class Params {
 public:
  Params() = default;
  Params(std::string model, std::map<std::string, ParamValue> values)
      : model_(std::move(model)), values_(std::move(values)) {}

  std::int64_t get_int(const std::string& name) const;
  std::uint64_t get_uint(const std::string& name) const;  // Int checked non-negative
  double get_float(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  const std::string& get_string(const std::string& name) const;
  std::uint64_t get_time_ps(const std::string& name) const;

  const std::map<std::string, ParamValue>& values() const { return values_; }

 private:
  const ParamValue& find(const std::string& name) const;
  std::string model_;
  std::map<std::string, ParamValue> values_;
};

}  // namespace cosim

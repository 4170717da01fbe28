#include "cosim/params.h"

#include <stdexcept>

namespace cosim {

const char* param_type_name(ParamType t) {
  switch (t) {
    case ParamType::Int: return "int";
    case ParamType::Float: return "float";
    case ParamType::Bool: return "bool";
    case ParamType::String: return "str";
    case ParamType::Time: return "time";
  }
  return "?";
}

ParamSpec int_param(std::string name, std::int64_t def, std::int64_t min, std::int64_t max,
                    std::string unit, std::string doc, std::string source) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::Int;
  s.default_value = def;
  s.min = static_cast<double>(min);
  s.max = static_cast<double>(max);
  s.unit = std::move(unit);
  s.doc = std::move(doc);
  s.source = std::move(source);
  return s;
}

ParamSpec float_param(std::string name, double def, double min, double max, std::string unit,
                      std::string doc, std::string source) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::Float;
  s.default_value = def;
  s.min = min;
  s.max = max;
  s.unit = std::move(unit);
  s.doc = std::move(doc);
  s.source = std::move(source);
  return s;
}

ParamSpec bool_param(std::string name, bool def, std::string doc, std::string source) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::Bool;
  s.default_value = def;
  s.doc = std::move(doc);
  s.source = std::move(source);
  return s;
}

ParamSpec string_param(std::string name, std::string def, std::vector<std::string> choices,
                       std::string doc, std::string source) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::String;
  s.default_value = std::move(def);
  s.choices = std::move(choices);
  s.doc = std::move(doc);
  s.source = std::move(source);
  return s;
}

ParamSpec time_param(std::string name, std::uint64_t def_ps, std::uint64_t min_ps,
                     std::uint64_t max_ps, std::string doc, std::string source) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::Time;
  s.default_value = static_cast<std::int64_t>(def_ps);
  s.min = static_cast<double>(min_ps);
  s.max = static_cast<double>(max_ps);
  s.unit = "ps";
  s.doc = std::move(doc);
  s.source = std::move(source);
  return s;
}

const ParamValue& Params::find(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end())
    throw std::logic_error("model '" + model_ + "' asked for parameter '" + name +
                           "', which its schema does not declare");
  return it->second;
}

std::int64_t Params::get_int(const std::string& name) const {
  const auto& v = find(name);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  throw std::logic_error("parameter '" + name + "' of model '" + model_ + "' is not an int");
}

std::uint64_t Params::get_uint(const std::string& name) const {
  const auto i = get_int(name);
  if (i < 0)
    throw std::logic_error("parameter '" + name + "' of model '" + model_ +
                           "' is negative where a non-negative value is required");
  return static_cast<std::uint64_t>(i);
}

double Params::get_float(const std::string& name) const {
  const auto& v = find(name);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  throw std::logic_error("parameter '" + name + "' of model '" + model_ + "' is not a float");
}

bool Params::get_bool(const std::string& name) const {
  const auto& v = find(name);
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  throw std::logic_error("parameter '" + name + "' of model '" + model_ + "' is not a bool");
}

const std::string& Params::get_string(const std::string& name) const {
  const auto& v = find(name);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  throw std::logic_error("parameter '" + name + "' of model '" + model_ + "' is not a str");
}

std::uint64_t Params::get_time_ps(const std::string& name) const { return get_uint(name); }

}  // namespace cosim

#include "cosim/stats.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace cosim {

Histogram::Histogram(std::string path, std::string desc, std::string unit, double lo,
                     double hi, std::size_t bins)
    : Average(std::move(path), std::move(desc), std::move(unit)), lo_(lo), hi_(hi) {
  if (!(hi > lo) || bins == 0)
    throw std::invalid_argument("histogram '" + this->path() +
                                "' needs hi > lo and at least one bin");
  width_ = (hi - lo) / static_cast<double>(bins);
  bins_.assign(bins, 0);
}

void Histogram::sample(double x) {
  Average::sample(x);
  if (x < lo_) {
    ++under_;
  } else if (x >= hi_) {
    ++over_;
  } else {
    auto i = static_cast<std::size_t>((x - lo_) / width_);
    ++bins_[std::min(i, bins_.size() - 1)];
  }
}

double Histogram::percentile(double p) const {
  const std::uint64_t n = count();
  if (n == 0) return 0.0;
  p = std::clamp(p, 0.0, 100.0);
  const double rank = p / 100.0 * static_cast<double>(n);
  double seen = static_cast<double>(under_);
  if (rank <= seen) return min();
  for (std::size_t i = 0; i < bins_.size(); ++i) {
    const double c = static_cast<double>(bins_[i]);
    if (c > 0 && rank <= seen + c) {
      const double frac = (rank - seen) / c;
      const double v = lo_ + (static_cast<double>(i) + frac) * width_;
      return std::clamp(v, min(), max());
    }
    seen += c;
  }
  return max();
}

void Histogram::reset() {
  Average::reset();
  std::fill(bins_.begin(), bins_.end(), 0);
  under_ = over_ = 0;
}

StatsRegistry& StatsRegistry::instance() {
  // Intentionally leaked: models hold references into it until the process exits.
  static auto* r = new StatsRegistry();
  return *r;
}

static const char* kind_name(StatKind k) {
  switch (k) {
    case StatKind::Counter: return "counter";
    case StatKind::Average: return "average";
    case StatKind::Histogram: return "histogram";
    case StatKind::Value: return "value";
  }
  return "?";
}

template <typename T, typename... A>
T& StatsRegistry::get_or_create(const std::string& path, StatKind kind, A&&... args) {
  if (path.empty()) throw std::invalid_argument("a stat needs a non-empty path");
  auto it = stats_.find(path);
  if (it != stats_.end()) {
    if (it->second->kind() != kind)
      throw std::invalid_argument("stat '" + path + "' already exists as a " +
                                  kind_name(it->second->kind()) + ", not a " +
                                  kind_name(kind));
    return static_cast<T&>(*it->second);
  }
  auto s = std::make_unique<T>(path, std::forward<A>(args)...);
  T& ref = *s;
  stats_.emplace(path, std::move(s));
  return ref;
}

Counter& StatsRegistry::counter(const std::string& path, const std::string& desc,
                                const std::string& unit) {
  return get_or_create<Counter>(path, StatKind::Counter, desc, unit);
}

Average& StatsRegistry::average(const std::string& path, const std::string& desc,
                                const std::string& unit) {
  return get_or_create<Average>(path, StatKind::Average, desc, unit);
}

Histogram& StatsRegistry::histogram(const std::string& path, double lo, double hi,
                                    std::size_t bins, const std::string& desc,
                                    const std::string& unit) {
  return get_or_create<Histogram>(path, StatKind::Histogram, desc, unit, lo, hi, bins);
}

Value& StatsRegistry::value(const std::string& path, const std::string& desc,
                            const std::string& unit) {
  return get_or_create<Value>(path, StatKind::Value, desc, unit);
}

Stat* StatsRegistry::find(const std::string& path) const {
  auto it = stats_.find(path);
  return it == stats_.end() ? nullptr : it->second.get();
}

std::vector<const Stat*> StatsRegistry::all() const {
  std::vector<const Stat*> out;
  out.reserve(stats_.size());
  for (const auto& [k, v] : stats_) out.push_back(v.get());
  return out;
}

void StatsRegistry::reset_all() {
  for (auto& [k, v] : stats_) v->reset();
}

}  // namespace cosim

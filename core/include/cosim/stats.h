// Hierarchical statistics: every model registers its counters, averages and histograms
// under its hierarchical name ("soc.mem0.reads"). Python reads them all at the end of a
// run (and can create its own). Updating a stat is a plain member update: no lookup,
// no allocation, so models can count on their hot paths.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cosim {

enum class StatKind { Counter, Average, Histogram, Value };

class Stat {
 public:
  Stat(std::string path, std::string desc, std::string unit)
      : path_(std::move(path)), desc_(std::move(desc)), unit_(std::move(unit)) {}
  virtual ~Stat() = default;
  Stat(const Stat&) = delete;
  Stat& operator=(const Stat&) = delete;

  const std::string& path() const { return path_; }
  const std::string& desc() const { return desc_; }
  const std::string& unit() const { return unit_; }
  virtual StatKind kind() const = 0;
  virtual void reset() = 0;

 private:
  std::string path_, desc_, unit_;
};

// A monotonically increasing event count (transactions, bytes, commands).
class Counter final : public Stat {
 public:
  using Stat::Stat;
  StatKind kind() const override { return StatKind::Counter; }
  void inc(std::uint64_t n = 1) { value_ += n; }
  std::uint64_t value() const { return value_; }
  void reset() override { value_ = 0; }

 private:
  std::uint64_t value_ = 0;
};

// Running mean/min/max of a sampled quantity (latency, occupancy).
class Average : public Stat {
 public:
  using Stat::Stat;
  StatKind kind() const override { return StatKind::Average; }
  void sample(double x) {
    if (count_ == 0 || x < min_) min_ = x;
    if (count_ == 0 || x > max_) max_ = x;
    sum_ += x;
    ++count_;
  }
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  double min() const { return count_ ? min_ : 0.0; }
  double max() const { return count_ ? max_ : 0.0; }
  void reset() override { count_ = 0; sum_ = min_ = max_ = 0.0; }

 private:
  std::uint64_t count_ = 0;
  double sum_ = 0.0, min_ = 0.0, max_ = 0.0;
};

// Distribution over fixed-width bins [lo, hi) plus underflow/overflow bins, with the
// running mean/min/max of Average. Percentiles are interpolated within a bin.
class Histogram final : public Average {
 public:
  Histogram(std::string path, std::string desc, std::string unit, double lo, double hi,
            std::size_t bins);
  StatKind kind() const override { return StatKind::Histogram; }
  void sample(double x);
  double lo() const { return lo_; }
  double hi() const { return hi_; }
  const std::vector<std::uint64_t>& bins() const { return bins_; }
  std::uint64_t underflow() const { return under_; }
  std::uint64_t overflow() const { return over_; }
  double percentile(double p) const;  // p in [0, 100]
  void reset() override;

 private:
  double lo_, hi_, width_;
  std::vector<std::uint64_t> bins_;
  std::uint64_t under_ = 0, over_ = 0;
};

// A value a model sets (a configuration echo or an end-of-run figure like utilisation).
class Value final : public Stat {
 public:
  using Stat::Stat;
  StatKind kind() const override { return StatKind::Value; }
  void set(double v) { value_ = v; }
  double value() const { return value_; }
  void reset() override { value_ = 0.0; }

 private:
  double value_ = 0.0;
};

// The registry of all stats of this process's simulation. Paths are unique; asking for
// an existing path with the same kind returns the existing stat (so a model and Python
// can share one), with a different kind it throws std::invalid_argument.
class StatsRegistry {
 public:
  static StatsRegistry& instance();

  Counter& counter(const std::string& path, const std::string& desc = "",
                   const std::string& unit = "");
  Average& average(const std::string& path, const std::string& desc = "",
                   const std::string& unit = "");
  Histogram& histogram(const std::string& path, double lo, double hi, std::size_t bins,
                       const std::string& desc = "", const std::string& unit = "");
  Value& value(const std::string& path, const std::string& desc = "",
               const std::string& unit = "");

  Stat* find(const std::string& path) const;
  // All stats in path order.
  std::vector<const Stat*> all() const;
  void reset_all();

 private:
  template <typename T, typename... A>
  T& get_or_create(const std::string& path, StatKind kind, A&&... args);
  std::map<std::string, std::unique_ptr<Stat>> stats_;
};

inline StatsRegistry& stats() { return StatsRegistry::instance(); }

}  // namespace cosim

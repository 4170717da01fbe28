// phantom_core_tlm: TLM twin of rtl/phantom/phantom_core.sv (register map, beat formats and
// job in the RTL's header). The same numbers and counters, timed on the RTL's clock grid:
// window j is taken at max(its arrival, the edge window j-1 issues its last pairs) (the
// first one edge after the start at the earliest), holds the dispatcher
// max(1, ceil(issued / THREADS)) edges, a result can leave one edge after its last window
// issued, one result per edge, and the job is done at the edge its last result leaves.
#include <cstring>
#include <vector>

#include "../stream_engine.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kOutputs = 0x10, kGroup = 0x14, kMode = 0x18;
constexpr std::uint64_t kIssued = 0x20, kValid = 0x24, kWindows = 0x28, kIssueCycles = 0x2C;

class PhantomCoreTlm : public StreamEngineTlm {
 public:
  PhantomCoreTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "phantom_core_tlm", p, 2 * unsigned(p.get_uint("window")) + 4, 4,
                        {kOutputs, kGroup, kMode}),
        window_(unsigned(p.get_uint("window"))),
        threads_(unsigned(p.get_uint("threads"))),
        max_outs_(unsigned(p.get_uint("max_outs"))) {}

 private:
  std::uint32_t info() const override { return window_ | (threads_ << 8) | (max_outs_ << 16) | kVersion; }

  void control(std::uint32_t ctrl, std::uint64_t) override {
    if (ctrl & 2) issued_ = valid_ = windows_ = issue_cycles_ = 0;
  }

  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    switch (a) {
      case kOutputs: case kGroup: case kMode: return reg(a);
      case kIssued: return issued_;
      case kValid: return valid_;
      case kWindows: return windows_;
      case kIssueCycles: return issue_cycles_;
      default: return 0;
    }
  }

  bool start(std::uint64_t edge, std::uint32_t) override {
    outputs_ = reg(kOutputs), group_ = reg(kGroup), dense_ = reg(kMode) & 1;
    results_.clear(), ready_.clear();
    taken_ = given_ = 0, pos_ = 0, acc_ = 0, free_ = edge + 1, out_next_ = 0;
    return outputs_ >= 1 && outputs_ <= max_outs_ && group_ >= 1 && group_ <= 65535;
  }

  std::uint64_t wanted() const override { return std::uint64_t(outputs_) * group_ - taken_; }

  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    const std::uint32_t all = (1u << window_) - 1;
    for (std::uint64_t i = 0; i < n; ++i, data += in_bytes_, ++taken_) {
      const std::uint32_t masks = load_u32(data + 2 * window_);
      const std::uint32_t valid = masks & (masks >> 16) & all;
      const std::uint32_t issue = dense_ ? all : valid;
      const unsigned pairs = unsigned(__builtin_popcount(issue));
      const std::uint64_t hold = pairs == 0 ? 1 : (pairs + threads_ - 1) / threads_;
      for (unsigned k = 0; k < window_; ++k)
        if (issue >> k & 1)
          acc_ += std::uint32_t(std::int32_t(std::int8_t(data[k])) * std::int32_t(std::int8_t(data[window_ + k])));
      e = std::max(first, free_);
      free_ = e + hold;
      issued_ += pairs, valid_ += unsigned(__builtin_popcount(valid)), windows_ += 1, issue_cycles_ += hold;
      if (++pos_ == group_) {
        results_.push_back(acc_);
        ready_.push_back(free_ + 1);
        pos_ = 0, acc_ = 0;
      }
    }
    return e;
  }

  std::uint64_t available() const override { return results_.size() - given_; }

  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, ++given_) {
      e = std::max({first, out_next_, ready_[given_]});
      out_next_ = e + 1;
      store_u32(data + 4 * i, results_[given_]);
    }
    if (given_ == outputs_) finish(e);
    return e;
  }

  unsigned window_, threads_, max_outs_;
  std::uint32_t outputs_ = 1, group_ = 1, pos_ = 0, acc_ = 0;
  std::uint32_t issued_ = 0, valid_ = 0, windows_ = 0, issue_cycles_ = 0;
  bool dense_ = false;
  std::vector<std::uint32_t> results_;
  std::vector<std::uint64_t> ready_;  // the edge each result can leave at the earliest
  std::uint64_t taken_ = 0, given_ = 0, free_ = 0, out_next_ = 0;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "phantom_core_tlm";
  s.summary = "TLM twin of one Phantom core (rtl/phantom/phantom_core.sv)";
  s.doc = "Targets csr, in (windows of int8 weights, activations and their masks) and out (int32 results), "
          "event done.";
  s.source = "Timing from the RTL's dispatcher (max(1, ceil(pairs / threads)) cycles per window); defaults as "
             "the RTL's.";
  s.params = stream_engine_params();
  s.params.push_back(int_param("window", 8, 2, 16, "", "lookahead window in positions (WINDOW)"));
  s.params.push_back(int_param("threads", 2, 1, 16, "", "MAC threads (THREADS)"));
  s.params.push_back(int_param("max_outs", 64, 2, 255, "", "results per job (MAX_OUTS)"));
  s.ports = {{"csr", PortKind::TlmTarget, "registers", false}, {"in", PortKind::TlmTarget, "windows", false},
             {"out", PortKind::TlmTarget, "results", false}, {"done", PortKind::Event, "job done", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new PhantomCoreTlm(n, p); };
  return s;
}

const RegisterModel reg_phantom_core(spec());

}  // namespace
}  // namespace cosim::accel

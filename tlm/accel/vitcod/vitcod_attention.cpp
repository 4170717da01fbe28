// vitcod_attention_tlm: TLM twin of rtl/vitcod/vitcod_attention.sv (ViTCoD's split PE
// array on a polarised mask). As the RTL: input beats one per edge from the edge after
// the start; the engines compute from the edge after the last input, each on one query
// row an edge (the denser one up to DENSE_PES of its GLOBAL columns, the sparser one up
// to PES - DENSE_PES pairs of that row in rising key banks); a result beat leaves from the edge after its
// last score is written, one an edge; done at the last result.
#include <algorithm>
#include <cstring>
#include <vector>

#include "../stream_engine.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kTokens = 0x10, kGlobal = 0x14, kSparse = 0x18, kDensePes = 0x1C;
constexpr std::uint64_t kCounterBase = 0x40;  // DENSE_SCORES, SPARSE_SCORES, DENSE_CYCLES, SPARSE_CYCLES

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return (a + b - 1) / b; }

class VitcodAttentionTlm : public StreamEngineTlm {
 public:
  VitcodAttentionTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "vitcod_attention_tlm", p, unsigned(p.get_uint("d")), unsigned(p.get_uint("d")),
                        {kTokens, kGlobal, kSparse, kDensePes}),
        d_(unsigned(p.get_uint("d"))),
        pes_(unsigned(p.get_uint("pes"))),
        max_tokens_(unsigned(p.get_uint("max_tokens"))),
        max_sparse_(unsigned(p.get_uint("max_sparse"))) {
    while ((1u << token_bits_) < max_tokens_) ++token_bits_;
  }

 private:
  std::uint32_t info() const override {
    return pes_ | (max_tokens_ << 8) | ((d_ / 16) << 20) | (1u << 24);
  }
  void control(std::uint32_t ctrl, std::uint64_t) override {
    if (ctrl & 2u) std::fill(std::begin(counters_), std::end(counters_), 0u);
  }
  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    if (a >= kCounterBase && a < kCounterBase + 16 && a % 4 == 0) return counters_[(a - kCounterBase) / 4];
    if (a == kTokens || a == kGlobal || a == kSparse || a == kDensePes) return reg(a);
    return 0;
  }
  bool start(std::uint64_t edge, std::uint32_t) override {
    tokens_ = reg(kTokens), global_ = reg(kGlobal), sparse_ = reg(kSparse), dpes_ = reg(kDensePes);
    const bool ok = tokens_ >= 1 && tokens_ <= max_tokens_ && global_ <= tokens_ && sparse_ <= max_sparse_ &&
                    dpes_ <= pes_ && std::uint64_t(global_) + sparse_ > 0 && (global_ == 0 || dpes_ >= 1) &&
                    (sparse_ == 0 || dpes_ < pes_);
    if (!ok) return false;
    const unsigned w = d_ / 4;
    total_in_ = 2ull * tokens_ + ceil_div(sparse_, w);
    in_.assign(total_in_ * d_, 0);
    taken_ = given_ = 0, in_next_ = edge + 1, out_next_ = 0;
    out_.clear(), ready_.clear();
    return true;
  }
  std::uint64_t wanted() const override { return total_in_ - taken_; }
  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, ++taken_) {
      e = std::max(first, in_next_);
      in_next_ = e + 1;
      std::memcpy(&in_[taken_ * d_], data + i * d_, d_);
    }
    if (taken_ == total_in_) compute(e);
    return e;
  }
  std::int32_t dot(std::uint64_t q_row, std::uint64_t k_row) const {
    const auto* q = reinterpret_cast<const std::int8_t*>(&in_[(tokens_ + q_row) * d_]);
    const auto* k = reinterpret_cast<const std::int8_t*>(&in_[k_row * d_]);
    std::uint32_t acc = 0;
    for (unsigned l = 0; l < d_; ++l) acc += std::uint32_t(std::int32_t(q[l]) * std::int32_t(k[l]));
    return std::int32_t(acc);
  }
  // Scores and the edge each result beat is ready, from the last input's edge `last`.
  void compute(std::uint64_t last) {
    const unsigned w = d_ / 4;
    const std::uint64_t spes = pes_ - dpes_;
    const std::uint64_t dn = std::uint64_t(tokens_) * global_, mask = (1u << token_bits_) - 1;
    std::vector<std::int32_t> dense(dn), sparse(sparse_);
    for (std::uint64_t n = 0; n < dn; ++n) dense[n] = dot(n / global_, n % global_);
    const std::uint8_t* pairs = &in_[2ull * tokens_ * d_];
    for (std::uint64_t s = 0; s < sparse_; ++s) {
      std::uint16_t rc[2];
      std::memcpy(rc, pairs + 4 * s, 4);
      sparse[s] = dot(rc[0] & mask, rc[1] & mask);
    }
    // The schedules: after compute edge c (1-based), done[c] scores of each engine.
    std::vector<std::uint64_t> dense_done{0}, sparse_done{0};
    for (std::uint64_t row = 0; row < tokens_ && global_; ++row)
      for (std::uint64_t col = 0; col < global_; col += dpes_)
        dense_done.push_back(row * global_ + std::min<std::uint64_t>(col + dpes_, global_));
    for (std::uint64_t s = 0; s < sparse_;) {
      std::uint16_t first[2];
      std::memcpy(first, pairs + 4 * s, 4);
      std::uint64_t n = 0, bank = 0;
      for (; n < spes && s + n < sparse_; ++n) {
        std::uint16_t rc[2];
        std::memcpy(rc, pairs + 4 * (s + n), 4);
        const std::uint64_t b = (rc[1] & mask) % pes_;
        if ((rc[0] & mask) != (first[0] & mask) || (n > 0 && b <= bank)) break;
        bank = b;
      }
      s += n;
      sparse_done.push_back(s);
    }
    auto emit = [&](const std::vector<std::int32_t>& scores, const std::vector<std::uint64_t>& done) {
      std::uint64_t c = 0;
      for (std::uint64_t b = 0; b * w < scores.size(); ++b) {
        const std::uint64_t end = std::min<std::uint64_t>((b + 1) * w, scores.size());
        for (std::uint64_t l = 0; l < w; ++l) out_.push_back(b * w + l < end ? std::uint32_t(scores[b * w + l]) : 0u);
        while (done[c] < end) ++c;
        ready_.push_back(last + c + 1);
      }
    };
    emit(dense, dense_done);
    emit(sparse, sparse_done);
    counters_[0] += std::uint32_t(dn), counters_[1] += sparse_;
    counters_[2] += std::uint32_t(dense_done.size() - 1);
    counters_[3] += std::uint32_t(sparse_done.size() - 1);
  }
  std::uint64_t available() const override { return taken_ == total_in_ ? ready_.size() - given_ : 0; }
  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    const unsigned w = d_ / 4;
    for (std::uint64_t i = 0; i < n; ++i, ++given_) {
      e = std::max({first, out_next_, ready_[given_]});
      out_next_ = e + 1;
      std::memcpy(data + i * out_bytes_, &out_[given_ * w], out_bytes_);
    }
    if (given_ == ready_.size()) finish(e);
    return e;
  }

  unsigned d_, pes_, max_tokens_, max_sparse_, token_bits_ = 0;
  std::uint32_t tokens_ = 0, global_ = 0, sparse_ = 0, dpes_ = 0;
  std::uint32_t counters_[4] = {0, 0, 0, 0};
  std::vector<std::uint8_t> in_;      // key rows, query rows, then the pair beats
  std::vector<std::uint32_t> out_;    // result beats, d/4 words each
  std::vector<std::uint64_t> ready_;  // the edge each result beat can leave at the earliest
  std::uint64_t total_in_ = 0, taken_ = 0, given_ = 0, in_next_ = 0, out_next_ = 0;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "vitcod_attention_tlm";
  s.summary = "TLM twin of ViTCoD's split attention engine (rtl/vitcod/vitcod_attention.sv)";
  s.doc = "Targets csr, in (keys, queries, sparse pairs) and out (dense then sparse scores), event done.";
  s.source = "Timing from the RTL's state machine (one beat an edge each way, DENSE_PES and PES - DENSE_PES "
             "scores an edge); defaults as the RTL's.";
  s.params = stream_engine_params();
  s.params.push_back(int_param("d", 64, 16, 128, "", "head dimension = int8 lanes of a beat (D)"));
  s.params.push_back(int_param("pes", 8, 2, 64, "", "dot-product PEs split between the engines (PES)"));
  s.params.push_back(int_param("max_tokens", 256, 8, 1024, "", "tokens a job holds (MAX_TOKENS)"));
  s.params.push_back(int_param("max_sparse", 8192, 16, 65536, "", "sparse pairs a job holds (MAX_SPARSE)"));
  s.ports = {{"csr", PortKind::TlmTarget, "registers", false}, {"in", PortKind::TlmTarget, "inputs", false},
             {"out", PortKind::TlmTarget, "results", false}, {"done", PortKind::Event, "job done", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new VitcodAttentionTlm(n, p); };
  return s;
}

const RegisterModel reg_vitcod_attention(spec());

}  // namespace
}  // namespace cosim::accel

// taylor_attention_tlm: TLM twin of rtl/vitality/taylor_attention.sv (numerics:
// cosim/accel/vitality/arithmetic.py). As the RTL (R = dim / rows, beats taken at edge e):
// the first beat from the edge after the start; Taylor: after k_j the next beat at e + 1,
// after v_j at e + R + 1 (G's row groups), after the last v the first query at e + 2R + 1
// (and the centring); a query's result leaves from e + R + 1, the next query from e + R + 1.
// Softmax: k_j, v_j one per edge; the first query from e + 2 after the last v; queries
// one per edge in blocks of up to `rows`; a block whose last query is taken at e has N
// score and N weighting edges, then result r written at e + 2N + 1 + r (leaving an edge
// later); the next block's first query from e + 2N + QB + 1 (QB queries in the block).
#include <cstring>
#include <vector>

#include "../exp2_lut.h"
#include "../stream_engine.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kTokens = 0x10, kMode = 0x14, kTaylorShift = 0x18, kGShift = 0x1C, kMult = 0x20,
                        kShift = 0x24;
constexpr std::uint64_t kCounterBase = 0x40;  // MACS, EXPS, RECIPS, BUFFER_BYTES
constexpr int kRecipBits = 48, kOutFrac = 8;

using i64 = std::int64_t;
using i128 = __int128;

std::int16_t sat16(i128 x) { return std::int16_t(x > 32767 ? 32767 : x < -32768 ? -32768 : x); }

std::uint32_t exp2neg(std::uint64_t t) {
  const std::uint64_t n = t >> 8;
  return n >= 16 ? 0u : std::uint32_t(kExp2Lut[t & 255] >> n);
}

class TaylorAttentionTlm : public StreamEngineTlm {
 public:
  TaylorAttentionTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "taylor_attention_tlm", p, unsigned(p.get_uint("dim")), 2 * unsigned(p.get_uint("dim")),
                        {kTokens, kMode, kTaylorShift, kGShift, kMult, kShift}),
        dim_(unsigned(p.get_uint("dim"))),
        rows_(unsigned(p.get_uint("rows"))),
        max_tokens_(unsigned(p.get_uint("max_tokens"))),
        r_(dim_ / rows_) {}

 private:
  std::uint32_t info() const override { return dim_ | (max_tokens_ << 8) | kVersion; }
  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    if (a >= kCounterBase && a < kCounterBase + 16) return std::uint32_t(counts_[(a - kCounterBase) / 4]);
    return a >= kTokens && a <= kShift ? reg(a) : 0u;
  }
  bool start(std::uint64_t edge, std::uint32_t) override {
    n_ = reg(kTokens), softmax_ = reg(kMode) == 1, a_ = reg(kTaylorShift), gs_ = reg(kGShift);
    taken_ = given_ = 0, in_next_ = edge + 1, out_next_ = 0;
    out_.clear(), ready_.clear(), k_.clear(), v_.clear(), block_.clear();
    return n_ >= 2 && n_ <= max_tokens_ && reg(kMode) <= 1 && a_ <= 24 && gs_ <= 32 && reg(kMult) >= 1 &&
           reg(kMult) <= 65535 && reg(kShift) >= 1 && reg(kShift) <= 40;
  }
  std::uint64_t wanted() const override { return 3ull * n_ - taken_; }
  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, data += in_bytes_) {
      e = std::max(first, in_next_);
      in_next_ = e + 1;
      const auto* x = reinterpret_cast<const std::int8_t*>(data);
      if (taken_ < 2ull * n_) {
        (taken_ % 2 ? v_ : k_).insert((taken_ % 2 ? v_ : k_).end(), x, x + dim_);
        const bool v = taken_ % 2 == 1, last = ++taken_ == 2ull * n_;
        if (v && !softmax_) in_next_ = e + r_ + 1;  // G += k v^T, rows rows an edge
        if (last) {
          prepare();
          in_next_ = softmax_ ? e + 2 : e + 2 * r_ + 1;  // then PREP
        }
        continue;
      }
      ++taken_;
      if (softmax_) {
        block_.insert(block_.end(), x, x + dim_);
        const std::uint64_t qb = block_.size() / dim_;
        if (qb == rows_ || taken_ == 3ull * n_) {
          counts_[3] += 2ull * n_ * dim_;  // one pass over K and V for the block
          for (std::uint64_t r = 0; r < qb; ++r) {
            query_softmax(&block_[r * dim_]);
            ready_.push_back(e + 2ull * n_ + 2 + r);
          }
          block_.clear();
          in_next_ = e + 2ull * n_ + qb + 1;
        }
      } else {
        query_taylor(x);
        ready_.push_back(e + r_ + 1);
        in_next_ = e + r_ + 1;
      }
    }
    return e;
  }
  std::uint64_t available() const override { return ready_.size() - given_; }
  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, ++given_) {
      e = std::max({first, out_next_, ready_[given_]});
      out_next_ = e + 1;
      std::memcpy(data + i * out_bytes_, &out_[given_ * dim_], out_bytes_);
    }
    if (given_ == n_) finish(e);
    return e;
  }

  void prepare() {
    const unsigned d = dim_;
    if (softmax_) {
      counts_[3] += 2ull * n_ * d;
      return;
    }
    std::vector<i64> g(d * d, 0), ks(d, 0);
    vs_.assign(d, 0);
    for (unsigned j = 0; j < n_; ++j)
      for (unsigned a = 0; a < d; ++a) {
        ks[a] += k_[j * d + a];
        if (a == 0)
          for (unsigned b = 0; b < d; ++b) vs_[b] += v_[j * d + b];
        for (unsigned b = 0; b < d; ++b) g[a * d + b] += i64(k_[j * d + a]) * v_[j * d + b];
      }
    gq_.assign(d * d, 0);
    for (unsigned i = 0; i < d * d; ++i) {
      i64 gc = i64(n_) * g[i] - ks[i / d] * vs_[i % d];
      if (gs_) gc = (gc + (i64(1) << (gs_ - 1))) >> gs_;
      gq_[i] = gc > 32767 ? 32767 : gc < -32768 ? -32768 : gc;
    }
    recip_ = (std::uint64_t(1) << kRecipBits) / (std::uint64_t(n_) * n_);
    counts_[0] += std::uint64_t(n_) * d * d + d * d;
    counts_[2] += 1;
  }
  void query_taylor(const std::int8_t* q) {
    const unsigned d = dim_;
    const int s = kRecipBits - kOutFrac + int(a_);
    for (unsigned b = 0; b < d; ++b) {
      i64 acc = 0;
      for (unsigned a = 0; a < d; ++a) acc += i64(q[a]) * gq_[a * d + b];
      const i64 num = i64(std::uint64_t(i64(n_) * vs_[b]) << a_) + i64(std::uint64_t(acc) << gs_);
      out_.push_back(std::uint16_t(sat16((i128(num) * i128(recip_) + (i128(1) << (s - 1))) >> s)));
    }
    counts_[0] += std::uint64_t(d) * d;
  }
  void query_softmax(const std::int8_t* q) {
    const unsigned d = dim_;
    const std::uint32_t mult = reg(kMult), shift = reg(kShift);
    std::vector<i64> s(n_, 0), o(d, 0);
    for (unsigned j = 0; j < n_; ++j)
      for (unsigned a = 0; a < d; ++a) s[j] += i64(q[a]) * k_[j * d + a];
    const i64 m = *std::max_element(s.begin(), s.end());
    i64 sum = 0;
    for (unsigned j = 0; j < n_; ++j) {
      const std::uint64_t t = (std::uint64_t(m - s[j]) * mult + (std::uint64_t(1) << (shift - 1))) >> shift;
      const i64 w = exp2neg(t);
      sum += w;
      for (unsigned b = 0; b < d; ++b) o[b] += w * v_[j * d + b];
    }
    const i64 r = i64((std::uint64_t(1) << 44) / std::uint64_t(sum));
    for (unsigned b = 0; b < d; ++b) out_.push_back(std::uint16_t(sat16((o[b] * r + (i64(1) << 35)) >> 36)));
    counts_[0] += 2ull * n_ * d, counts_[1] += n_, counts_[2] += 1, counts_[3] += 8ull * n_;
  }

  unsigned dim_, rows_, max_tokens_, r_, n_ = 2, a_ = 0, gs_ = 0;
  bool softmax_ = false;
  std::uint64_t taken_ = 0, given_ = 0, in_next_ = 0, out_next_ = 0, recip_ = 1;
  std::uint64_t counts_[4] = {0, 0, 0, 0};  // MACS, EXPS, RECIPS, BUFFER_BYTES (cumulative)
  std::vector<std::int8_t> k_, v_, block_;
  std::vector<i64> vs_, gq_;
  std::vector<std::uint16_t> out_;    // results, dim per beat
  std::vector<std::uint64_t> ready_;  // the edge each result beat can leave at the earliest
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "taylor_attention_tlm";
  s.summary = "TLM twin of ViTALiTy's attention engine (rtl/vitality/taylor_attention.sv)";
  s.doc = "Targets csr, in (dim int8 lanes) and out (dim int16 lanes), event done.";
  s.source = "Timing from the RTL's state machine (load, PREP, per-query passes); defaults as the RTL's.";
  s.params = stream_engine_params();
  s.params.push_back(int_param("dim", 64, 4, 64, "", "head dimension: int8 lanes per beat (DIM)"));
  s.params.push_back(int_param("rows", 8, 1, 64, "", "array rows: keys or G rows a cycle (ROWS)"));
  s.params.push_back(int_param("max_tokens", 512, 2, 1024, "", "tokens per head at most (MAX_TOKENS)"));
  s.ports = {{"csr", PortKind::TlmTarget, "registers", false}, {"in", PortKind::TlmTarget, "inputs", false},
             {"out", PortKind::TlmTarget, "results", false}, {"done", PortKind::Event, "job done", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new TaylorAttentionTlm(n, p); };
  return s;
}

const RegisterModel reg_taylor_attention(spec());

}  // namespace
}  // namespace cosim::accel

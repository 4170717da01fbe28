// complementary_sparsity_tlm: TLM twin of rtl/complementary_sparsity/complementary_sparsity.sv
// (k-WTA, select, multiply, route by id, accumulate). Same registers, numbers and
// counters; timed per beat on the RTL's edges: a vector is taken at the first edge it is
// offered in the take state, then PACKS * ceil(selected / LANES) multiply edges; result
// beats from the edge after the last multiply, one per edge; a load beat per edge.
#include <algorithm>
#include <cstring>
#include <vector>

#include "../stream_engine.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kPixels = 0x10, kTaps = 0x14, kPacks = 0x18, kKernels = 0x1C, kWinners = 0x20;
constexpr std::uint64_t kCounterBase = 0x40;
constexpr std::uint64_t kKwtaVectors = 0x40, kMacs = 0x44, kRowReads = 0x48, kAccUpdates = 0x4C, kRowWrites = 0x50;
constexpr std::uint32_t kCtrlLoad = 2, kCtrlIds = 4, kCtrlDense = 8;

// k-WTA: channel i wins when fewer than k channels rank above it (a larger value, or an
// equal value at a lower channel), as rtl/complementary_sparsity/kwta.sv.
std::vector<bool> kwta(const std::int8_t* x, unsigned channels, unsigned k) {
  std::vector<bool> win(channels);
  for (unsigned i = 0; i < channels; ++i) {
    unsigned rank = 0;
    for (unsigned j = 0; j < channels; ++j)
      if (j != i && (x[j] > x[i] || (x[j] == x[i] && j < i))) ++rank;
    win[i] = rank < k;
  }
  return win;
}

class ComplementarySparsityTlm : public StreamEngineTlm {
 public:
  ComplementarySparsityTlm(const sc_core::sc_module_name& name, const Params& p)
      : StreamEngineTlm(name, "complementary_sparsity_tlm", p, unsigned(p.get_uint("channels")),
                        unsigned(p.get_uint("channels")), {kPixels, kTaps, kPacks, kKernels, kWinners}),
        channels_(unsigned(p.get_uint("channels"))),
        lanes_(unsigned(p.get_uint("lanes"))),
        max_kernels_(unsigned(p.get_uint("max_kernels"))),
        max_outputs_(unsigned(p.get_uint("max_outputs"))),
        max_taps_(unsigned(p.get_uint("max_taps"))),
        rows_(unsigned(p.get_uint("weight_rows"))),
        w_(std::size_t(rows_) * channels_, 0),
        ids_(std::size_t(rows_) * channels_, 0) {
    if (channels_ % 4 != 0 || lanes_ > channels_)
      throw std::invalid_argument("complementary_sparsity_tlm: channels must be a multiple of 4 and lanes <= channels");
    id_mask_ = 1;
    while (id_mask_ < max_kernels_) id_mask_ <<= 1;
    id_mask_ -= 1;
  }

 private:
  std::uint32_t info() const override { return channels_ | (lanes_ << 8) | (max_kernels_ << 16) | kVersion; }

  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    switch (a) {
      case kPixels: case kTaps: case kPacks: case kKernels: case kWinners: return reg(a);
      case kKwtaVectors: return std::uint32_t(kwta_vectors_);
      case kMacs: return std::uint32_t(macs_);
      case kRowReads: return std::uint32_t(row_reads_);
      case kAccUpdates: return std::uint32_t(acc_updates_);
      case kRowWrites: return std::uint32_t(row_writes_);
      default: return 0;
    }
  }

  bool start(std::uint64_t edge, std::uint32_t ctrl) override {
    pixels_ = reg(kPixels), taps_ = reg(kTaps), packs_ = reg(kPacks), kernels_ = reg(kKernels), k_ = reg(kWinners);
    const std::uint64_t rows = std::uint64_t(packs_) * taps_, outs = std::uint64_t(packs_) * kernels_;
    const bool ok = pixels_ >= 1 && taps_ >= 1 && taps_ <= max_taps_ && packs_ >= 1 && rows <= rows_ &&
                    kernels_ >= 1 && kernels_ <= max_kernels_ && outs <= max_outputs_ && k_ >= 1 && k_ <= channels_;
    load_ = ctrl & kCtrlLoad, with_ids_ = ctrl & kCtrlIds, dense_ = ctrl & kCtrlDense;
    next_ = edge + 1;
    beat_ = 0, pixel_ = 0, tap_ = 0, given_ = 0;
    out_.clear();
    ready_.clear();
    acc_.assign(max_outputs_, 0);
    out_beats_ = unsigned((outs + channels_ / 4 - 1) / (channels_ / 4));
    return ok;
  }

  std::uint64_t wanted() const override {
    if (load_) return std::uint64_t(packs_) * taps_ * (with_ids_ ? 2 : 1) - beat_;
    if (given_ < out_.size() / (channels_ / 4) || pixel_ == pixels_) return 0;
    return taps_ - tap_;
  }

  std::uint64_t take(const std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, data += in_bytes_) {
      e = std::max(first, next_);
      if (load_)
        load(data, e);
      else
        vector(reinterpret_cast<const std::int8_t*>(data), e);
    }
    return e;
  }

  void load(const std::uint8_t* data, std::uint64_t e) {
    const std::uint64_t row = with_ids_ ? beat_ / 2 : beat_;
    std::uint8_t* w = reinterpret_cast<std::uint8_t*>(&w_[row * channels_]);
    if (with_ids_ && beat_ % 2 == 1) {
      for (unsigned c = 0; c < channels_; ++c) ids_[row * channels_ + c] = std::uint8_t(data[c] & id_mask_);
      ++row_writes_;
    } else {
      std::memcpy(w, data, channels_);
      if (!with_ids_) std::fill_n(&ids_[row * channels_], channels_, std::uint8_t(0)), ++row_writes_;
    }
    ++beat_;
    next_ = e + 1;
    if (beat_ == std::uint64_t(packs_) * taps_ * (with_ids_ ? 2 : 1)) finish(e);
  }

  void vector(const std::int8_t* x, std::uint64_t a) {
    if (tap_ == 0) std::fill(acc_.begin(), acc_.end(), 0);
    const std::vector<bool> win = kwta(x, channels_, k_);
    std::vector<unsigned> sel;
    for (unsigned c = 0; c < channels_; ++c)
      if (win[c] || dense_) sel.push_back(c);
    const std::uint64_t chunks = (sel.size() + lanes_ - 1) / lanes_;
    for (unsigned p = 0; p < packs_; ++p) {
      const std::size_t row = std::size_t(p) * taps_ + tap_;
      for (unsigned c : sel) {
        const std::int32_t act = win[c] ? x[c] : 0;
        const unsigned id = ids_[row * channels_ + c];
        if (id < kernels_) acc_[p * kernels_ + id] += std::uint32_t(act * std::int32_t(w_[row * channels_ + c]));
      }
    }
    ++kwta_vectors_;
    macs_ += std::uint64_t(packs_) * sel.size();
    row_reads_ += packs_;
    acc_updates_ += std::uint64_t(packs_) * chunks * kernels_;
    const std::uint64_t last_mac = a + packs_ * chunks;
    next_ = last_mac + 1;
    if (++tap_ < taps_) return;
    tap_ = 0;
    ++pixel_;
    const unsigned words = channels_ / 4;
    const std::size_t base = out_.size();
    out_.resize(base + std::size_t(out_beats_) * words, 0);
    for (unsigned o = 0; o < packs_ * kernels_; ++o) out_[base + o] = acc_[o];
    for (unsigned b = 0; b < out_beats_; ++b) ready_.push_back(next_);
  }

  std::uint64_t available() const override { return out_.size() / (channels_ / 4) - given_; }

  std::uint64_t give(std::uint8_t* data, std::uint64_t n, std::uint64_t first) override {
    const unsigned words = channels_ / 4;
    std::uint64_t e = first;
    for (std::uint64_t i = 0; i < n; ++i, ++given_) {
      e = std::max({first, next_, ready_[given_]});
      next_ = e + 1;
      std::memcpy(data + i * out_bytes_, &out_[given_ * words], out_bytes_);
    }
    if (pixel_ == pixels_ && given_ == out_.size() / words) finish(e);
    return e;
  }

  unsigned channels_, lanes_, max_kernels_, max_outputs_, max_taps_, rows_, id_mask_ = 0;
  std::vector<std::int8_t> w_;
  std::vector<std::uint8_t> ids_;
  std::uint32_t pixels_ = 1, taps_ = 1, packs_ = 1, kernels_ = 1, k_ = 1;
  bool load_ = false, with_ids_ = false, dense_ = false;
  std::uint64_t next_ = 0, beat_ = 0, given_ = 0;
  std::uint32_t pixel_ = 0, tap_ = 0, out_beats_ = 1;
  std::vector<std::uint32_t> acc_, out_;  // accumulators; result words of the job
  std::vector<std::uint64_t> ready_;      // the edge each result beat can leave at the earliest
  std::uint64_t kwta_vectors_ = 0, macs_ = 0, row_reads_ = 0, acc_updates_ = 0, row_writes_ = 0;
};

ModelSpec spec() {
  ModelSpec s;
  s.name = "complementary_sparsity_tlm";
  s.summary = "TLM twin of the complementary sparsity engine (rtl/complementary_sparsity/)";
  s.doc = "Targets csr, in (activation vectors, weight and id rows) and out (int32 sums), event done.";
  s.source = "Timing from the RTL's state machine (one vector, PACKS*ceil(selected/LANES) multiply cycles, "
             "one result beat per edge); defaults as the RTL's.";
  s.params = stream_engine_params();
  s.params.push_back(int_param("channels", 64, 8, 128, "", "activation vector length = beat bytes (CHANNELS)"));
  s.params.push_back(int_param("lanes", 16, 1, 128, "", "multipliers (LANES)"));
  s.params.push_back(int_param("max_kernels", 16, 2, 32, "", "kernels per pack (MAX_KERNELS)"));
  s.params.push_back(int_param("max_outputs", 64, 2, 256, "", "accumulators (MAX_OUTPUTS)"));
  s.params.push_back(int_param("max_taps", 9, 1, 64, "", "vectors per output pixel (MAX_TAPS)"));
  s.params.push_back(int_param("weight_rows", 576, 2, 16384, "", "weight-buffer rows (WEIGHT_ROWS)"));
  s.ports = {{"csr", PortKind::TlmTarget, "registers", false},
             {"in", PortKind::TlmTarget, "activation vectors, weight and id rows", false},
             {"out", PortKind::TlmTarget, "int32 sums", false},
             {"done", PortKind::Event, "job done", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* {
    return new ComplementarySparsityTlm(n, p);
  };
  return s;
}

const RegisterModel reg_complementary_sparsity(spec());

}  // namespace
}  // namespace cosim::accel

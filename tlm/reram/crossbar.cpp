#include "crossbar.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace cosim::reram {

namespace {

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument(what); }

void check_range(const char* name, double v, double lo, double hi) {
  if (!(v >= lo && v <= hi)) {
    std::ostringstream os;
    os << "crossbar parameter '" << name << "' = " << v << " is out of range; allowed " << lo
       << " .. " << hi;
    bad(os.str());
  }
}

}  // namespace

void CrossbarConfig::validate() const {
  check_range("rows", rows, 1, 4096);
  check_range("cols", cols, 1, 4096);
  check_range("bits_per_cell", bits_per_cell, 1, 8);
  check_range("weight_bits", weight_bits, 2, 16);
  check_range("input_bits", input_bits, input_signed ? 2 : 1, 16);
  check_range("dac_bits", dac_bits, 1, input_bits);
  check_range("adc_bits", adc_bits, 1, 24);
  check_range("cols_per_adc", cols_per_adc, 1, cols);
  if (on_off_ratio != 0.0) check_range("on_off_ratio", on_off_ratio, 1.0 + 1e-9, 1e12);
  if (conductance_levels != 0) check_range("conductance_levels", conductance_levels, 2, 1 << bits_per_cell);
  check_range("sigma_d2d", sigma_d2d, 0, 1);
  check_range("sigma_read", sigma_read, 0, 1);
  check_range("p_stuck_on", p_stuck_on, 0, 1);
  check_range("p_stuck_off", p_stuck_off, 0, 1);
  check_range("p_stuck_on + p_stuck_off", p_stuck_on + p_stuck_off, 0, 1);
  check_range("ir_drop", ir_drop, 0, 0.9);
  check_range("sigma_cmp", sigma_cmp, 0, 1e12);
  check_range("endurance", static_cast<double>(endurance), 1, 1e18);
  check_range("t_read_ps", static_cast<double>(t_read_ps), 1, 1e12);
  check_range("adc_rate_hz", adc_rate_hz, 1e3, 1e12);
  check_range("adc reference bits", e_adc_ref_bits, 1, 24);
  for (double e : {e_adc_pj, e_dac_pj, e_array_pj, e_sh_pj, e_shift_add_pj, e_compare_pj, e_write_cell_pj})
    if (!(e >= 0)) bad("crossbar energies must be >= 0 pJ");
}

Cost& Cost::operator+=(const Cost& o) {
  array_reads += o.array_reads;
  dac_drives += o.dac_drives;
  adc_conversions += o.adc_conversions;
  sample_holds += o.sample_holds;
  shift_adds += o.shift_adds;
  comparisons += o.comparisons;
  cell_writes += o.cell_writes;
  row_writes += o.row_writes;
  e_adc += o.e_adc;
  e_dac += o.e_dac;
  e_array += o.e_array;
  e_sh += o.e_sh;
  e_shift_add += o.e_shift_add;
  e_compare += o.e_compare;
  e_write += o.e_write;
  latency_ps += o.latency_ps;
  return *this;
}

// ------------------------------------------------------------------------------ rng

CrossbarMatrix::Rng::Rng(std::uint64_t seed) {
  std::uint64_t z = seed;
  for (auto& w : s) {  // splitmix64
    z += 0x9e3779b97f4a7c15ULL;
    std::uint64_t x = z;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    w = x ^ (x >> 31);
  }
}

std::uint64_t CrossbarMatrix::Rng::next() {  // xoshiro256**
  const auto rotl = [](std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
  const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
  const std::uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double CrossbarMatrix::Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double CrossbarMatrix::Rng::normal() {
  if (have_spare) {
    have_spare = false;
    return spare;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  spare = r * std::sin(2.0 * M_PI * u2);
  have_spare = true;
  return r * std::cos(2.0 * M_PI * u2);
}

// ------------------------------------------------------------------------- matrix

CrossbarMatrix::CrossbarMatrix(CrossbarConfig cfg) : cfg_(cfg), noise_(cfg.seed * 0x2545f4914f6cdd1dULL + 7) {
  cfg_.validate();
}

int CrossbarMatrix::arrays_for(int n_out, int n_in) const {
  const int phys = n_out * cfg_.slices() * 2;
  return ((n_in + cfg_.rows - 1) / cfg_.rows) * ((phys + cfg_.cols - 1) / cfg_.cols);
}

double CrossbarMatrix::adc_energy_pj() const {
  return cfg_.e_adc_pj * std::ldexp(1.0, cfg_.adc_bits - cfg_.e_adc_ref_bits);
}

double CrossbarMatrix::full_scale() const {
  const double lmax = (1 << cfg_.bits_per_cell) - 1;
  const double g0 = cfg_.on_off_ratio == 0.0 ? 0.0 : lmax / (cfg_.on_off_ratio - 1.0);
  return cfg_.rows * (lmax + g0) * ((1 << cfg_.dac_bits) - 1);
}

Cost CrossbarMatrix::program(const std::int64_t* w, int n_out, int n_in) {
  if (n_out < 1 || n_in < 1) bad("a weight matrix needs at least one row and one column");
  if (programmed_ && (n_out != n_out_ || n_in != n_in_)) {
    std::ostringstream os;
    os << "these crossbars hold a " << n_out_ << "x" << n_in_ << " matrix; reprogram them with "
       << "the same shape (got " << n_out << "x" << n_in << ")";
    bad(os.str());
  }
  const std::int64_t wmax = (std::int64_t(1) << (cfg_.weight_bits - 1)) - 1;
  for (std::int64_t i = 0; i < std::int64_t(n_out) * n_in; ++i) {
    if (w[i] > wmax || w[i] < -wmax) {
      std::ostringstream os;
      os << "weight " << w[i] << " at [" << i / n_in << ", " << i % n_in
         << "] is beyond the representable range -" << wmax << " .. " << wmax
         << " of weight_bits=" << cfg_.weight_bits;
      bad(os.str());
    }
  }
  const int slices = cfg_.slices();
  const int bpc = cfg_.bits_per_cell;
  const int lmax = (1 << bpc) - 1;
  const double g0 = cfg_.on_off_ratio == 0.0 ? 0.0 : lmax / (cfg_.on_off_ratio - 1.0);
  const int levels = cfg_.levels();
  if (!programmed_) {
    n_out_ = n_out;
    n_in_ = n_in;
    phys_cols_ = n_out * slices * 2;
    const std::size_t cells = std::size_t(n_in) * phys_cols_;
    level_.assign(cells, 0);
    g_.assign(cells, 0.0);
    writes_.assign(cells, 0);
    // Properties of each device fixed at fabrication: its variation factor and whether
    // it is stuck on or off.
    d2d_.assign(cells, 1.0);
    stuck_.assign(cells, 0);
    Rng dev(cfg_.seed);
    stuck_cells_ = 0;
    for (std::size_t i = 0; i < cells; ++i) {
      if (cfg_.sigma_d2d > 0) d2d_[i] = std::max(0.0, 1.0 + cfg_.sigma_d2d * dev.normal());
      if (cfg_.p_stuck_on > 0 || cfg_.p_stuck_off > 0) {
        const double u = dev.uniform();
        stuck_[i] = u < cfg_.p_stuck_on ? 1 : u < cfg_.p_stuck_on + cfg_.p_stuck_off ? 2 : 0;
        if (stuck_[i] != 0) ++stuck_cells_;
      }
    }
  }
  Cost cost;
  std::vector<std::uint8_t> row_touched;
  std::vector<int> rows_written_per_array(arrays(), 0);
  const int col_blocks = (phys_cols_ + cfg_.cols - 1) / cfg_.cols;
  for (int r = 0; r < n_in; ++r) {
    row_touched.assign(col_blocks, 0);
    for (int pc = 0; pc < phys_cols_; ++pc) {
      const int n = pc / (slices * 2);
      const int s = (pc / 2) % slices;
      const int pol = pc % 2;
      const std::int64_t wv = w[std::int64_t(n) * n_in + r];
      const std::int64_t mag = wv < 0 ? -wv : wv;
      const bool mine = (wv < 0) == (pol == 1);
      const int level = mine ? static_cast<int>((mag >> (s * bpc)) & lmax) : 0;
      const std::size_t i = std::size_t(r) * phys_cols_ + pc;
      if (writes_[i] == 0 || level_[i] != level) {
        level_[i] = static_cast<std::uint8_t>(level);
        ++writes_[i];
        ++cost.cell_writes;
        if (writes_[i] > max_writes_) max_writes_ = writes_[i];
        if (writes_[i] == cfg_.endurance + 1) ++worn_cells_;
        row_touched[pc / cfg_.cols] = 1;
      }
      // The level the device can actually hold, then its conductance.
      const double lq = levels == lmax + 1
                            ? level
                            : std::round(level * (levels - 1.0) / lmax) * lmax / (levels - 1.0);
      double g = (lq + g0) * d2d_[i];
      if (stuck_[i] == 1) g = lmax + g0;
      else if (stuck_[i] == 2) g = g0;
      const int rl = r % cfg_.rows, cl = pc % cfg_.cols;
      const double dist = 0.5 * ((cfg_.rows > 1 ? double(rl) / (cfg_.rows - 1) : 0.0) +
                                 (cfg_.cols > 1 ? double(cl) / (cfg_.cols - 1) : 0.0));
      g_[i] = g * (1.0 - cfg_.ir_drop * dist);
    }
    for (int cb = 0; cb < col_blocks; ++cb)
      if (row_touched[cb]) {
        ++cost.row_writes;
        ++rows_written_per_array[(r / cfg_.rows) * col_blocks + cb];
      }
  }
  total_writes_ += cost.cell_writes;
  cost.e_write = cost.cell_writes * cfg_.e_write_cell_pj;
  const int worst = rows_written_per_array.empty()
                        ? 0
                        : *std::max_element(rows_written_per_array.begin(), rows_written_per_array.end());
  cost.latency_ps = std::uint64_t(worst) * cfg_.t_write_row_ps;
  programmed_ = true;
  ++programs_;
  return cost;
}

void CrossbarMatrix::check_inputs(const std::int64_t* x, int n_in) const {
  if (!programmed_) throw std::logic_error("MVM on crossbars that hold no weights: program them first");
  if (n_in != n_in_) {
    std::ostringstream os;
    os << "input vector has " << n_in << " elements; the programmed matrix takes " << n_in_;
    bad(os.str());
  }
  const std::int64_t hi = cfg_.input_signed ? (std::int64_t(1) << (cfg_.input_bits - 1)) - 1
                                            : (std::int64_t(1) << cfg_.input_bits) - 1;
  const std::int64_t lo = cfg_.input_signed ? -hi : 0;
  for (int i = 0; i < n_in; ++i)
    if (x[i] < lo || x[i] > hi) {
      std::ostringstream os;
      os << "input " << x[i] << " at [" << i << "] is outside " << lo << " .. " << hi << " ("
         << (cfg_.input_signed ? "signed " : "unsigned ") << cfg_.input_bits << "-bit inputs)";
      bad(os.str());
    }
}

void CrossbarMatrix::column_currents(const std::vector<double>& v, std::vector<double>& acc) {
  const int row_blocks = (n_in_ + cfg_.rows - 1) / cfg_.rows;
  acc.assign(std::size_t(row_blocks) * phys_cols_ * 2, 0.0);  // [current, sum of squares]
  for (int r = 0; r < n_in_; ++r) {
    const double vr = v[r];
    if (vr == 0.0) continue;
    const double* row = &g_[std::size_t(r) * phys_cols_];
    double* out = &acc[std::size_t(r / cfg_.rows) * phys_cols_ * 2];
    if (cfg_.sigma_read > 0) {
      for (int pc = 0; pc < phys_cols_; ++pc) {
        const double c = row[pc] * vr;
        out[2 * pc] += c;
        out[2 * pc + 1] += c * c;
      }
    } else {
      for (int pc = 0; pc < phys_cols_; ++pc) out[2 * pc] += row[pc] * vr;
    }
  }
  if (cfg_.sigma_read > 0) {
    // Independent per-cell read noise of relative size sigma_read sums, per column, to a
    // Gaussian with variance sigma_read^2 * sum of the squared cell currents.
    for (std::size_t i = 0; i < acc.size(); i += 2)
      acc[i] += cfg_.sigma_read * std::sqrt(acc[i + 1]) * noise_.normal();
  }
}

template <typename Sink>
Cost CrossbarMatrix::run(const std::int64_t* x, int n_in, bool convert, Sink&& sink) {
  check_inputs(x, n_in);
  const int slices = cfg_.slices();
  const int row_blocks = (n_in_ + cfg_.rows - 1) / cfg_.rows;
  const int col_blocks = (phys_cols_ + cfg_.cols - 1) / cfg_.cols;
  const int cycles = cfg_.input_cycles();
  const int passes = cfg_.input_signed ? 2 : 1;
  const std::int64_t dmask = (std::int64_t(1) << cfg_.dac_bits) - 1;
  const double fs = full_scale();
  const double codes = std::ldexp(1.0, cfg_.adc_bits) - 1.0;
  const double lsb = cfg_.adc_clip ? 1.0 : std::max(1.0, fs / codes);
  std::vector<double> v(n_in_), acc;
  for (int pass = 0; pass < passes; ++pass) {
    const double sign = pass == 0 ? 1.0 : -1.0;
    for (int t = 0; t < cycles; ++t) {
      for (int r = 0; r < n_in_; ++r) {
        std::int64_t xv = x[r];
        xv = pass == 0 ? std::max<std::int64_t>(xv, 0) : std::max<std::int64_t>(-xv, 0);
        v[r] = static_cast<double>((xv >> (t * cfg_.dac_bits)) & dmask);
      }
      column_currents(v, acc);
      for (int rb = 0; rb < row_blocks; ++rb) {
        const double* a = &acc[std::size_t(rb) * phys_cols_ * 2];
        for (int pc = 0; pc < phys_cols_; ++pc) {
          double value = std::max(0.0, a[2 * pc]);
          if (convert) value = std::min(std::round(value / lsb), codes) * lsb;
          const int n = pc / (slices * 2);
          const int s = (pc / 2) % slices;
          const double weight = std::ldexp(pc % 2 == 0 ? sign : -sign, t * cfg_.dac_bits + s * cfg_.bits_per_cell);
          sink(n, weight * value);
        }
      }
    }
  }
  Cost c;
  const std::uint64_t reads = std::uint64_t(cycles) * passes;
  const std::uint64_t arrays = std::uint64_t(row_blocks) * col_blocks;
  c.array_reads = reads * arrays;
  c.dac_drives = reads * std::uint64_t(n_in_) * col_blocks;
  c.sample_holds = reads * std::uint64_t(phys_cols_) * row_blocks;
  c.e_array = c.array_reads * cfg_.e_array_pj;
  c.e_dac = c.dac_drives * cfg_.e_dac_pj * cfg_.dac_bits;
  c.e_sh = c.sample_holds * cfg_.e_sh_pj;
  const double t_adc = cfg_.cols_per_adc / cfg_.adc_rate_hz * 1e12;  // ps per column group
  if (convert) {
    c.adc_conversions = c.sample_holds;
    c.shift_adds = c.adc_conversions;
    c.e_adc = c.adc_conversions * adc_energy_pj();
    c.e_shift_add = c.shift_adds * cfg_.e_shift_add_pj;
    const double per_read = std::max(static_cast<double>(cfg_.t_read_ps), t_adc);
    c.latency_ps = static_cast<std::uint64_t>(std::llround(reads * per_read + t_adc));
  } else {
    c.comparisons = std::uint64_t(n_out_);
    c.e_compare = c.comparisons * cfg_.e_compare_pj;
    c.latency_ps = reads * cfg_.t_read_ps;
  }
  return c;
}

Cost CrossbarMatrix::mvm(const std::int64_t* x, int n_in, double* y) {
  std::fill(y, y + n_out_, 0.0);
  return run(x, n_in, true, [y](int n, double v) { y[n] += v; });
}

Cost CrossbarMatrix::threshold(const std::int64_t* x, int n_in, double threshold, std::uint8_t* mask) {
  std::vector<double> total(n_out_, 0.0);
  Cost c = run(x, n_in, false, [&total](int n, double v) { total[n] += v; });
  for (int n = 0; n < n_out_; ++n) {
    const double offset = cfg_.sigma_cmp > 0 ? cfg_.sigma_cmp * noise_.normal() : 0.0;
    mask[n] = total[n] + offset >= threshold ? 1 : 0;
  }
  return c;
}

}  // namespace cosim::reram

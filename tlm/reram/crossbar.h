// ReRAM crossbar arrays computing matrix-vector products in the analog domain, with the
// ISAAC cost structure (Shafiee et al., "ISAAC: A Convolutional Neural Network
// Accelerator with In-Situ Analog Arithmetic in Crossbars", ISCA 2016).
//
// A signed integer weight matrix W (outputs x inputs) is mapped onto a grid of
// rows x cols arrays: inputs drive rows, each weight's magnitude is bit-sliced over
// ceil((weight_bits-1)/bits_per_cell) columns, and its sign selects a positive or a
// negative column of a differential pair. Inputs are applied bit-serially through DACs
// of dac_bits; every column's current is sampled and converted by an ADC of adc_bits;
// the digital results are shifted and added over input slices, weight slices and row
// blocks. The returned values are what that hardware produces, including quantisation
// and (when enabled) device non-idealities; with ideal devices and enough ADC bits they
// equal W @ x exactly.
//
// Conductances are in units of one programming step: a cell at level L (0 .. 2^bpc-1)
// conducts L + g0, where g0 = (2^bpc-1)/(on_off_ratio-1) is the off-state leakage
// (g0 = 0 for an infinite on/off ratio). Non-idealities (each seeded, each off by
// default): conductance quantisation to fewer device states, device-to-device
// variation (multiplicative, set at programming), read noise (per cell, per read,
// proportional to the conductance), stuck-at-on/off faults, and a first-order IR drop
// that attenuates cells with their distance from the drivers and sense amplifiers.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace cosim::reram {

struct CrossbarConfig {
  // geometry and precision
  int rows = 128, cols = 128;
  int bits_per_cell = 2;
  int weight_bits = 8;  // signed weights in [-(2^(wb-1)-1), 2^(wb-1)-1]
  int input_bits = 8;
  bool input_signed = false;  // signed inputs take a positive and a negative pass
  int dac_bits = 1;
  int adc_bits = 8;
  int cols_per_adc = 128;  // columns sharing one ADC (time-multiplexed)
  bool adc_clip = false;   // false: ADC range covers the full scale; true: 1-unit LSB, saturating
  // device behaviour
  double on_off_ratio = 0.0;  // 0: infinite (no off-state leakage)
  int conductance_levels = 0;  // distinct device states; 0: 2^bits_per_cell
  double sigma_d2d = 0.0;      // device-to-device variation (relative std. dev.)
  double sigma_read = 0.0;     // read noise (relative std. dev. per cell and read)
  double p_stuck_on = 0.0, p_stuck_off = 0.0;
  double ir_drop = 0.0;     // attenuation of the cell farthest from driver and sense amp
  double sigma_cmp = 0.0;   // threshold comparator input-referred offset, in product units
  std::uint64_t seed = 1;
  std::uint64_t endurance = 1'000'000;  // writes per cell before wear-out is reported
  // timing (ps) and energy (pJ); defaults from ISAAC Table 2 (32 nm) unless noted. The
  // models fill the energies from the shared energy table (keys reram.*).
  std::uint64_t t_read_ps = 100'000;        // one crossbar read (ISAAC: 100 ns)
  double adc_rate_hz = 1.28e9;              // ISAAC: 1.28 GS/s SAR ADC
  std::uint64_t t_write_row_ps = 1'000'000;  // program-and-verify of one row (see model source)
  double e_adc_pj = 1.5625;      // one 8-bit conversion: 2 mW / 1.28 GS/s (ISAAC)
  int e_adc_ref_bits = 8;        // conversion energy scales by 2^(bits - ref) (Walden FOM)
  double e_dac_pj = 0.00039;     // one 1-bit DAC drive for one read: 4 mW / 1024 / 100 ns
  double e_array_pj = 30.0;      // one 128x128 array read: 2.4 mW / 8 arrays x 100 ns
  double e_sh_pj = 0.000001;     // one sample-and-hold: 10 uW / 1024 x 100 ns
  double e_shift_add_pj = 0.04;  // one shift-and-add: 0.2 mW / 4 units / 1.28 GHz
  double e_compare_pj = 0.01;    // one threshold comparison (a latch comparator)
  double e_write_cell_pj = 10.0;  // one cell program-and-verify (see model source)

  int slices() const { return (weight_bits - 1 + bits_per_cell - 1) / bits_per_cell; }
  int input_cycles() const {
    const int mag = input_signed ? input_bits - 1 : input_bits;
    return (mag + dac_bits - 1) / dac_bits;
  }
  int levels() const { return conductance_levels > 0 ? conductance_levels : 1 << bits_per_cell; }
  // Throws std::invalid_argument naming the parameter and its allowed range.
  void validate() const;
};

// Counts of the events an operation caused, with their energy and latency.
struct Cost {
  std::uint64_t array_reads = 0, dac_drives = 0, adc_conversions = 0, sample_holds = 0,
                shift_adds = 0, comparisons = 0, cell_writes = 0, row_writes = 0;
  double e_adc = 0, e_dac = 0, e_array = 0, e_sh = 0, e_shift_add = 0, e_compare = 0,
         e_write = 0;
  std::uint64_t latency_ps = 0;
  double energy_pj() const {
    return e_adc + e_dac + e_array + e_sh + e_shift_add + e_compare + e_write;
  }
  Cost& operator+=(const Cost& o);
};

// A weight matrix programmed onto crossbar arrays.
class CrossbarMatrix {
 public:
  explicit CrossbarMatrix(CrossbarConfig cfg);

  const CrossbarConfig& config() const { return cfg_; }
  bool programmed() const { return programmed_; }
  int outputs() const { return n_out_; }
  int inputs() const { return n_in_; }
  // Arrays a matrix of this shape occupies.
  int arrays_for(int n_out, int n_in) const;
  int arrays() const { return arrays_for(n_out_, n_in_); }

  // Program W (row-major, n_out x n_in). Only cells whose level changes are written
  // (and count against endurance). Throws std::invalid_argument for an out-of-range
  // weight, naming its position and the representable range.
  Cost program(const std::int64_t* w, int n_out, int n_in);
  // y = W @ x as the hardware computes it (n_out values). Throws std::logic_error if
  // nothing is programmed, std::invalid_argument for a bad input value or length.
  Cost mvm(const std::int64_t* x, int n_in, double* y);
  // One bit per output: whether its analog dot product reaches `threshold` (in product
  // units), decided by one comparator per output after charge-domain accumulation of
  // the slices, instead of ADC conversions.
  Cost threshold(const std::int64_t* x, int n_in, double threshold, std::uint8_t* mask);

  std::uint64_t total_cell_writes() const { return total_writes_; }
  std::uint64_t max_cell_writes() const { return max_writes_; }
  std::uint64_t worn_cells() const { return worn_cells_; }
  std::uint64_t stuck_cells() const { return stuck_cells_; }
  // Conversion energy of one ADC conversion at the configured resolution.
  double adc_energy_pj() const;

 private:
  struct Rng {  // xoshiro256** seeded by splitmix64: reproducible on every platform
    std::uint64_t s[4];
    bool have_spare = false;
    double spare = 0;
    explicit Rng(std::uint64_t seed);
    std::uint64_t next();
    double uniform();  // [0, 1)
    double normal();   // Box-Muller
  };
  // Analog column values for one input slice `v` (per matrix row) into `col_out`, for
  // every physical column of the mapped matrix (without ADC).
  void column_currents(const std::vector<double>& v, std::vector<double>& col_out);
  double full_scale() const;
  void check_inputs(const std::int64_t* x, int n_in) const;
  template <typename Sink>
  Cost run(const std::int64_t* x, int n_in, bool convert, Sink&& sink);

  CrossbarConfig cfg_;
  bool programmed_ = false;
  int n_out_ = 0, n_in_ = 0;
  int phys_cols_ = 0;                  // n_out * slices * 2
  std::vector<std::uint8_t> level_;    // programmed level per (input row, phys column)
  std::vector<double> g_;              // effective conductance, same layout
  std::vector<std::uint32_t> writes_;  // writes per cell
  std::vector<double> d2d_;            // device-to-device variation factor per cell
  std::vector<std::uint8_t> stuck_;    // 0: healthy, 1: stuck on, 2: stuck off
  std::uint64_t total_writes_ = 0, max_writes_ = 0, worn_cells_ = 0, stuck_cells_ = 0;
  std::uint64_t programs_ = 0;
  Rng noise_;
};

}  // namespace cosim::reram

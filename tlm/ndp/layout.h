// Where near-data units find their operands: the data layout contract between a host
// driver (cosim/system/ndp_layout.py lays data out by the same rules) and the units.
//
// Units. A channel (an HBM pseudo channel) of B banks has U units; unit u owns the
// B/U banks with flat indices u*B/U .. (u+1)*B/U - 1 (flat = bank group * banks per
// group + bank). Units are numbered t = channel * U + u, T = channels * U in all.
//
// Streams. Each unit reads and writes a byte stream per operand region, held in DRAM
// rows of its own banks: stream byte s lies in the unit's k-th DRAM row, k = s / row
// bytes, at column (s mod row bytes) / burst bytes; that row is row base_row + k / (B/U)
// of the unit's bank k mod (B/U). Consecutive DRAM rows of a stream alternate over the
// unit's banks, so a unit with two banks opens the next row while it reads the current
// one. A region therefore occupies the same band of rows [base_row, base_row + rows)
// in every bank of every channel; its address is that of channel 0, bank group 0,
// bank 0, row base_row, column 0 (under the dram's address mapping).
//
// Matrices (M x N, row-major in the host's view): row i belongs to unit i mod T, as its
// (i div T)-th local row; local row j starts at stream offset j * S, S = N * element
// bytes rounded up to whole bursts (zero padding). Vectors of length L: element i
// belongs to unit i mod T at stream offset (i div T) * element bytes; so y = A x lands
// in the vector layout with y_i in the unit that computed it.
#pragma once

#include <cstdint>
#include <string>

#include "../dram/engine.h"

namespace cosim::ndp {

enum class DType : std::uint32_t { Int8 = 1, Int32 = 2, Fp16 = 3, Fp32 = 4 };
enum class Kind : std::uint32_t { Matrix = 1, Vector = 2 };

bool valid_dtype(std::uint32_t code);
unsigned dtype_bytes(DType t);
const char* dtype_name(DType t);
const char* kind_name(Kind k);

struct Geometry {
  unsigned channels = 1;
  unsigned units_per_channel = 1;
  unsigned banks = 1;             // per channel
  unsigned banks_per_group = 1;
  unsigned banks_per_unit = 1;
  std::uint64_t rows = 0;         // per bank
  std::uint64_t row_bytes = 0;
  unsigned burst_bytes = 0;

  unsigned units() const { return channels * units_per_channel; }
  std::uint64_t bursts_per_row() const { return row_bytes / burst_bytes; }
  // The DRAM location of byte `offset` of unit `unit`'s stream in a region at base_row
  // (column = burst index in the row).
  dram::Location locate(unsigned unit, std::uint64_t offset, std::uint64_t base_row) const;
  // Rows per bank a stream of `bytes` occupies.
  std::uint64_t rows_for(std::uint64_t stream_bytes) const;
};

// Throws std::invalid_argument naming the parameter when the dram cannot host U units
// per channel.
Geometry make_geometry(const dram::Config& cfg, unsigned units_per_channel);

struct Region {
  Kind kind = Kind::Vector;
  DType dtype = DType::Int8;
  std::uint64_t m = 0, n = 0;      // matrix rows/columns; vector length in m (n = 1)
  std::uint64_t base_row = 0, rows = 0;
  std::uint64_t address = 0;       // dram address of the region
  std::uint64_t row_stride = 0;    // matrix: padded bytes of one matrix row in a stream
  std::uint64_t stream_bytes = 0;  // bytes of the longest unit stream (whole bursts)

  // Matrix rows / vector elements held by unit t.
  std::uint64_t local_count(unsigned unit, unsigned units) const {
    return unit < m ? (m - unit + units - 1) / units : 0;
  }
  std::string describe() const;  // "1024x1024 int8 matrix at 0x... (rows 32764..32767)"
};

// The layout of a matrix or vector at base_row; throws std::invalid_argument naming the
// dimension that is out of range. Whether its rows fit the banks is the caller's check.
Region make_region(const Geometry& g, Kind kind, DType dtype, std::uint64_t m, std::uint64_t n,
                   std::uint64_t base_row);

}  // namespace cosim::ndp

#include "layout.h"

#include <stdexcept>

#include "cosim/common.h"

namespace cosim::ndp {

bool valid_dtype(std::uint32_t code) { return code >= 1 && code <= 4; }

unsigned dtype_bytes(DType t) {
  switch (t) {
    case DType::Int8: return 1;
    case DType::Fp16: return 2;
    case DType::Int32:
    case DType::Fp32: return 4;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Int8: return "int8";
    case DType::Int32: return "int32";
    case DType::Fp16: return "fp16";
    case DType::Fp32: return "fp32";
  }
  return "?";
}

const char* kind_name(Kind k) { return k == Kind::Matrix ? "matrix" : "vector"; }

dram::Location Geometry::locate(unsigned unit, std::uint64_t offset, std::uint64_t base_row) const {
  const std::uint64_t k = offset / row_bytes;
  const unsigned local_bank = unsigned(k % banks_per_unit);
  const unsigned u = unit % units_per_channel;
  const unsigned flat = u * banks_per_unit + local_bank;
  dram::Location l;
  l.channel = unit / units_per_channel;
  l.rank = 0;
  l.bankgroup = flat / banks_per_group;
  l.bank = flat % banks_per_group;
  l.row = base_row + k / banks_per_unit;
  l.column = (offset % row_bytes) / burst_bytes;
  return l;
}

std::uint64_t Geometry::rows_for(std::uint64_t stream_bytes) const {
  const std::uint64_t dram_rows = (stream_bytes + row_bytes - 1) / row_bytes;
  return std::max<std::uint64_t>(1, (dram_rows + banks_per_unit - 1) / banks_per_unit);
}

Geometry make_geometry(const dram::Config& cfg, unsigned units_per_channel) {
  const dram::Organization& o = cfg.org;
  const unsigned banks = o.banks();
  if (o.ranks != 1)
    throw std::invalid_argument("near-data units need a single-rank channel (HBM pseudo channels have "
                                "one rank); the dram has ranks = " +
                                std::to_string(o.ranks));
  if (units_per_channel == 0 || units_per_channel > banks || banks % units_per_channel != 0 ||
      (units_per_channel & (units_per_channel - 1)) != 0) {
    std::string allowed;
    for (unsigned u = 1; u <= banks; u *= 2) allowed += (allowed.empty() ? "" : ", ") + std::to_string(u);
    throw std::invalid_argument("units_per_channel = " + std::to_string(units_per_channel) +
                                " is out of range: a " + cfg.preset + " channel has " + std::to_string(banks) +
                                " banks and each unit owns a power-of-two share of them; allowed " + allowed);
  }
  Geometry g;
  g.channels = o.channels;
  g.units_per_channel = units_per_channel;
  g.banks = banks;
  g.banks_per_group = o.banks_per_group;
  g.banks_per_unit = banks / units_per_channel;
  g.rows = o.rows;
  g.row_bytes = o.row_bytes();
  g.burst_bytes = o.burst_bytes();
  return g;
}

std::string Region::describe() const {
  std::string shape = kind == Kind::Matrix ? std::to_string(m) + "x" + std::to_string(n)
                                           : "length-" + std::to_string(m);
  return shape + " " + dtype_name(dtype) + " " + kind_name(kind) + " at " + hex(address) + " (rows " +
         std::to_string(base_row) + ".." + std::to_string(base_row + rows - 1) + " of every bank)";
}

Region make_region(const Geometry& g, Kind kind, DType dtype, std::uint64_t m, std::uint64_t n,
                   std::uint64_t base_row) {
  constexpr std::uint64_t kMaxDim = std::uint64_t(1) << 31;
  if (m < 1 || m > kMaxDim)
    throw std::invalid_argument(std::string(kind == Kind::Matrix ? "M (matrix rows)" : "M (vector length)") +
                                " = " + std::to_string(m) + " is out of range 1.." + std::to_string(kMaxDim));
  if (kind == Kind::Matrix && (n < 1 || n > kMaxDim))
    throw std::invalid_argument("N (matrix columns) = " + std::to_string(n) + " is out of range 1.." +
                                std::to_string(kMaxDim));
  Region r;
  r.kind = kind;
  r.dtype = dtype;
  r.m = m;
  r.n = kind == Kind::Matrix ? n : 1;
  r.base_row = base_row;
  const std::uint64_t e = dtype_bytes(dtype);
  const std::uint64_t bb = g.burst_bytes;
  const std::uint64_t per_unit = (m + g.units() - 1) / g.units();
  if (kind == Kind::Matrix) {
    r.row_stride = (n * e + bb - 1) / bb * bb;
    r.stream_bytes = per_unit * r.row_stride;
  } else {
    r.row_stride = e;
    r.stream_bytes = (per_unit * e + bb - 1) / bb * bb;
  }
  r.rows = g.rows_for(r.stream_bytes);
  return r;
}

}  // namespace cosim::ndp

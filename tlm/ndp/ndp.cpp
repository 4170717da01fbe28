// ndp: near-data (near-bank) compute units in a DRAM/HBM `dram` model, commanded by the
// host through registers (Samsung HBM-PIM, Lee et al. ISCA 2021; SK hynix GDDR6-AiM,
// Kwon et al. Hot Chips 2022).
//
// The model attaches to an existing dram model (parameter `memory`, its full name): the
// units work on that model's bytes, at its addresses, under its timing parameters
// (tlm/dram/access.h). The host writes operands through the normal memory path, laid out
// as tlm/ndp/layout.h describes (cosim/system/ndp_layout.py does it), registers each region
// (LAYOUT) and issues commands; the units read and write their banks internally
// (tlm/ndp/sequencer.h for the timing, tlm/ndp/unit_ops.h for the arithmetic) and the
// model notifies 'done'.
//
// A command puts the channels in near-data mode: once the controller's queues are
// empty, every bank is precharged (PREA: banks may activate tRP later) and the units
// own the banks until the command completes; the banks are then handed back precharged.
// The host must not access the memory while a command runs (the driver waits for
// 'done'); accesses that do are not arbitrated against the units and are counted in
// `host_overlap` with a warning.
//
// Address map (offsets from the model's base; little-endian, 32-bit registers):
//   0x00  CMD      write an opcode to start: 1 LAYOUT, 2 RELEASE, 3 GEMV, 4 ADD, 5 MUL,
//                  6 AXPY, 7 SUM, 8 MAX
//   0x04  STATUS   0 idle, 1 busy, 2 done, 3 error (reason: last_error)
//   0x08  DTYPE    1 int8, 2 int32, 3 fp16, 4 fp32
//   0x0c  KIND     LAYOUT: 1 matrix, 2 vector
//   0x10  M        matrix rows / vector length
//   0x14  N        matrix columns
//   0x18  A        64-bit dram address of operand a (matrix A of GEMV, vector x)
//   0x20  B        64-bit dram address of operand b (vector y of ADD/MUL/AXPY)
//   0x28  D        64-bit dram address of the destination (LAYOUT/RELEASE: the region)
//   0x30  ALPHA    AXPY scale: int32, or fp32 bits for fp dtypes
//   0x38  RESULT   64-bit result of SUM/MAX: int64, or the fp64 bits of the fp32 result
//   0x1000 XBUF    GEMV input vector x (N elements of the dtype), buffer_bytes long
//
// GEMV: y (vector, int32 for int8 A, fp32 for fp16 A, length M) = A (matrix M x N) x.
// x is broadcast over each channel's data bus into the channel's buffer (CWL + one burst
// per 32 B) before the units' first column read. SUM/MAX: each unit reduces its
// elements; the partials are read out over each channel's data bus (CL + one burst per
// unit) and combined by the controller (a pairwise tree, one tCK per level).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <tlm_utils/simple_target_socket.h>

#include "ndp.h"

#include "cosim/energy.h"
#include "cosim/trace.h"

namespace cosim::ndp {

namespace {

constexpr std::uint64_t kCmd = 0x00, kStatus = 0x04, kDtype = 0x08, kKind = 0x0c, kM = 0x10, kN = 0x14,
                        kA = 0x18, kB = 0x20, kD = 0x28, kAlpha = 0x30, kResult = 0x38, kRegsEnd = 0x40;
constexpr std::uint64_t kXbuf = 0x1000;

enum Op : std::uint32_t { kLayout = 1, kRelease = 2, kGemv = 3, kAdd = 4, kMul = 5, kAxpy = 6, kSum = 7, kMax = 8 };
enum Status : std::uint32_t { kIdle = 0, kBusy = 1, kDone = 2, kError = 3 };

const char* op_name(std::uint32_t op) {
  static const char* names[] = {"?", "layout", "release", "gemv", "add", "mul", "axpy", "sum", "max"};
  return op <= 8 ? names[op] : "?";
}

const char* kHbmPim =
    "Samsung HBM-PIM (Lee et al., 'Hardware architecture and software stack for PIM based on "
    "commercial DRAM technology', ISCA 2021): one PIM unit per two banks";
const char* kAim =
    "SK hynix GDDR6-AiM (Kwon et al., 'System architecture and software stack for GDDR6-AiM', Hot "
    "Chips 2022): the units multiply bank data with a vector held in a per-channel global buffer";

}  // namespace

// Wider integer adds for exact integer reductions (Horowitz's figures stop at 32 bits).
const RegisterEnergy reg_ndp_energy({
    {"int64_add", 0.2, "op", 45, EnergyScaling::Logic,
     "Horowitz ISSCC 2014: 32-bit add 0.1 pJ, doubled for 64 bits (assumption: adder energy "
     "grows about linearly with width)",
     "64-bit integer add"},
});

Ndp::Ndp(const sc_core::sc_module_name& name, const Params& p)
    : Model(name, "ndp", p),
      socket_("target"),
      mem_(find_memory(p.get_string("memory"), this->name())),
      engine_(mem_.engine()),
      cfg_(engine_.config()),
      geom_(build_geometry(cfg_, unsigned(p.get_uint("units_per_channel")), this->name())),
      seq_(cfg_, geom_.units_per_channel, unsigned(p.get_uint("unit_interval")),
           unsigned(p.get_uint("unit_latency"))),
      command_latency_(p.get_time_ps("command_latency")),
      register_latency_(p.get_time_ps("register_latency")),
      regs_(kRegsEnd, 0),
      xbuf_(p.get_uint("buffer_bytes"), 0),
      track_(tracer().track(this->name())),
      errors_(counter("errors", "commands that failed")),
      act_(counter("cmd.act", "ACT commands of the units")),
      pre_(counter("cmd.pre", "banks precharged by the units (PRE, and PREA before refreshes / at the end)")),
      rd_(counter("cmd.rd", "internal column reads (one burst each)")),
      wr_(counter("cmd.wr", "internal column writes (one burst each)")),
      ref_(counter("cmd.ref", "refreshes that fell due while the units held the banks")),
      bytes_internal_(counter("bytes_internal", "bytes the units read and wrote in their banks", "B")),
      bytes_external_(counter("bytes_external",
                              "bytes over the channels' data buses (vector broadcast, partial read-out)", "B")),
      busy_(counter("busy_time", "time commands spent executing (start to done)", "ps")),
      overlap_(counter("host_overlap", "commands during which the host accessed the memory")),
      internal_bw_(value("internal_bandwidth", "bytes_internal / busy_time", "B/s")),
      peak_internal_(value("peak_internal_bandwidth",
                           "all units at one burst per unit_interval (bank-local reads)", "B/s")),
      e_act_(energy_event(this->name(), "act", "dram." + cfg_.preset + ".act", "ACT+PRE pairs of the units")),
      e_rd_(energy_event(this->name(), "rd", "dram." + cfg_.preset + ".rd", "internal read bursts")),
      e_wr_(energy_event(this->name(), "wr", "dram." + cfg_.preset + ".wr", "internal write bursts")),
      e_io_(energy_event(this->name(), "io", "dram." + cfg_.preset + ".io",
                         "bits over the channels' interfaces (vector broadcast, partials)")),
      e_buf_(energy_event(this->name(), "buffer", "sram_read_32b_8kb",
                          "32-bit words read from / written to the vector buffers")) {
  for (const char* op : {"layout", "release", "gemv", "add", "mul", "axpy", "sum", "max"})
    op_counts_[op] = &counter(std::string("commands.") + op, std::string(op) + " commands completed");
  const dram::Timing& t = cfg_.timing;
  peak_internal_.set(double(geom_.units()) * geom_.burst_bytes / (double(seq_.unit_interval()) * t.tck_ps * 1e-12));
  if (!p.get_string("datapath").empty()) attach_datapath(p.get_string("datapath"));
  mem_reads_ = dynamic_cast<Counter*>(stats().find(mem_.instance_name() + ".reads"));
  mem_writes_ = dynamic_cast<Counter*>(stats().find(mem_.instance_name() + ".writes"));
  expose_target("target", socket_);
  expose_event("done", done_);
  socket_.register_b_transport(this, &Ndp::b_transport);
  socket_.register_transport_dbg(this, &Ndp::transport_dbg);
  SC_THREAD(run);
}

Region Ndp::region_for(Kind kind, DType dtype, std::uint64_t m, std::uint64_t n, std::uint64_t base_row) const {
  Region r = make_region(geom_, kind, dtype, m, n, base_row);
  r.address = engine_.encode(dram::Location{0, 0, 0, 0, base_row, 0});
  return r;
}

dram::DramAccess& Ndp::find_memory(const std::string& name, const std::string& self) {
  dram::DramAccess* d = dram::find_dram(name);
  if (d == nullptr)
    throw std::invalid_argument("ndp '" + self + "': parameter 'memory': there is no dram model named '" + name +
                                "' (give the full name of a dram model created before this one, e.g. 'dram' or "
                                "'soc.dram')");
  return *d;
}

Geometry Ndp::build_geometry(const dram::Config& cfg, unsigned units, const std::string& self) {
  try {
    return make_geometry(cfg, units);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("ndp '" + self + "': " + e.what());
  }
}

void Ndp::attach_datapath(const std::string& library) {
  const std::string who = std::string("ndp '") + name() + "': parameter 'datapath': ";
  try {
    rtl_ = std::make_unique<RtlMacDatapath>(library);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(who + e.what());
  }
  if (rtl_->burst_bytes() != geom_.burst_bytes)
    throw std::invalid_argument(who + "the RTL unit takes " + std::to_string(rtl_->burst_bytes()) +
                                "-byte beats but a burst of the dram is " + std::to_string(geom_.burst_bytes) +
                                " B (build it with BURST_BYTES=" + std::to_string(geom_.burst_bytes) + ")");
  if (rtl_->xbytes() < xbuf_.size())
    throw std::invalid_argument(who + "the RTL unit's x buffer holds " + std::to_string(rtl_->xbytes()) +
                                " B, less than buffer_bytes = " + std::to_string(xbuf_.size()) +
                                " (build it with XBYTES >= buffer_bytes)");
  if (rtl_->latency() != seq_.unit_latency())
    throw std::invalid_argument(who + "unit_latency = " + std::to_string(seq_.unit_latency()) +
                                " cycles, but the RTL unit's pipeline depth is " + std::to_string(rtl_->latency()) +
                                " cycles (set unit_latency=" + std::to_string(rtl_->latency()) + ")");
  datapath_cycles_ = &counter("datapath_cycles", "clock cycles of the RTL datapath (parameter datapath)");
}

std::uint32_t Ndp::reg(std::uint64_t off) const {
  std::uint32_t v;
  std::memcpy(&v, &regs_[off], 4);
  return v;
}

std::uint64_t Ndp::reg64(std::uint64_t off) const {
  std::uint64_t v;
  std::memcpy(&v, &regs_[off], 8);
  return v;
}

unsigned char* Ndp::locate(tlm::tlm_generic_payload& gp) {
  const std::uint64_t a = gp.get_address(), n = gp.get_data_length();
  auto in = [&](std::uint64_t base, std::uint64_t size) { return a >= base && n <= size && a - base <= size - n; };
  if (in(0, kRegsEnd)) return &regs_[a];
  if (in(kXbuf, xbuf_.size())) return &xbuf_[a - kXbuf];
  set_error(gp, tlm::TLM_ADDRESS_ERROR_RESPONSE, name(),
            "no register or buffer at offset " + hex(a) + " (+" + std::to_string(n) + " B): registers at 0x0.." +
                hex(kRegsEnd - 1) + ", the vector buffer at " + hex(kXbuf) + " (" + std::to_string(xbuf_.size()) +
                " B, parameter buffer_bytes)");
  return nullptr;
}

void Ndp::b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  if (gp.get_byte_enable_ptr() != nullptr) {
    set_error(gp, tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE, name(), "byte enables are not supported");
    return;
  }
  unsigned char* p = locate(gp);
  if (p == nullptr) return;
  const std::uint64_t a = gp.get_address();
  const unsigned n = gp.get_data_length();
  const bool touches_cmd = a <= kCmd + 3 && a + n > kCmd;
  if (gp.is_write() && reg(kStatus) == kBusy) {
    set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
              std::string("a ") + op_name(reg(kCmd)) + " command is still running; wait for 'done'");
    return;
  }
  if (gp.is_write()) {
    std::memcpy(p, gp.get_data_ptr(), n);
    if (touches_cmd) {
      set_reg(kStatus, kBusy);
      issued_ = now_ps() + to_ps(delay) + register_latency_;
      start_.notify(delay + from_ps(register_latency_));
    }
  } else if (gp.is_read()) {
    std::memcpy(gp.get_data_ptr(), p, n);
  }
  delay += from_ps(register_latency_);
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned Ndp::transport_dbg(tlm::tlm_generic_payload& gp) {
  const std::uint64_t a = gp.get_address(), n = gp.get_data_length();
  unsigned char* p = nullptr;
  if (a < kRegsEnd && n <= kRegsEnd - a) p = &regs_[a];
  else if (a >= kXbuf && a - kXbuf < xbuf_.size() && n <= xbuf_.size() - (a - kXbuf)) p = &xbuf_[a - kXbuf];
  if (p == nullptr) return 0;
  if (gp.is_read()) std::memcpy(gp.get_data_ptr(), p, n);
  else if (gp.is_write()) std::memcpy(p, gp.get_data_ptr(), n);
  return unsigned(n);
}

DType Ndp::dtype_reg() const {
  const std::uint32_t d = reg(kDtype);
  if (!valid_dtype(d))
    throw std::invalid_argument("DTYPE = " + std::to_string(d) + " is not a data type: 1 int8, 2 int32, 3 fp16, 4 fp32");
  return DType(d);
}

std::string Ndp::region_list() const {
  if (regions_.empty()) return "none is registered";
  std::string s = "registered: ";
  std::size_t k = 0;
  for (const auto& [addr, r] : regions_) {
    if (k++ == 4) {
      s += ", ... (" + std::to_string(regions_.size()) + " in all)";
      break;
    }
    s += (k > 1 ? "; " : "") + r.describe();
  }
  return s;
}

const Region& Ndp::operand(const char* what, std::uint64_t addr, Kind kind, DType dtype, std::uint64_t m,
                      std::uint64_t n) const {
  auto it = regions_.find(addr);
  if (it == regions_.end())
    throw std::invalid_argument(std::string(what) + " = " + hex(addr) + ": no " + kind_name(kind) +
                                " is laid out for the units at that address (lay it out with "
                                "cosim.system.ndp_layout and register it with LAYOUT); " +
                                region_list());
  const Region& r = it->second;
  const bool same = r.kind == kind && r.dtype == dtype && r.m == m && (kind == Kind::Vector || r.n == n);
  if (!same) {
    const std::string want = kind == Kind::Matrix
                                 ? std::to_string(m) + "x" + std::to_string(n) + " " + dtype_name(dtype) + " matrix"
                                 : "length-" + std::to_string(m) + " " + dtype_name(dtype) + " vector";
    throw std::invalid_argument(std::string(what) + " = " + hex(addr) + " is laid out as a " + r.describe() +
                                ", but the command needs a " + want);
  }
  return r;
}

void Ndp::check_address(const char* what, std::uint64_t addr, std::uint64_t* base_row) const {
  if (addr >= mem_.capacity())
    throw std::invalid_argument(std::string(what) + " = " + hex(addr) + " is outside the dram '" +
                                mem_.instance_name() + "' (addresses 0x0.." + hex(mem_.capacity() - 1) + ")");
  const dram::Location l = engine_.decode(addr);
  const bool aligned = addr % geom_.burst_bytes == 0 && l.channel == 0 && l.rank == 0 && l.bankgroup == 0 &&
                       l.bank == 0 && l.column == 0;
  if (!aligned) {
    const std::uint64_t start = engine_.encode(dram::Location{0, 0, 0, 0, l.row, 0});
    throw std::invalid_argument(
        std::string(what) + " = " + hex(addr) + " is not aligned to a row band: it is byte " +
        std::to_string(addr % geom_.burst_bytes) + " of column " + std::to_string(l.column) + " of channel " +
        std::to_string(l.channel) + ", bank group " + std::to_string(l.bankgroup) + ", bank " +
        std::to_string(l.bank) + ", row " + std::to_string(l.row) +
        "; a unit region starts at column 0 of channel 0, bank group 0, bank 0 of a row (row " +
        std::to_string(l.row) + " starts at " + hex(start) + ")");
  }
  *base_row = l.row;
}

std::vector<std::uint8_t> Ndp::gather(const Region& r, unsigned unit, std::uint64_t bytes) {
  std::vector<std::uint8_t> out(bytes);
  for (std::uint64_t off = 0; off < bytes; off += geom_.burst_bytes) {
    const std::uint64_t a = engine_.encode(geom_.locate(unit, off, r.base_row));
    std::memcpy(out.data() + off, mem_.data() + a, std::min<std::uint64_t>(geom_.burst_bytes, bytes - off));
  }
  return out;
}

void Ndp::scatter(const Region& r, unsigned unit, const std::vector<std::uint8_t>& data) {
  for (std::uint64_t off = 0; off < data.size(); off += geom_.burst_bytes) {
    const std::uint64_t a = engine_.encode(geom_.locate(unit, off, r.base_row));
    std::memcpy(mem_.data() + a, data.data() + off, std::min<std::uint64_t>(geom_.burst_bytes, data.size() - off));
  }
}

std::vector<Ndp::Chunk> Ndp::chunks(std::uint64_t bytes) const {
  std::vector<Chunk> out;
  const std::uint64_t rb = geom_.row_bytes, bb = geom_.burst_bytes;
  for (std::uint64_t off = 0; off < bytes;) {
    const std::uint64_t k = off / rb, end = std::min(bytes, (k + 1) * rb);
    out.push_back({unsigned(k % geom_.banks_per_unit), k, unsigned((off % rb) / bb), unsigned((end - off + bb - 1) / bb)});
    off = end;
  }
  return out;
}

Job Ndp::job(const Region& r, const Chunk& c, bool write, int dep) const {
  return Job{c.bank, r.base_row + c.k / geom_.banks_per_unit, c.col0, c.ncols, write, dep};
}

EnergyEvent& Ndp::op_event(const std::string& kind, const std::string& key, const std::string& desc) {
  auto it = op_events_.find(kind);
  if (it != op_events_.end()) return *it->second;
  EnergyEvent& e = energy_event(name(), kind, key, desc);
  op_events_[kind] = &e;
  return e;
}

const char* Ndp::add_key(DType t) {
  switch (t) {
    case DType::Int8: return "int8_add";
    case DType::Int32: return "int32_add";
    case DType::Fp16: return "fp16_add";
    case DType::Fp32: return "fp32_add";
  }
  return "int32_add";
}

const char* Ndp::mult_key(DType t) {
  switch (t) {
    case DType::Int8: return "int8_mult";
    case DType::Int32: return "int32_mult";
    case DType::Fp16: return "fp16_mult";
    case DType::Fp32: return "fp32_mult";
  }
  return "int32_mult";
}

void Ndp::charge(const std::string& key, std::uint64_t n, const char* what) {
  if (n != 0) op_event(key, key, what).add(n);
}

void Ndp::program_shape() {
  plan_.programs.assign(geom_.channels, std::vector<std::vector<Job>>(geom_.units_per_channel));
}

std::vector<Job>& Ndp::program(unsigned unit) {
  return plan_.programs[unit / geom_.units_per_channel][unit % geom_.units_per_channel];
}

void Ndp::layout_command(bool release) {
  std::uint64_t base_row = 0;
  const std::uint64_t d = reg64(kD);
  check_address("D", d, &base_row);
  if (release) {
    if (regions_.erase(d) == 0)
      throw std::invalid_argument("D = " + hex(d) + ": no region is registered there to release; " + region_list());
    return;
  }
  const std::uint32_t kind = reg(kKind);
  if (kind != 1 && kind != 2)
    throw std::invalid_argument("KIND = " + std::to_string(kind) + " is not a region kind: 1 matrix, 2 vector");
  const DType dtype = dtype_reg();
  Region r = make_region(geom_, Kind(kind), dtype, reg(kM), reg(kN), base_row);
  r.address = d;
  if (r.base_row + r.rows > geom_.rows)
    throw std::invalid_argument("D = " + hex(d) + ": a " + r.describe().substr(0, r.describe().find(" at ")) +
                                " needs rows " + std::to_string(base_row) + ".." +
                                std::to_string(base_row + r.rows - 1) + " of every bank, but the banks have rows 0.." +
                                std::to_string(geom_.rows - 1));
  for (const auto& [addr, o] : regions_)
    if (addr != d && r.base_row < o.base_row + o.rows && o.base_row < r.base_row + r.rows)
      throw std::invalid_argument("D = " + hex(d) + ": rows " + std::to_string(r.base_row) + ".." +
                                  std::to_string(r.base_row + r.rows - 1) + " overlap the " + o.describe());
  regions_[d] = r;
}

void Ndp::gemv_command() {
  const DType dt = dtype_reg();
  if (dt != DType::Int8 && dt != DType::Fp16)
    throw std::invalid_argument(std::string("GEMV supports DTYPE int8 (int32 accumulation, int32 y) and fp16 "
                                            "(fp32 accumulation, fp32 y); got ") +
                                dtype_name(dt));
  const std::uint64_t m = reg(kM), n = reg(kN);
  const std::uint64_t e = dtype_bytes(dt);
  if (n * e > xbuf_.size() || n == 0)
    throw std::invalid_argument("N = " + std::to_string(n) + " is out of range: x (N x " + std::to_string(e) +
                                " B) must fit the vector buffer of " + std::to_string(xbuf_.size()) +
                                " B (parameter buffer_bytes), so N is 1.." + std::to_string(xbuf_.size() / e));
  const Region& a = operand("A", reg64(kA), Kind::Matrix, dt, m, n);
  const DType yt = dt == DType::Int8 ? DType::Int32 : DType::Fp32;
  const Region& y = operand("D", reg64(kD), Kind::Vector, yt, m, 1);
  const unsigned T = geom_.units(), lanes = geom_.burst_bytes / unsigned(e);
  program_shape();
  plan_.x_bursts = round_burst(n * e) / geom_.burst_bytes;
  std::vector<std::uint8_t> x(xbuf_.begin(), xbuf_.begin() + std::ptrdiff_t(n * e));
  for (unsigned t = 0; t < T; ++t) {
    const std::uint64_t rows = a.local_count(t, T);
    if (rows == 0) continue;
    const std::uint64_t rbytes = rows * a.row_stride, wbytes = round_burst(rows * 4);
    std::vector<Job>& prog = program(t);
    for (const Chunk& c : chunks(rbytes)) prog.push_back(job(a, c, false, -1));
    const int dep = int(prog.size()) - 1;
    for (const Chunk& c : chunks(wbytes)) prog.push_back(job(y, c, true, dep));
    std::vector<std::uint8_t> y_stream = gather(y, t, wbytes);
    if (rtl_) {
      const std::uint64_t c0 = rtl_->cycles();
      rtl_->gemv(a, gather(a, t, rbytes), rows, x.data(), y_stream);
      datapath_cycles_->inc(rtl_->cycles() - c0);
    } else {
      gemv_unit(a, gather(a, t, rbytes), rows, x.data(), lanes, y_stream);
    }
    plan_.writes.push_back({&y, t, std::move(y_stream)});
    const std::uint64_t slots = rows * (a.row_stride / e);
    plan_.macs += slots;
    plan_.alu_ops += rows * (lanes - 1);
    e_buf_.add(rows * (a.row_stride / 4));  // the x words paired with A's bursts
  }
  charge(mult_key(dt), plan_.macs, "multiplies");
  charge(dt == DType::Int8 ? "int32_add" : "fp32_add", plan_.macs + plan_.alu_ops, "accumulates and lane sums");
  const std::uint64_t xbytes = plan_.x_bursts * geom_.burst_bytes * geom_.channels;
  e_io_.add(xbytes * 8);
  e_buf_.add(xbytes / 4);
  report_.external += xbytes;
}

void Ndp::elementwise_command(std::uint32_t op) {
  const DType dt = dtype_reg();
  const std::uint64_t m = reg(kM);
  const Region& a = operand("A", reg64(kA), Kind::Vector, dt, m, 1);
  const Region& b = operand("B", reg64(kB), Kind::Vector, dt, m, 1);
  const Region& d = operand("D", reg64(kD), Kind::Vector, dt, m, 1);
  const unsigned T = geom_.units(), e = dtype_bytes(dt), lanes = geom_.burst_bytes / e;
  const EltOp eop = op == kAdd ? EltOp::Add : op == kMul ? EltOp::Mul : EltOp::Axpy;
  program_shape();
  std::uint64_t slots = 0;
  for (unsigned t = 0; t < T; ++t) {
    const std::uint64_t count = a.local_count(t, T);
    if (count == 0) continue;
    const std::uint64_t bytes = round_burst(count * e);
    const std::vector<Chunk> cs = chunks(bytes);
    std::vector<Job>& prog = program(t);
    // Visit the unit's banks in turn: a, then b, then the result, of banks_per_unit
    // consecutive stream rows, so one bank's row opens while another is read.
    for (std::size_t g = 0; g < cs.size(); g += geom_.banks_per_unit) {
      const std::size_t ge = std::min(cs.size(), g + geom_.banks_per_unit);
      for (std::size_t i = g; i < ge; ++i) prog.push_back(job(a, cs[i], false, -1));
      const std::size_t b0 = prog.size();
      for (std::size_t i = g; i < ge; ++i) prog.push_back(job(b, cs[i], false, -1));
      for (std::size_t i = g; i < ge; ++i) prog.push_back(job(d, cs[i], true, int(b0 + (i - g))));
    }
    std::vector<std::uint8_t> out = gather(d, t, bytes);
    elementwise_unit(eop, dt, count, gather(a, t, bytes).data(), gather(b, t, bytes).data(), reg(kAlpha),
                     out.data());
    plan_.writes.push_back({&d, t, std::move(out)});
    slots += bytes / geom_.burst_bytes * lanes;
  }
  plan_.alu_ops = slots * (eop == EltOp::Axpy ? 2 : 1);
  const bool fp = dt == DType::Fp16 || dt == DType::Fp32;
  if (eop == EltOp::Add) charge(add_key(dt), slots, "element-wise adds");
  if (eop == EltOp::Mul) charge(mult_key(dt), slots, "element-wise multiplies");
  if (eop == EltOp::Axpy) {
    charge(fp ? "fp32_mult" : "int32_mult", slots, "axpy multiplies");
    charge(fp ? "fp32_add" : "int32_add", slots, "axpy adds");
  }
}

void Ndp::reduce_command(bool is_max) {
  const DType dt = dtype_reg();
  const std::uint64_t m = reg(kM);
  const Region& a = operand("A", reg64(kA), Kind::Vector, dt, m, 1);
  const unsigned T = geom_.units(), e = dtype_bytes(dt), lanes = geom_.burst_bytes / e;
  program_shape();
  std::vector<Partial> parts(T);
  std::uint64_t slots = 0;
  for (unsigned t = 0; t < T; ++t) {
    const std::uint64_t count = a.local_count(t, T);
    if (count == 0) continue;
    const std::uint64_t bytes = round_burst(count * e);
    for (const Chunk& c : chunks(bytes)) program(t).push_back(job(a, c, false, -1));
    parts[t] = reduce_unit(is_max, dt, count, gather(a, t, bytes).data(), lanes);
    slots += bytes / geom_.burst_bytes * lanes + (lanes - 1);
  }
  plan_.reduction = true;
  plan_.dtype = dt;
  plan_.result = combine(is_max, dt, parts);
  plan_.alu_ops = slots + (T - 1);
  const bool fp = dt == DType::Fp16 || dt == DType::Fp32;
  const char* key = is_max ? add_key(dt) : fp ? "fp32_add" : "int64_add";
  charge(key, plan_.alu_ops, is_max ? "comparisons (charged as adds of the width)" : "reduction adds");
  const std::uint64_t partial_bytes = std::uint64_t(T) * geom_.burst_bytes;
  e_io_.add(partial_bytes * 8);
  report_.external += partial_bytes;
}

void Ndp::execute_plan() {
  const dram::Timing& tm = cfg_.timing;
  const Picos poll = engine_.ps_of_cycle(8);
  auto queued = [&] {
    for (unsigned c = 0; c < geom_.channels; ++c)
      if (engine_.queued(c, false) + engine_.queued(c, true) != 0) return true;
    return false;
  };
  while (queued()) sc_core::wait(from_ps(poll));
  const std::uint64_t host_before = host_accesses();
  const Picos t0 = now_ps();
  report_.start = t0;
  const Cycle now_c = engine_.cycle_of_ps(t0);
  report_.start_cycle = now_c;
  Cycle done = now_c, readout = now_c;
  std::vector<Cycle> closed(geom_.channels);
  report_.channel_done.assign(geom_.channels, 0);
  for (unsigned c = 0; c < geom_.channels; ++c) {
    const Cycle pre = std::max(now_c, engine_.quiet_cycle(c));  // mode entry: PREA
    const Cycle from = pre + tm.rp;
    const Cycle floor = plan_.x_bursts != 0 ? pre + tm.cwl + plan_.x_bursts * tm.burst : 0;
    const ChannelSchedule s = seq_.run(plan_.programs[c], from, floor);
    if (c == 0) {
      report_.units_from = from;
      report_.read_floor = floor;
      report_.first_act = s.first_act;
      report_.unit_done = s.unit_done;
    }
    Cycle end = s.done;
    if (plan_.reduction) {
      const Cycle out = s.results + tm.cl + Cycle(geom_.units_per_channel) * tm.burst;
      readout = std::max(readout, out);
      end = std::max(end, out);
    }
    report_.channel_done[c] = end;
    closed[c] = s.closed;
    done = std::max(done, end);
    report_.counts.act += s.counts.act;
    report_.counts.pre += s.counts.pre;
    report_.counts.rd += s.counts.rd;
    report_.counts.wr += s.counts.wr;
    report_.counts.ref = std::max(report_.counts.ref, s.counts.ref);
    ref_.inc(s.counts.ref);
  }
  if (plan_.reduction) {
    unsigned levels = 0;
    while ((1u << levels) < geom_.units()) ++levels;
    done = std::max(done, readout + levels);
  }
  report_.done_cycle = done;
  const Counts& k = report_.counts;
  act_.inc(k.act);
  pre_.inc(k.pre);
  rd_.inc(k.rd);
  wr_.inc(k.wr);
  e_act_.add(k.act);
  e_rd_.add(k.rd);
  e_wr_.add(k.wr);
  report_.internal_read = k.rd * geom_.burst_bytes;
  report_.internal_written = k.wr * geom_.burst_bytes;
  bytes_internal_.inc(report_.internal_read + report_.internal_written);
  bytes_external_.inc(report_.external);
  const Picos end_ps = engine_.ps_of_cycle(done);
  if (end_ps > now_ps()) sc_core::wait(from_ps(end_ps - now_ps()));
  for (const Pending& w : plan_.writes) scatter(*w.region, w.unit, w.data);
  for (unsigned c = 0; c < geom_.channels; ++c) engine_.close_banks(c, closed[c]);
  if (plan_.reduction) {
    const bool fp = plan_.dtype == DType::Fp16 || plan_.dtype == DType::Fp32;
    std::uint64_t bits;
    if (fp) std::memcpy(&bits, &plan_.result.f, 8);
    else bits = std::uint64_t(plan_.result.i);
    set_reg64(kResult, bits);
  }
  if (host_accesses() != host_before) {
    overlap_.inc();
    SC_REPORT_WARNING("cosim/ndp", (std::string(name()) + ": the host accessed '" + mem_.instance_name() +
                                    "' while the units held its banks; those accesses were not arbitrated "
                                    "against the units (wait for 'done')")
                                       .c_str());
  }
}

std::uint64_t Ndp::host_accesses() const {
  return (mem_reads_ ? mem_reads_->value() : 0) + (mem_writes_ ? mem_writes_->value() : 0);
}

void Ndp::execute(std::uint32_t op) {
  plan_ = Plan{};
  report_ = Report{};
  report_.op = op_name(op);
  report_.issued = issued_;
  switch (op) {
    case kLayout:
    case kRelease:
      layout_command(op == kRelease);
      report_.start = report_.done = now_ps();
      return;
    case kGemv: gemv_command(); break;
    case kAdd:
    case kMul:
    case kAxpy: elementwise_command(op); break;
    case kSum:
    case kMax: reduce_command(op == kMax); break;
    default:
      throw std::invalid_argument("CMD = " + std::to_string(op) +
                                  " is not a command: 1 LAYOUT, 2 RELEASE, 3 GEMV, 4 ADD, 5 MUL, 6 AXPY, 7 SUM, 8 MAX");
  }
  report_.macs = plan_.macs;
  report_.alu_ops = plan_.alu_ops;
  execute_plan();
  report_.done = now_ps();
  busy_.inc(report_.done - report_.start);
  if (busy_.value() != 0)
    internal_bw_.set(double(bytes_internal_.value()) / (double(busy_.value()) * 1e-12));
}

void Ndp::run() {
  while (true) {
    sc_core::wait(start_);
    const std::uint32_t op = reg(kCmd);
    if (command_latency_ != 0) sc_core::wait(from_ps(command_latency_));
    const Picos t0 = now_ps();
    bool ok = true;
    try {
      execute(op);
      last_error_.clear();
    } catch (const std::exception& e) {
      ok = false;
      last_error_ = std::string(op_name(op)) + ": " + e.what();
      errors_.inc();
    }
    if (ok && op_counts_.count(op_name(op)) != 0) op_counts_[op_name(op)]->inc();
    tracer().span(track_, op_name(op), t0, now_ps() - t0);
    set_reg(kStatus, ok ? kDone : kError);
    done_.notify();
  }
}

namespace {

ModelSpec ndp_spec() {
  ModelSpec s;
  s.name = "ndp";
  s.summary = "Near-bank compute units in a dram/HBM model: GEMV, element-wise ops, reductions";
  s.doc =
      "Attaches to the dram model named by `memory` and adds units_per_channel units to each "
      "of its channels (pseudo channels), each owning banks/units_per_channel banks. The host "
      "lays operands out for the units (cosim.system.ndp_layout), registers them and issues commands "
      "through the registers (address map in tlm/ndp/ndp.cpp); the units read their banks "
      "internally (no data-bus transfer, no interface energy) under the dram's JEDEC timing "
      "(tRCD, tRAS, tRP, tRC, tCCD_L per bank, tRRD_S/L and tFAW per channel, refresh) and "
      "notify 'done'. Energy: the dram preset's ACT and core read/write energies per command, "
      "the MAC/ALU operations (Horowitz 45 nm) and vector-buffer accesses.";
  s.source = std::string(kHbmPim) + "; " + kAim + "; timing from the dram model's preset";
  s.params = {
      string_param("memory", "dram", {}, "full name of the dram model the units sit in"),
      int_param("units_per_channel", 8, 1, 1024, "",
                "compute units per channel (pseudo channel); each owns banks / units banks "
                "(8 on a 16-bank pseudo channel: one per two banks; 16: one per bank as in AiM)",
                kHbmPim),
      int_param("unit_interval", 0, 0, 1 << 16, "cycles",
                "cycles between two column accesses of one unit (0: tCCD_L of the dram, the "
                "column cycle of a bank)",
                "assumption: one burst-wide operand per column cycle of a bank (tCCD_L), as HBM-PIM's units "
                "execute one instruction per column command on a 256-bit access (Lee et al., ISCA 2021)"),
      int_param("unit_latency", 8, 0, 1 << 16, "cycles",
                "cycles from a unit's last operand to its result (multiply, adder tree over the "
                "lanes, accumulate)",
                "assumption: a few pipeline stages at the DRAM clock"),
      int_param("buffer_bytes", 2048, 32, 1 << 20, "B", "vector buffer per channel (GEMV's x)",
                std::string("assumption: 2 KiB holds a 1024-element fp16 vector; ") + kAim),
      time_param("command_latency", 10'000, 0, 1'000'000'000, "from the CMD write to the start of the command",
                 "assumption: command decode and broadcast, of the order of a memory controller's front end "
                 "(gem5 uses 10 ns)"),
      time_param("register_latency", 2'000, 0, 1'000'000, "latency of a register or buffer access",
                 "assumption: a few ns, as for the reram_tile's buffers"),
      string_param("datapath", "", {},
                   "'' computes GEMV with the units' C++ datapath (unit_ops.h); the path of an "
                   "rtl/ndp_gemv/ndp_mac_unit.sv library (cosim.rtl.build) runs it on that RTL instead, "
                   "with unit_latency equal to the RTL's pipeline depth"),
  };
  s.ports = {{"target", PortKind::TlmTarget, "registers and the vector buffer", false},
             {"done", PortKind::Event, "notified when a command completes", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new Ndp(n, p); };
  return s;
}

const RegisterModel reg_ndp(ndp_spec());

}  // namespace
}  // namespace cosim::ndp

#include "rtl_datapath.h"

#include <stdexcept>

#include "../../bridges/rtl_library.h"

namespace cosim::ndp {

namespace {
constexpr std::uint32_t kCtrl = 0x00, kStatus = 0x04, kInfo = 0x0C, kDtype = 0x10, kN = 0x14, kRows = 0x18;
constexpr std::uint64_t kBudget = 1'000'000;  // cycles a handshake may take
constexpr std::uint64_t kHalfPs = 500;        // harness clock: only the order of edges matters
}  // namespace

RtlMacDatapath::RtlMacDatapath(const std::string& library) : library_(library) {
  const rtl::RtlLibrary& lib = rtl::RtlLibrary::load(library);
  if (lib.top != "ndp_mac_unit")
    throw std::invalid_argument("datapath library '" + library + "' holds RTL top '" + lib.top +
                                "', not the near-bank MAC unit 'ndp_mac_unit'");
  model_ = std::make_unique<rtl::RtlModel>(lib);
  clk_ = &pin("clk");
  rst_n_ = &pin("rst_n");
  req_ = &pin("csr_req");
  we_ = &pin("csr_we");
  addr_ = &pin("csr_addr");
  wdata_ = &pin("csr_wdata");
  ack_ = &pin("csr_ack");
  rdata_ = &pin("csr_rdata");
  in_valid_ = &pin("in_valid");
  in_ready_ = &pin("in_ready");
  in_data_ = &pin("in_data");
  out_valid_ = &pin("out_valid");
  out_ready_ = &pin("out_ready");
  out_data_ = &pin("out_data");
  rst_n_->set_bit(false);
  for (int i = 0; i < 4; ++i) edge();
  rst_n_->set_bit(true);
  const std::uint32_t info = csr_read(kInfo);
  burst_ = info & 0xFF;
  latency_ = (info >> 8) & 0xFF;
  xbytes_ = ((info >> 16) & 0xFF) * burst_;
  if (in_data_->bytes() != burst_)
    throw std::invalid_argument("datapath library '" + library + "': in_data is " +
                                std::to_string(in_data_->width()) + " bits but INFO says " +
                                std::to_string(burst_) + "-byte beats");
}

RtlMacDatapath::~RtlMacDatapath() = default;

rtl::Pin& RtlMacDatapath::pin(const char* name) {
  rtl::Pin* p = model_->find(name);
  if (p == nullptr)
    throw std::invalid_argument("datapath library '" + library_ + "' has no pin '" + name +
                                "' (it must be an rtl/ndp_gemv/ndp_mac_unit.sv build)");
  return *p;
}

void RtlMacDatapath::edge() {
  clk_->set_bit(false);
  time_ps_ += kHalfPs;
  model_->eval(time_ps_);
  clk_->set_bit(true);
  time_ps_ += kHalfPs;
  model_->eval(time_ps_);
  ++cycles_;
}

void RtlMacDatapath::csr_write(std::uint32_t addr, std::uint32_t value) {
  req_->set_bit(true);
  we_->set_bit(true);
  addr_->set(addr);
  wdata_->set(value);
  for (std::uint64_t k = 0;; ++k) {
    const bool ack = ack_->bit();
    edge();
    if (ack) break;
    if (k == kBudget) throw std::runtime_error("RTL datapath: csr_ack never came");
  }
  req_->set_bit(false);
  we_->set_bit(false);
}

std::uint32_t RtlMacDatapath::csr_read(std::uint32_t addr) {
  req_->set_bit(true);
  we_->set_bit(false);
  addr_->set(addr);
  for (std::uint64_t k = 0;; ++k) {
    const bool ack = ack_->bit();
    const auto data = static_cast<std::uint32_t>(rdata_->get());
    edge();
    if (ack) {
      req_->set_bit(false);
      return data;
    }
    if (k == kBudget) throw std::runtime_error("RTL datapath: csr_ack never came");
  }
}

void RtlMacDatapath::send(const std::uint8_t* data, std::uint64_t bytes) {
  std::vector<std::uint8_t> beat(burst_);
  for (std::uint64_t off = 0; off < bytes;) {
    const std::uint64_t n = std::min<std::uint64_t>(burst_, bytes - off);
    std::fill(beat.begin(), beat.end(), 0);
    std::copy(data + off, data + off + n, beat.begin());
    in_valid_->set_bit(true);
    in_data_->write(beat.data());
    std::uint64_t k = 0;
    while (!in_ready_->bit()) {
      edge();
      if (++k == kBudget) throw std::runtime_error("RTL datapath: in_ready never came");
    }
    edge();
    off += n;
  }
  in_valid_->set_bit(false);
}

void RtlMacDatapath::gemv(const Region& a, const std::vector<std::uint8_t>& a_stream, std::uint64_t rows,
                          const std::uint8_t* x, std::vector<std::uint8_t>& y_stream) {
  const unsigned e = dtype_bytes(a.dtype);
  const std::uint64_t xb = a.n * e;
  csr_write(kDtype, static_cast<std::uint32_t>(a.dtype));
  csr_write(kN, static_cast<std::uint32_t>(a.n));
  csr_write(kCtrl, 3);  // start, loading x
  if (csr_read(kStatus) & 4)
    throw std::invalid_argument("the RTL datapath refused N = " + std::to_string(a.n) + " " +
                                dtype_name(a.dtype) + " (its x buffer holds " + std::to_string(xbytes_) +
                                " B)");
  send(x, xb);
  csr_write(kRows, static_cast<std::uint32_t>(rows));
  csr_write(kCtrl, 1);
  // Rows stream in one beat per cycle while finished results are taken every cycle.
  const std::uint64_t per_row = (xb + burst_ - 1) / burst_;
  const std::uint64_t beats = rows * per_row;
  out_ready_->set_bit(true);
  std::uint64_t sent = 0, got = 0, idle = 0;
  while (got < rows) {
    const bool offer = sent < beats;
    if (offer) {
      const std::uint64_t r = sent / per_row, k = sent % per_row;
      in_data_->write(a_stream.data() + r * a.row_stride + k * burst_);
    }
    in_valid_->set_bit(offer);
    const bool take_in = offer && in_ready_->bit();
    const bool take_out = out_valid_->bit();
    if (take_out) out_data_->read(&y_stream[4 * got]);
    edge();
    sent += take_in;
    got += take_out;
    idle = take_in || take_out ? 0 : idle + 1;
    if (idle == kBudget) throw std::runtime_error("RTL datapath: no progress for a million cycles");
  }
  in_valid_->set_bit(false);
  out_ready_->set_bit(false);
}

}  // namespace cosim::ndp

// dma: a descriptor-driven DMA engine with 2-D strided transfers, parallel lanes and a
// completion interrupt.
//
// A driver writes descriptors to memory, the address of the first into DESC_ADDR and
// START into CTRL (cosim/system/dma.py packs descriptors and drives it). The engine fetches
// each descriptor over its own initiator port, splits every row into bursts of at most
// `burst_bytes` that do not cross a burst-aligned source boundary, and moves them with
// `lanes` engines in parallel (each: read a burst, then write it), i.e. up to `lanes`
// transactions in flight. Descriptors are chained through `next`.
//
// Registers (32-bit, little-endian, offsets in the 'control' window):
//   0x00 CTRL        W  bit 0 START (fetch the chain at DESC_ADDR)
//   0x04 STATUS      R  bit 0 BUSY, bit 1 DONE, bit 2 ERROR; W1C of DONE and ERROR
//   0x08 DESC_LO     RW address of the first descriptor, low word
//   0x0C DESC_HI     RW ... high word
//   0x10 IRQ_ENABLE  RW bit 0: interrupt when the chain completes (or fails)
//   0x14 IRQ_STATUS  R/W1C bit 0 descriptor interrupt, bit 1 chain done, bit 2 error
//   0x18 COMPLETED   R  descriptors completed since reset
//   0x20 ERR_ADDR_LO R  address of the failed access
//   0x24 ERR_ADDR_HI R
//   0x28 BYTES_LO    R  bytes moved since reset
//   0x2C BYTES_HI    R
// Descriptor (64 bytes, little-endian):
//   0x00 u64 src, 0x08 u64 dst, 0x10 u32 row_bytes, 0x14 u32 rows,
//   0x18 u64 src_stride, 0x20 u64 dst_stride (bytes between row starts),
//   0x28 u64 next (0: last), 0x30 u32 flags (bit 0: interrupt when this one completes)
// The 'irq' event is notified for every interrupt raised (enabled chain completion or a
// flagged descriptor), 'done' whenever a chain ends.
#include <cmath>
#include <cstring>
#include <deque>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "cosim/model.h"
#include "cosim/trace.h"

namespace cosim {
namespace {

constexpr unsigned kDescBytes = 64;

std::uint64_t le64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint32_t le32(const unsigned char* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}

class Dma : public Model {
 public:
  SC_HAS_PROCESS(Dma);

  Dma(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "dma", p),
        control_("control"),
        initiator_("initiator"),
        lanes_(unsigned(p.get_uint("lanes"))),
        burst_(unsigned(p.get_uint("burst_bytes"))),
        cycle_(Picos(std::llround(1e12 / p.get_float("clock_hz")))),
        setup_cycles_(p.get_uint("setup_cycles")),
        reg_cycles_(p.get_uint("register_latency")),
        stop_on_error_(p.get_bool("stop_on_error")),
        track_(tracer().track(this->name())),
        descriptors_(counter("descriptors", "descriptors completed")),
        bytes_(counter("bytes", "bytes moved", "B")),
        reads_(counter("reads", "read bursts")),
        writes_(counter("writes", "write bursts")),
        irqs_(counter("irqs", "interrupts raised")),
        errors_(counter("errors", "chains stopped by an error")),
        busy_(counter("busy_time", "time with a chain in progress", "ps")),
        bandwidth_(value("bandwidth", "bytes / busy time, over all chains", "B/s")),
        chain_time_(average("chain_time", "time from START to the end of a chain", "ns")) {
    if (cycle_ == 0) throw std::invalid_argument("dma: clock_hz must be at most 1e12");
    expose_target("control", control_);
    expose_initiator("initiator", initiator_);
    expose_event("irq", irq_);
    expose_event("done", done_);
    control_.register_b_transport(this, &Dma::control);
    control_.register_transport_dbg(this, &Dma::control_dbg);
    SC_THREAD(run);
    set_stack_size(kPythonSafeStackBytes);
    for (unsigned i = 0; i < lanes_; ++i) {
      sc_core::sc_spawn_options o;
      o.set_stack_size(kPythonSafeStackBytes);
      sc_core::sc_spawn([this] { lane(); }, sc_core::sc_gen_unique_name("lane"), &o);
    }
  }

 private:
  struct Chunk {
    std::uint64_t src, dst;
    unsigned len;
    std::uint64_t desc;
    std::uint32_t row;
  };

  // ------------------------------------------------------------------ registers
  std::uint32_t read_reg(std::uint64_t off) const {
    switch (off) {
      case 0x04: return (busy_flag_ ? 1u : 0u) | (done_flag_ ? 2u : 0u) | (error_flag_ ? 4u : 0u);
      case 0x08: return std::uint32_t(desc_addr_);
      case 0x0C: return std::uint32_t(desc_addr_ >> 32);
      case 0x10: return irq_enable_ ? 1u : 0u;
      case 0x14: return irq_status_;
      case 0x18: return std::uint32_t(descriptors_.value());
      case 0x20: return std::uint32_t(err_addr_);
      case 0x24: return std::uint32_t(err_addr_ >> 32);
      case 0x28: return std::uint32_t(bytes_.value());
      case 0x2C: return std::uint32_t(bytes_.value() >> 32);
      default: return 0;
    }
  }

  // A register write takes effect at `at` (the access's annotated time, LT style).
  bool write_reg(std::uint64_t off, std::uint32_t v, const sc_core::sc_time& at, std::string* why) {
    switch (off) {
      case 0x00:
        if (v & 1u) {
          if (busy_flag_) {
            *why = "START written while a chain is in progress";
            return false;
          }
          busy_flag_ = true;
          done_flag_ = false;
          start_.notify(at);
        }
        return true;
      case 0x04:
        if (v & 2u) done_flag_ = false;
        if (v & 4u) error_flag_ = false;
        return true;
      case 0x08: desc_addr_ = (desc_addr_ & ~std::uint64_t(0xffffffffu)) | v; return true;
      case 0x0C: desc_addr_ = (desc_addr_ & 0xffffffffu) | (std::uint64_t(v) << 32); return true;
      case 0x10: irq_enable_ = (v & 1u) != 0; return true;
      case 0x14: irq_status_ &= ~v; return true;
      default: *why = "register offset " + hex(off) + " is read-only or does not exist"; return false;
    }
  }

  void control(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const std::uint64_t a = gp.get_address();
    const unsigned len = gp.get_data_length();
    if (a % 4 != 0 || len % 4 != 0 || a + len > 0x30 || gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_ADDRESS_ERROR_RESPONSE, name(),
                "register access [" + hex(a) + ", +" + std::to_string(len) +
                    "] must be whole aligned 32-bit registers in [0x0, 0x2f]");
      return;
    }
    unsigned char* d = gp.get_data_ptr();
    delay += from_ps(reg_cycles_ * cycle_);
    for (unsigned i = 0; i < len; i += 4) {
      if (gp.is_read()) {
        const std::uint32_t v = read_reg(a + i);
        for (int b = 0; b < 4; ++b) d[i + b] = static_cast<unsigned char>(v >> (8 * b));
      } else if (gp.is_write()) {
        std::string why;
        if (!write_reg(a + i, le32(d + i), delay, &why)) {
          set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(), why);
          return;
        }
      }
    }
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  unsigned control_dbg(tlm::tlm_generic_payload& gp) {
    if (!gp.is_read()) return 0;
    const std::uint64_t a = gp.get_address();
    unsigned n = 0;
    for (unsigned i = 0; i + 4 <= gp.get_data_length() && a + i + 4 <= 0x30; i += 4, n += 4) {
      const std::uint32_t v = read_reg(a + i);
      for (int b = 0; b < 4; ++b) gp.get_data_ptr()[i + b] = static_cast<unsigned char>(v >> (8 * b));
    }
    return n;
  }

  // ------------------------------------------------------------------- transfers
  // One blocking access; on an error response records it and returns false.
  bool access(tlm::tlm_command cmd, std::uint64_t addr, unsigned char* buf, unsigned len,
              const std::string& context) {
    tlm::tlm_generic_payload gp;
    gp.set_command(cmd);
    gp.set_address(addr);
    gp.set_data_ptr(buf);
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    gp.set_byte_enable_ptr(nullptr);
    gp.set_dmi_allowed(false);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    const Picos t0 = now_ps();
    initiator_->b_transport(gp, d);
    tracer().transaction(track_, cmd, addr, len, t0, to_ps(d), gp.get_response_status());
    if (!gp.is_response_ok()) {
      ErrorInfo* info = nullptr;
      gp.get_extension(info);
      fail(addr, std::string(command_name(cmd)) + " of " + std::to_string(len) + " B at " + hex(addr) + " (" +
                     context + ") got " + response_name(gp.get_response_status()) + " from '" +
                     (info ? info->target : std::string("?")) + "'" +
                     (info && !info->message.empty() ? ": " + info->message : ""));
      clear_error_info(gp);
      return false;
    }
    if (d > sc_core::SC_ZERO_TIME) sc_core::wait(d);
    return true;
  }

  void fail(std::uint64_t addr, const std::string& why) {
    if (error_flag_) return;  // keep the first error
    error_flag_ = true;
    err_addr_ = addr;
    error_msg_ = std::string(name()) + ": " + why;
    // Drop the bursts no lane has started; the lanes still busy finish theirs.
    in_flight_ -= work_.size();
    work_.clear();
  }

  void lane() {
    std::vector<unsigned char> buf(burst_);
    for (;;) {
      while (work_.empty()) sc_core::wait(work_ev_);
      const Chunk c = work_.front();
      work_.pop_front();
      const std::string ctx = "descriptor at " + hex(c.desc) + ", row " + std::to_string(c.row);
      if (access(tlm::TLM_READ_COMMAND, c.src, buf.data(), c.len, ctx)) {
        reads_.inc();
        if (access(tlm::TLM_WRITE_COMMAND, c.dst, buf.data(), c.len, ctx)) {
          writes_.inc();
          bytes_.inc(c.len);
        }
      }
      if (--in_flight_ == 0) chunks_done_.notify();
    }
  }

  // One interrupt line: causes raised in the same delta cycle (the last descriptor's flag
  // and the chain completion) are one interrupt; IRQ_STATUS tells them apart.
  void raise_irq(std::uint32_t bit) {
    irq_status_ |= bit;
    const Picos t = now_ps();
    const std::uint64_t delta = sc_core::sc_delta_count();
    if (irqs_.value() != 0 && t == last_irq_time_ && delta == last_irq_delta_) return;
    last_irq_time_ = t;
    last_irq_delta_ = delta;
    irqs_.inc();
    irq_.notify();
  }

  // One descriptor: fetch, check, split into chunks, wait for the lanes.
  bool run_descriptor(std::uint64_t at, std::uint64_t* next) {
    unsigned char raw[kDescBytes];
    if (!access(tlm::TLM_READ_COMMAND, at, raw, kDescBytes, "descriptor fetch")) return false;
    const std::uint64_t src = le64(raw), dst = le64(raw + 8);
    const std::uint32_t row_bytes = le32(raw + 16), rows = le32(raw + 20);
    const std::uint64_t src_stride = le64(raw + 24), dst_stride = le64(raw + 32);
    *next = le64(raw + 40);
    const std::uint32_t flags = le32(raw + 48);
    if (row_bytes == 0 || rows == 0) {
      fail(at, "descriptor at " + hex(at) + " has " + (row_bytes == 0 ? "row_bytes" : "rows") +
                   " = 0 (both must be >= 1)");
      return false;
    }
    if (rows > 1 && (src_stride < row_bytes || dst_stride < row_bytes)) {
      fail(at, "descriptor at " + hex(at) + ": strides (src " + std::to_string(src_stride) + ", dst " +
                   std::to_string(dst_stride) + ") must be >= row_bytes (" + std::to_string(row_bytes) +
                   ") for a multi-row transfer");
      return false;
    }
    sc_core::wait(from_ps(setup_cycles_ * cycle_));
    for (std::uint32_t r = 0; r < rows; ++r) {
      std::uint64_t s = src + std::uint64_t(r) * src_stride;
      std::uint64_t d = dst + std::uint64_t(r) * dst_stride;
      std::uint32_t left = row_bytes;
      while (left > 0) {
        const unsigned room = unsigned(burst_ - s % burst_);
        const unsigned n = std::min<std::uint32_t>(left, room);
        work_.push_back({s, d, n, at, r});
        s += n;
        d += n;
        left -= n;
      }
    }
    in_flight_ = work_.size();
    work_ev_.notify();
    while (in_flight_ > 0) sc_core::wait(chunks_done_);
    if (error_flag_) return false;
    descriptors_.inc();
    if (flags & 1u) raise_irq(1u);
    return true;
  }

  void run() {
    for (;;) {
      sc_core::wait(start_);
      const Picos t0 = now_ps();
      // The first descriptor is at DESC_ADDR (which may be 0); `next` = 0 ends the chain.
      std::uint64_t at = desc_addr_;
      bool ok = true;
      do {
        std::uint64_t next = 0;
        ok = run_descriptor(at, &next);
        at = next;
      } while (at != 0 && ok);
      const Picos dt = now_ps() - t0;
      busy_.inc(dt);
      chain_time_.sample(double(dt) / 1000.0);
      if (busy_.value() > 0) bandwidth_.set(double(bytes_.value()) / (double(busy_.value()) * 1e-12));
      tracer().span(track_, ok ? "chain" : "chain (error)", t0, dt);
      busy_flag_ = false;
      done_flag_ = true;
      if (!ok) {
        errors_.inc();
        if (irq_enable_) raise_irq(4u);
        done_.notify();
        if (stop_on_error_) SC_REPORT_ERROR("cosim/dma", error_msg_.c_str());
        continue;
      }
      if (irq_enable_) raise_irq(2u);
      done_.notify();
    }
  }

  tlm_utils::simple_target_socket<Dma, kBusWidth> control_;
  tlm_utils::simple_initiator_socket<Dma, kBusWidth> initiator_;
  unsigned lanes_, burst_;
  Picos cycle_;
  std::uint64_t setup_cycles_, reg_cycles_;
  bool stop_on_error_;
  std::uint32_t track_;
  // Registers and state.
  std::uint64_t desc_addr_ = 0, err_addr_ = 0;
  bool busy_flag_ = false, done_flag_ = false, error_flag_ = false, irq_enable_ = false;
  std::uint32_t irq_status_ = 0;
  Picos last_irq_time_ = 0;
  std::uint64_t last_irq_delta_ = 0;
  std::string error_msg_;
  std::deque<Chunk> work_;
  std::size_t in_flight_ = 0;
  sc_core::sc_event start_, work_ev_, chunks_done_, irq_, done_;
  Counter &descriptors_, &bytes_, &reads_, &writes_, &irqs_, &errors_, &busy_;
  Value& bandwidth_;
  Average& chain_time_;
};

ModelSpec dma_spec() {
  ModelSpec s;
  s.name = "dma";
  s.summary = "Descriptor DMA: chained 2-D strided transfers, parallel lanes, completion interrupt";
  s.doc =
      "Program through the 'control' registers (see tlm/dma/dma.cpp or cosim.system.dma): descriptors "
      "in memory give src, dst, row_bytes, rows, src/dst strides, next and an interrupt flag. "
      "Each row is split into bursts of at most burst_bytes (not crossing a burst-aligned "
      "source boundary); `lanes` engines move bursts in parallel (read, then write). Events: "
      "'irq' (enabled chain completion or flagged descriptor), 'done' (chain end). An error "
      "response stops the chain, sets STATUS.ERROR and ERR_ADDR and, with stop_on_error, "
      "stops the simulation with a message naming the address and the responder.";
  s.source =
      "Structural model; burst size, lanes and setup cost are parameters of the DMA being "
      "modelled (defaults: 64-byte bursts as an AXI4 4x128-bit burst, 4 outstanding "
      "transfers, 10-cycle descriptor decode at 1 GHz).";
  s.params = {
      int_param("lanes", 4, 1, 256, "", "transfers in flight (parallel read/write engines)"),
      int_param("burst_bytes", 64, 1, 1 << 16, "B", "largest transaction"),
      float_param("clock_hz", 1e9, 1e6, 1e12, "Hz", "DMA clock (setup and register timing)"),
      int_param("setup_cycles", 10, 0, 1 << 20, "cycles", "decode time per descriptor"),
      int_param("register_latency", 1, 0, 1 << 20, "cycles", "latency of a register access"),
      bool_param("stop_on_error", true, "an error response stops the simulation with its explanation"),
  };
  s.ports = {{"control", PortKind::TlmTarget, "32-bit registers (map it on the fabric)", false},
             {"initiator", PortKind::TlmInitiator, "memory side: descriptors and data", false},
             {"irq", PortKind::Event, "completion interrupt", true},
             {"done", PortKind::Event, "a chain ended (successfully or not)", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new Dma(n, p); };
  return s;
}

const RegisterModel reg_dma(dma_spec());

}  // namespace
}  // namespace cosim

// systolic_array_tlm: the approximately-timed TLM twin of rtl/systolic_array.sv.
//
// Same three TLM targets as the RTL block behind its bridges (csr: 32-bit req/ack
// registers, in: operand beats of ROWS+COLS bytes, out: result rows of 4*COLS bytes),
// same register map, same numbers (int8 x int8 products summed in int32), and a `done`
// event. Instead of clocking a netlist it computes each transaction's completion time on
// the clock grid from the array's structure, without waiting (loosely timed: delays are
// annotated, so any initiator may call it):
//  - a register access takes the first edge after it arrives plus one (registered ack);
//  - operand beats are taken one per cycle from the edge after the start write;
//  - OS: results can leave ROWS + COLS cycles after the last operand beat (the skewed
//    array's fill, ROWS + COLS - 1 stages, plus the output stage); WS: result row m can
//    leave ROWS + COLS - 1 cycles after activation row m entered;
//  - result rows leave one per cycle, as soon as they exist and are asked for.
// Not modelled, hence the "approximately": the controller's state-change cycles (one or
// two per job), the grid alignment of back-to-back register accesses, and stalls of the
// WS array when results are not read in time. tests/test_mixed_abstraction.py measures
// the resulting error against the RTL.
#include <tlm_utils/simple_target_socket.h>

#include <cstring>
#include <vector>

#include "cosim/model.h"

namespace cosim {
namespace {

constexpr std::uint64_t kCtrl = 0x00, kStatus = 0x04, kDepth = 0x08, kCycles = 0x0C, kInfo = 0x10;

class SystolicArrayTlm : public Model {
 public:
  SystolicArrayTlm(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "systolic_array_tlm", p),
        csr_("csr"),
        in_("in"),
        out_("out"),
        rows_(static_cast<unsigned>(p.get_uint("rows"))),
        cols_(static_cast<unsigned>(p.get_uint("cols"))),
        ws_(p.get_string("dataflow") == "WS"),
        period_(p.get_time_ps("clock")),
        jobs_(counter("jobs", "jobs started")),
        macs_(counter("macs", "multiply-accumulates computed")),
        beats_in_(counter("in.beats", "operand beats taken")),
        rows_out_(counter("out.beats", "result rows given")) {
    if (rows_ + cols_ > 128)
      throw std::invalid_argument(std::string(this->name()) + ": rows + cols must be <= 128 (1024-bit beats)");
    expose_target("csr", csr_);
    expose_target("in", in_);
    expose_target("out", out_);
    expose_event("done", done_);
    csr_.register_b_transport(this, &SystolicArrayTlm::csr_access);
    in_.register_b_transport(this, &SystolicArrayTlm::operands);
    out_.register_b_transport(this, &SystolicArrayTlm::results);
  }

 private:
  enum class Phase { Idle, Weights, Feed, Done };

  std::uint64_t edge_after(Picos t) const { return t / period_ + 1; }
  Picos at(std::uint64_t edge) const { return edge * period_; }
  unsigned beat_bytes() const { return rows_ + cols_; }

  void finish(std::uint64_t edge) {
    phase_ = Phase::Done;
    done_edge_ = edge;
    cycles_ = static_cast<std::uint32_t>(edge - start_edge_);
    const Picos now = now_ps();
    done_.notify(from_ps(at(edge) > now ? at(edge) - now : 0));
  }

  bool busy_at(Picos t) const { return phase_ != Phase::Idle && !(phase_ == Phase::Done && at(done_edge_) <= t); }

  void csr_access(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (gp.get_data_length() != 4 || gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, name(), "the register port takes 4-byte accesses");
      return;
    }
    const Picos arrival = now_ps() + to_ps(delay);
    const std::uint64_t e = std::max(edge_after(arrival), csr_free_);
    csr_free_ = e + 2;
    std::uint32_t v = 0;
    const std::uint64_t a = gp.get_address();
    if (gp.is_write()) {
      std::memcpy(&v, gp.get_data_ptr(), 4);
      if (a == kDepth) depth_ = v;
      if (a == kCtrl && (v & 1) && !busy_at(at(e))) start(e);
    } else if (gp.is_read()) {
      const bool busy = busy_at(at(e));
      const bool done = phase_ == Phase::Done && at(done_edge_) <= at(e);
      switch (a) {
        case kStatus: v = (done ? 2u : 0u) | (busy ? 1u : 0u); break;
        case kDepth: v = depth_; break;
        case kCycles: v = done ? cycles_ : 0; break;
        case kInfo: v = rows_ | (cols_ << 8) | ((ws_ ? 1u : 0u) << 16) | (1u << 24); break;
        default: v = 0;
      }
      std::memcpy(gp.get_data_ptr(), &v, 4);
    }
    delay = from_ps(at(e + 1) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  void start(std::uint64_t e) {
    jobs_.inc();
    job_depth_ = depth_;
    start_edge_ = e;
    in_next_ = e + 1;
    out_next_ = e + 1;
    taken_ = 0;
    acc_.assign(std::size_t(rows_) * cols_, 0);
    weights_.assign(std::size_t(rows_) * cols_, 0);
    ready_.clear();
    result_rows_.clear();
    rows_read_ = 0;
    phase_ = ws_ ? Phase::Weights : Phase::Feed;
    if (!ws_) {
      ready_edge_ = e + rows_ + cols_;  // valid if K == 0
      result_rows_total_ = rows_;
    } else {
      result_rows_total_ = job_depth_;
    }
  }

  void operands(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const unsigned bb = beat_bytes();
    const std::uint64_t len = gp.get_data_length();
    if (!gp.is_write() || len % bb != 0 || gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, name(),
                "operand writes must be whole beats of " + std::to_string(bb) + " bytes");
      return;
    }
    const std::uint64_t beats = len / bb;
    const std::uint64_t wanted = (phase_ == Phase::Weights ? rows_ - taken_ + job_depth_ : job_depth_ - taken_);
    if ((phase_ != Phase::Weights && phase_ != Phase::Feed) || beats > wanted) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                "no job is waiting for " + std::to_string(beats) +
                    " operand beats (write DEPTH, then 1 to CTRL, and send exactly the beats the job needs)");
      return;
    }
    const std::uint8_t* d = gp.get_data_ptr();
    const std::uint64_t first = std::max(edge_after(now_ps() + to_ps(delay)), in_next_);
    for (std::uint64_t k = 0; k < beats; ++k) take_beat(d + k * bb, first + k);
    in_next_ = first + beats;
    beats_in_.inc(beats);
    delay = from_ps(at(first + beats - 1) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  void take_beat(const std::uint8_t* beat, std::uint64_t edge) {
    const auto b = [&](unsigned j) { return static_cast<std::int32_t>(static_cast<std::int8_t>(beat[j])); };
    const auto a = [&](unsigned i) { return static_cast<std::int32_t>(static_cast<std::int8_t>(beat[cols_ + i])); };
    if (phase_ == Phase::Weights) {
      for (unsigned j = 0; j < cols_; ++j) weights_[std::size_t(taken_) * cols_ + j] = b(j);
      if (++taken_ == rows_) {
        phase_ = Phase::Feed;
        taken_ = 0;
        if (job_depth_ == 0) finish(edge);
      }
      return;
    }
    if (!ws_) {  // OS: accumulate the outer product of A's column k and B's row k
      for (unsigned i = 0; i < rows_; ++i)
        for (unsigned j = 0; j < cols_; ++j)
          acc_[std::size_t(i) * cols_ + j] = static_cast<std::int32_t>(
              static_cast<std::uint32_t>(acc_[std::size_t(i) * cols_ + j]) + static_cast<std::uint32_t>(a(i) * b(j)));
      macs_.inc(std::uint64_t(rows_) * cols_);
      if (++taken_ == job_depth_) ready_edge_ = edge + rows_ + cols_;
      return;
    }
    std::vector<std::int32_t> row(cols_, 0);  // WS: one result row per activation row
    for (unsigned j = 0; j < cols_; ++j) {
      std::uint32_t s = 0;
      for (unsigned i = 0; i < rows_; ++i) s += static_cast<std::uint32_t>(a(i) * weights_[std::size_t(i) * cols_ + j]);
      row[j] = static_cast<std::int32_t>(s);
    }
    macs_.inc(std::uint64_t(rows_) * cols_);
    result_rows_.push_back(std::move(row));
    ready_.push_back(edge + rows_ + cols_ - 1);
    ++taken_;
  }

  void results(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const unsigned rb = 4 * cols_;
    const std::uint64_t len = gp.get_data_length();
    if (!gp.is_read() || len % rb != 0 || gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, name(),
                "result reads must be whole rows of " + std::to_string(rb) + " bytes");
      return;
    }
    const std::uint64_t n = len / rb;
    const std::uint64_t available = ws_ ? result_rows_.size() : (phase_ == Phase::Feed && taken_ == job_depth_ ? rows_ : 0);
    if (phase_ != Phase::Feed || rows_read_ + n > available) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                "asked for " + std::to_string(n) + " result rows but only " +
                    std::to_string(available > rows_read_ ? available - rows_read_ : 0) +
                    " exist (send all operands of a row first)");
      return;
    }
    std::uint64_t e = std::max(edge_after(now_ps() + to_ps(delay)), out_next_);
    std::uint8_t* d = gp.get_data_ptr();
    for (std::uint64_t r = 0; r < n; ++r, ++rows_read_) {
      const std::uint64_t row = rows_read_;
      e = std::max(e, ws_ ? ready_[row] : ready_edge_);
      const std::int32_t* src = ws_ ? result_rows_[row].data() : &acc_[row * cols_];
      std::memcpy(d + r * rb, src, rb);
      if (r + 1 < n) ++e;
    }
    out_next_ = e + 1;
    rows_out_.inc(n);
    if (rows_read_ == result_rows_total_) finish(e);
    delay = from_ps(at(e) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  tlm_utils::simple_target_socket<SystolicArrayTlm, kBusWidth> csr_, in_, out_;
  sc_core::sc_event done_;
  unsigned rows_, cols_;
  bool ws_;
  Picos period_;
  Phase phase_ = Phase::Idle;
  std::uint32_t depth_ = 0, job_depth_ = 0, cycles_ = 0;
  std::uint64_t csr_free_ = 0, start_edge_ = 0, in_next_ = 0, out_next_ = 0, ready_edge_ = 0, done_edge_ = 0;
  std::uint64_t taken_ = 0, rows_read_ = 0, result_rows_total_ = 0;
  std::vector<std::int32_t> acc_, weights_;
  std::vector<std::vector<std::int32_t>> result_rows_;
  std::vector<std::uint64_t> ready_;
  Counter &jobs_, &macs_, &beats_in_, &rows_out_;
};

ModelSpec systolic_array_tlm_spec() {
  ModelSpec s;
  s.name = "systolic_array_tlm";
  s.summary = "Approximately-timed TLM twin of the int8 systolic array RTL (rtl/systolic_array.sv)";
  s.doc =
      "Targets csr (32-bit registers: CTRL 0x0, STATUS 0x4, DEPTH 0x8, CYCLES 0xC, INFO "
      "0x10), in (operand beats of rows+cols bytes) and out (result rows of 4*cols bytes), "
      "and event done, as the RTL behind its bridges. Computes the same int32 results; "
      "times transactions on the clock grid from the array's pipeline depth.";
  s.source =
      "Latencies derived from the RTL's microarchitecture: one beat per cycle, skewed "
      "pipeline of rows+cols-1 stages plus an output stage (OS), rows+cols-1 cycles per "
      "row (WS), registered ack (2 cycles) on the register port; controller cycles omitted.";
  s.params = {
      int_param("rows", 8, 1, 64, "", "processing-element rows (the RTL's ROWS)"),
      int_param("cols", 8, 1, 64, "", "processing-element columns (the RTL's COLS)"),
      string_param("dataflow", "OS", {"OS", "WS"}, "output-stationary or weight-stationary"),
      time_param("clock", 1'000, 1, 1'000'000'000, "clock period",
                 "same clock as the RTL twin it stands for; 1 GHz default"),
  };
  s.ports = {{"csr", PortKind::TlmTarget, "32-bit control/status registers", false},
             {"in", PortKind::TlmTarget, "operand beats (writes)", false},
             {"out", PortKind::TlmTarget, "result rows (reads)", false},
             {"done", PortKind::Event, "notified when the last result row of a job has left", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* {
    return new SystolicArrayTlm(n, p);
  };
  return s;
}

const RegisterModel reg_systolic_array_tlm(systolic_array_tlm_spec());

}  // namespace
}  // namespace cosim

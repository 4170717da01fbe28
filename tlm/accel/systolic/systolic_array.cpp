// systolic_array_tlm: the TLM twin of rtl/systolic/systolic_array.sv, cycle for cycle.
//
// Same three TLM targets as the RTL block behind its bridges (csr: 32-bit req/ack
// registers, in: operand beats of ROWS+COLS bytes, out: result rows of 4*COLS bytes),
// same register map, same numbers (int8 x int8 products summed in int32), and a `done`
// event. Instead of clocking a netlist it computes the edge at which each beat and each
// register access completes from the RTL's schedule (loosely timed: delays are annotated),
// so its cycles equal the RTL's whenever the array never waits for its reader:
//  - a transaction arriving at t is first offered at the first edge after t (as the
//    bridges drive pins); a register access completes one edge later (registered ack);
//  - beats are taken one per edge from the edge after the start write; the first beat of
//    a fold waits until ROWS+COLS-1 edges after the last streamed beat of the fold before;
//  - OS: a fold's sums are copied to the output buffer ROWS+COLS edges after its last beat,
//    its rows leave one per edge after that; WS/IS: the row of a beat taken at edge t
//    leaves at edge t+ROWS+COLS;
//  - done at the edge of the last result row (stationary jobs without results: the edge
//    after the last beat).
// Not modelled: the stall of the RTL when its results are read late (an OS fold whose
// output buffer is still full, a WS/IS result row not taken); the drivers read results
// while they stream, so it does not happen on their workloads. tests/accel/systolic
// compares the twins' cycles.
#include <tlm_utils/simple_target_socket.h>

#include <cstring>
#include <deque>
#include <vector>

#include "cosim/model.h"

namespace cosim {
namespace {

constexpr std::uint64_t kCtrl = 0x00, kStatus = 0x04, kDepth = 0x08, kCycles = 0x0C, kInfo = 0x10,
                        kFolds = 0x14;
constexpr std::uint32_t kVersion = 2;

class SystolicArrayTlm : public Model {
 public:
  SystolicArrayTlm(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "systolic_array_tlm", p),
        csr_("csr"),
        in_("in"),
        out_("out"),
        rows_(static_cast<unsigned>(p.get_uint("rows"))),
        cols_(static_cast<unsigned>(p.get_uint("cols"))),
        dataflow_(p.get_string("dataflow") == "OS" ? 0u : p.get_string("dataflow") == "WS" ? 1u : 2u),
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
  enum class Phase { Idle, Run, Done };
  struct Row {
    std::vector<std::int32_t> values;
    std::uint64_t ready;  // earliest edge at which it can leave
  };

  bool stationary() const { return dataflow_ != 0; }
  std::uint64_t edge_after(Picos t) const { return t / period_ + 1; }
  Picos at(std::uint64_t edge) const { return edge * period_; }
  unsigned beat_bytes() const { return rows_ + cols_; }
  std::uint64_t per_fold() const { return stationary() ? rows_ + job_depth_ : job_depth_; }
  std::uint64_t total_rows() const { return std::uint64_t(job_folds_) * (stationary() ? job_depth_ : rows_); }
  std::uint64_t lag() const { return rows_ + cols_; }

  void finish(std::uint64_t edge) {
    phase_ = Phase::Done;
    done_edge_ = edge;
    cycles_ = static_cast<std::uint32_t>(edge - start_edge_);
    const Picos now = now_ps();
    done_.notify(from_ps(at(edge) > now ? at(edge) - now : 0));
  }

  // The RTL's registers seen by an access at edge e are those after edge e-1.
  bool running_before(std::uint64_t e) const {
    return phase_ == Phase::Run || (phase_ == Phase::Done && done_edge_ > e - 1);
  }
  bool done_before(std::uint64_t e) const { return phase_ == Phase::Done && done_edge_ <= e - 1; }

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
      if (a == kFolds) folds_ = v;
      if (a == kCtrl && (v & 1) && !running_before(e)) start(e);
    } else if (gp.is_read()) {
      switch (a) {
        case kStatus: v = (done_before(e) ? 2u : 0u) | (running_before(e) ? 1u : 0u); break;
        case kDepth: v = depth_; break;
        case kFolds: v = folds_; break;
        case kCycles: v = done_before(e) ? cycles_ : 0; break;
        case kInfo: v = rows_ | (cols_ << 8) | (dataflow_ << 16) | (kVersion << 24); break;
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
    job_folds_ = folds_ == 0 ? 1 : folds_;
    start_edge_ = e;
    in_next_ = e + 1;
    out_next_ = e + 1;
    taken_ = 0;
    fold_ = 0;
    has_tag_ = false;
    last_beat_ = e;
    acc_.assign(std::size_t(rows_) * cols_, 0);
    rows_ready_.clear();
    rows_read_ = 0;
    phase_ = Phase::Run;
    if (!stationary() && job_depth_ == 0) {  // empty folds: zero sums, one fold per R+C-1 edges
      for (std::uint32_t f = 0; f < job_folds_; ++f) {
        const std::uint64_t tag = e + 1 + std::uint64_t(f) * (lag() - 1);
        for (unsigned i = 0; i < rows_; ++i) rows_ready_.push_back({std::vector<std::int32_t>(cols_, 0), tag + lag() + 1});
      }
      fold_ = job_folds_;
      rows_event_.notify(sc_core::SC_ZERO_TIME);
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
    const std::uint64_t wanted =
        phase_ == Phase::Run ? (std::uint64_t(job_folds_) - fold_) * per_fold() - taken_ : 0;
    if (phase_ != Phase::Run || beats > wanted) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                "no job is waiting for " + std::to_string(beats) +
                    " operand beats (write DEPTH and FOLDS, then 1 to CTRL, and send exactly the beats the job needs)");
      return;
    }
    const std::uint8_t* d = gp.get_data_ptr();
    std::uint64_t edge = edge_after(now_ps() + to_ps(delay));
    for (std::uint64_t k = 0; k < beats; ++k) {
      edge = std::max(edge, in_next_);
      if (taken_ == 0 && has_tag_) edge = std::max(edge, tag_edge_ + lag() - 1);
      take_beat(d + k * bb, edge);
      in_next_ = edge + 1;
      last_beat_ = edge;
      if (k + 1 < beats) ++edge;
    }
    beats_in_.inc(beats);
    if (fold_ == job_folds_ && total_rows() == 0) finish(last_beat_ + 1);
    rows_event_.notify(sc_core::SC_ZERO_TIME);
    delay = from_ps(at(edge) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  void take_beat(const std::uint8_t* beat, std::uint64_t edge) {
    const auto b = [&](unsigned j) { return static_cast<std::int32_t>(static_cast<std::int8_t>(beat[j])); };
    const auto a = [&](unsigned i) { return static_cast<std::int32_t>(static_cast<std::int8_t>(beat[cols_ + i])); };
    const bool last = ++taken_ == per_fold();
    if (stationary() && taken_ <= rows_) {  // the stationary tile, bottom row first
      const unsigned row = rows_ - static_cast<unsigned>(taken_);
      for (unsigned j = 0; j < cols_; ++j) acc_[std::size_t(row) * cols_ + j] = b(j);
    } else if (stationary()) {  // one result row per streamed row
      std::vector<std::int32_t> out(cols_, 0);
      for (unsigned j = 0; j < cols_; ++j) {
        std::uint32_t s = 0;
        for (unsigned i = 0; i < rows_; ++i) s += static_cast<std::uint32_t>(a(i) * acc_[std::size_t(i) * cols_ + j]);
        out[j] = static_cast<std::int32_t>(s);
      }
      macs_.inc(std::uint64_t(rows_) * cols_);
      rows_ready_.push_back({std::move(out), edge + lag()});
      if (last) tag(edge);
    } else {  // OS: accumulate the outer product of A's column and B's row
      for (unsigned i = 0; i < rows_; ++i)
        for (unsigned j = 0; j < cols_; ++j)
          acc_[std::size_t(i) * cols_ + j] = static_cast<std::int32_t>(
              static_cast<std::uint32_t>(acc_[std::size_t(i) * cols_ + j]) + static_cast<std::uint32_t>(a(i) * b(j)));
      macs_.inc(std::uint64_t(rows_) * cols_);
      if (last) {
        tag(edge);
        for (unsigned i = 0; i < rows_; ++i)
          rows_ready_.push_back({std::vector<std::int32_t>(acc_.begin() + std::size_t(i) * cols_,
                                                           acc_.begin() + std::size_t(i + 1) * cols_),
                                 edge + lag() + 1});
        std::fill(acc_.begin(), acc_.end(), 0);
      }
    }
    if (last) {
      taken_ = 0;
      ++fold_;
    }
  }

  void tag(std::uint64_t edge) {
    has_tag_ = true;
    tag_edge_ = edge;
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
    const Picos arrival = now_ps() + to_ps(delay);
    // Rows still to come from operands sent in this same instant: wait for them (a reader
    // started before the writer); rows no job will give are an error.
    while (phase_ == Phase::Run && rows_read_ + n > rows_ready_.size() && rows_read_ + n <= total_rows())
      sc_core::wait(rows_event_);
    if (phase_ != Phase::Run || rows_read_ + n > rows_ready_.size()) {
      const std::uint64_t have = rows_ready_.size() > rows_read_ ? rows_ready_.size() - rows_read_ : 0;
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                "asked for " + std::to_string(n) + " result rows but only " + std::to_string(have) +
                    " exist (send all operands of a row first)");
      return;
    }
    std::uint64_t e = std::max(edge_after(arrival), out_next_);
    std::uint8_t* d = gp.get_data_ptr();
    for (std::uint64_t r = 0; r < n; ++r, ++rows_read_) {
      const Row& row = rows_ready_[rows_read_];
      e = std::max(e, row.ready);
      std::memcpy(d + r * rb, row.values.data(), rb);
      if (r + 1 < n) ++e;
    }
    out_next_ = e + 1;
    rows_out_.inc(n);
    if (rows_read_ == total_rows() && fold_ == job_folds_) finish(e);
    const Picos now = now_ps();
    delay = from_ps(at(e) > now ? at(e) - now : 0);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  tlm_utils::simple_target_socket<SystolicArrayTlm, kBusWidth> csr_, in_, out_;
  sc_core::sc_event done_, rows_event_;
  unsigned rows_, cols_, dataflow_;
  Picos period_;
  Phase phase_ = Phase::Idle;
  std::uint32_t depth_ = 0, folds_ = 1, job_depth_ = 0, job_folds_ = 1, cycles_ = 0;
  std::uint64_t csr_free_ = 0, start_edge_ = 0, in_next_ = 0, out_next_ = 0, done_edge_ = 0;
  std::uint64_t taken_ = 0, fold_ = 0, rows_read_ = 0, tag_edge_ = 0, last_beat_ = 0;
  bool has_tag_ = false;
  std::vector<std::int32_t> acc_;  // OS: the sums; WS/IS: the stationary tile
  std::deque<Row> rows_ready_;
  Counter &jobs_, &macs_, &beats_in_, &rows_out_;
};

ModelSpec systolic_array_tlm_spec() {
  ModelSpec s;
  s.name = "systolic_array_tlm";
  s.summary = "TLM twin of the int8 systolic array RTL (rtl/systolic/systolic_array.sv), cycle for cycle";
  s.doc =
      "Targets csr (32-bit registers: CTRL 0x0, STATUS 0x4, DEPTH 0x8, CYCLES 0xC, INFO "
      "0x10, FOLDS 0x14), in (operand beats of rows+cols bytes) and out (result rows of "
      "4*cols bytes), and event done, as the RTL behind its bridges. Computes the same "
      "int32 results; times every beat on the clock grid from the RTL's schedule.";
  s.source =
      "The schedule of rtl/systolic/systolic_array.sv (docs/accelerators/systolic.md): one "
      "beat per edge, folds ROWS+COLS-1 edges apart after a fold's last streamed beat, OS "
      "sums copied out ROWS+COLS edges after it, WS/IS rows ROWS+COLS edges after their "
      "beat, registered ack on the register port. A late reader's stall is not modelled.";
  s.params = {
      int_param("rows", 8, 1, 64, "", "processing-element rows (the RTL's ROWS)"),
      int_param("cols", 8, 1, 64, "", "processing-element columns (the RTL's COLS)"),
      string_param("dataflow", "OS", {"OS", "WS", "IS"}, "output-, weight- or input-stationary"),
      time_param("clock", 1'000, 1, 1'000'000'000, "clock period",
                 "same clock as the RTL twin it stands for; 1 GHz default"),
  };
  s.ports = {{"csr", PortKind::TlmTarget, "32-bit control/status registers", false},
             {"in", PortKind::TlmTarget, "operand beats (writes)", false},
             {"out", PortKind::TlmTarget, "result rows (reads)", false},
             {"done", PortKind::Event, "notified when a job has ended (its last result row has left)", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* {
    return new SystolicArrayTlm(n, p);
  };
  return s;
}

const RegisterModel reg_systolic_array_tlm(systolic_array_tlm_spec());

}  // namespace
}  // namespace cosim

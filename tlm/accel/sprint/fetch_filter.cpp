// sprint_fetch_filter_tlm: the approximately-timed TLM twin of rtl/sprint/sprint_fetch_filter.sv,
// SPRINT's fetch filter (register map, entry format and replacement in the RTL's header).
//
// The same residency tables, replacement (round robin over slots not pinned by the
// current or previous batch of at most slots/2 entries) and entries, computed when the
// mask has arrived; the RTL's cycles on the clock grid: one mask beat per edge, then one
// scan edge per mask word and per entry, one edge per slot the victim search passes
// over plus one for the victim, and the entry offered from the next edge until it is
// read. The hit/miss/search counters are those of the job once its mask is in (the RTL
// counts entries as they leave; both agree when the job is done).
#include <tlm_utils/simple_target_socket.h>

#include <vector>

#include "../engine_tlm.h"

namespace cosim::accel {
namespace {

constexpr std::uint64_t kKeys = 0x10, kHits = 0x14, kMisses = 0x18, kEntries = 0x1C, kSearch = 0x20;

class FetchFilterTlm : public EngineTlm {
 public:
  // STATUS sees done at the done edge; the filter refuses no job.
  FetchFilterTlm(const sc_core::sc_module_name& name, const Params& p)
      : EngineTlm(name, "sprint_fetch_filter_tlm", p, DoneSeen::AtDoneEdge, ErrorKept::UntilStart),
        in_("in"),
        out_("out"),
        max_keys_(unsigned(p.get_uint("max_keys"))),
        slots_(unsigned(p.get_uint("slots"))),
        keys_(max_keys_),
        key_slot_(max_keys_, -1),
        slot_key_(slots_, -1),
        pin_cur_(slots_, false),
        pin_prev_(slots_, false),
        jobs_(counter("jobs", "queries filtered")) {
    const unsigned words = max_keys_ / 64;
    if (max_keys_ % 64 != 0 || (words & (words - 1)) != 0)
      throw std::invalid_argument(std::string(this->name()) + ": max_keys = " + std::to_string(max_keys_) +
                                  " must be 64 times a power of two");
    if ((slots_ & (slots_ - 1)) != 0)
      throw std::invalid_argument(std::string(this->name()) + ": slots = " + std::to_string(slots_) +
                                  " must be a power of two");
    expose_target("in", in_);
    expose_target("out", out_);
    in_.register_b_transport(this, &FetchFilterTlm::inputs);
    out_.register_b_transport(this, &FetchFilterTlm::outputs);
  }

 private:
  enum class Phase { Idle, Mask, Emit, Done };
  struct Entry {
    std::uint32_t value;
    std::uint64_t cost;  // edges from the FSM's scan edge to the edge it offers the entry
  };

  std::uint64_t words() const { return (job_keys_ + 63) / 64; }

  void finish(std::uint64_t edge) {
    phase_ = Phase::Done;
    EngineTlm::finish(edge);
  }

  // ------------------------------------------------------------------ registers
  std::uint32_t info() const override { return (slots_ - 1) | ((max_keys_ / 64) << 8) | kVersion; }

  // A start with CTRL bit 1 is a reset job.
  bool start(std::uint64_t e, std::uint32_t ctrl) override {
    if (ctrl & 2) reset(e);
    else start_query(e);
    return true;
  }

  void write_reg(std::uint64_t a, std::uint32_t v, std::uint64_t) override {
    if (a == kKeys) keys_ = v;
  }

  std::uint32_t read_reg(std::uint64_t a, std::uint64_t) const override {
    switch (a) {
      case kKeys: return keys_;
      case kHits: return hits_;
      case kMisses: return misses_;
      case kEntries: return entries_;
      case kSearch: return search_;
      default: return 0;
    }
  }

  void reset(std::uint64_t e) {
    std::fill(key_slot_.begin(), key_slot_.end(), -1);
    std::fill(slot_key_.begin(), slot_key_.end(), -1);
    std::fill(pin_cur_.begin(), pin_cur_.end(), false);
    std::fill(pin_prev_.begin(), pin_prev_.end(), false);
    ptr_ = 0;
    hits_ = misses_ = search_ = 0;
    finish(e + 1);
  }

  void start_query(std::uint64_t e) {
    jobs_.inc();
    job_keys_ = keys_;
    entries_ = 0;
    mask_.clear();
    entry_list_.clear();
    next_entry_ = 0;
    pin_prev_ = pin_cur_;
    std::fill(pin_cur_.begin(), pin_cur_.end(), false);
    batch_count_ = 0;
    batch_new_ = true;
    in_next_ = e + 1;
    if (job_keys_ == 0) {
      finish(e + 1);
      return;
    }
    phase_ = Phase::Mask;
  }

  void inputs(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (!check_access(gp, name(), true, 8, "mask writes must be whole 8-byte beats")) return;
    const std::uint64_t beats = gp.get_data_length() / 8;
    if (phase_ != Phase::Mask || mask_.size() + beats > words()) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                "no query is waiting for " + std::to_string(beats) + " mask beats (write KEYS, then 1 to CTRL, and "
                "send ceil(KEYS / 64) beats)");
      return;
    }
    const std::uint64_t first = std::max(edge_after(now_ps() + to_ps(delay)), in_next_);
    for (std::uint64_t k = 0; k < beats; ++k) {
      std::uint64_t w;
      std::memcpy(&w, gp.get_data_ptr() + 8 * k, 8);
      const std::uint64_t base = 64 * mask_.size();
      if (job_keys_ < base + 64) w &= job_keys_ <= base ? 0 : (std::uint64_t(1) << (job_keys_ - base)) - 1;
      mask_.push_back(w);
    }
    const std::uint64_t last = first + beats - 1;
    in_next_ = last + 1;
    delay = from_ps(at(last) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
    if (mask_.size() == words()) scan(last + 1);
  }

  // The whole query's entries and their costs; the FSM scans from edge `scan_edge`.
  void scan(std::uint64_t scan_edge) {
    const unsigned cap = slots_ / 2;
    std::int64_t prev_word = -1;
    for (std::uint64_t w = 0; w < mask_.size(); ++w) {
      for (std::uint64_t bits = mask_[w]; bits != 0; bits &= bits - 1) {
        const unsigned key = unsigned(64 * w + __builtin_ctzll(bits));
        const std::uint64_t advance = prev_word < 0 ? w : w - std::uint64_t(prev_word);
        prev_word = std::int64_t(w);
        const bool full = batch_count_ == cap;
        const bool first = full || batch_new_;
        if (full) {
          pin_prev_ = pin_cur_;
          std::fill(pin_cur_.begin(), pin_cur_.end(), false);
          batch_count_ = 0;
        }
        std::uint32_t v;
        std::uint64_t cost;
        if (key_slot_[key] >= 0) {
          const unsigned s = unsigned(key_slot_[key]);
          pin_cur_[s] = true;
          v = key | (s << 16) | (first ? 1u << 25 : 0u);
          ++hits_;
          cost = advance + 1;
        } else {
          std::uint64_t passed = 0;
          while (slot_key_[ptr_] >= 0 && (pin_cur_[ptr_] || pin_prev_[ptr_])) {
            ptr_ = (ptr_ + 1) % slots_;
            ++passed;
          }
          const bool evicted = slot_key_[ptr_] >= 0;
          if (evicted) key_slot_[unsigned(slot_key_[ptr_])] = -1;
          slot_key_[ptr_] = int(key);
          key_slot_[key] = int(ptr_);
          pin_cur_[ptr_] = true;
          v = key | (ptr_ << 16) | (1u << 24) | (first ? 1u << 25 : 0u) | (evicted ? 1u << 26 : 0u);
          ptr_ = (ptr_ + 1) % slots_;
          ++misses_;
          search_ += passed;
          cost = advance + passed + 2;
        }
        batch_new_ = false;
        ++batch_count_;
        entry_list_.push_back({v, cost});
      }
    }
    last_word_ = prev_word;
    fsm_edge_ = scan_edge;
    entries_ = std::uint32_t(entry_list_.size());
    if (entry_list_.empty()) {
      finish(scan_edge + words() - 1);
      return;
    }
    phase_ = Phase::Emit;
  }

  void outputs(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (!check_access(gp, name(), false, 4, "entry reads must be whole 4-byte beats")) return;
    const std::uint64_t n = gp.get_data_length() / 4;
    if (phase_ != Phase::Emit || next_entry_ + n > entry_list_.size()) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(),
                "asked for " + std::to_string(n) + " entries but only " +
                    std::to_string(phase_ == Phase::Emit ? entry_list_.size() - next_entry_ : 0) +
                    " remain (one per set mask bit below KEYS; send the whole mask first)");
      return;
    }
    std::uint64_t h = edge_after(now_ps() + to_ps(delay));
    for (std::uint64_t k = 0; k < n; ++k, ++next_entry_) {
      const Entry& en = entry_list_[next_entry_];
      h = std::max(h, fsm_edge_ + en.cost);
      store_u32(gp.get_data_ptr() + 4 * k, en.value);
      fsm_edge_ = h + 1;
      if (k + 1 < n) ++h;
    }
    if (next_entry_ == entry_list_.size()) finish(h + words() - std::uint64_t(last_word_));
    delay = from_ps(at(h) - now_ps());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  tlm_utils::simple_target_socket<FetchFilterTlm, kBusWidth> in_, out_;
  unsigned max_keys_, slots_;
  std::uint32_t keys_, job_keys_ = 0, hits_ = 0, misses_ = 0, entries_ = 0, search_ = 0;
  std::vector<int> key_slot_, slot_key_;
  std::vector<bool> pin_cur_, pin_prev_;
  std::vector<std::uint64_t> mask_;
  std::vector<Entry> entry_list_;
  std::size_t next_entry_ = 0;
  unsigned ptr_ = 0, batch_count_ = 0;
  bool batch_new_ = false;
  std::int64_t last_word_ = -1;
  Phase phase_ = Phase::Idle;
  std::uint64_t in_next_ = 0, fsm_edge_ = 0;
  Counter& jobs_;
};

ModelSpec fetch_filter_tlm_spec() {
  ModelSpec s;
  s.name = "sprint_fetch_filter_tlm";
  s.summary = "Approximately-timed TLM twin of SPRINT's fetch filter RTL (rtl/sprint/sprint_fetch_filter.sv)";
  s.doc =
      "Targets csr (CTRL 0x0: bit 0 start, bit 1 reset; STATUS 0x4, CYCLES 0x8, INFO 0xC, KEYS 0x10, HITS 0x14, MISSES "
      "0x18, ENTRIES 0x1C, SEARCH 0x20), in (64-key mask beats) and out (32-bit entries: key, "
      "slot, miss, batch start, evicted), and event done, as the RTL behind its bridges.";
  s.source = "Timing derived from the RTL's state machine (one edge per mask beat, word, entry and searched slot).";
  s.params = {
      int_param("max_keys", 1024, 64, 65536, "", "largest sequence (the RTL's MAX_KEYS)"),
      int_param("slots", 128, 4, 256, "", "K/V records the on-chip buffer holds (the RTL's SLOTS)",
                "SPRINT (MICRO 2022): 16 KB on chip; 128 records of 64 int8 K + 64 int8 V"),
      time_param("clock", 1'000, 1, 1'000'000'000, "clock period", "assumption: 1 GHz accelerator clock"),
  };
  s.ports = {{"csr", PortKind::TlmTarget, "32-bit control/status registers", false},
             {"in", PortKind::TlmTarget, "mask beats (writes)", false},
             {"out", PortKind::TlmTarget, "entries (reads)", false},
             {"done", PortKind::Event, "notified when a job has finished", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new FetchFilterTlm(n, p); };
  return s;
}

const RegisterModel reg_fetch_filter_tlm(fetch_filter_tlm_spec());

}  // namespace
}  // namespace cosim::accel

// Stream bridges: TLM payloads <-> valid/ready beats of any width up to 1024 bits.
//
// A write to a stream_in bridge (or a read from a stream_out bridge) of N bytes is N /
// beat_bytes beats, beat_bytes = ceil(beat bits / 8), least significant byte first; the
// address is not used. A beat is one data pin or several packed least significant first
// (the first pin in the lowest bits). The call blocks (the caller must be an SC_THREAD,
// as Python processes and LT initiators are) until the RTL has taken (given) the last
// beat, and returns with the delay to that edge. A beat transfers at a rising edge where
// valid and ready are both high. Concurrent transactions on one bridge are served in
// order.
//
// Without a ready pin, an input beat transfers at every edge where valid is high (the
// RTL always takes it), and an output is captured: every beat the RTL offers (valid high
// at an edge) goes into a buffer of `capture_depth` beats that reads drain; a full
// buffer stops the run naming the pin and the cycle. An output with a ready pin checks
// the handshake: valid falling before the beat was taken stops the run (the beat would
// be lost).
#include <tlm_utils/simple_target_socket.h>

#include <algorithm>
#include <deque>
#include <vector>

#include "bridges.h"

namespace cosim::rtl {
namespace {

struct Transfer {
  std::uint8_t* data;
  std::uint64_t beats;
  Picos arrival;
  std::uint64_t next = 0;
  bool done = false;
  Picos t_done = 0;
};

// Copy n bits from bit `from` of src to bit `to` of dst (least significant bit first).
void copy_bits(const std::uint8_t* src, std::size_t from, std::uint8_t* dst, std::size_t to,
               std::size_t n) {
  while (n > 0) {
    const std::size_t so = from % 8, dof = to % 8;
    const std::size_t k = std::min({n, 8 - so, 8 - dof});
    const unsigned mask = (1u << k) - 1;
    const unsigned bits = (src[from / 8] >> so) & mask;
    std::uint8_t& d = dst[to / 8];
    d = static_cast<std::uint8_t>((d & ~(mask << dof)) | (bits << dof));
    from += k;
    to += k;
    n -= k;
  }
}

}  // namespace

BeatPins::BeatPins(std::vector<Pin*> pins) : pins_(std::move(pins)) {
  for (const Pin* p : pins_) {
    offsets_.push_back(bits_);
    bits_ += p->width();
  }
  bytes_ = (bits_ + 7) / 8;
  std::uint32_t widest = 0;
  for (const Pin* p : pins_) widest = std::max(widest, p->bytes());
  scratch_.resize(widest);
}

std::string BeatPins::names() const {
  std::string s = pins_.size() == 1 ? "pin " : "pins ";
  for (std::size_t i = 0; i < pins_.size(); ++i) s += (i == 0 ? "'" : ", '") + pins_[i]->name() + "'";
  return s;
}

void BeatPins::write_packed(const std::uint8_t* beat) {
  for (std::size_t i = 0; i < pins_.size(); ++i) {
    Pin& p = *pins_[i];
    std::fill(scratch_.begin(), scratch_.end(), 0);
    copy_bits(beat, offsets_[i], scratch_.data(), 0, p.width());
    p.write(scratch_.data());
  }
}

void BeatPins::read_packed(std::uint8_t* beat) const {
  std::fill(beat, beat + bytes_, 0);
  for (std::size_t i = 0; i < pins_.size(); ++i) {
    const Pin& p = *pins_[i];
    p.read(scratch_.data());
    copy_bits(scratch_.data(), 0, beat, offsets_[i], p.width());
  }
}

namespace {

class StreamBridge : public Adapter {
 public:
  tlm_utils::simple_target_socket<StreamBridge, kBusWidth> socket;

  StreamBridge(RtlBlock& b, const std::string& name, bool into_rtl, Pin& valid, Pin* ready,
               BeatPins data, bool blocking, std::uint64_t capture_depth)
      : Adapter(b, name),
        socket(name.c_str()),
        into_rtl_(into_rtl),
        blocking_(blocking && ready != nullptr),
        capture_(!into_rtl && ready == nullptr),
        valid_(valid),
        ready_(ready),
        data_(std::move(data)),
        beat_bytes_(data_.bytes()),
        capture_depth_(capture_depth),
        beats_(b.stat_counter(name + ".beats", into_rtl ? "beats taken by the RTL" : "beats given by the RTL")),
        bytes_(b.stat_counter(name + ".bytes", "payload bytes transferred", "B")),
        transactions_(b.stat_counter(name + ".transactions", "TLM transactions completed")),
        stalls_(b.stat_counter(name + ".stall_cycles",
                               into_rtl ? "cycles a beat was offered but ready was low"
                                        : "cycles a reader waited but valid was low")),
        latency_(b.stat_average(name + ".latency", "arrival to last beat, per transaction", "ps")) {
    socket.register_b_transport(this, &StreamBridge::b_transport);
    held_beat_.resize(beat_bytes_);
    now_.resize(beat_bytes_);
    if (capture_) {
      ring_.resize(capture_depth_ * beat_bytes_);
      ring_time_.resize(capture_depth_);
    }
    // Active (driven, sampled and committed every cycle) while a transaction is queued;
    // a capturing output always (it takes every beat). An idle output with ready still
    // checks its handshake every cycle (monitor).
    active_ = capture_;
    monitor_idle_ = !into_rtl && !capture_;
    monitor_pin_ = &valid_;
    if (blocking_) wait_pin_ = into_rtl ? ready_ : &valid_;
    if (into_rtl && ready_ != nullptr) sample_pin_ = ready_;  // fire = offered && ready
  }

  void drive(std::uint64_t, Picos t) override {
    offered_ = (!queue_.empty() && queue_.front()->arrival < t) ? queue_.front() : nullptr;
    if (into_rtl_) {
      valid_.set_bit(offered_ != nullptr);
      if (offered_ != nullptr) data_.write(offered_->data + offered_->next * beat_bytes_);
    } else {
      ready_->set_bit(offered_ != nullptr);
    }
  }

  // The RTL is ready for data nobody has sent, or offers data nobody has asked for
  // (blocked(): nothing queued and wait_pin_ high) before edge n.
  void waited_at(std::uint64_t n) override { waited_on_ = n; }

  void monitor() override { handshake(false); }

  void sample() override {
    if (capture_) return capture();
    if (into_rtl_) {  // only without a ready pin (else sampled inline)
      fire_ = offered_ != nullptr;
      return;
    }
    handshake(offered_ != nullptr);
  }

  // Output with ready, before an edge: the beat offered at the last edge and not taken
  // must still be there; fire_ when a reader takes the beat now.
  void handshake(bool reading) {
    const bool v = valid_.bit();
    if (held_) {  // the beat offered at the last edge was not taken: it must still be there
      if (!v) lost_beat(true);
      data_.read(now_.data());
      if (now_ != held_beat_) lost_beat(false);
    }
    fire_ = reading && v;
    if (fire_) data_.read(offered_->data + offered_->next * beat_bytes_);
    if (v && !fire_ && !held_) data_.read(held_beat_.data());
    held_ = v && !fire_;
    monitor_hot_ = held_;
  }

  void commit(std::uint64_t n, Picos t) override {
    if (offered_ == nullptr) return;
    if (sample_pin_ != nullptr) fire_ = sampled_;
    if (!fire_) {
      stalls_.inc();
      if (++waited_ > block_.cycle_budget()) {
        const Pin& pin = into_rtl_ ? *ready_ : valid_;
        block_.fail("pin '" + pin.name() + "' was not asserted for " + std::to_string(waited_ - 1) +
                    " cycles (cycles " + std::to_string(n + 1 - waited_) + " to " + std::to_string(n) +
                    ", t = " + format_ps(t) + ") while stream bridge '" + name_ + "' " +
                    (into_rtl_ ? "offered a beat" : "waited for a beat") + " (beat " +
                    std::to_string(offered_->next + 1) + " of " + std::to_string(offered_->beats) +
                    "); cycle_budget = " + std::to_string(block_.cycle_budget()));
      }
      return;
    }
    waited_ = 0;
    beats_.inc();
    if (++offered_->next == offered_->beats) {
      finish(queue_.front(), t);
      if (queue_.empty()) {  // idle: leave valid (ready) low, no per-cycle calls
        (into_rtl_ ? valid_ : *ready_).set_bit(false);
        offered_ = nullptr;
        active_ = false;
      }
    }
  }

  unsigned hooks() const override {
    if (capture_) return kSample;
    return kDrive | (blocking_ ? kBlocked : 0u) | kSample | kCommit;
  }
  bool can_progress() const override {
    if (capture_) return false;
    return !queue_.empty() && (into_rtl_ ? (ready_ == nullptr || ready_->bit()) : valid_.bit());
  }

 private:
  void finish(Transfer* tr, Picos t) {
    tr->done = true;
    tr->t_done = t;
    queue_.pop_front();
    queued_ = !queue_.empty();
    block_.work_finished();
    done_.notify();
    block_.completed(t, this);
  }

  // The RTL dropped a beat it offered before the handshake (valid fell, or the data
  // changed while valid stayed high).
  [[noreturn]] void lost_beat(bool fell) {
    const std::uint64_t n = block_.cycle() + 1;
    block_.fail("pin '" + valid_.name() + "' of stream bridge '" + name_ + "' " +
                (fell ? "fell" : "stayed high but the data on " + data_.names() + " changed") +
                " before edge " + std::to_string(n) + " (t = " + format_ps(block_.edge_time(n)) +
                ") without a handshake: the beat offered at edge " + std::to_string(n - 1) + " while '" +
                ready_->name() + "' was low was lost (nobody was reading). Read the stream while the RTL "
                "offers beats, or declare the output without ready (ready=None, capture_depth=N) to "
                "buffer them");
  }

  // Capture mode: before edge n, a beat with valid high goes into the buffer.
  void capture() {
    if (!valid_.bit()) return;
    const std::uint64_t n = block_.cycle() + 1;
    const Picos t = block_.edge_time(n);
    if (count_ == capture_depth_)
      block_.fail("the capture buffer of stream bridge '" + name_ + "' (" + std::to_string(capture_depth_) +
                  " beats) overflowed: pin '" + valid_.name() + "' offered a beat at cycle " + std::to_string(n) +
                  " (t = " + format_ps(t) + ") and " + std::to_string(count_) +
                  " captured beats were still unread; read them sooner or give a larger capture_depth");
    const std::uint64_t slot = (head_ + count_) % capture_depth_;
    data_.read(ring_.data() + slot * beat_bytes_);
    ring_time_[slot] = t;
    ++count_;
    beats_.inc();
    drain(t);
  }

  // Move captured beats into the queued reads, in order; completes those that are full.
  void drain(Picos now_edge) {
    while (!queue_.empty() && count_ > 0) {
      Transfer* tr = queue_.front();
      const Picos last = take(*tr);
      if (tr->next < tr->beats) return;
      finish(tr, std::max({last, tr->arrival, now_edge}));
    }
  }

  // Captured beats into `tr` (as many as it needs and the buffer has); returns the
  // capture time of the last beat taken.
  Picos take(Transfer& tr) {
    Picos last = 0;
    while (tr.next < tr.beats && count_ > 0) {
      std::memcpy(tr.data + tr.next * beat_bytes_, ring_.data() + head_ * beat_bytes_, beat_bytes_);
      last = ring_time_[head_];
      head_ = (head_ + 1) % capture_depth_;
      --count_;
      ++tr.next;
    }
    return last;
  }

  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const std::uint64_t len = gp.get_data_length();
    const char* want = into_rtl_ ? "writes (beats into the RTL)" : "reads (beats out of the RTL)";
    if ((into_rtl_ && !gp.is_write()) || (!into_rtl_ && !gp.is_read())) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, socket.name(),
                std::string("stream bridge '") + name_ + "' takes " + want);
      return;
    }
    if (gp.get_byte_enable_ptr() != nullptr) {
      set_error(gp, tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE, socket.name(), "stream bridges take no byte enables");
      return;
    }
    if (len % beat_bytes_ != 0) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, socket.name(),
                "length " + std::to_string(len) + " B is not a multiple of the " +
                    std::to_string(beat_bytes_) + "-byte beat of " + data_.names() + " (" +
                    std::to_string(data_.bits()) + " bits)");
      return;
    }
    if (len == 0) {
      gp.set_response_status(tlm::TLM_OK_RESPONSE);
      return;
    }
    Transfer tr{gp.get_data_ptr(), len / beat_bytes_, now_ps() + to_ps(delay)};
    if (capture_ && queue_.empty()) {
      // Beats captured already are read at once (at the edge they were captured, if
      // that is after the read's arrival).
      const Picos last = take(tr);
      if (tr.next == tr.beats) tr.t_done = std::max(last, tr.arrival), tr.done = true;
    }
    if (!tr.done) {
      const bool was_empty = queue_.empty();
      queue_.push_back(&tr);
      queued_ = true;
      active_ = true;
      block_.work_started();
      // A non-blocking stream is always taken as waited on (its ready is high at any edge).
      block_.arrived(tr.arrival, was_empty, blocking_ ? waited_on_ : block_.cycle());
      while (!tr.done) sc_core::wait(done_);
    }
    const Picos now = now_ps();
    delay = from_ps(tr.t_done > now ? tr.t_done - now : 0);
    latency_.sample(static_cast<double>(tr.t_done - tr.arrival));
    transactions_.inc();
    bytes_.inc(len);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  bool into_rtl_;
  bool blocking_;
  bool capture_;
  Pin& valid_;
  Pin* ready_;
  BeatPins data_;
  std::uint32_t beat_bytes_;
  std::deque<Transfer*> queue_;
  Transfer* offered_ = nullptr;
  bool fire_ = false;
  bool held_ = false;  // output: valid was high at the last edge and the beat not taken
  std::vector<std::uint8_t> held_beat_, now_;  // that beat, and the data now
  std::uint64_t waited_ = 0;
  mutable std::uint64_t waited_on_ = 0;  // last edge at which the RTL waited on this bridge
  // Capture mode: a ring of capture_depth_ beats and the edge time of each.
  std::uint64_t capture_depth_;
  std::vector<std::uint8_t> ring_;
  std::vector<Picos> ring_time_;
  std::uint64_t head_ = 0, count_ = 0;
  sc_core::sc_event done_;
  Counter &beats_, &bytes_, &transactions_, &stalls_;
  Average& latency_;
};

Port& add_stream(RtlBlock& b, const std::string& name, bool into_rtl, const std::string& valid,
                 const std::string& ready, const std::vector<std::string>& data, bool blocking,
                 std::uint64_t capture_depth) {
  b.check_bridge_name(name);
  const PinDir in = PinDir::Input, out = PinDir::Output;
  if (data.empty()) throw std::invalid_argument(b.label() + ", bridge '" + name + "': no data pin given");
  Pin& v = b.claim_pin(name, "valid", valid, into_rtl ? in : out, 1, 1);
  Pin* r = ready.empty() ? nullptr : &b.claim_pin(name, "ready", ready, into_rtl ? out : in, 1, 1);
  std::vector<Pin*> pins;
  std::uint32_t bits = 0;
  for (const auto& d : data) {
    pins.push_back(&b.claim_pin(name, "data", d, into_rtl ? in : out, 1, 1024));
    bits += pins.back()->width();
  }
  if (bits > 1024)
    throw std::invalid_argument(b.label() + ", bridge '" + name + "': the data pins are " +
                                std::to_string(bits) + " bits together; a beat is at most 1024 bits");
  if (!into_rtl && r == nullptr && capture_depth == 0)
    throw std::invalid_argument(b.label() + ", bridge '" + name +
                                "': an output without ready needs a capture_depth (beats to buffer)");
  RtlBlock::ChildScope scope(b);
  auto bridge = std::make_unique<StreamBridge>(b, name, into_rtl, v, r, BeatPins(std::move(pins)), blocking,
                                               capture_depth);
  b.expose_bridge_target(name, bridge->socket);
  b.add_adapter(std::move(bridge));
  return *b.find_port(name);
}

}  // namespace

Port& add_stream_in(RtlBlock& b, const std::string& name, const std::string& valid,
                    const std::string& ready, const std::vector<std::string>& data, bool blocking) {
  return add_stream(b, name, true, valid, ready, data, blocking, 0);
}

Port& add_stream_out(RtlBlock& b, const std::string& name, const std::string& valid,
                     const std::string& ready, const std::vector<std::string>& data, bool blocking,
                     std::uint64_t capture_depth) {
  return add_stream(b, name, false, valid, ready, data, blocking, capture_depth);
}

}  // namespace cosim::rtl

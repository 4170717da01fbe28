// The DRAM controller and device timing engine, free of SystemC: per-channel request
// queues with FR-FCFS scheduling, bank/rank/bus state under the JEDEC timing rules, and
// refresh. The SystemC model (dram.cpp) and the benchmark's C++-only baseline loop both
// drive it. The scheduling decision is in scheduler.cpp, the commands' effects here and
// in engine.cpp.
//
// Event-driven: the engine never ticks. For each channel it computes the earliest cycle
// at which any queued burst's next command (or a due refresh) satisfies every timing
// constraint, and issues commands in global time order across channels. An idle channel
// costs nothing; refreshes that fell due while it was idle are issued when the next
// request arrives (at their due times), so idle periods never wake the simulation.
//
// Scheduling (Rixner et al., "Memory access scheduling", ISCA 2000): among the commands
// that can issue earliest, due refreshes first, then column commands (row hits), then
// row commands (ACT/PRE), oldest request first. A row with queued hits is not closed
// for another request unless `row_hit_cap` hits were served since it opened (starvation
// guard). Reads and writes have separate queues; writes are drained in batches between
// a high and a low watermark, or when no read is queued (the write-drain policy of
// Hansson et al., "Simulating DRAM controllers for future system architecture
// exploration", ISPASS 2014).
//
// Timing rules (cycles; JESD79-4 / JESD209-4 / JESD235 / JESD238):
//   same bank   ACT->RD/WR tRCD, ACT->PRE tRAS, ACT->ACT tRC, PRE->ACT tRP,
//               RD->PRE tRTP, WR->PRE CWL+burst+tWR
//   same rank   ACT->ACT tRRD_S / tRRD_L (same bank group), four ACTs per tFAW,
//               RD->RD and WR->WR tCCD_S / tCCD_L, WR->RD CWL+burst+tWTR_S/L,
//               RD->WR CL+burst+2-CWL (bus turnaround), REF: all banks closed, then
//               nothing but REF for tRFC
//   channel     one data burst at a time, tRTRS bubble when the driving rank changes;
//               one command per command-bus cycle (separate row and column buses on HBM)
// Auto-precharge (closed page) closes the bank at max(ACT+tRAS, RD+tRTP or
// WR+CWL+burst+tWR).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "cosim/energy.h"
#include "cosim/stats.h"
#include "presets.h"

namespace cosim::dram {

using Cycle = std::uint64_t;
constexpr Cycle kNever = std::numeric_limits<Cycle>::max();

enum class PagePolicy { Open, Closed, Adaptive };

struct Config {
  std::string preset;      // name, for the energy-table keys
  std::string energy_key;  // energy-table key prefix ("dram.<preset>" when empty)
  Organization org;
  Timing timing;
  PagePolicy page = PagePolicy::Open;
  std::string mapping;  // e.g. "ro-ra-ba-co-bg-ch", most significant field first
  bool bank_xor = false;
  unsigned read_queue = 32;   // requests per channel
  unsigned write_queue = 32;
  unsigned write_high = 24;  // start draining writes at this many queued write requests
  unsigned write_low = 8;    // ... and stop at this many (if reads are waiting)
  unsigned row_hit_cap = 16;  // 0: never force a row closed for waiting conflicts
  bool refresh = true;
  bool refresh_staggered = true;  // ranks' refreshes spread over tREFI (else all at once)
};

// Commands counted per bank (bank_commands()).
enum BankCmd : unsigned { kBankAct = 0, kBankPre = 1, kBankRd = 2, kBankWr = 3, kBankCmds = 4 };

struct Location {
  unsigned channel = 0, rank = 0, bankgroup = 0, bank = 0;  // bank within its group
  std::uint64_t row = 0, column = 0;                        // column: burst index in the row
};

// A burst whose data transfer completes at `cycle` (end of the last beat).
struct Completion {
  std::uint32_t tag;
  Cycle cycle;
  bool write;
};

class Engine {
 public:
  // Registers its stats and energy events under `component`. Throws std::invalid_argument
  // naming the parameter at fault for an inconsistent configuration.
  Engine(Config cfg, const std::string& component);

  const Config& config() const { return cfg_; }
  std::uint64_t capacity() const { return cfg_.org.capacity(); }
  unsigned burst_bytes() const { return cfg_.org.burst_bytes(); }
  unsigned channels() const { return cfg_.org.channels; }
  Cycle cycle_of_ps(std::uint64_t ps) const { return (ps + tck_ - 1) / tck_; }
  std::uint64_t ps_of_cycle(Cycle c) const { return c * tck_; }

  Location decode(std::uint64_t addr) const;
  // Channel of an address (cheaper than a full decode).
  unsigned channel_of(std::uint64_t addr) const {
    return ch_bits_ == 0 ? 0 : unsigned((addr >> (offset_bits_ + ch_shift_)) & ((1u << ch_bits_) - 1));
  }
  // Throws std::invalid_argument naming the field that is out of range.
  std::uint64_t encode(const Location& loc) const;

  // Queue depths count requests: a request takes one entry in each channel it has bursts
  // in, until its last burst there is served. fits(): room for one more request.
  bool fits(unsigned channel, bool write) const;
  unsigned queued(unsigned channel, bool write) const;  // requests
  unsigned queued_bursts(unsigned channel, bool write) const;
  bool write_queued(unsigned channel, std::uint64_t burst_addr) const;
  // A request's bursts are pushed between begin_request() and end_request(). push()
  // queues one burst (burst_addr aligned to burst_bytes) that may be scheduled from cycle
  // `arrival` on; its completion is reported with `tag`.
  void begin_request();
  void push(std::uint64_t burst_addr, bool write, Cycle arrival, std::uint32_t tag);
  void end_request();

  // The cycle of the earliest command any channel can issue at or after `floor`, and
  // the channel (kNever when nothing is queued).
  Cycle next(Cycle floor, unsigned* channel);
  // Issue the command next() chose for `channel` (call with the same floor).
  void issue(unsigned channel, Cycle floor);
  // Completions produced by issue(); the owner drains (clears) it.
  std::vector<Completion>& completions() { return done_; }
  // True (and reset) if a queue entry was freed since the last call.
  bool take_freed() {
    const bool f = freed_;
    freed_ = false;
    return f;
  }
  std::uint64_t commands_issued() const { return commands_; }
  // Commands per bank: [channel][rank * banks + bank group * banks_per_group + bank][BankCmd].
  const std::vector<std::uint64_t>& bank_commands() const { return bank_cmds_; }
  // Refreshes per rank: [channel * ranks + rank].
  const std::vector<std::uint64_t>& rank_refreshes() const { return rank_refs_; }

  // Hand-over of a channel's banks to another agent that drives them directly (near-data
  // units, tlm/ndp) while the controller has nothing queued for the channel:
  // quiet_cycle() is the first cycle at which every open bank of `channel` may be
  // precharged (tRAS, tRTP and write recovery met) and its data bus is free;
  // close_banks() records that the agent left every bank precharged, none to be
  // activated before `act_ready`.
  Cycle quiet_cycle(unsigned channel) const;
  void close_banks(unsigned channel, Cycle act_ready);

 private:
  enum class Cmd : std::uint8_t { None, Act, Pre, Rd, Wr, PreAll, Ref };
  struct Bank {
    Cycle act_ready = 0, col_ready = 0, pre_ready = 0;
    std::uint64_t row = 0;
    bool open = false;
    std::uint32_t hits = 0;  // column accesses since the row opened
  };
  struct Rank {
    Cycle act_any = 0, rd_any = 0, wr_any = 0;
    std::vector<Cycle> act_bg, rd_bg, wr_bg;
    Cycle faw[4] = {0, 0, 0, 0};
    unsigned faw_n = 0, faw_i = 0;
    Cycle ref_due = 0;
  };
  struct Entry {
    std::uint64_t seq, addr;
    Cycle arrival;
    std::uint64_t row;
    std::uint32_t tag;
    std::uint32_t piece;  // the request's entry in this channel's queue
    std::uint8_t kind;    // 0 not yet classified, 1 row hit, 2 miss (ACT), 3 conflict (PRE)
  };
  // A request in one channel's queue (its queue entry), and the whole request (for the
  // per-request row-hit rate).
  struct Piece {
    std::uint32_t left = 0, group = 0;
  };
  struct Group {
    std::uint32_t left = 0;
    bool all_hits = true, open = false;
  };
  struct Cand {
    Cycle t = kNever;
    int cls = 9;  // 0 refresh, 1 column, 2 row
    std::uint64_t seq = ~std::uint64_t(0);
    Cmd cmd = Cmd::None;
    unsigned bank = 0;  // flat bank index in the channel
    unsigned rank = 0;
  };
  // The bursts queued for one bank, in arrival order, and the scheduler's summary of them.
  // While arrival times do not decrease along the list (always, for initiators whose
  // requests reach a bank in order), the best candidate of a group of bursts (the row's
  // hits, the others, all of them) is the group's first burst: it is the oldest and
  // ready soonest. The summary holds those firsts, so a decision costs O(1) per bank;
  // a list out of arrival order is scanned in full.
  struct BankQueue {
    std::vector<Entry> list;
    bool ordered = true;  // arrivals non-decreasing along the list
    bool valid = false;   // hit/other below describe the list for row `for_row`
    std::uint64_t for_row = 0;
    std::int32_t hit = -1, other = -1;  // first burst of row for_row / of another row
    // Copies of the firsts' arrival and age, so a decision does not touch the list.
    Cycle hit_arr = 0, other_arr = 0, front_arr = 0;
    std::uint64_t hit_seq = 0, other_seq = 0, front_seq = 0;
  };
  // A bank's own part of its best command: the bank's readiness for its next command and
  // that command's burst, without the constraints it shares with other banks (bus, rank,
  // bank group). Recomputed only when the bank or its queue changes; a decision adds
  // the shared constraints. `alt`: a PRE offered next to queued hits (row_hit_cap reached).
  struct Local {
    Cycle l1 = kNever, l2 = kNever;
    std::uint64_t s1 = 0, s2 = 0;
    Cmd k1 = Cmd::None;
    bool alt = false;
    bool slow = false;  // queue out of arrival order: evaluate burst by burst
    bool dirty = true;
  };
  // Queued bursts are kept per bank, so a scheduling decision looks at each bank with
  // queued bursts once (found from a bit mask); constraints shared by a rank's banks are
  // computed one time.
  struct Channel {
    std::vector<Bank> banks;  // rank-major: rank * banks_per_rank + bank group * banks_per_group + bank
    std::vector<Rank> ranks;
    std::vector<BankQueue> rq, wq;         // per bank
    std::vector<std::uint64_t> rmask, wmask;  // banks with queued bursts
    std::vector<Local> local;                 // per bank, for the queue of local_write
    bool local_write = false;
    std::vector<Cycle> s_act, s_col;          // per rank x bank group, during choose()
    unsigned rn = 0, wn = 0;                 // bursts queued
    unsigned rreq = 0, wreq = 0;             // requests queued
    std::uint64_t cur_serial = ~std::uint64_t(0);  // request whose piece is cur_piece
    std::uint32_t cur_piece = 0;
    std::unordered_map<std::uint64_t, unsigned> wq_addrs;
    Cycle row_bus = 0, col_bus = 0, data_free = 0;
    int last_rank = -1;
    bool write_mode = false;
    Cand cached;
    bool dirty = true;
  };
  struct Field {
    char which;  // 'h' channel, 'r' rank, 'g' bank group, 'b' bank, 'o' row, 'c' column
    unsigned shift, bits;
  };

  std::string key_prefix() const { return cfg_.energy_key.empty() ? "dram." + cfg_.preset : cfg_.energy_key; }
  static bool better(const Cand& a, const Cand& b) {
    if (a.t != b.t) return a.t < b.t;
    if (a.cls != b.cls) return a.cls < b.cls;
    return a.seq < b.seq;
  }
  // Sizes are powers of two (checked at construction): shifts, not divisions, on the hot path.
  unsigned bankgroup_of(unsigned flat) const { return (flat & (banks_per_rank_ - 1)) >> bg_shift_; }
  unsigned rank_of(unsigned flat) const { return flat >> rank_shift_; }
  Cand choose(Channel& c, Cycle floor);
  Cand refresh_candidate(const Channel& c, unsigned rank, Cycle floor) const;
  void update_mode(Channel& c) const;
  void do_act(Channel& c, unsigned bank, std::uint64_t seq, Cycle t);
  void do_pre(Channel& c, unsigned bank, std::uint64_t seq, Cycle t);
  void do_col(Channel& c, unsigned bank, std::uint64_t seq, bool write, Cycle t);
  void do_refresh(Channel& c, unsigned rank, Cmd cmd, Cycle t);
  void catch_up_refresh(Channel& c, Cycle until);
  bool other_hit_queued(const Channel& c, unsigned bank, std::uint64_t row) const;
  Entry* find_entry(std::vector<Entry>& list, std::uint64_t seq);
  static void summarize(BankQueue& q, std::uint64_t row);
  void compute_local(Channel& c, unsigned fb, bool write) const;
  static void touch(Channel& c, unsigned fb) { c.local[fb].dirty = true; }
  void classify(Entry& e, std::uint8_t kind);
  void retire(Channel& c, const Entry& e, bool write);
  void parse_mapping();
  template <typename T>
  static std::uint32_t alloc(std::vector<T>& pool, std::vector<std::uint32_t>& free_list) {
    if (free_list.empty()) {
      pool.emplace_back();
      return std::uint32_t(pool.size() - 1);
    }
    const std::uint32_t i = free_list.back();
    free_list.pop_back();
    pool[i] = T{};
    return i;
  }

  Config cfg_;
  std::uint64_t tck_;
  unsigned banks_per_rank_;
  unsigned offset_bits_;
  unsigned bg_shift_ = 0, rank_shift_ = 0;
  unsigned ch_shift_ = 0, ch_bits_ = 0;
  std::vector<Field> fields_;  // least significant first
  std::vector<Channel> ch_;
  std::vector<Completion> done_;
  std::uint64_t seq_ = 0;
  std::uint64_t commands_ = 0;
  bool freed_ = false;
  std::vector<Piece> pieces_;
  std::vector<std::uint32_t> free_pieces_;
  std::vector<Group> groups_;
  std::vector<std::uint32_t> free_groups_;
  std::uint32_t cur_group_ = 0;
  std::uint64_t group_serial_ = 0;
  bool in_request_ = false;
  std::vector<std::uint64_t> bank_cmds_;
  std::vector<std::uint64_t> rank_refs_;

  Counter &act_, &pre_, &prea_, &rd_, &wr_, &ref_;
  Counter &hits_, &misses_, &conflicts_;
  Value& hit_rate_;
  Counter &requests_, &request_hits_;
  Value& request_hit_rate_;
  EnergyEvent &e_act_, &e_rd_, &e_wr_, &e_ref_, &e_io_;
};

PagePolicy page_policy(const std::string& name);
const char* page_policy_name(PagePolicy p);

}  // namespace cosim::dram

// The engine's scheduling decision (FR-FCFS, engine.h): which command each channel can
// issue earliest, from each bank's cached readiness and the constraints banks share. The
// commands' effects on bank, rank and bus state are in engine.cpp.
#include <algorithm>

#include "engine.h"

namespace cosim::dram {

void Engine::update_mode(Channel& c) const {
  if (!c.write_mode) {
    if (c.wn != 0 && (c.wreq >= cfg_.write_high || c.rn == 0)) c.write_mode = true;
  } else if (c.wn == 0 || (c.wreq <= cfg_.write_low && c.rn != 0)) {
    c.write_mode = false;
  }
}

Engine::Cand Engine::refresh_candidate(const Channel& c, unsigned rank, Cycle floor) const {
  const Rank& rk = c.ranks[rank];
  Cand x;
  x.cls = 0;
  x.seq = 0;
  x.rank = rank;
  bool any_open = false;
  Cycle pre_t = std::max(std::max(floor, rk.ref_due), c.row_bus);
  Cycle ref_t = pre_t;
  const Bank* b = &c.banks[rank * banks_per_rank_];
  for (unsigned i = 0; i < banks_per_rank_; ++i) {
    if (b[i].open) {
      any_open = true;
      pre_t = std::max(pre_t, b[i].pre_ready);
    }
    ref_t = std::max(ref_t, b[i].act_ready);
  }
  x.cmd = any_open ? Cmd::PreAll : Cmd::Ref;
  x.t = any_open ? pre_t : ref_t;
  return x;
}

bool Engine::other_hit_queued(const Channel& c, unsigned bank, std::uint64_t row) const {
  for (const auto& e : c.rq[bank].list)
    if (e.row == row) return true;
  for (const auto& e : c.wq[bank].list)
    if (e.row == row) return true;
  return false;
}

void Engine::summarize(BankQueue& q, std::uint64_t row) {
  q.valid = true;
  q.for_row = row;
  q.hit = q.other = -1;
  const std::int32_t n = std::int32_t(q.list.size());
  for (std::int32_t i = 0; i < n && (q.hit < 0 || q.other < 0); ++i) {
    const Entry& e = q.list[std::size_t(i)];
    if (e.row == row) {
      if (q.hit < 0) {
        q.hit = i;
        q.hit_arr = e.arrival;
        q.hit_seq = e.seq;
      }
    } else if (q.other < 0) {
      q.other = i;
      q.other_arr = e.arrival;
      q.other_seq = e.seq;
    }
  }
  if (n != 0) {
    q.front_arr = q.list.front().arrival;
    q.front_seq = q.list.front().seq;
  }
}

void Engine::compute_local(Channel& c, unsigned fb, bool write) const {
  Local& L = c.local[fb];
  L = Local{};
  L.dirty = false;
  BankQueue& bq = write ? c.wq[fb] : c.rq[fb];
  if (!bq.ordered) {
    L.slow = true;
    return;
  }
  const Bank& b = c.banks[fb];
  if (!bq.valid || (b.open && bq.for_row != b.row)) summarize(bq, b.row);
  if (!b.open) {
    L.k1 = Cmd::Act;
    L.l1 = std::max(b.act_ready, bq.front_arr);
    L.s1 = bq.front_seq;
    return;
  }
  const unsigned cap = cfg_.row_hit_cap;
  if (bq.hit >= 0) {
    L.k1 = write ? Cmd::Wr : Cmd::Rd;
    L.l1 = std::max(b.col_ready, bq.hit_arr);
    L.s1 = bq.hit_seq;
    if (bq.other >= 0 && cap != 0 && b.hits >= cap) {
      L.alt = true;
      L.l2 = std::max(b.pre_ready, bq.other_arr);
      L.s2 = bq.other_seq;
    }
  } else if (bq.other >= 0) {
    L.k1 = Cmd::Pre;
    L.l1 = std::max(b.pre_ready, bq.other_arr);
    L.s1 = bq.other_seq;
  }
}

Engine::Cand Engine::choose(Channel& c, Cycle floor) {
  update_mode(c);
  Cand best;
  if (c.rn == 0 && c.wn == 0) return best;
  const Timing& tm = cfg_.timing;
  const bool write = c.write_mode;
  const std::vector<BankQueue>& q = write ? c.wq : c.rq;
  const std::vector<std::uint64_t>& mask = write ? c.wmask : c.rmask;
  const unsigned cap = cfg_.row_hit_cap;
  const Cycle lat = write ? tm.cwl : tm.cl;
  const Cmd col_cmd = write ? Cmd::Wr : Cmd::Rd;
  // Every bank with queued bursts offers its best command. This loop is the simulator's
  // hot path: constraints shared by a rank's banks are computed once, the banks with
  // queued bursts come from a bit mask, each bank's oldest candidates from its summary,
  // and the best candidate is kept in scalars.
  Cycle bt = kNever;
  int bcls = 9;
  std::uint64_t bseq = ~std::uint64_t(0);
  Cmd bcmd = Cmd::None;
  unsigned bbank = 0;
  auto offer = [&](Cycle t, int cls, std::uint64_t seq, Cmd cmd, unsigned fb) __attribute__((always_inline)) {
    if (t < bt || (t == bt && (cls < bcls || (cls == bcls && seq < bseq)))) {
      bt = t;
      bcls = cls;
      bseq = seq;
      bcmd = cmd;
      bbank = fb;
    }
  };
  const unsigned nranks = cfg_.org.ranks;  // at most 16 (check_config)
  Cycle limit_r[16], col_r[16], act_r[16];
  const Cycle pre_rank = std::max(c.row_bus, floor);
  for (unsigned r = 0; r < nranks; ++r) {
    const Rank& rk = c.ranks[r];
    // A rank whose refresh is due takes no other command until it has refreshed.
    limit_r[r] = cfg_.refresh ? rk.ref_due : kNever;
    Cycle col_rank = std::max(std::max(c.col_bus, floor), write ? rk.wr_any : rk.rd_any);
    const Cycle need = c.data_free + (c.last_rank >= 0 && c.last_rank != int(r) ? tm.rtrs : 0);
    if (need > lat) col_rank = std::max(col_rank, need - lat);
    col_r[r] = col_rank;
    Cycle act_rank = std::max(std::max(c.row_bus, floor), rk.act_any);
    if (rk.faw_n == 4) act_rank = std::max(act_rank, rk.faw[rk.faw_i] + tm.faw);
    act_r[r] = act_rank;
  }
  // The shared constraints per rank and bank group, and the banks' own parts.
  const unsigned bgs = cfg_.org.bankgroups;
  for (unsigned r = 0; r < nranks; ++r) {
    const Rank& rk = c.ranks[r];
    const Cycle* cbg = write ? rk.wr_bg.data() : rk.rd_bg.data();
    for (unsigned g = 0; g < bgs; ++g) {
      c.s_act[r * bgs + g] = std::max(act_r[r], rk.act_bg[g]);
      c.s_col[r * bgs + g] = std::max(col_r[r], cbg[g]);
    }
  }
  if (c.local_write != write) {
    c.local_write = write;
    for (Local& L : c.local) L.dirty = true;
  }
  for (std::size_t w = 0; w < mask.size(); ++w) {
    for (std::uint64_t bits = mask[w]; bits != 0; bits &= bits - 1) {
      const unsigned fb = unsigned(w * 64 + unsigned(__builtin_ctzll(bits)));
      const unsigned r = rank_of(fb);
      const Cycle limit = limit_r[r];
      if (floor >= limit) continue;
      if (c.local[fb].dirty) compute_local(c, fb, write);
      const Local& L = c.local[fb];
      if (!L.slow) {
        // A bank whose own readiness is after the best candidate so far cannot win
        // (equal times still can, on class or age).
        if (L.l1 > bt && (!L.alt || L.l2 > bt)) continue;
        const unsigned rbg = fb >> bg_shift_;  // rank * bank groups + bank group
        if (L.k1 == Cmd::Act) {
          const Cycle t = std::max(L.l1, c.s_act[rbg]);
          if (t < limit) offer(t, 2, L.s1, Cmd::Act, fb);
        } else if (L.k1 == Cmd::Pre) {
          const Cycle t = std::max(L.l1, pre_rank);
          if (t < limit) offer(t, 2, L.s1, Cmd::Pre, fb);
        } else {
          const Cycle t = std::max(L.l1, c.s_col[rbg]);
          if (t < limit) offer(t, 1, L.s1, col_cmd, fb);
          if (L.alt) {
            const Cycle t2 = std::max(L.l2, pre_rank);
            if (t2 < limit) offer(t2, 2, L.s2, Cmd::Pre, fb);
          }
        }
        continue;
      }
      // Out of arrival order: every queued burst of the bank.
      const Bank& b = c.banks[fb];
      const BankQueue& bq = q[fb];
      const Rank& rk = c.ranks[r];
      const unsigned bg = bankgroup_of(fb);
      if (b.open) {
        const Cycle* cbg = write ? rk.wr_bg.data() : rk.rd_bg.data();
        const Cycle col = std::max(std::max(col_r[r], cbg[bg]), b.col_ready);
        const Cycle pre = std::max(pre_rank, b.pre_ready);
        Cycle ht = kNever, ot = kNever;
        std::uint64_t hs = 0, os = 0;
        for (const Entry& e : bq.list) {
          if (e.row == b.row) {
            const Cycle t = std::max(col, e.arrival);
            if (t < ht || (t == ht && e.seq < hs)) {
              ht = t;
              hs = e.seq;
            }
          } else {
            const Cycle t = std::max(pre, e.arrival);
            if (t < ot || (t == ot && e.seq < os)) {
              ot = t;
              os = e.seq;
            }
          }
        }
        if (ht < limit) offer(ht, 1, hs, col_cmd, fb);
        // A row with queued hits is not closed for a conflict (unless capped).
        if (ot < limit && (ht == kNever || (cap != 0 && b.hits >= cap))) offer(ot, 2, os, Cmd::Pre, fb);
      } else {
        const Cycle act = std::max(std::max(act_r[r], rk.act_bg[bg]), b.act_ready);
        Cycle at = kNever;
        std::uint64_t as = 0;
        for (const Entry& e : bq.list) {
          const Cycle t = std::max(act, e.arrival);
          if (t < at || (t == at && e.seq < as)) {
            at = t;
            as = e.seq;
          }
        }
        if (at < limit) offer(at, 2, as, Cmd::Act, fb);
      }
    }
  }
  best.t = bt;
  best.cls = bcls;
  best.seq = bseq;
  best.cmd = bcmd;
  best.bank = bbank;
  best.rank = rank_of(bbank);
  // Refreshes: a candidate is never earlier than its due time, so look only at ranks
  // that could win.
  if (cfg_.refresh)
    for (unsigned r = 0; r < cfg_.org.ranks; ++r)
      if (c.ranks[r].ref_due <= best.t) {
        const Cand x = refresh_candidate(c, r, floor);
        if (better(x, best)) best = x;
      }
  return best;
}

Cycle Engine::next(Cycle floor, unsigned* channel) {
  Cycle best = kNever;
  for (unsigned i = 0; i < ch_.size(); ++i) {
    Channel& c = ch_[i];
    if (c.dirty || (c.cached.t != kNever && c.cached.t < floor)) {
      c.cached = choose(c, floor);
      c.dirty = false;
    }
    if (c.cached.t < best) {
      best = c.cached.t;
      *channel = i;
    }
  }
  return best;
}

}  // namespace cosim::dram

#include "sequencer.h"

#include <algorithm>

namespace cosim::ndp {

using dram::kNever;

Sequencer::Sequencer(const dram::Config& cfg, unsigned units_per_channel, unsigned unit_interval,
                     unsigned unit_latency)
    : cfg_(cfg),
      units_(units_per_channel),
      banks_per_unit_(cfg.org.banks() / units_per_channel),
      interval_(unit_interval == 0 ? cfg.timing.ccd_l : unit_interval),
      latency_(unit_latency) {}

namespace {

enum class Cmd { Act, Pre, Rd, Wr };

struct BankState {
  bool open = false;
  std::uint64_t row = 0;
  Cycle act_ready = 0, col_ready = 0, rd_ready = 0, pre_ready = 0;
};

struct UnitState {
  std::size_t job = 0;
  unsigned cols_done = 0;
  Cycle next_col = 0;
  Cycle read_data = 0;   // latest read data at the unit
  Cycle write_data = 0;  // latest write data in the array
  bool any_read = false;
  std::vector<Cycle> job_last;  // cycle of each job's last column command
};

struct Candidate {
  Cycle t = kNever;
  int cls = 9;  // 0 column, 1 row command
  unsigned unit = 0;
  Cmd cmd = Cmd::Act;
  unsigned bank = 0;  // flat bank in the channel
  std::uint64_t row = 0;
  bool better_than(const Candidate& o) const {
    if (t != o.t) return t < o.t;
    if (cls != o.cls) return cls < o.cls;
    return unit < o.unit;
  }
};

}  // namespace

ChannelSchedule Sequencer::run(const std::vector<std::vector<Job>>& programs, Cycle start,
                               Cycle read_floor) const {
  const dram::Timing& tm = cfg_.timing;
  const unsigned nbanks = cfg_.org.banks();
  const unsigned bpg = cfg_.org.banks_per_group;
  std::vector<BankState> banks(nbanks);
  for (auto& b : banks) b.act_ready = start;
  std::vector<UnitState> units(units_);
  ChannelSchedule out;
  out.first_act.assign(units_, kNever);
  out.unit_done.assign(units_, start);
  for (unsigned u = 0; u < units_; ++u) units[u].job_last.assign(programs[u].size(), kNever);

  Cycle act_any = 0;
  std::vector<Cycle> act_bg(cfg_.org.bankgroups, 0);
  Cycle faw[4] = {0, 0, 0, 0};
  unsigned faw_n = 0, faw_i = 0;

  // Refresh: due at the dram engine's times (single rank: k * tREFI); a refresh that fell
  // due before `start` blocks the banks until it has finished.
  Cycle ref_due = kNever;
  if (cfg_.refresh) {
    const Cycle refi = tm.refi;
    if (start >= refi) {
      const Cycle last = start / refi * refi;
      for (auto& b : banks) b.act_ready = std::max(b.act_ready, last + tm.rfc);
      ref_due = last + refi;
    } else {
      ref_due = refi;
    }
  }

  auto flat = [&](unsigned u, unsigned local) { return u * banks_per_unit_ + local; };
  auto act_time = [&](unsigned fb) {
    Cycle t = std::max(std::max(banks[fb].act_ready, act_any), act_bg[fb / bpg]);
    if (faw_n == 4) t = std::max(t, faw[faw_i] + tm.faw);
    return t;
  };
  // A row command that prepares bank `fb` for `row`, or none if it is already open there.
  auto row_command = [&](unsigned u, unsigned fb, std::uint64_t row, Candidate& c) {
    const BankState& b = banks[fb];
    if (b.open && b.row == row) return false;
    c.cls = 1;
    c.unit = u;
    c.bank = fb;
    c.row = row;
    if (b.open) {
      c.cmd = Cmd::Pre;
      c.t = b.pre_ready;
    } else {
      c.cmd = Cmd::Act;
      c.t = act_time(fb);
    }
    return true;
  };

  for (;;) {
    Candidate best;
    for (unsigned u = 0; u < units_; ++u) {
      const std::vector<Job>& prog = programs[u];
      UnitState& us = units[u];
      if (us.job >= prog.size()) continue;
      const Job& j = prog[us.job];
      const unsigned fb = flat(u, j.bank);
      Candidate c;
      if (!row_command(u, fb, j.row, c)) {
        const BankState& b = banks[fb];
        c.cls = 0;
        c.unit = u;
        c.bank = fb;
        c.row = j.row;
        c.cmd = j.write ? Cmd::Wr : Cmd::Rd;
        c.t = std::max(b.col_ready, us.next_col);
        if (j.write) {
          if (j.dep >= 0) c.t = std::max(c.t, us.job_last[std::size_t(j.dep)] + tm.cl + latency_);
        } else {
          c.t = std::max(std::max(c.t, b.rd_ready), read_floor);
        }
      }
      if (c.better_than(best)) best = c;
      // Open the banks of the next jobs early (not one an earlier unfinished job uses).
      const std::size_t end = std::min(prog.size(), us.job + 1 + banks_per_unit_);
      for (std::size_t k = us.job + 1; k < end; ++k) {
        bool used = false;
        for (std::size_t i = us.job; i < k && !used; ++i) used = prog[i].bank == prog[k].bank;
        if (used) continue;
        Candidate a;
        if (row_command(u, flat(u, prog[k].bank), prog[k].row, a) && a.better_than(best)) best = a;
      }
    }
    if (best.t == kNever) break;

    if (best.t >= ref_due) {
      // Refresh: precharge every open bank (as soon as each allows), then REF.
      Cycle pre_t = ref_due;
      bool any_open = false;
      for (const auto& b : banks)
        if (b.open) {
          any_open = true;
          pre_t = std::max(pre_t, b.pre_ready);
        }
      Cycle ref_t = pre_t + (any_open ? tm.rp : 0);
      for (auto& b : banks) {
        if (b.open) ++out.counts.pre;
        b.open = false;
        ref_t = std::max(ref_t, b.act_ready);
      }
      for (auto& b : banks) b.act_ready = ref_t + tm.rfc;
      ref_due += tm.refi;
      ++out.counts.ref;
      continue;
    }

    const Cycle t = best.t;
    BankState& b = banks[best.bank];
    UnitState& us = units[best.unit];
    switch (best.cmd) {
      case Cmd::Act: {
        b.open = true;
        b.row = best.row;
        b.col_ready = t + tm.rcd;
        b.pre_ready = t + tm.ras;
        b.act_ready = t + tm.rc;
        act_any = t + tm.rrd_s;
        act_bg[best.bank / bpg] = t + tm.rrd_l;
        faw[faw_i] = t;
        faw_i = (faw_i + 1) % 4;
        if (faw_n < 4) ++faw_n;
        out.first_act[best.unit] = std::min(out.first_act[best.unit], t);
        ++out.counts.act;
        break;
      }
      case Cmd::Pre:
        b.open = false;
        b.act_ready = std::max(b.act_ready, t + tm.rp);
        ++out.counts.pre;
        break;
      case Cmd::Rd:
      case Cmd::Wr: {
        const bool write = best.cmd == Cmd::Wr;
        b.col_ready = t + tm.ccd_l;
        if (write) {
          b.rd_ready = t + tm.cwl + tm.burst + tm.wtr_l;
          b.pre_ready = std::max(b.pre_ready, t + tm.cwl + tm.burst + tm.wr);
          us.write_data = std::max(us.write_data, t + tm.cwl + tm.burst);
          ++out.counts.wr;
        } else {
          b.pre_ready = std::max(b.pre_ready, t + tm.rtp);
          us.read_data = std::max(us.read_data, t + tm.cl);
          us.any_read = true;
          ++out.counts.rd;
        }
        us.next_col = t + interval_;
        const Job& j = programs[best.unit][us.job];
        if (++us.cols_done == j.ncols) {
          us.job_last[us.job] = t;
          ++us.job;
          us.cols_done = 0;
        }
        break;
      }
    }
  }

  Cycle close_from = start, ready = start;
  for (auto& b : banks) {
    if (b.open) {
      close_from = std::max(close_from, b.pre_ready);
      ++out.counts.pre;
    }
    ready = std::max(ready, b.act_ready);
  }
  bool any_open = false;
  for (const auto& b : banks) any_open |= b.open;
  out.closed = std::max(ready, any_open ? close_from + tm.rp : start);
  for (unsigned u = 0; u < units_; ++u) {
    const UnitState& us = units[u];
    Cycle d = start;
    if (us.any_read) d = std::max(d, us.read_data + latency_);
    d = std::max(d, us.write_data);
    out.unit_done[u] = d;
    out.results = std::max(out.results, d);
  }
  out.done = std::max(out.results, out.closed);
  return out;
}

}  // namespace cosim::ndp

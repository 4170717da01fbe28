#include "engine.h"

#include <algorithm>
#include <stdexcept>

#include "config.h"

namespace cosim::dram {

PagePolicy page_policy(const std::string& name) {
  if (name == "open") return PagePolicy::Open;
  if (name == "closed") return PagePolicy::Closed;
  if (name == "adaptive") return PagePolicy::Adaptive;
  throw std::invalid_argument("page policy must be 'open', 'closed' or 'adaptive', got '" + name + "'");
}

const char* page_policy_name(PagePolicy p) {
  switch (p) {
    case PagePolicy::Open: return "open";
    case PagePolicy::Closed: return "closed";
    case PagePolicy::Adaptive: return "adaptive";
  }
  return "?";
}

namespace {

unsigned log2u(std::uint64_t x) {
  unsigned n = 0;
  while ((std::uint64_t(1) << n) < x) ++n;
  return n;
}

}  // namespace

Engine::Engine(Config cfg, const std::string& component)
    : cfg_(std::move(cfg)),
      tck_(cfg_.timing.tck_ps),
      banks_per_rank_(cfg_.org.banks()),
      offset_bits_(0),
      act_(stats().counter(component + ".cmd.act", "ACT commands")),
      pre_(stats().counter(component + ".cmd.pre", "precharges of one bank (PRE and auto-precharge)")),
      prea_(stats().counter(component + ".cmd.prea", "precharge-all commands (before refresh)")),
      rd_(stats().counter(component + ".cmd.rd", "RD commands (one burst each)")),
      wr_(stats().counter(component + ".cmd.wr", "WR commands (one burst each)")),
      ref_(stats().counter(component + ".cmd.ref", "all-bank REF commands")),
      hits_(stats().counter(component + ".row_hits", "bursts whose first command was RD/WR (open row)")),
      misses_(stats().counter(component + ".row_misses", "bursts that found their bank closed (ACT)")),
      conflicts_(stats().counter(component + ".row_conflicts",
                                 "bursts that found another row open (PRE, ACT)")),
      hit_rate_(stats().value(component + ".row_hit_rate", "row hits / bursts (per burst)")),
      requests_(stats().counter(component + ".requests_scheduled",
                                "requests with at least one burst scheduled by the controller")),
      request_hits_(stats().counter(component + ".request_row_hits",
                                    "requests whose every burst was a row hit")),
      request_hit_rate_(stats().value(component + ".request_row_hit_rate",
                                      "row hits per request: request_row_hits / requests_scheduled")),
      e_act_(energy_event(component, "act", key_prefix() + ".act", "ACT+PRE pairs")),
      e_rd_(energy_event(component, "rd", key_prefix() + ".rd", "read bursts")),
      e_wr_(energy_event(component, "wr", key_prefix() + ".wr", "write bursts")),
      e_ref_(energy_event(component, "ref", key_prefix() + ".ref", "refreshes")),
      e_io_(energy_event(component, "io", key_prefix() + ".io", "bits moved over the interface")) {
  check_config(cfg_);
  const Organization& o = cfg_.org;
  const Timing& t = cfg_.timing;
  offset_bits_ = log2u(o.burst_bytes());
  bg_shift_ = log2u(o.banks_per_group);
  rank_shift_ = log2u(banks_per_rank_);
  parse_mapping();
  ch_.resize(o.channels);
  for (auto& c : ch_) {
    c.banks.resize(std::size_t(o.ranks) * banks_per_rank_);
    c.ranks.resize(o.ranks);
    for (unsigned r = 0; r < o.ranks; ++r) {
      Rank& rk = c.ranks[r];
      rk.act_bg.assign(o.bankgroups, 0);
      rk.rd_bg.assign(o.bankgroups, 0);
      rk.wr_bg.assign(o.bankgroups, 0);
      // Stagger the ranks' refreshes over one interval (or refresh all at tREFI).
      rk.ref_due = cfg_.refresh_staggered ? t.refi * (r + 1) / o.ranks : t.refi;
    }
    c.rq.resize(c.banks.size());
    c.wq.resize(c.banks.size());
    c.rmask.assign((c.banks.size() + 63) / 64, 0);
    c.wmask.assign((c.banks.size() + 63) / 64, 0);
    c.local.resize(c.banks.size());
    c.s_act.resize(std::size_t(o.ranks) * o.bankgroups);
    c.s_col.resize(std::size_t(o.ranks) * o.bankgroups);
  }
  bank_cmds_.assign(std::size_t(o.channels) * o.ranks * banks_per_rank_ * kBankCmds, 0);
  rank_refs_.assign(std::size_t(o.channels) * o.ranks, 0);
}

void Engine::parse_mapping() {
  const Organization& o = cfg_.org;
  std::vector<std::string> names;
  std::string cur;
  for (char ch : cfg_.mapping + "-") {
    if (ch == '-' || ch == '_' || ch == ':') {
      if (!cur.empty()) names.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  const std::string allowed = "fields ch, ra, bg, ba, ro, co each once, most significant first, "
                              "e.g. 'ro-ra-ba-co-bg-ch'";
  if (names.size() != 6)
    throw std::invalid_argument("mapping '" + cfg_.mapping + "' needs the six " + allowed);
  std::vector<Field> msb_first;
  for (const auto& n : names) {
    Field f{};
    if (n == "ch") f = {'h', 0, log2u(o.channels)};
    else if (n == "ra") f = {'r', 0, log2u(o.ranks)};
    else if (n == "bg") f = {'g', 0, log2u(o.bankgroups)};
    else if (n == "ba") f = {'b', 0, log2u(o.banks_per_group)};
    else if (n == "ro") f = {'o', 0, log2u(o.rows)};
    else if (n == "co") f = {'c', 0, log2u(o.bursts_per_row())};
    else
      throw std::invalid_argument("mapping '" + cfg_.mapping + "': unknown field '" + n + "'; " + allowed);
    for (const auto& g : msb_first)
      if (g.which == f.which)
        throw std::invalid_argument("mapping '" + cfg_.mapping + "': field '" + n + "' appears twice");
    msb_first.push_back(f);
  }
  unsigned shift = 0;
  fields_.assign(msb_first.rbegin(), msb_first.rend());
  for (auto& f : fields_) {
    f.shift = shift;
    shift += f.bits;
    if (f.which == 'h') {
      ch_shift_ = f.shift;
      ch_bits_ = f.bits;
    }
  }
}

Location Engine::decode(std::uint64_t addr) const {
  Location l;
  const std::uint64_t a = addr >> offset_bits_;
  for (const auto& f : fields_) {
    const std::uint64_t v = (a >> f.shift) & ((std::uint64_t(1) << f.bits) - 1);
    switch (f.which) {
      case 'h': l.channel = unsigned(v); break;
      case 'r': l.rank = unsigned(v); break;
      case 'g': l.bankgroup = unsigned(v); break;
      case 'b': l.bank = unsigned(v); break;
      case 'o': l.row = v; break;
      case 'c': l.column = v; break;
    }
  }
  if (cfg_.bank_xor) {
    // Permutation-based interleaving (Zhang et al., MICRO 2000): XOR the bank bits with
    // low row bits so rows that conflict in one bank spread over banks.
    const unsigned bb = log2u(cfg_.org.banks_per_group);
    l.bank ^= unsigned(l.row & (cfg_.org.banks_per_group - 1));
    l.bankgroup ^= unsigned((l.row >> bb) & (cfg_.org.bankgroups - 1));
  }
  return l;
}

std::uint64_t Engine::encode(const Location& loc) const {
  const Organization& o = cfg_.org;
  auto check = [](const char* what, std::uint64_t v, std::uint64_t n) {
    if (v >= n)
      throw std::invalid_argument(std::string(what) + " " + std::to_string(v) + " is out of range 0.." +
                                  std::to_string(n - 1));
  };
  check("channel", loc.channel, o.channels);
  check("rank", loc.rank, o.ranks);
  check("bankgroup", loc.bankgroup, o.bankgroups);
  check("bank", loc.bank, o.banks_per_group);
  check("row", loc.row, o.rows);
  check("column", loc.column, o.bursts_per_row());
  unsigned bank = loc.bank, bg = loc.bankgroup;
  if (cfg_.bank_xor) {
    const unsigned bb = log2u(o.banks_per_group);
    bank ^= unsigned(loc.row & (o.banks_per_group - 1));
    bg ^= unsigned((loc.row >> bb) & (o.bankgroups - 1));
  }
  std::uint64_t a = 0;
  for (const auto& f : fields_) {
    std::uint64_t v = 0;
    switch (f.which) {
      case 'h': v = loc.channel; break;
      case 'r': v = loc.rank; break;
      case 'g': v = bg; break;
      case 'b': v = bank; break;
      case 'o': v = loc.row; break;
      case 'c': v = loc.column; break;
    }
    a |= v << f.shift;
  }
  return a << offset_bits_;
}

bool Engine::fits(unsigned channel, bool write) const {
  const Channel& c = ch_[channel];
  const unsigned n = write ? c.wreq : c.rreq;
  return n < (write ? cfg_.write_queue : cfg_.read_queue);
}

unsigned Engine::queued(unsigned channel, bool write) const {
  const Channel& c = ch_[channel];
  return write ? c.wreq : c.rreq;
}

unsigned Engine::queued_bursts(unsigned channel, bool write) const {
  const Channel& c = ch_[channel];
  return write ? c.wn : c.rn;
}

bool Engine::write_queued(unsigned channel, std::uint64_t burst_addr) const {
  const Channel& c = ch_[channel];
  return !c.wq_addrs.empty() && c.wq_addrs.count(burst_addr) != 0;
}

void Engine::begin_request() {
  cur_group_ = alloc(groups_, free_groups_);
  groups_[cur_group_].open = true;
  ++group_serial_;
  in_request_ = true;
}

void Engine::end_request() {
  Group& g = groups_[cur_group_];
  g.open = false;
  if (g.left == 0) free_groups_.push_back(cur_group_);  // no burst reached the queues
  in_request_ = false;
}

void Engine::push(std::uint64_t burst_addr, bool write, Cycle arrival, std::uint32_t tag) {
  const Location l = decode(burst_addr);
  Channel& c = ch_[l.channel];
  if (cfg_.refresh && c.rn == 0 && c.wn == 0) catch_up_refresh(c, arrival);
  const bool own = !in_request_;  // a lone burst is a request of its own
  if (own) begin_request();
  if (c.cur_serial != group_serial_) {
    c.cur_serial = group_serial_;
    c.cur_piece = alloc(pieces_, free_pieces_);
    pieces_[c.cur_piece].group = cur_group_;
    ++(write ? c.wreq : c.rreq);
  }
  ++pieces_[c.cur_piece].left;
  ++groups_[cur_group_].left;
  const unsigned bank = l.rank * banks_per_rank_ + l.bankgroup * cfg_.org.banks_per_group + l.bank;
  const Entry e{seq_++, burst_addr, arrival, l.row, tag, c.cur_piece, 0};
  BankQueue& q = write ? c.wq[bank] : c.rq[bank];
  if (!q.list.empty() && arrival < q.list.back().arrival) q.ordered = false;
  if (q.valid) {  // the new burst is the last of its group: the firsts stay, or it is one
    if (e.row == q.for_row) {
      if (q.hit < 0) {
        q.hit = std::int32_t(q.list.size());
        q.hit_arr = e.arrival;
        q.hit_seq = e.seq;
      }
    } else if (q.other < 0) {
      q.other = std::int32_t(q.list.size());
      q.other_arr = e.arrival;
      q.other_seq = e.seq;
    }
    if (q.list.empty()) {
      q.front_arr = e.arrival;
      q.front_seq = e.seq;
    }
  }
  q.list.push_back(e);
  (write ? c.wmask : c.rmask)[bank >> 6] |= std::uint64_t(1) << (bank & 63);
  touch(c, bank);
  if (write) {
    ++c.wn;
    ++c.wq_addrs[burst_addr];
  } else {
    ++c.rn;
  }
  c.dirty = true;
  if (own) end_request();
}

void Engine::retire(Channel& c, const Entry& e, bool write) {
  Piece& p = pieces_[e.piece];
  const std::uint32_t gi = p.group;
  if (--p.left == 0) {
    --(write ? c.wreq : c.rreq);
    free_pieces_.push_back(e.piece);
    if (c.cur_piece == e.piece) c.cur_serial = ~std::uint64_t(0);
  }
  Group& g = groups_[gi];
  if (e.kind != 1) g.all_hits = false;
  if (--g.left == 0 && !g.open) {
    requests_.inc();
    if (g.all_hits) request_hits_.inc();
    request_hit_rate_.set(double(request_hits_.value()) / double(requests_.value()));
    free_groups_.push_back(gi);
  }
}

void Engine::classify(Entry& e, std::uint8_t kind) {
  if (e.kind != 0) return;
  e.kind = kind;
  if (kind == 1)
    hits_.inc();
  else if (kind == 2)
    misses_.inc();
  else
    conflicts_.inc();
}

Engine::Entry* Engine::find_entry(std::vector<Entry>& list, std::uint64_t seq) {
  for (auto& e : list)
    if (e.seq == seq) return &e;
  return nullptr;
}

void Engine::do_act(Channel& c, unsigned bank, std::uint64_t seq, Cycle t) {
  const Timing& tm = cfg_.timing;
  Bank& b = c.banks[bank];
  Rank& rk = c.ranks[rank_of(bank)];
  const unsigned bg = bankgroup_of(bank);
  Entry* e = find_entry(c.write_mode ? c.wq[bank].list : c.rq[bank].list, seq);
  b.open = true;
  b.row = e->row;
  b.hits = 0;
  b.col_ready = t + tm.rcd;
  b.pre_ready = std::max(b.pre_ready, t + tm.ras);
  b.act_ready = std::max(b.act_ready, t + tm.rc);
  rk.act_any = std::max(rk.act_any, t + tm.rrd_s);
  rk.act_bg[bg] = std::max(rk.act_bg[bg], t + tm.rrd_l);
  rk.faw[rk.faw_i] = t;
  rk.faw_i = (rk.faw_i + 1) % 4;
  if (rk.faw_n < 4) ++rk.faw_n;
  c.row_bus = t + tm.act_cycles;
  if (!tm.dual_command_bus) c.col_bus = c.row_bus;
  classify(*e, 2);
  touch(c, bank);
  ++bank_cmds_[(std::size_t(&c - ch_.data()) * c.banks.size() + bank) * kBankCmds + kBankAct];
  act_.inc();
  e_act_.add();
}

void Engine::do_pre(Channel& c, unsigned bank, std::uint64_t seq, Cycle t) {
  const Timing& tm = cfg_.timing;
  Bank& b = c.banks[bank];
  Entry* e = find_entry(c.write_mode ? c.wq[bank].list : c.rq[bank].list, seq);
  b.open = false;
  b.act_ready = std::max(b.act_ready, t + tm.rp);
  c.row_bus = t + tm.pre_cycles;
  if (!tm.dual_command_bus) c.col_bus = c.row_bus;
  classify(*e, 3);
  touch(c, bank);
  ++bank_cmds_[(std::size_t(&c - ch_.data()) * c.banks.size() + bank) * kBankCmds + kBankPre];
  pre_.inc();
}

void Engine::do_col(Channel& c, unsigned bank, std::uint64_t seq, bool write, Cycle t) {
  const Timing& tm = cfg_.timing;
  BankQueue& q = write ? c.wq[bank] : c.rq[bank];
  std::vector<Entry>& list = q.list;
  Entry* ep = find_entry(list, seq);
  Entry e = *ep;
  list.erase(list.begin() + (ep - list.data()));
  q.valid = false;
  if (list.empty()) {
    q.ordered = true;
    (write ? c.wmask : c.rmask)[bank >> 6] &= ~(std::uint64_t(1) << (bank & 63));
  }
  Bank& b = c.banks[bank];
  const unsigned r = rank_of(bank);
  const unsigned bg = bankgroup_of(bank);
  Rank& rk = c.ranks[r];
  classify(e, 1);
  retire(c, e, write);
  touch(c, bank);
  std::uint64_t* per_bank = &bank_cmds_[(std::size_t(&c - ch_.data()) * c.banks.size() + bank) * kBankCmds];
  ++per_bank[write ? kBankWr : kBankRd];
  if (write) {
    rk.wr_bg[bg] = std::max(rk.wr_bg[bg], t + tm.ccd_l);
    rk.wr_any = std::max(rk.wr_any, t + tm.ccd_s);
    rk.rd_bg[bg] = std::max(rk.rd_bg[bg], t + tm.cwl + tm.burst + tm.wtr_l);
    rk.rd_any = std::max(rk.rd_any, t + tm.cwl + tm.burst + tm.wtr_s);
    b.pre_ready = std::max(b.pre_ready, t + tm.cwl + tm.burst + tm.wr);
    c.data_free = t + tm.cwl + tm.burst;
    --c.wn;
    auto it = c.wq_addrs.find(e.addr);
    if (it != c.wq_addrs.end() && --it->second == 0) c.wq_addrs.erase(it);
    wr_.inc();
    e_wr_.add();
  } else {
    rk.rd_bg[bg] = std::max(rk.rd_bg[bg], t + tm.ccd_l);
    rk.rd_any = std::max(rk.rd_any, t + tm.ccd_s);
    // Read-to-write bus turnaround: RL + BL/2 + 2 - WL.
    const Cycle rtw = t + tm.cl + tm.burst + 2;
    rk.wr_any = std::max(rk.wr_any, rtw > tm.cwl ? rtw - tm.cwl : 0);
    b.pre_ready = std::max(b.pre_ready, t + tm.rtp);
    c.data_free = t + tm.cl + tm.burst;
    --c.rn;
    rd_.inc();
    e_rd_.add();
  }
  e_io_.add(std::uint64_t(cfg_.org.burst_bytes()) * 8);
  c.last_rank = int(r);
  c.col_bus = t + tm.col_cycles;
  if (!tm.dual_command_bus) c.row_bus = c.col_bus;
  ++b.hits;
  bool auto_pre = cfg_.page == PagePolicy::Closed;
  if (cfg_.page == PagePolicy::Adaptive) auto_pre = !other_hit_queued(c, bank, e.row);
  if (auto_pre) {
    // RDA/WRA: the bank precharges itself as soon as tRAS and tRTP/tWR allow.
    b.open = false;
    b.act_ready = std::max(b.act_ready, b.pre_ready + tm.rp);
    pre_.inc();
    ++per_bank[kBankPre];
  }
  const std::uint64_t hits = hits_.value();
  hit_rate_.set(double(hits) / double(hits + misses_.value() + conflicts_.value()));
  freed_ = true;
  done_.push_back({e.tag, t + (write ? tm.cwl : tm.cl) + tm.burst, write});
}

void Engine::do_refresh(Channel& c, unsigned rank, Cmd cmd, Cycle t) {
  const Timing& tm = cfg_.timing;
  Rank& rk = c.ranks[rank];
  if (cmd == Cmd::PreAll) {
    for (unsigned b = 0; b < banks_per_rank_; ++b) {
      Bank& k = c.banks[rank * banks_per_rank_ + b];
      if (!k.open) continue;
      k.open = false;
      k.act_ready = std::max(k.act_ready, t + tm.rp);
    }
    prea_.inc();
  } else {
    for (unsigned b = 0; b < banks_per_rank_; ++b) {
      Bank& k = c.banks[rank * banks_per_rank_ + b];
      k.act_ready = std::max(k.act_ready, t + tm.rfc);
    }
    rk.ref_due += tm.refi;
    ++rank_refs_[std::size_t(&c - ch_.data()) * cfg_.org.ranks + rank];

    ref_.inc();
    e_ref_.add();
  }
  c.row_bus = t + tm.pre_cycles;
  if (!tm.dual_command_bus) c.col_bus = c.row_bus;
  for (unsigned b = 0; b < banks_per_rank_; ++b) touch(c, rank * banks_per_rank_ + b);
}

void Engine::catch_up_refresh(Channel& c, Cycle until) {
  for (unsigned r = 0; r < cfg_.org.ranks; ++r) {
    while (c.ranks[r].ref_due <= until) {
      const Cand x = refresh_candidate(c, r, 0);
      do_refresh(c, r, x.cmd, x.t);
      ++commands_;
    }
  }
}

Cycle Engine::quiet_cycle(unsigned channel) const {
  const Channel& c = ch_[channel];
  Cycle t = c.data_free;
  for (const Bank& b : c.banks)
    if (b.open) t = std::max(t, b.pre_ready);
  return t;
}

void Engine::close_banks(unsigned channel, Cycle act_ready) {
  Channel& c = ch_[channel];
  for (Bank& b : c.banks) {
    b.open = false;
    b.act_ready = std::max(b.act_ready, act_ready);
  }
  for (Local& L : c.local) L.dirty = true;
  c.dirty = true;
}

void Engine::issue(unsigned channel, Cycle floor) {
  Channel& c = ch_[channel];
  if (c.dirty || c.cached.t < floor) {
    c.cached = choose(c, floor);
    c.dirty = false;
  }
  const Cand x = c.cached;
  if (x.cmd == Cmd::None) return;
  c.dirty = true;
  ++commands_;
  switch (x.cmd) {
    case Cmd::Act: do_act(c, x.bank, x.seq, x.t); break;
    case Cmd::Pre: do_pre(c, x.bank, x.seq, x.t); break;
    case Cmd::Rd: do_col(c, x.bank, x.seq, false, x.t); break;
    case Cmd::Wr: do_col(c, x.bank, x.seq, true, x.t); break;
    case Cmd::PreAll:
    case Cmd::Ref:
      do_refresh(c, x.rank, x.cmd, x.t);
      break;
    case Cmd::None: break;
  }
}

}  // namespace cosim::dram

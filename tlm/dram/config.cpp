#include "config.h"

#include <stdexcept>

namespace cosim::dram {
namespace {

bool pow2(std::uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

std::string num(std::uint64_t v) { return std::to_string(v); }

[[noreturn]] void fail(const std::string& msg) { throw std::invalid_argument(msg); }

void need_pow2(const char* name, std::uint64_t v, const char* unit = "") {
  if (!pow2(v))
    fail(std::string(name) + " = " + num(v) + unit +
         " must be a power of two (the address mapping slices it from address bits)");
}

// a >= b, both named: "tRC = 55 must be >= tRAS = 60 (why)".
void need_ge(const char* a, std::uint64_t av, const char* b, std::uint64_t bv, const char* why) {
  if (av < bv)
    fail(std::string(a) + " = " + num(av) + " cycles must be >= " + b + " = " + num(bv) + " (" + why + ")");
}

std::string preset_list() {
  std::string s;
  for (const auto& p : presets()) s += (s.empty() ? "" : ", ") + p.name;
  return s;
}

std::string preset_choices_doc() {
  std::string s;
  for (const auto& p : presets()) s += (s.empty() ? "" : "; ") + p.name + ": " + p.title;
  return s;
}

}  // namespace

const std::vector<TimingParam>& timing_params() {
  static const std::vector<TimingParam> v = {
      {"tCL", &Timing::cl, "read latency (RL)"},
      {"tCWL", &Timing::cwl, "write latency (WL)"},
      {"tRCD", &Timing::rcd, "ACT to RD/WR"},
      {"tRP", &Timing::rp, "PRE to ACT"},
      {"tRAS", &Timing::ras, "ACT to PRE"},
      {"tRC", &Timing::rc, "ACT to ACT in one bank (>= tRAS + tRP)"},
      {"tRTP", &Timing::rtp, "RD to PRE"},
      {"tWR", &Timing::wr, "write recovery (end of write data to PRE)"},
      {"tRRD_S", &Timing::rrd_s, "ACT to ACT, different bank group"},
      {"tRRD_L", &Timing::rrd_l, "ACT to ACT, same bank group (>= tRRD_S)"},
      {"tFAW", &Timing::faw, "four-activate window"},
      {"tCCD_S", &Timing::ccd_s, "column to column, different bank group"},
      {"tCCD_L", &Timing::ccd_l, "column to column, same bank group (>= tCCD_S)"},
      {"tWTR_S", &Timing::wtr_s, "write to read, different bank group"},
      {"tWTR_L", &Timing::wtr_l, "write to read, same bank group (>= tWTR_S)"},
      {"tRTRS", &Timing::rtrs, "rank-to-rank data-bus bubble"},
      {"tRFC", &Timing::rfc, "all-bank refresh cycle time (< tREFI)"},
  };
  return v;
}

std::vector<ParamSpec> param_specs() {
  const std::string jedec = "JESD79-4 (DDR4), JESD209-4 (LPDDR4), JESD235 (HBM2), JESD238 (HBM3)";
  std::vector<ParamSpec> s = {
      string_param("preset", "ddr4_2400", preset_names(), "device and speed grade: " + preset_choices_doc()),
      string_param("channel_mode", "preset", {"preset", "pseudo", "legacy"},
                   "HBM2 channel mode: 'pseudo' (two 64-bit pseudo channels per 128-bit channel, "
                   "preset hbm2) or 'legacy' (8 x 128-bit channels, 64 B bursts, preset "
                   "hbm2_legacy); 'preset' keeps the preset's mode",
                   "JESD235 legacy and pseudo-channel modes"),
      // Organisation (0: the preset's value).
      int_param("channels", 0, 0, 1024, "", "independent channels (0: preset; HBM: pseudo channels)"),
      int_param("ranks", 0, 0, 16, "", "ranks per channel (0: preset)"),
      int_param("bankgroups", 0, 0, 64, "", "bank groups per rank (0: preset; 1: no bank groups)"),
      int_param("banks_per_group", 0, 0, 64, "", "banks per bank group (0: preset)"),
      int_param("rows", 0, 0, std::int64_t(1) << 24, "", "rows per bank (0: preset)"),
      int_param("page_size", 0, 0, 1 << 20, "B",
                "row (page) size of a rank as the controller sees it: bytes one ACT opens (0: preset)",
                jedec),
      int_param("bus_width", 0, 0, 1024, "bit", "data-bus width of one channel (0: preset)"),
      int_param("burst_length", 0, 0, 64, "beats", "data beats per burst, BL (0: preset)"),
      int_param("beats_per_clock", 0, 0, 8, "",
                "data beats per command clock (2: DDR; 4: HBM3 with 0.625 ns tCK) (0: preset); a "
                "burst occupies the bus burst_length / beats_per_clock clocks"),
      time_param("tCK", 0, 0, 100'000, "command clock period (0: preset); timing parameters are counted in it"),
      // Controller.
      string_param("page_policy", "open", {"open", "closed", "adaptive"},
                   "open: rows stay open; closed: auto-precharge after every access; adaptive: "
                   "auto-precharge unless another queued request hits the row"),
      string_param("mapping", "", {},
                   "address mapping, most significant field first, fields ro ra bg ba co ch "
                   "(empty: preset default 'ro-ra-ba-co-bg-ch')"),
      bool_param("bank_xor", false,
                 "XOR bank and bank-group bits with low row bits (permutation-based "
                 "interleaving, Zhang et al. MICRO 2000)"),
      int_param("read_queue", 32, 1, 4096, "requests", "read queue depth per channel, in requests",
                "gem5 DRAM controller default (Hansson et al., ISPASS 2014)"),
      int_param("write_queue", 32, 1, 4096, "requests", "write queue depth per channel, in requests"),
      int_param("write_high", 0, 0, 4096, "requests",
                "start draining writes at this many queued (0: 3/4 of write_queue)"),
      int_param("write_low", 0, 0, 4096, "requests",
                "stop draining at this many when reads wait (0: 1/4 of write_queue)"),
      int_param("row_hit_cap", 16, 0, 1 << 20, "",
                "hits served from an open row before a waiting conflict may close it (0: no cap)"),
      bool_param("refresh", true, "issue all-bank refreshes every tREFI (false: same as refresh_policy 'none')"),
      string_param("refresh_policy", "staggered", {"staggered", "simultaneous", "none"},
                   "all-bank refresh every tREFI per rank: 'staggered' spreads the ranks' refreshes "
                   "over the interval, 'simultaneous' refreshes all ranks together, 'none' never"),
      bool_param("posted_writes", true, "answer writes when the controller accepts them"),
      time_param("frontend_latency", 0, 0, 1'000'000,
                 "controller latency before a request is schedulable (gem5 uses 10 ns)"),
      time_param("backend_latency", 0, 0, 1'000'000, "controller latency from data to response (gem5 uses 10 ns)"),
      time_param("bandwidth_window", 1'000'000, 1'000, 1'000'000'000'000ULL,
                 "window of the bandwidth-over-time series (bandwidth_series())"),
      // Per-command energies of a part that is not a preset (load_config() derives them
      // from the file's device currents); negative: the preset's entry.
      float_param("act_pj", -1.0, -1.0, 1e9, "pJ", "energy of one ACT with its PRE (negative: preset)",
                  "Micron TN-40-07 method"),
      float_param("rd_pj", -1.0, -1.0, 1e9, "pJ", "core energy of one read burst (negative: preset)"),
      float_param("wr_pj", -1.0, -1.0, 1e9, "pJ", "core energy of one write burst (negative: preset)"),
      float_param("ref_pj", -1.0, -1.0, 1e12, "pJ", "energy of one all-bank refresh of a rank (negative: preset)"),
  };
  for (const auto& tp : timing_params())
    s.push_back(int_param(tp.name, 0, 0, 1 << 20, "cycles", std::string(tp.doc) + " (0: preset value)", jedec));
  s.push_back(int_param("tREFI", 0, 0, std::int64_t(1) << 40, "cycles",
                        "average refresh interval (0: preset value)", jedec));
  return s;
}

const Preset& base_preset(const Params& p) {
  const std::string& name = p.get_string("preset");
  const Preset* pr = find_preset(name);
  if (pr == nullptr) fail("preset '" + name + "' is not one of " + preset_list());
  const std::string& mode = p.get_string("channel_mode");
  if (mode == "preset") return *pr;
  if (pr->sibling.empty())
    fail("channel_mode '" + mode + "' needs an HBM2 preset (hbm2 or hbm2_legacy), got preset '" + name + "'");
  if (mode == pr->channel_mode) return *pr;
  return *find_preset(pr->sibling);
}

Config make_config(const Params& p) {
  const Preset& pr = base_preset(p);
  Config c;
  c.preset = pr.name;
  c.org = pr.org;
  c.timing = pr.timing;
  Organization& o = c.org;
  Timing& t = c.timing;
  auto set = [&](const char* name, auto& field) {
    const std::uint64_t v = p.get_uint(name);
    if (v != 0) field = static_cast<std::remove_reference_t<decltype(field)>>(v);
  };
  set("channels", o.channels);
  set("ranks", o.ranks);
  set("bankgroups", o.bankgroups);
  set("banks_per_group", o.banks_per_group);
  set("rows", o.rows);
  const std::uint64_t page = o.row_bytes();
  if (const std::uint64_t bw = p.get_uint("bus_width"); bw != 0) {
    if (bw % 8 != 0) fail("bus_width = " + num(bw) + " bit must be a whole number of bytes (a multiple of 8)");
    o.bus_bytes = unsigned(bw / 8);
    need_pow2("bus_width", bw, " bit");
    o.columns = page / o.bus_bytes;  // the page keeps its size unless page_size says otherwise
  }
  if (const std::uint64_t ps = p.get_uint("page_size"); ps != 0) {
    need_pow2("page_size", ps, " B");
    if (ps < o.bus_bytes)
      fail("page_size = " + num(ps) + " B must be at least one bus width (" + num(o.bus_bytes) + " B)");
    o.columns = ps / o.bus_bytes;
  }
  const unsigned bpc = pr.org.burst_length / pr.timing.burst;  // preset's beats per clock
  unsigned beats = unsigned(p.get_uint("beats_per_clock"));
  if (beats == 0) beats = bpc;
  set("burst_length", o.burst_length);
  if (o.burst_length % beats != 0)
    fail("burst_length = " + num(o.burst_length) + " must be a multiple of beats_per_clock = " + num(beats) +
         " (a burst occupies whole clocks)");
  t.burst = o.burst_length / beats;
  set("tCK", t.tck_ps);
  for (const auto& tp : timing_params()) set(tp.name, t.*tp.member);
  set("tREFI", t.refi);
  c.page = page_policy(p.get_string("page_policy"));
  c.mapping = p.get_string("mapping").empty() ? pr.default_mapping : p.get_string("mapping");
  c.bank_xor = p.get_bool("bank_xor");
  c.read_queue = unsigned(p.get_uint("read_queue"));
  c.write_queue = unsigned(p.get_uint("write_queue"));
  c.write_high = p.get_uint("write_high") != 0 ? unsigned(p.get_uint("write_high")) : (c.write_queue * 3 + 3) / 4;
  c.write_low = p.get_uint("write_low") != 0 ? unsigned(p.get_uint("write_low")) : c.write_queue / 4;
  c.row_hit_cap = unsigned(p.get_uint("row_hit_cap"));
  const std::string& rp = p.get_string("refresh_policy");
  c.refresh = p.get_bool("refresh") && rp != "none";
  c.refresh_staggered = rp != "simultaneous";
  check_config(c);
  return c;
}

void check_config(const Config& c) {
  const Organization& o = c.org;
  const Timing& t = c.timing;
  if (t.tck_ps == 0) fail("tCK must be > 0 ps");
  need_pow2("channels", o.channels);
  need_pow2("ranks", o.ranks);
  if (o.ranks > 16) fail("ranks = " + num(o.ranks) + " must be at most 16");
  need_pow2("bankgroups", o.bankgroups);
  need_pow2("banks_per_group", o.banks_per_group);
  need_pow2("rows", o.rows);
  need_pow2("page_size", o.row_bytes(), " B");
  need_pow2("burst_length", o.burst_length);
  if (o.bus_bytes == 0) fail("bus_width must be >= 8 bit");
  need_pow2("bus_width", std::uint64_t(o.bus_bytes) * 8, " bit");
  if (o.columns < o.burst_length)
    fail("page_size = " + num(o.row_bytes()) + " B must hold at least one burst (bus_width x burst_length = " +
         num(o.burst_bytes()) + " B)");
  if (t.burst == 0) fail("a burst must occupy at least one clock (burst_length >= beats_per_clock)");
  for (const char* name : {"tCL", "tRCD", "tRP", "tRAS", "tCCD_S", "tRRD_S"})
    for (const auto& tp : timing_params())
      if (std::string(tp.name) == name && t.*tp.member == 0) fail(std::string(name) + " must be >= 1 cycle");
  // JESD79-4 / JESD209-4 / JESD235: tRC = tRAS + tRP (a bank is activated, held open for
  // tRAS, precharged for tRP); the _L (same bank group) spacings are never shorter than
  // the _S ones.
  if (t.rc < t.ras + t.rp)
    fail("tRC = " + num(t.rc) + " cycles must be >= tRAS + tRP = " + num(t.ras) + " + " + num(t.rp) + " = " +
         num(t.ras + t.rp) + " (a bank is open tRAS, then precharges tRP)");
  need_ge("tRAS", t.ras, "tRCD", t.rcd, "a row stays open at least until it can be read");
  need_ge("tRRD_L", t.rrd_l, "tRRD_S", t.rrd_s, "same-bank-group spacing is never shorter");
  need_ge("tCCD_L", t.ccd_l, "tCCD_S", t.ccd_s, "same-bank-group spacing is never shorter");
  need_ge("tWTR_L", t.wtr_l, "tWTR_S", t.wtr_s, "same-bank-group spacing is never shorter");
  if (c.refresh && (t.refi == 0 || t.rfc == 0 || t.rfc >= t.refi))
    fail("refresh needs 0 < tRFC < tREFI, got tRFC = " + num(t.rfc) + ", tREFI = " + num(t.refi) +
         " cycles (or refresh_policy 'none')");
  if (c.read_queue == 0) fail("read_queue must be >= 1 request");
  if (c.write_queue == 0) fail("write_queue must be >= 1 request");
  if (c.write_low > c.write_high || c.write_high > c.write_queue)
    fail("need write_low <= write_high <= write_queue, got " + num(c.write_low) + ", " + num(c.write_high) +
         ", " + num(c.write_queue));
  // Every size is a power of two here: add exponents, so the product cannot overflow.
  unsigned total = 0;
  for (std::uint64_t v : {std::uint64_t(o.channels), std::uint64_t(o.ranks), std::uint64_t(o.banks()), o.rows,
                          o.row_bytes()}) {
    unsigned b = 0;
    while ((std::uint64_t(1) << b) < v) ++b;
    total += b;
  }
  if (total > 46)
    fail("capacity (channels x ranks x bankgroups x banks_per_group x rows x page_size = 2^" + num(total) +
         " B) must be at most 64 TiB = 2^46 B");
}

}  // namespace cosim::dram

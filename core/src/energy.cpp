// The energy table, events and technology scaling (cosim/energy.h is the model-side API;
// the Python bindings are in energy_py.cpp, the Python view in cosim/energy.py).
#include "cosim/energy.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace cosim {

const char* energy_scaling_name(EnergyScaling s) {
  return s == EnergyScaling::Logic ? "logic" : "fixed";
}

namespace {

// Default per-operation energies (docs/energy.md lists them with their sources).
// Horowitz's figures are for a 45 nm process at 0.9 V.
const char* kHorowitz =
    "M. Horowitz, 'Computing's energy problem (and what we can do about it)', ISSCC 2014, "
    "45 nm figures (as used by Sze et al. and EIE)";

std::vector<EnergyEntry> default_entries() {
  const auto L = EnergyScaling::Logic;
  const auto F = EnergyScaling::Fixed;
  return {
      {"int8_add", 0.03, "op", 45, L, kHorowitz, "8-bit integer add"},
      {"int32_add", 0.1, "op", 45, L, kHorowitz, "32-bit integer add"},
      {"int8_mult", 0.2, "op", 45, L, kHorowitz, "8-bit integer multiply"},
      {"int32_mult", 3.1, "op", 45, L, kHorowitz, "32-bit integer multiply"},
      {"fp16_add", 0.4, "op", 45, L, kHorowitz, "16-bit floating-point add"},
      {"fp16_mult", 1.1, "op", 45, L, kHorowitz, "16-bit floating-point multiply"},
      {"fp32_add", 0.9, "op", 45, L, kHorowitz, "32-bit floating-point add"},
      {"fp32_mult", 3.7, "op", 45, L, kHorowitz, "32-bit floating-point multiply"},
      {"sram_read_32b_8kb", 5.0, "32-bit word", 45, L, kHorowitz,
       "read (or write) of one 32-bit word from an 8 KB SRAM"},
      {"dram_read_32b", 640.0, "32-bit word", 45, F, kHorowitz,
       "one 32-bit DRAM access, for memories modelled without the dram timing model"},
      {"cpu_instruction", 70.0, "instruction", 45, L,
       std::string(kHorowitz) +
           ": a 32-bit add instruction on a 45 nm in-order core costs ~70 pJ, of which the "
           "add itself is 0.1 pJ (fetch, decode, register file, control)",
       "overhead of executing one instruction on a general-purpose core"},
      {"hbm2_interface_bit", 3.9, "bit", 0, F,
       "O'Connor et al., 'Fine-Grained DRAM: Energy-Efficient DRAM for Extreme Bandwidth "
       "Systems', MICRO 2017: about 3.9 pJ/bit for HBM2",
       "moving one bit between an HBM2 stack and its host"},
      {"soc_fabric_bit", 0.5, "bit", 45, L,
       "assumption: about 5 mm of on-chip wire between the memory interface and the cores at "
       "~0.1 pJ/bit/mm (full-swing repeated wires at 45 nm; low-swing links reach 0.04 "
       "pJ/bit/mm: Park et al., '40.4fJ/bit/mm low-swing on-chip signaling...', DATE 2013)",
       "moving one bit over the SoC fabric between the memory interface and the cores "
       "(charged by a fabric built with bit_energy='soc_fabric_bit')"},
      {"ddr4_interface_bit", 15.0, "bit", 0, F,
       "DDR4 access energy as commonly cited, 15-20 pJ/bit (interface and array); the lower "
       "end is the row-hit (streaming) figure, the rest comes from activations",
       "moving one bit between a DDR4 DIMM and its host"},
  };
}

// Stillmaker & Baas 2017: energy of a node as a quadratic in the supply voltage,
// E(V) = a V^2 + b V + c (arbitrary common unit), fitted per node.
struct NodeFit {
  double nm, a, b, c, vdd_nominal;
};
// Nominal supplies: the predictive models the fits are based on (PTM bulk for 130-32 nm,
// PTM multi-gate for 20-7 nm).
const NodeFit kNodeFits[] = {
    {130, 7.171, -6.709, 2.904, 1.3},      {90, 4.762, -4.781, 2.092, 1.2},
    {65, 3.755, -4.398, 1.975, 1.1},       {45, 1.103, -0.362, 0.2767, 1.0},
    {32, 0.9559, -0.7823, 0.471, 0.9},     {20, 0.373, -0.1582, 0.04104, 0.9},
    {16, 0.2958, -0.1241, 0.03024, 0.85},  {14, 0.2363, -0.09675, 0.02239, 0.8},
    {10, 0.2068, -0.09311, 0.02375, 0.75}, {7, 0.1776, -0.09097, 0.02447, 0.7},
};

const NodeFit* node_fit(double nm) {
  for (const auto& f : kNodeFits)
    if (std::fabs(f.nm - nm) < 1e-9) return &f;
  return nullptr;
}

std::string node_list() {
  std::string s;
  for (const auto& f : kNodeFits) s += (s.empty() ? "" : ", ") + std::to_string(int(f.nm));
  return s + " nm";
}

double fit_energy(const NodeFit& f, double v) { return f.a * v * v + f.b * v + f.c; }

bool same_entry(const EnergyEntry& a, const EnergyEntry& b) {
  return a.pj == b.pj && a.unit == b.unit && a.node_nm == b.node_nm && a.scaling == b.scaling;
}

}  // namespace

EnergyEvent::EnergyEvent(std::string component, std::string kind, const EnergyEntry* entry,
                         Counter& count, Value& energy)
    : component_(std::move(component)),
      kind_(std::move(kind)),
      entry_(entry),
      count_(count),
      energy_(energy) {}

EnergyTable& EnergyTable::instance() {
  // Leaked on purpose, like the stats registry: models keep references until exit.
  static auto* t = new EnergyTable();
  return *t;
}

EnergyTable::EnergyTable() {
  for (const auto& e : default_entries()) define(e);
}

void EnergyTable::define(const EnergyEntry& e) {
  if (e.key.empty()) throw std::invalid_argument("an energy entry needs a non-empty key");
  if (!(e.pj >= 0.0) || !std::isfinite(e.pj))
    throw std::invalid_argument("energy entry '" + e.key + "': energy must be a finite value >= 0 pJ");
  if (e.scaling == EnergyScaling::Logic && node_fit(e.node_nm) == nullptr)
    throw std::invalid_argument("energy entry '" + e.key + "': reference node " +
                                std::to_string(e.node_nm) +
                                " nm is not one the scaling fits cover (" + node_list() +
                                "); mark it EnergyScaling::Fixed or use a covered node");
  auto it = entries_.find(e.key);
  if (it != entries_.end()) {
    if (!same_entry(*it->second, e))
      throw std::logic_error("energy entry '" + e.key + "' is defined twice with different figures");
    return;
  }
  entries_.emplace(e.key, std::make_unique<EnergyEntry>(e));
}

const EnergyEntry* EnergyTable::find(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : it->second.get();
}

const EnergyEntry& EnergyTable::entry(const std::string& key) const {
  if (const EnergyEntry* e = find(key)) return *e;
  // Name the keys sharing the longest prefix, so a typo is easy to spot.
  std::size_t best = 0;
  std::vector<std::string> close;
  for (const auto& [k, v] : entries_) {
    std::size_t n = 0;
    while (n < k.size() && n < key.size() && k[n] == key[n]) ++n;
    if (n > best) {
      best = n;
      close.clear();
    }
    if (n == best && n > 0) close.push_back(k);
  }
  std::string hint;
  for (std::size_t i = 0; i < close.size() && i < 6; ++i) hint += (i ? ", " : "") + close[i];
  throw std::invalid_argument("unknown energy entry '" + key + "'" +
                              (hint.empty() ? "" : "; similar: " + hint) +
                              " (cosim.energy_table() lists all)");
}

std::vector<const EnergyEntry*> EnergyTable::entries() const {
  std::vector<const EnergyEntry*> out;
  for (const auto& [k, v] : entries_) out.push_back(v.get());
  return out;
}

double EnergyTable::reference_pj(const std::string& key) const {
  const EnergyEntry& e = entry(key);
  auto it = overrides_.find(key);
  return it != overrides_.end() ? it->second : e.pj;
}

double EnergyTable::pj(const std::string& key) const {
  return reference_pj(key) * scale_factor(entry(key));
}

bool EnergyTable::overridden(const std::string& key) const {
  entry(key);
  return overrides_.count(key) != 0;
}

void EnergyTable::set(const std::string& key, double pj) {
  entry(key);
  if (!(pj >= 0.0) || !std::isfinite(pj))
    throw std::invalid_argument("energy entry '" + key + "': energy must be a finite value >= 0 pJ, got " +
                                std::to_string(pj));
  overrides_[key] = pj;
  refresh();
}

void EnergyTable::reset(const std::string& key) {
  entry(key);
  overrides_.erase(key);
  refresh();
}

void EnergyTable::reset_all() {
  overrides_.clear();
  refresh();
}

std::vector<double> EnergyTable::scaling_nodes() {
  std::vector<double> out;
  for (const auto& f : kNodeFits) out.push_back(f.nm);
  return out;
}

double EnergyTable::nominal_vdd(double node_nm) {
  const NodeFit* f = node_fit(node_nm);
  if (f == nullptr)
    throw std::invalid_argument("technology node " + std::to_string(node_nm) +
                                " nm is not covered by the energy scaling fits (" + node_list() + ")");
  return f->vdd_nominal;
}

void EnergyTable::set_node(double node_nm, double vdd) {
  const double nominal = nominal_vdd(node_nm);
  if (vdd <= 0.0) vdd = nominal;
  if (vdd < 0.3 || vdd > 2.0)
    throw std::invalid_argument("supply voltage " + std::to_string(vdd) +
                                " V is outside the range the scaling fits are meant for (0.3 .. 2 V)");
  node_nm_ = node_nm;
  vdd_ = vdd;
  refresh();
}

double EnergyTable::scale_factor(const EnergyEntry& e) const {
  if (e.scaling == EnergyScaling::Fixed) return 1.0;
  const NodeFit* from = node_fit(e.node_nm);
  const NodeFit* to = node_fit(node_nm_);
  return fit_energy(*to, vdd_) / fit_energy(*from, from->vdd_nominal);
}

EnergyEvent& EnergyTable::event(const std::string& component, const std::string& kind,
                                const std::string& key, const std::string& desc) {
  if (component.empty() || kind.empty())
    throw std::invalid_argument("an energy event needs a component and a kind");
  const EnergyEntry& e = entry(key);
  const std::string id = component + '\x1f' + kind;
  auto it = event_index_.find(id);
  if (it != event_index_.end()) {
    if (it->second->entry().key != key)
      throw std::logic_error("energy event '" + kind + "' of '" + component + "' charges '" +
                             it->second->entry().key + "', not '" + key + "'");
    return *it->second;
  }
  Counter& c = stats().counter(component + ".energy_events." + kind,
                               desc + " [" + e.unit + ", energy entry " + key + "]", e.unit);
  Value& v = stats().value(component + ".energy_pj." + kind,
                           "energy of " + desc + " [entry " + key + "]", "pJ");
  auto ev = std::make_unique<EnergyEvent>(component, kind, &e, c, v);
  ev->set_pj(pj(key));
  EnergyEvent& ref = *ev;
  events_.push_back(std::move(ev));
  event_index_.emplace(id, &ref);
  return ref;
}

std::vector<const EnergyEvent*> EnergyTable::events() const {
  std::vector<const EnergyEvent*> out;
  for (const auto& e : events_) out.push_back(e.get());
  return out;
}

double EnergyTable::total_pj() const {
  double sum = 0.0;
  for (const auto& e : events_) sum += e->energy_pj();
  return sum;
}

void EnergyTable::refresh() {
  for (auto& e : events_) e->set_pj(pj(e->entry().key));
}

EnergyEvent& energy_event(const std::string& component, const std::string& kind,
                          const std::string& key, const std::string& desc) {
  return EnergyTable::instance().event(component, kind, key, desc);
}

RegisterEnergy::RegisterEnergy(std::initializer_list<EnergyEntry> entries) {
  for (const auto& e : entries) EnergyTable::instance().define(e);
}

}  // namespace cosim

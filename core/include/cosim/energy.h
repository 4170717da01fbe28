// Energy accounting shared by every cosim model.
//
// Energy = event counts x per-event energies. The per-event energies live in ONE named,
// overridable table (EnergyTable): each entry has a key ("fp32_mult",
// "dram.ddr4_2400.act"), an energy per unit at a reference technology node, the unit one
// count stands for ("op", "bit", "32-bit word", "command"), how it scales with the node,
// and the source of the figure. Models only count; they never hard-code picojoules.
//
// Using it from a model (C++):
//
//   // 1. Once per program, declare the entries the model charges (static registration;
//   //    entries that already exist, such as the Horowitz 45 nm defaults, need nothing):
//   static const cosim::RegisterEnergy reg_energy({
//       {"mac_array.mac_int8", 0.23, "op", 45, cosim::EnergyScaling::Logic,
//        "Horowitz ISSCC 2014: 8b mult 0.2 pJ + 8b add 0.03 pJ", "one int8 multiply-accumulate"},
//   });
//
//   // 2. In the constructor, one EnergyEvent per (component, event kind):
//   EnergyEvent& macs_ = cosim::energy_event(name(), "mac", "mac_array.mac_int8",
//                                            "multiply-accumulates");
//
//   // 3. On the hot path, count (a counter increment and a multiply; no lookup):
//   macs_.add(n);
//
// Each event appears in the stats tree as two stats under the component:
//   <component>.energy_events.<kind>   Counter, in the entry's unit
//   <component>.energy_pj.<kind>       Value, pJ = count x current energy per unit
// so a run's energy breakdown by component and event kind travels with its stats
// (cosim.energy.breakdown() reads it back, also from a SimResult in another process).
//
// Overrides (EnergyTable::set) and the technology node (set_node) may change at any time,
// before or after a run: every event's pJ value is recomputed at once, so the reported
// energy always equals counts x the current table.
//
// Technology scaling: entries marked EnergyScaling::Logic (CMOS logic and on-chip SRAM)
// are scaled from their reference node to the target node with the energy fits of
// Stillmaker & Baas, "Scaling equations for the accurate prediction of CMOS device
// performance from 180 nm to 7 nm", Integration 58 (2017). EnergyScaling::Fixed entries
// (DRAM devices, off-chip interfaces) do not depend on the accelerator's node.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cosim/stats.h"

namespace cosim {

enum class EnergyScaling { Logic, Fixed };
const char* energy_scaling_name(EnergyScaling s);

struct EnergyEntry {
  std::string key;          // "fp32_mult", "dram.ddr4_2400.act"
  double pj = 0.0;          // energy per unit, at node_nm
  std::string unit;         // what one count is: "op", "bit", "32-bit word", "command"
  double node_nm = 45.0;    // technology node of the figure (Logic entries only)
  EnergyScaling scaling = EnergyScaling::Logic;
  std::string source;       // citation
  std::string doc;          // what the event is
};

// One (component, event kind) pair: counts events and keeps the stats
// <component>.energy_events.<kind> and <component>.energy_pj.<kind> up to date.
class EnergyEvent {
 public:
  EnergyEvent(std::string component, std::string kind, const EnergyEntry* entry, Counter& count,
              Value& energy);
  void add(std::uint64_t n = 1) {
    count_.inc(n);
    energy_.set(static_cast<double>(count_.value()) * pj_);
  }
  std::uint64_t count() const { return count_.value(); }
  double energy_pj() const { return static_cast<double>(count_.value()) * pj_; }
  double pj_per_unit() const { return pj_; }
  const std::string& component() const { return component_; }
  const std::string& kind() const { return kind_; }
  const EnergyEntry& entry() const { return *entry_; }

 private:
  friend class EnergyTable;
  void set_pj(double pj) {
    pj_ = pj;
    energy_.set(static_cast<double>(count_.value()) * pj_);
  }
  std::string component_, kind_;
  const EnergyEntry* entry_;
  Counter& count_;
  Value& energy_;
  double pj_ = 0.0;
};

class EnergyTable {
 public:
  static EnergyTable& instance();

  // Register a default entry. Registering a key again with the same figures is a no-op;
  // with different figures it throws std::logic_error (two models disagree on a default).
  // Throws std::invalid_argument for an empty key, a negative energy or a reference node
  // scaling does not cover.
  void define(const EnergyEntry& e);
  const EnergyEntry* find(const std::string& key) const;
  // The entry or std::invalid_argument naming the key and the closest known keys.
  const EnergyEntry& entry(const std::string& key) const;
  std::vector<const EnergyEntry*> entries() const;  // sorted by key

  // Energy per unit the simulation uses: the override (or the default) at the entry's
  // reference node, times the node scale factor.
  double pj(const std::string& key) const;
  // The override (or the default) before node scaling.
  double reference_pj(const std::string& key) const;
  bool overridden(const std::string& key) const;
  // Override an entry's reference-node energy (pJ per unit, >= 0).
  void set(const std::string& key, double pj);
  void reset(const std::string& key);
  void reset_all();

  // Target technology node for Logic entries; vdd <= 0 takes the node's nominal supply.
  // Throws std::invalid_argument for a node outside the fitted set (see scaling_nodes()).
  void set_node(double node_nm, double vdd = 0.0);
  double node_nm() const { return node_nm_; }
  double vdd() const { return vdd_; }
  // Factor applied to `e` at the current target node (1 for Fixed entries).
  double scale_factor(const EnergyEntry& e) const;
  static std::vector<double> scaling_nodes();
  static double nominal_vdd(double node_nm);

  // The event (component, kind) charging entry `key`; created on first use. Asking again
  // with the same key returns the same event; with another key throws std::logic_error.
  EnergyEvent& event(const std::string& component, const std::string& kind,
                     const std::string& key, const std::string& desc);
  std::vector<const EnergyEvent*> events() const;
  // Sum of all events' energy (pJ).
  double total_pj() const;

 private:
  EnergyTable();
  void refresh();
  std::map<std::string, std::unique_ptr<EnergyEntry>> entries_;
  std::map<std::string, double> overrides_;
  std::vector<std::unique_ptr<EnergyEvent>> events_;
  std::map<std::string, EnergyEvent*> event_index_;  // "component\x1fkind"
  double node_nm_ = 45.0;
  double vdd_ = 1.0;
};

inline EnergyTable& energy_table() { return EnergyTable::instance(); }

// Shorthand for EnergyTable::instance().event(...): use in model constructors with the
// model's hierarchical name as `component`.
EnergyEvent& energy_event(const std::string& component, const std::string& kind,
                          const std::string& key, const std::string& desc);

// Static registration of a model's default entries (see the example at the top).
struct RegisterEnergy {
  RegisterEnergy(std::initializer_list<EnergyEntry> entries);
};

}  // namespace cosim

// riscv_cpu: an RV64GC core that runs a compiled program (an ELF) on the Unicorn engine,
// as a TLM-2.0 loosely-timed initiator. Why RV64GC, the memory map, the timing model and
// how to write a driver: docs/riscv-host.md.
//
// Memory: the core's local RAM (code, data, stack) is host memory mapped into the engine;
// so is every bus region whose target grants DMI. Any other load/store is one
// b_transport on 'bus', or goes through an optional data cache for cacheable regions. A
// small board window (console, exit, interrupt controller, counters, signal, cache
// flush) is decoded inside the model.
// Time: instructions x cpi core cycles (charged per basic block as it starts; a bus
// access is placed at its own instruction) plus the latency each bus transaction
// annotates plus access_cycles per bus transaction. The core
// runs ahead of the kernel by at most `quantum` (temporal decoupling, IEEE 1666-2011 16.2)
// and synchronises there, at every wfi and at exit.
// Interrupts: lines latch into IRQ_PENDING; (PENDING & ENABLE) != 0 raises the machine
// external interrupt (mcause 11, RISC-V privileged spec v1.12, table 3.6), taken as the
// spec's trap entry (3.1.6.1 mstatus.MPIE/MIE/MPP, 3.1.14 mepc, 3.1.7 mtvec modes).
#include <elf.h>
#include <unicorn/unicorn.h>

#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <tlm_utils/simple_initiator_socket.h>
#include <unordered_map>

#include "cosim/energy.h"
#include "cosim/model.h"
#include "cosim/python.h"
#include "cosim/trace.h"

namespace cosim {
namespace {

// Encodings (RISC-V unprivileged ISA manual v20191213 ch. 24; privileged spec 3.3.3).
constexpr std::uint32_t kWfi = 0x10500073;
constexpr std::uint64_t kNever = ~std::uint64_t(0);
constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kMstatusMie = 1u << 3, kMstatusMpie = 1u << 7, kMstatusMpp = 3u << 11;
constexpr std::uint64_t kMieMeie = 1u << 11;
constexpr std::uint64_t kCauseMachineExternal = (std::uint64_t(1) << 63) | 11;

// The board window: registers decoded by the core itself.
struct BoardReg {
  const char* name;
  std::uint32_t offset;
  const char* doc;
};
constexpr BoardReg kBoardRegs[] = {
    {"CONSOLE", 0x00, "write: one character to the console (a line is printed at its newline)"},
    {"EXIT", 0x08, "write: end the run with this exit code"},
    {"IRQ_PENDING", 0x10, "read: latched interrupt lines; write: clear the lines whose bits are 1"},
    {"IRQ_ENABLE", 0x18, "read/write: lines that raise the machine external interrupt"},
    {"CYCLES", 0x20, "read, 64-bit: core cycles of simulated time (the core's local time)"},
    {"INSTRET", 0x28, "read, 64-bit: instructions executed"},
    {"SIGNAL", 0x30, "write: synchronise, then notify the core's 'signal' event with this value"},
    {"CACHE_FLUSH", 0x38, "write: write back the data cache's dirty lines and invalidate it"},
};
constexpr std::uint64_t kBoardWindow = 0x1000;
enum BoardOffset : std::uint64_t { kConsole = 0x00, kExit = 0x08, kPending = 0x10, kEnable = 0x18, kCycles = 0x20, kInstret = 0x28, kSignal = 0x30, kCacheFlush = 0x38 };

std::string trap_name(std::uint32_t cause) {
  switch (cause) {
    case 0: return "instruction address misaligned";
    case 1: return "instruction access fault";
    case 2: return "illegal instruction";
    case 3: return "breakpoint (ebreak)";
    case 4: return "load address misaligned";
    case 5: return "load access fault";
    case 6: return "store address misaligned";
    case 7: return "store access fault";
    case 8: case 9: case 11: return "environment call (ecall; the board has no system calls)";
    case 12: return "instruction page fault";
    case 13: return "load page fault";
    case 15: return "store page fault";
  }
  return "exception " + std::to_string(cause);
}

// Where a bus access is: its pc and how many instructions of its block follow it.
struct Access {
  std::uint64_t pc;
  std::uint32_t after;
};

struct Segment {
  std::uint64_t addr;
  std::vector<unsigned char> bytes;  // file image, zero-extended to memsz
};
struct Symbol {
  std::uint64_t addr, size;
  std::string name;
  bool typed;  // STT_FUNC or STT_OBJECT
};
struct Region {
  std::uint64_t base, size;
  std::string name;
  bool cacheable = false;
  std::uint64_t dmi_lo = 0, dmi_hi = 0;  // the part mapped as host memory (DMI)
};

class RiscvCpu : public Model {
 public:
  SC_HAS_PROCESS(RiscvCpu);
  RiscvCpu(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "riscv_cpu", p),
        bus_("bus"),
        clock_hz_(p.get_float("clock_hz")),
        cycle_ps_(1e12 / clock_hz_),
        instr_ps_(p.get_float("cpi") * cycle_ps_),
        access_ps_(p.get_float("access_cycles") * cycle_ps_),
        irq_ps_(p.get_float("irq_cycles") * cycle_ps_),
        quantum_ps_(double(p.get_time_ps("quantum"))),
        ram_base_(p.get_uint("ram_base")),
        ram_size_(p.get_uint("ram_size")),
        board_base_(p.get_uint("board_base")),
        echo_(p.get_bool("echo")),
        dcache_bytes_(p.get_uint("dcache_bytes")),
        line_bytes_(p.get_uint("dcache_line")),
        ways_(p.get_uint("dcache_ways")),
        instructions_(counter("instructions", "instructions executed")),
        mmio_reads_(counter("mmio_reads", "loads that went to the bus (uncached)")),
        mmio_writes_(counter("mmio_writes", "stores that went to the bus (uncached)")),
        irqs_(counter("irqs", "interrupts taken")),
        wfi_time_(counter("wfi_time", "time spent waiting in wfi", "ps")),
        syncs_(counter("syncs", "synchronisations with the kernel (quantum, wfi, exit)")),
        dcache_hits_(counter("dcache_hits", "data cache hits (cacheable bus regions)")),
        dcache_misses_(counter("dcache_misses", "data cache misses (a line fill each)")),
        dcache_writebacks_(counter("dcache_writebacks", "dirty lines written back")),
        e_instr_(energy_event(this->name(), "instruction", "cpu_instruction", "instructions executed")) {
    if (ram_base_ % kPage || ram_size_ % kPage || board_base_ % kPage)
      throw std::invalid_argument("riscv_cpu '" + std::string(this->name()) +
                                  "': ram_base, ram_size and board_base must be multiples of 4 KiB");
    if (overlaps(ram_base_, ram_size_, board_base_, kBoardWindow))
      throw std::invalid_argument("riscv_cpu '" + std::string(this->name()) + "': the board window at " +
                                  hex(board_base_) + " overlaps the local RAM");
    if (dcache_bytes_ > 0) {
      if (line_bytes_ < 8 || (line_bytes_ & (line_bytes_ - 1)) != 0 || dcache_bytes_ % (line_bytes_ * ways_) != 0)
        throw std::invalid_argument("riscv_cpu '" + std::string(this->name()) +
                                    "': dcache_line must be a power of two >= 8 and dcache_bytes a multiple of "
                                    "dcache_line x dcache_ways");
      sets_ = dcache_bytes_ / (line_bytes_ * ways_);
      lines_.resize(sets_ * ways_);
      for (auto& l : lines_) l.data.assign(line_bytes_, 0);
    }
    ram_.assign(ram_size_, 0);
    const uc_err e = uc_open(UC_ARCH_RISCV, UC_MODE_RISCV64, &uc_);
    if (e != UC_ERR_OK) throw std::runtime_error(std::string("riscv_cpu: cannot start the Unicorn engine: ") + uc_strerror(e));
    uc_ctl_set_cpu_model(uc_, UC_CPU_RISCV64_SIFIVE_U54);  // RV64GC with M/S/U modes
    expose_initiator("bus", bus_);
    expose_event("exit", exit_event_);
    expose_event("signal", signal_event_);
    bus_.register_invalidate_direct_mem_ptr(this, &RiscvCpu::invalidate_dmi);
    track_ = tracer().track(this->name());
    SC_THREAD(run);
    set_stack_size(16u << 20);  // the engine's translator and Python targets run on it
  }
  ~RiscvCpu() override {
    if (uc_ != nullptr) uc_close(uc_);
  }

  // ---------------------------------------------------------------- configuration
  void map_bus(std::uint64_t base, std::uint64_t size, const std::string& name, bool cacheable) {
    if (size == 0) throw std::invalid_argument("map_bus: region '" + name + "' has size 0");
    if (overlaps(base, size, ram_base_, ram_size_) || overlaps(base, size, board_base_, kBoardWindow))
      throw std::invalid_argument("map_bus: region '" + name + "' [" + hex(base) + ", " + hex(base + size - 1) +
                                  "] overlaps the core's local RAM or board window");
    for (const auto& r : regions_)
      if (overlaps(base, size, r.base, r.size))
        throw std::invalid_argument("map_bus: region '" + name + "' overlaps region '" + r.name + "'");
    regions_.push_back({base, size, name, cacheable && dcache_bytes_ > 0, 0, 0});
  }

  // Read and check an ELF now (wrong file, wrong architecture, segments outside memory
  // are errors before the run); it is loaded when the simulation starts.
  void load(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::invalid_argument("cannot read program '" + path + "'");
    std::vector<unsigned char> img((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const std::string what = "program '" + path + "'";
    if (img.size() < EI_NIDENT || std::memcmp(img.data(), ELFMAG, SELFMAG) != 0)
      throw std::invalid_argument(what + " is not an ELF file");
    if (img[EI_CLASS] != ELFCLASS64)
      throw std::invalid_argument(what + " is a 32-bit ELF; this core runs RV64GC programs (build with -march=rv64gc -mabi=lp64d)");
    if (img.size() < sizeof(Elf64_Ehdr)) throw std::invalid_argument(what + " is truncated");
    Elf64_Ehdr eh;
    std::memcpy(&eh, img.data(), sizeof eh);
    if (eh.e_machine != EM_RISCV)
      throw std::invalid_argument(what + " is for ELF machine " + std::to_string(eh.e_machine) + " (" + machine_name(eh.e_machine) +
                                  "), not RISC-V (243); build it with riscv64-unknown-elf-gcc -march=rv64gc -mabi=lp64d");
    if (img[EI_DATA] != ELFDATA2LSB) throw std::invalid_argument(what + " is big-endian; RISC-V is little-endian");
    if (eh.e_type != ET_EXEC) throw std::invalid_argument(what + " is not an executable (ELF type " + std::to_string(eh.e_type) + ")");
    auto in_file = [&](std::uint64_t off, std::uint64_t n) { return off <= img.size() && n <= img.size() - off; };
    std::vector<Segment> segs;
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
      const std::uint64_t off = eh.e_phoff + std::uint64_t(i) * eh.e_phentsize;
      if (!in_file(off, sizeof(Elf64_Phdr))) throw std::invalid_argument(what + " is truncated (program headers)");
      Elf64_Phdr ph;
      std::memcpy(&ph, img.data() + off, sizeof ph);
      if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
      if (!in_file(ph.p_offset, ph.p_filesz) || ph.p_filesz > ph.p_memsz) throw std::invalid_argument(what + " is truncated (segment data)");
      if (!inside(ph.p_paddr, ph.p_memsz))
        throw std::invalid_argument(what + ": segment [" + hex(ph.p_paddr) + ", " + hex(ph.p_paddr + ph.p_memsz - 1) +
                                    "] is outside the core's RAM [" + hex(ram_base_) + ", " + hex(ram_base_ + ram_size_ - 1) +
                                    "] and the bus regions; link it for this board (its generated memory.ld)");
      Segment s{ph.p_paddr, std::vector<unsigned char>(ph.p_memsz, 0)};
      std::memcpy(s.bytes.data(), img.data() + ph.p_offset, ph.p_filesz);
      segs.push_back(std::move(s));
    }
    if (segs.empty()) throw std::invalid_argument(what + " has no loadable segment");
    if (!in_ram(eh.e_entry, 2)) throw std::invalid_argument(what + ": entry point " + hex(eh.e_entry) + " is not in the core's RAM");
    std::vector<Symbol> syms;
    for (unsigned i = 0; i < eh.e_shnum; ++i) {
      const std::uint64_t off = eh.e_shoff + std::uint64_t(i) * eh.e_shentsize;
      if (!in_file(off, sizeof(Elf64_Shdr))) break;
      Elf64_Shdr sh;
      std::memcpy(&sh, img.data() + off, sizeof sh);
      if (sh.sh_type != SHT_SYMTAB || sh.sh_link >= eh.e_shnum) continue;
      Elf64_Shdr strh;
      std::memcpy(&strh, img.data() + eh.e_shoff + std::uint64_t(sh.sh_link) * eh.e_shentsize, sizeof strh);
      if (!in_file(sh.sh_offset, sh.sh_size) || !in_file(strh.sh_offset, strh.sh_size)) break;
      for (std::uint64_t k = 0; k + sizeof(Elf64_Sym) <= sh.sh_size; k += sizeof(Elf64_Sym)) {
        Elf64_Sym sym;
        std::memcpy(&sym, img.data() + sh.sh_offset + k, sizeof sym);
        const int type = ELF64_ST_TYPE(sym.st_info);
        if ((type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) || sym.st_name == 0 || sym.st_name >= strh.sh_size ||
            sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS)
          continue;
        const char* nm = reinterpret_cast<const char*>(img.data() + strh.sh_offset + sym.st_name);
        if (nm[0] == '$' || nm[0] == '.') continue;  // mapping symbols, local labels
        syms.push_back({sym.st_value, sym.st_size, std::string(nm, strnlen(nm, strh.sh_size - sym.st_name)), type != STT_NOTYPE});
      }
    }
    std::sort(syms.begin(), syms.end(), [](const Symbol& a, const Symbol& b) { return a.addr < b.addr; });
    segments_ = std::move(segs);
    symbols_ = std::move(syms);
    entry_ = eh.e_entry;
    program_ = path;
  }

  // Route a model's event to interrupt line `line` (edge: each notification latches it).
  void connect_irq(unsigned line, Port& port) {
    if (line >= 32) throw std::invalid_argument("connect_irq: line must be in [0, 31], got " + std::to_string(line));
    if (port.kind != PortKind::Event || port.event == nullptr)
      throw std::invalid_argument("connect_irq: port '" + port.full_name() + "' is not an event");
    sc_core::sc_spawn_options o;
    o.spawn_method();
    o.dont_initialize();
    o.set_sensitivity(port.event);
    sc_core::sc_spawn([this, line] { raise_irq(line); }, sc_core::sc_gen_unique_name("irq"), &o);
  }

  void raise_irq(unsigned line) {
    if (line >= 32) throw std::invalid_argument("raise_irq: line must be in [0, 31], got " + std::to_string(line));
    pending_ |= 1u << line;
    tracer().instant(track_, "irq " + std::to_string(line), now_ps(), "{\"line\":" + std::to_string(line) + "}");
    irq_event_.notify(sc_core::SC_ZERO_TIME);
  }

  // ---------------------------------------------------------------- state for Python
  bool exited() const { return exited_; }
  int exit_code() const { return exit_code_; }
  std::uint64_t instret() const { return instret_; }
  const std::vector<std::uint64_t>& signals() const { return signals_; }
  double cycle_ps() const { return cycle_ps_; }
  std::uint64_t entry() const { return entry_; }
  const std::vector<std::pair<Picos, std::string>>& console() const { return console_; }
  std::string where() const { return state_; }
  std::string symbolize(std::uint64_t a) const {
    const Symbol* best = nullptr;
    for (const auto& s : symbols_) {
      if (s.addr > a) break;
      // at one address, prefer a function or object over a plain label
      if (best == nullptr || s.addr > best->addr || (s.typed || !best->typed)) best = &s;
    }
    if (best == nullptr) return "?";
    const std::uint64_t d = a - best->addr;
    char buf[32];
    std::snprintf(buf, sizeof buf, "+0x%llx", static_cast<unsigned long long>(d));
    return best->name + (d ? buf : "");
  }
  unsigned char* ram() { return ram_.data(); }
  std::uint64_t ram_base() const { return ram_base_; }
  std::uint64_t ram_size() const { return ram_size_; }

 private:
  enum class Stop { None, Quantum, Irq, Exit, Fault, Trap, Signal };

  static bool overlaps(std::uint64_t a, std::uint64_t an, std::uint64_t b, std::uint64_t bn) { return a < b + bn && b < a + an; }
  bool in_ram(std::uint64_t a, std::uint64_t n) const { return a >= ram_base_ && n <= ram_size_ && a - ram_base_ <= ram_size_ - n; }
  bool inside(std::uint64_t a, std::uint64_t n) const {
    if (in_ram(a, n)) return true;
    for (const auto& r : regions_)
      if (a >= r.base && n <= r.size && a - r.base <= r.size - n) return true;
    return false;
  }
  static const char* machine_name(unsigned m) {
    switch (m) {
      case EM_X86_64: return "x86-64";
      case EM_386: return "i386";
      case EM_AARCH64: return "AArch64";
      case EM_ARM: return "ARM";
      case EM_RISCV: return "RISC-V";
    }
    return "unknown";
  }

  // ------------------------------------------------------------------- engine set-up
  void check(uc_err e, const std::string& what) {
    if (e != UC_ERR_OK) throw std::runtime_error("riscv_cpu '" + std::string(name()) + "': " + what + ": " + uc_strerror(e));
  }

  void setup_engine() {
    check(uc_mem_map_ptr(uc_, ram_base_, ram_size_, UC_PROT_ALL, ram_.data()), "mapping the local RAM");
    check(uc_mmio_map(uc_, board_base_, kBoardWindow, &RiscvCpu::board_read_cb, this, &RiscvCpu::board_write_cb, this),
          "mapping the board window");
    for (auto& r : regions_) map_region(r);
    uc_hook h;
    check(uc_hook_add(uc_, &h, UC_HOOK_BLOCK, reinterpret_cast<void*>(&RiscvCpu::block_cb), this, 1, 0), "block hook");
    check(uc_hook_add(uc_, &h, UC_HOOK_INTR, reinterpret_cast<void*>(&RiscvCpu::trap_cb), this, 1, 0), "trap hook");
    check(uc_hook_add(uc_, &h, UC_HOOK_MEM_INVALID, reinterpret_cast<void*>(&RiscvCpu::invalid_cb), this, 1, 0), "fault hook");
  }

  // The part of a region its target grants DMI on (page-aligned) is mapped as host
  // memory: accesses are cache hits, no bus time. The rest is uncached: each access is a
  // bus transaction.
  void map_region(Region& r) {
    const std::uint64_t lo = r.base & ~(kPage - 1);
    const std::uint64_t hi = (r.base + r.size + kPage - 1) & ~(kPage - 1);  // exclusive
    tlm::tlm_generic_payload gp;
    tlm::tlm_dmi dmi;
    gp.set_address(r.base);
    gp.set_command(tlm::TLM_READ_COMMAND);
    std::uint64_t d0 = 0, d1 = 0;  // the DMI part [d0, d1)
    if (bus_->get_direct_mem_ptr(gp, dmi) && dmi.get_dmi_ptr() != nullptr && dmi.is_read_write_allowed()) {
      d0 = std::max<std::uint64_t>(dmi.get_start_address(), r.base);
      d1 = std::min<std::uint64_t>(dmi.get_end_address() + 1, r.base + r.size);
      d0 = (d0 + kPage - 1) & ~(kPage - 1);
      d1 &= ~(kPage - 1);
      const unsigned char* p = dmi.get_dmi_ptr() + (d0 - dmi.get_start_address());
      if (d1 <= d0 || reinterpret_cast<std::uintptr_t>(p) % kPage != 0) d0 = d1 = 0;
    }
    if (d1 > d0) {
      unsigned char* p = dmi.get_dmi_ptr() + (d0 - dmi.get_start_address());
      check(uc_mem_map_ptr(uc_, d0, d1 - d0, UC_PROT_ALL, p), "mapping DMI region '" + r.name + "'");
      r.dmi_lo = d0;
      r.dmi_hi = d1;
      if (d0 > lo) map_mmio(lo, d0 - lo, "bus region '" + r.name + "'", r.cacheable);
      if (hi > d1) map_mmio(d1, hi - d1, "bus region '" + r.name + "'", r.cacheable);
      return;
    }
    map_mmio(lo, hi - lo, "bus region '" + r.name + "'", r.cacheable);
  }

  // Unicorn passes MMIO callbacks the offset into the mapping and one user pointer per
  // direction: a thunk per mapping carries its base.
  void map_mmio(std::uint64_t base, std::uint64_t size, const std::string& what, bool cached) {
    thunks_.push_back(std::make_unique<Thunk>(Thunk{this, base, cached}));
    Thunk* t = thunks_.back().get();
    check(uc_mmio_map(uc_, base, size, &RiscvCpu::bus_read_cb, t, &RiscvCpu::bus_write_cb, t), "mapping " + what);
  }

  void invalidate_dmi(sc_dt::uint64 start, sc_dt::uint64 end) {
    for (auto& r : regions_) {
      if (r.dmi_hi <= r.dmi_lo || !overlaps(r.dmi_lo, r.dmi_hi - r.dmi_lo, start, end - start + 1)) continue;
      uc_mem_unmap(uc_, r.dmi_lo, r.dmi_hi - r.dmi_lo);
      map_mmio(r.dmi_lo, r.dmi_hi - r.dmi_lo, "bus region '" + r.name + "'", r.cacheable);
      r.dmi_lo = r.dmi_hi = 0;
    }
  }

  void load_segments() {
    for (const auto& s : segments_) {
      if (in_ram(s.addr, s.bytes.size())) {
        std::memcpy(ram_.data() + (s.addr - ram_base_), s.bytes.data(), s.bytes.size());
        continue;
      }
      tlm::tlm_generic_payload gp;
      gp.set_command(tlm::TLM_WRITE_COMMAND);
      gp.set_address(s.addr);
      gp.set_data_ptr(const_cast<unsigned char*>(s.bytes.data()));
      gp.set_data_length(static_cast<unsigned>(s.bytes.size()));
      gp.set_streaming_width(static_cast<unsigned>(s.bytes.size()));
      if (bus_->transport_dbg(gp) != s.bytes.size())
        throw std::runtime_error("cannot load the segment at " + hex(s.addr) + " of '" + program_ + "' through the bus");
    }
  }

  // ------------------------------------------------------------------- the core
  void run() {
    if (program_.empty()) return;  // no program: the core stays idle
    try {
      setup_engine();
      load_segments();
    } catch (const std::exception& e) {
      fail_simulation("SimulationError", e.what());
      return;
    }
    std::uint64_t pc = entry_;
    std::uint64_t zero = 0;
    uc_reg_write(uc_, UC_RISCV_REG_A0, &zero);  // hart id 0
    state_ = "running";
    while (true) {
      if (deliverable()) pc = take_irq(pc);
      irq_checked_ = pending_ & enable_;
      stop_ = Stop::None;
      const uc_err err = uc_emu_start(uc_, pc, kNever, 0, 0);
      uc_reg_read(uc_, UC_RISCV_REG_PC, &pc);
      if (err != UC_ERR_OK && stop_ != Stop::Fault && stop_ != Stop::Trap) {
        if (fault_addr_valid_) {
          crash(pc, std::string(err == UC_ERR_FETCH_UNMAPPED ? "instruction fetch from" : "access to") +
                        " unmapped address " + hex(fault_addr_),
                true);
        } else {
          crash(pc, std::string("the engine stopped: ") + uc_strerror(err), false);
        }
        return;
      }
      switch (stop_) {
        case Stop::Quantum:
          sync();
          break;
        case Stop::Irq:
          break;
        case Stop::Signal:
          break;  // delivered below
        case Stop::Exit:
          deliver_signals();  // written before the exit
          sync();
          finish();
          return;
        case Stop::Fault:
          sync();
          crash(fault_pc_, fault_msg_, true);
          return;
        case Stop::Trap:
          crash(pc - 4, trap_name(trap_cause_), false);  // the engine reports the PC after the trapping one
          return;
        case Stop::None:  // the engine halted by itself: wfi. (A wfi in a block that also
                          // set stop_ returns like a spurious wake-up, which the
                          // privileged spec allows; cosim_wait_irq() loops.)
          if (read_insn(pc - 4) == kWfi) {
            if (!wait_for_interrupt(pc - 4)) return;
          } else {
            crash(pc, "the engine stopped for no known reason", false);
            return;
          }
          break;
      }
      deliver_signals();
    }
  }

  // SIGNAL writes, in order, each at the core's own time (it synchronises first): an
  // immediate notification, then a delta, so the listeners run before the core goes on
  // (they may look at or change memory at this point of the program).
  void deliver_signals() {
    if (pending_signals_.empty()) return;
    sync();
    for (const std::uint64_t v : pending_signals_) {
      signals_.push_back(v);
      tracer().instant(track_, "signal " + std::to_string(v), now_ps());
      signal_event_.notify();
      sc_core::wait(sc_core::SC_ZERO_TIME);
    }
    pending_signals_.clear();
  }

  void sync() {
    const Picos t = Picos(std::llround(local_ps_));
    e_instr_.add(instret_ - instret_flushed_);
    instructions_.inc(instret_ - instret_flushed_);
    instret_flushed_ = instret_;
    local_ps_ = 0;
    syncs_.inc();
    if (t > 0) sc_core::wait(from_ps(t));
  }

  bool deliverable() {
    if ((pending_ & enable_) == 0) return false;
    std::uint64_t mstatus = 0, mie = 0;
    uc_reg_read(uc_, UC_RISCV_REG_MSTATUS, &mstatus);
    uc_reg_read(uc_, UC_RISCV_REG_MIE, &mie);
    return (mstatus & kMstatusMie) && (mie & kMieMeie);
  }

  // Trap entry for the machine external interrupt (privileged spec 3.1.6.1, 3.1.7, 3.1.14).
  std::uint64_t take_irq(std::uint64_t pc) {
    std::uint64_t mstatus = 0, mtvec = 0, cause = kCauseMachineExternal, zero = 0;
    uc_reg_read(uc_, UC_RISCV_REG_MSTATUS, &mstatus);
    uc_reg_read(uc_, UC_RISCV_REG_MTVEC, &mtvec);
    mstatus = (mstatus & ~(kMstatusMpie | kMstatusMie)) | ((mstatus & kMstatusMie) ? kMstatusMpie : 0) | kMstatusMpp;
    uc_reg_write(uc_, UC_RISCV_REG_MEPC, &pc);
    uc_reg_write(uc_, UC_RISCV_REG_MCAUSE, &cause);
    uc_reg_write(uc_, UC_RISCV_REG_MTVAL, &zero);
    uc_reg_write(uc_, UC_RISCV_REG_MSTATUS, &mstatus);
    local_ps_ += irq_ps_;
    irqs_.inc();
    tracer().instant(track_, "take irq", now_ps() + Picos(std::llround(local_ps_)),
                     "{\"pending\":" + std::to_string(pending_ & enable_) + ",\"pc\":\"" + hex(pc) + "\"}");
    const std::uint64_t base = mtvec & ~std::uint64_t(3);
    return (mtvec & 3) == 1 ? base + 4 * 11 : base;
  }

  // wfi (privileged spec 3.3.3): resume when a locally enabled interrupt is pending, even
  // with mstatus.MIE clear. Returns false when nothing could ever wake the core.
  bool wait_for_interrupt(std::uint64_t wfi_pc) {
    sync();
    std::uint64_t mie = 0;
    uc_reg_read(uc_, UC_RISCV_REG_MIE, &mie);
    if (enable_ == 0 || !(mie & kMieMeie)) {
      crash(wfi_pc, "wfi with no interrupt enabled (IRQ_ENABLE is " + hex(enable_) + ", mie.MEIE is " +
                        ((mie & kMieMeie) ? "1" : "0") + "): nothing can wake the core",
            false);
      return false;
    }
    const Picos start = now_ps();
    state_ = "waiting in wfi at " + hex(wfi_pc) + " (" + symbolize(wfi_pc) + ")";
    while ((pending_ & enable_) == 0) sc_core::wait(irq_event_);
    state_ = "running";
    wfi_time_.inc(now_ps() - start);
    tracer().span(track_, "wfi", start, now_ps() - start);
    return true;
  }

  void finish() {
    exited_ = true;
    state_ = "exited with code " + std::to_string(exit_code_);
    flush_console();
    tracer().instant(track_, "exit " + std::to_string(exit_code_), now_ps());
    exit_event_.notify(sc_core::SC_ZERO_TIME);
    stop_simulation();
  }

  void crash(std::uint64_t pc, const std::string& why, bool with_addr) {
    flush_console();
    const std::uint32_t insn = read_insn(pc);
    char ibuf[16];
    std::snprintf(ibuf, sizeof ibuf, (insn & 3) == 3 ? "0x%08x" : "0x%04x", (insn & 3) == 3 ? insn : insn & 0xffff);
    std::string msg = "riscv_cpu '" + std::string(name()) + "': program '" + program_ + "' crashed at " + format_ps(now_ps()) +
                      ": " + why + "; pc " + hex(pc) + " (" + symbolize(pc) + "), instruction " + ibuf;
    if (with_addr) msg += ", faulting address " + hex(fault_addr_) + (in_ram(fault_addr_, 1) ? " (" + symbolize(fault_addr_) + ")" : "");
    state_ = "crashed";
    fail_simulation("SimulationError", msg);
  }

  std::uint32_t read_insn(std::uint64_t pc) const {
    std::uint32_t v = 0;
    if (in_ram(pc, 4)) std::memcpy(&v, ram_.data() + (pc - ram_base_), 4);
    else if (in_ram(pc, 2)) std::memcpy(&v, ram_.data() + (pc - ram_base_), 2);
    else uc_mem_read(uc_, pc, &v, 4);
    return v;
  }

  // Instructions in the block [addr, addr + size): 16-bit when the low two bits are not
  // 11 (ISA manual 1.5), cached by address.
  std::uint32_t count_insns(std::uint64_t addr, std::uint32_t size) {
    auto& slot = block_cache_[(addr >> 1) & (kBlockCache - 1)];
    if (slot.addr == addr && slot.size == size) return slot.count;
    std::uint32_t n = 0;
    unsigned char buf[4096];
    const std::uint32_t len = std::min<std::uint32_t>(size, sizeof buf);
    if (uc_mem_read(uc_, addr, buf, len) != UC_ERR_OK) return std::max<std::uint32_t>(1, size / 4);
    for (std::uint32_t i = 0; i < len;) {
      ++n;
      i += (buf[i] & 3) == 3 ? 4 : 2;
    }
    n = std::max<std::uint32_t>(n, 1);
    slot = {addr, size, n};
    return n;
  }

  // ------------------------------------------------------------------- engine callbacks
  static void block_cb(uc_engine*, std::uint64_t addr, std::uint32_t size, void* self) {
    static_cast<RiscvCpu*>(self)->on_block(addr, size);
  }
  void on_block(std::uint64_t addr, std::uint32_t size) {
    if (stop_ != Stop::None) {  // requested by an access in the previous block
      uc_emu_stop(uc_);
      return;
    }
    const std::uint32_t n = count_insns(addr, size);
    const double t = n * instr_ps_;
    if (local_ps_ > 0 && local_ps_ + t > quantum_ps_) {  // the block runs after the sync
      stop_ = Stop::Quantum;
      uc_emu_stop(uc_);
      return;
    }
    local_ps_ += t;
    instret_ += n;
    block_addr_ = addr;
  }

  static void trap_cb(uc_engine*, std::uint32_t cause, void* self) {
    auto* c = static_cast<RiscvCpu*>(self);
    c->stop_ = Stop::Trap;
    c->trap_cause_ = cause;
    uc_emu_stop(c->uc_);
  }

  static bool invalid_cb(uc_engine*, uc_mem_type, std::uint64_t addr, int, std::int64_t, void* self) {
    auto* c = static_cast<RiscvCpu*>(self);
    c->fault_addr_ = addr;
    c->fault_addr_valid_ = true;
    return false;
  }

  struct Thunk {
    RiscvCpu* cpu;
    std::uint64_t base;
    bool cached;
  };
  static std::uint64_t bus_read_cb(uc_engine*, std::uint64_t off, unsigned size, void* thunk) {
    auto* t = static_cast<Thunk*>(thunk);
    if (t->cached) return t->cpu->cached_access(tlm::TLM_READ_COMMAND, t->base + off, size, 0);
    return t->cpu->bus_access(tlm::TLM_READ_COMMAND, t->base + off, size, 0);
  }
  static void bus_write_cb(uc_engine*, std::uint64_t off, unsigned size, std::uint64_t value, void* thunk) {
    auto* t = static_cast<Thunk*>(thunk);
    if (t->cached)
      t->cpu->cached_access(tlm::TLM_WRITE_COMMAND, t->base + off, size, value);
    else
      t->cpu->bus_access(tlm::TLM_WRITE_COMMAND, t->base + off, size, value);
  }

  // One bus transaction of `len` bytes issued at the core's local time at the access
  // `where` (the block's instructions after it are charged already, at the block's
  // start, and are added back after it). False (and the core stopping) on an error.
  bool transfer(tlm::tlm_command cmd, std::uint64_t addr, unsigned char* data, unsigned len, const Access& where) {
    gp_.set_command(cmd);
    gp_.set_address(addr);
    gp_.set_data_ptr(data);
    gp_.set_data_length(len);
    gp_.set_streaming_width(len);
    gp_.set_byte_enable_ptr(nullptr);
    gp_.set_dmi_allowed(false);
    gp_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    clear_error_info(gp_);
    const double after_ps = where.after * instr_ps_;
    const Picos local_before = Picos(std::llround(std::max(0.0, local_ps_ - after_ps)));
    const Picos issued = now_ps() + local_before;
    sc_core::sc_time delay = from_ps(local_before);
    bus_->b_transport(gp_, delay);
    local_ps_ = double(to_ps(delay)) + access_ps_ + after_ps;
    const Picos done = now_ps() + Picos(std::llround(local_ps_));
    tracer().transaction(track_, cmd, addr, len, issued, done > issued ? done - issued : 0, gp_.get_response_status());
    (cmd == tlm::TLM_READ_COMMAND ? mmio_reads_ : mmio_writes_).inc();
    if (!gp_.is_response_ok()) {
      const ErrorInfo* info = gp_.get_extension<ErrorInfo>();
      fault_addr_ = addr;
      fault_pc_ = where.pc;
      fault_msg_ = std::string(cmd == tlm::TLM_READ_COMMAND ? "load" : "store") + " of " + std::to_string(len) +
                   " bytes answered with " + response_name(gp_.get_response_status()) +
                   (info ? " by '" + info->target + "': " + info->message : std::string());
      clear_error_info(gp_);
      stop_ = Stop::Fault;  // the engine stops at the next block (see on_block)
      return false;
    }
    // Callbacks never stop the engine themselves (it would replay the access after
    // resuming: a second bus transaction); the next block's hook stops it.
    if ((local_ps_ > quantum_ps_ || new_irq()) && stop_ == Stop::None)
      stop_ = local_ps_ > quantum_ps_ ? Stop::Quantum : Stop::Irq;
    return true;
  }

  // An uncached access: one bus transaction of the access's size.
  std::uint64_t bus_access(tlm::tlm_command cmd, std::uint64_t addr, unsigned size, std::uint64_t value) {
    if (stop_ == Stop::Fault || stop_ == Stop::Exit) return 0;  // the core is stopping
    unsigned char data[8] = {};
    if (cmd == tlm::TLM_WRITE_COMMAND) std::memcpy(data, &value, size);
    if (!transfer(cmd, addr, data, size, locate_access(addr))) return 0;
    std::uint64_t v = 0;
    if (cmd == tlm::TLM_READ_COMMAND) std::memcpy(&v, data, size);
    return v;
  }

  // A cacheable access: the data cache (write-back, write-allocate, LRU) serves hits at
  // no extra time; a miss writes back its victim if dirty and fills the line, one bus
  // transaction of line_bytes each. Not coherent with devices: a driver flushes
  // (CACHE_FLUSH) before a device reads what it wrote and before it reads what a
  // device wrote, as on SoCs without hardware coherence.
  std::uint64_t cached_access(tlm::tlm_command cmd, std::uint64_t addr, unsigned size, std::uint64_t value) {
    if (stop_ == Stop::Fault || stop_ == Stop::Exit) return 0;
    if ((addr & (line_bytes_ - 1)) + size > line_bytes_) {  // crosses a line: byte by byte
      std::uint64_t v = 0;
      for (unsigned i = 0; i < size; ++i)
        v |= cached_access(cmd, addr + i, 1, (value >> (8 * i)) & 0xff) << (8 * i);
      return v;
    }
    Line* l = lookup(addr);
    if (l == nullptr) return 0;
    unsigned char* p = l->data.data() + (addr & (line_bytes_ - 1));
    std::uint64_t v = 0;
    if (cmd == tlm::TLM_READ_COMMAND) {
      std::memcpy(&v, p, size);
    } else {
      std::memcpy(p, &value, size);
      l->dirty = true;
    }
    return v;
  }

  struct Line {
    std::uint64_t tag = 0, used = 0;
    bool valid = false, dirty = false;
    std::vector<unsigned char> data;
  };

  Line* lookup(std::uint64_t addr) {
    const std::uint64_t base = addr & ~(line_bytes_ - 1);
    const std::size_t set = std::size_t((base / line_bytes_) % sets_);
    Line* ways = &lines_[set * ways_];
    Line* victim = &ways[0];
    for (std::size_t w = 0; w < ways_; ++w) {
      if (ways[w].valid && ways[w].tag == base) {
        ways[w].used = ++lru_clock_;
        dcache_hits_.inc();
        return &ways[w];
      }
      if (!ways[w].valid || (victim->valid && ways[w].used < victim->used)) victim = &ways[w];
    }
    dcache_misses_.inc();
    const Access where = locate_access(addr);
    if (victim->valid && victim->dirty) {
      dcache_writebacks_.inc();
      if (!transfer(tlm::TLM_WRITE_COMMAND, victim->tag, victim->data.data(), unsigned(line_bytes_), where)) return nullptr;
    }
    victim->valid = false;
    if (!transfer(tlm::TLM_READ_COMMAND, base, victim->data.data(), unsigned(line_bytes_), where)) return nullptr;
    victim->tag = base;
    victim->valid = true;
    victim->dirty = false;
    victim->used = ++lru_clock_;
    return victim;
  }

  void flush_cache() {
    const Access where = locate_access(board_base_ + kCacheFlush);
    for (auto& l : lines_) {
      if (l.valid && l.dirty) {
        dcache_writebacks_.inc();
        if (!transfer(tlm::TLM_WRITE_COMMAND, l.tag, l.data.data(), unsigned(line_bytes_), where)) return;
      }
      l.valid = l.dirty = false;
    }
  }

  // A line became pending and enabled since the core last looked (it stops the engine so
  // the main loop can take the interrupt; a line already seen waits for the next sync).
  bool new_irq() const { return ((pending_ & enable_) & ~irq_checked_) != 0; }

  // Where in the current block the access to `addr` is. The engine calls MMIO callbacks
  // with its PC at the block's start and the whole block already charged, so the model
  // decodes the block's loads and stores (cached per block) and, when there are several,
  // matches their effective address x[rs1] + imm (ISA manual ch. 2.6 and 16.3) against
  // `addr`. Returns the access's PC and how many of the block's instructions come after
  // it (charged but not executed yet).
  struct MemOp {
    std::uint32_t offset, index, insn;
  };
  Access locate_access(std::uint64_t addr) {
    const BlockInfo& b = block_cache_[(block_addr_ >> 1) & (kBlockCache - 1)];
    if (b.addr != block_addr_) return {block_addr_, 0};
    auto it = mem_ops_.find(block_addr_);
    if (it == mem_ops_.end()) it = mem_ops_.emplace(block_addr_, decode_mem_ops(block_addr_, b.size)).first;
    const std::vector<MemOp>& ops = it->second;
    const MemOp* hit = ops.size() == 1 ? &ops[0] : nullptr;
    for (std::size_t i = 0; hit == nullptr && i < ops.size(); ++i)
      if (effective_address(ops[i].insn) == addr) hit = &ops[i];
    if (hit == nullptr) return {block_addr_, 0};
    return {block_addr_ + hit->offset, b.count > hit->index ? b.count - hit->index - 1 : 0};
  }

  std::vector<MemOp> decode_mem_ops(std::uint64_t addr, std::uint32_t size) {
    std::vector<MemOp> out;
    unsigned char buf[4096 + 4] = {};
    const std::uint32_t len = std::min<std::uint32_t>(size, 4096);
    if (uc_mem_read(uc_, addr, buf, len) != UC_ERR_OK) return out;
    std::uint32_t index = 0;
    for (std::uint32_t i = 0; i < len; ++index) {
      std::uint32_t in = buf[i] | (std::uint32_t(buf[i + 1]) << 8);
      if ((in & 3) == 3) {
        in |= std::uint32_t(buf[i + 2]) << 16 | std::uint32_t(buf[i + 3]) << 24;
        const unsigned op = in & 0x7f;
        if (op == 0x03 || op == 0x07 || op == 0x23 || op == 0x27 || op == 0x2f) out.push_back({i, index, in});
        i += 4;
      } else {
        const unsigned q = in & 3, f3 = in >> 13;
        if ((q == 0 || q == 2) && f3 != 0 && f3 != 4) out.push_back({i, index, in});
        i += 2;
      }
    }
    return out;
  }

  std::uint64_t effective_address(std::uint32_t in) {
    auto x = [&](unsigned r) {
      std::uint64_t v = 0;
      if (r != 0) uc_reg_read(uc_, UC_RISCV_REG_X0 + int(r), &v);
      return v;
    };
    if ((in & 3) == 3) {
      const unsigned op = in & 0x7f, rs1 = (in >> 15) & 31;
      if (op == 0x2f) return x(rs1);                                                   // AMO
      if (op == 0x03 || op == 0x07) return x(rs1) + std::uint64_t(std::int64_t(std::int32_t(in) >> 20));  // I-type
      const std::int64_t imm = (std::int32_t(in & 0xfe000000) >> 20) | ((in >> 7) & 31);                  // S-type
      return x(rs1) + std::uint64_t(imm);
    }
    const unsigned q = in & 3, f3 = (in >> 13) & 7, rs1p = 8 + ((in >> 7) & 7);
    auto bits = [in](unsigned hi, unsigned lo) { return (in >> lo) & ((1u << (hi - lo + 1)) - 1); };
    if (q == 0) {
      if (f3 == 2 || f3 == 6) return x(rs1p) + ((bits(12, 10) << 3) | (bits(6, 6) << 2) | (bits(5, 5) << 6));  // c.lw/c.sw
      return x(rs1p) + ((bits(12, 10) << 3) | (bits(6, 5) << 6));                                           // c.ld/c.sd/c.fld/c.fsd
    }
    const std::uint64_t sp = x(2);  // quadrant 2: stack-pointer relative
    switch (f3) {
      case 2: return sp + ((bits(12, 12) << 5) | (bits(6, 4) << 2) | (bits(3, 2) << 6));  // c.lwsp
      case 1: case 3: return sp + ((bits(12, 12) << 5) | (bits(6, 5) << 3) | (bits(4, 2) << 6));  // c.ldsp/c.fldsp
      case 6: return sp + ((bits(12, 9) << 2) | (bits(8, 7) << 6));  // c.swsp
      default: return sp + ((bits(12, 10) << 3) | (bits(9, 7) << 6));  // c.sdsp/c.fsdsp
    }
  }

  static std::uint64_t board_read_cb(uc_engine*, std::uint64_t off, unsigned size, void* self) {
    return static_cast<RiscvCpu*>(self)->board_read(off, size);
  }
  static void board_write_cb(uc_engine*, std::uint64_t off, unsigned size, std::uint64_t value, void* self) {
    static_cast<RiscvCpu*>(self)->board_write(off, size, value);
  }

  std::uint64_t board_read(std::uint64_t off, unsigned size) {
    std::uint64_t v = 0;
    const std::uint64_t reg = off & ~std::uint64_t(7);
    switch (reg) {
      case kPending: v = pending_; break;
      case kEnable: v = enable_; break;
      case kCycles: {
        const Access a = locate_access(board_base_ + off);
        v = std::uint64_t((double(now_ps()) + local_ps_ - a.after * instr_ps_) / cycle_ps_ + 1e-9);
        break;
      }
      case kInstret: v = instret_ - locate_access(board_base_ + off).after; break;
      default: v = 0;
    }
    v >>= 8 * (off & 7);
    return size >= 8 ? v : v & ((std::uint64_t(1) << (8 * size)) - 1);
  }

  void board_write(std::uint64_t off, unsigned size, std::uint64_t value) {
    switch (off) {
      case kConsole: {
        const char ch = char(value & 0xff);
        if (ch == '\n') flush_console();
        else line_ += ch;
        break;
      }
      case kExit:
        exit_code_ = int(std::int32_t(value & 0xffffffff));
        stop_ = Stop::Exit;
        break;
      case kCacheFlush:
        flush_cache();
        break;
      case kSignal:
        pending_signals_.push_back(value);
        if (stop_ == Stop::None) stop_ = Stop::Signal;
        break;
      case kPending: pending_ &= ~std::uint32_t(value); break;
      case kEnable:
        enable_ = std::uint32_t(value);
        if (new_irq() && stop_ == Stop::None) stop_ = Stop::Irq;  // a pending line may now be deliverable
        break;
      default: break;
    }
  }

  void flush_console() {
    if (line_.empty()) return;
    const Picos t = now_ps() + Picos(std::llround(local_ps_));
    console_.emplace_back(t, line_);
    if (echo_) {
      std::printf("[%12s] %s: %s\n", format_ps(t).c_str(), basename(), line_.c_str());
      std::fflush(stdout);
    }
    tracer().instant(track_, "console", t, "{\"chars\":" + std::to_string(line_.size()) + "}");
    line_.clear();
  }

  tlm_utils::simple_initiator_socket<RiscvCpu, kBusWidth> bus_;
  double clock_hz_, cycle_ps_, instr_ps_, access_ps_, irq_ps_, quantum_ps_;
  std::uint64_t ram_base_, ram_size_, board_base_;
  bool echo_;
  std::uint64_t dcache_bytes_, line_bytes_, ways_, sets_ = 0, lru_clock_ = 0;
  std::vector<Line> lines_;
  Counter &instructions_, &mmio_reads_, &mmio_writes_, &irqs_, &wfi_time_, &syncs_, &dcache_hits_, &dcache_misses_,
      &dcache_writebacks_;
  EnergyEvent& e_instr_;
  uc_engine* uc_ = nullptr;
  std::vector<unsigned char> ram_;
  std::vector<Region> regions_;
  std::vector<Segment> segments_;
  std::vector<Symbol> symbols_;
  std::uint64_t entry_ = 0;
  std::string program_;
  sc_core::sc_event irq_event_, exit_event_, signal_event_;
  std::vector<std::uint64_t> signals_, pending_signals_;
  std::uint32_t pending_ = 0, enable_ = 0;
  std::uint32_t irq_checked_ = 0;
  std::vector<std::unique_ptr<Thunk>> thunks_;
  double local_ps_ = 0;
  std::uint64_t instret_ = 0, instret_flushed_ = 0;
  Stop stop_ = Stop::None;
  std::uint32_t trap_cause_ = 0;
  std::uint64_t fault_addr_ = 0, fault_pc_ = 0, block_addr_ = 0;
  bool fault_addr_valid_ = false;
  std::string fault_msg_;
  bool exited_ = false;
  int exit_code_ = 0;
  std::string line_, state_ = "not started";
  std::vector<std::pair<Picos, std::string>> console_;
  std::uint32_t track_ = 0;
  tlm::tlm_generic_payload gp_;
  struct BlockInfo {
    std::uint64_t addr = ~std::uint64_t(0);
    std::uint32_t size = 0, count = 0;
  };
  static constexpr std::size_t kBlockCache = 4096;
  std::array<BlockInfo, kBlockCache> block_cache_{};
  std::unordered_map<std::uint64_t, std::vector<MemOp>> mem_ops_;  // blocks that made MMIO accesses
};

ModelSpec riscv_cpu_spec() {
  ModelSpec s;
  s.name = "riscv_cpu";
  s.summary = "RV64GC core running a compiled program (Unicorn engine) as a TLM initiator";
  s.doc =
      "Runs an ELF (load()) from its local RAM. Loads/stores to bus regions (map_bus()) are "
      "b_transport calls on 'bus', or host-memory accesses when the target grants DMI. "
      "time = instructions x cpi / clock_hz + annotated bus latency + access_cycles per "
      "uncached access + irq_cycles per interrupt; the core runs ahead by at most quantum. "
      "Board window at board_base: CONSOLE, EXIT, IRQ_PENDING, IRQ_ENABLE, CYCLES, INSTRET, SIGNAL "
      "(cosim._core.riscv_board_registers()). Interrupt lines (connect_irq) raise the machine "
      "external interrupt; wfi waits for one. Event 'exit' fires when the program exits, "
      "'signal' when it writes SIGNAL.";
  s.source =
      "ISA: RISC-V unprivileged spec 20191213 and privileged spec 1.12 (trap entry, wfi, "
      "mcause codes). cpi 1 is an in-order single-issue core's best case (SiFive U54 class); "
      "access_cycles 20 matches host_cpu (an uncached, serialising access); irq_cycles 10 "
      "(pipeline flush and trap entry) is an assumption. Energy: Horowitz ISSCC 2014 "
      "(cpu_instruction).";
  s.params = {
      float_param("clock_hz", 2e9, 1e6, 1e11, "Hz", "core clock"),
      float_param("cpi", 1.0, 0.01, 1000.0, "cycles", "cycles per instruction (cached)"),
      float_param("access_cycles", 20.0, 0.0, 1e6, "cycles", "core-side cost of one uncached (bus) access"),
      float_param("irq_cycles", 10.0, 0.0, 1e6, "cycles", "cost of taking an interrupt (trap entry)"),
      time_param("quantum", 1'000'000, 1, 1'000'000'000'000ULL, "how far the core may run ahead of the kernel"),
      int_param("ram_base", 0x0800'0000, 0, std::int64_t(1) << 47, "", "base address of the local RAM"),
      int_param("ram_size", 4 << 20, 4096, std::int64_t(1) << 32, "B", "size of the local RAM (code, data, stack)"),
      int_param("board_base", 0x0200'0000, 0, std::int64_t(1) << 47, "", "base address of the board window"),
      bool_param("echo", true, "print console lines with their simulated time"),
      int_param("dcache_bytes", 0, 0, std::int64_t(1) << 30, "B",
                "data cache for cacheable bus regions (map_bus(cacheable=True)); 0: none"),
      int_param("dcache_line", 64, 8, 4096, "B", "data cache line"),
      int_param("dcache_ways", 4, 1, 64, "", "data cache associativity (LRU)"),
  };
  s.ports = {{"bus", PortKind::TlmInitiator, "to the SoC fabric", false},
             {"exit", PortKind::Event, "the program exited", true},
             {"signal", PortKind::Event, "the program wrote SIGNAL (a phase boundary for a Python process)", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new RiscvCpu(n, p); };
  return s;
}

const RegisterModel reg_riscv_cpu(riscv_cpu_spec());

void bind_riscv_cpu(nanobind::module_& m) {
  namespace nb = nanobind;
  auto value_errors = [](auto&& f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      throw nb::value_error(e.what());
    }
  };
  nb::class_<RiscvCpu, Model>(m, "RiscvCpuModel", "The 'riscv_cpu' model (see cosim.system.riscv_host.RiscvHost).")
      .def("map_bus",
           [value_errors](RiscvCpu& c, std::uint64_t base, std::uint64_t size, const std::string& name, bool cacheable) {
             value_errors([&] { c.map_bus(base, size, name, cacheable); });
           },
           nb::arg("base"), nb::arg("size"), nb::arg("name"), nb::arg("cacheable") = false,
           "Make [base, base + size) reachable through 'bus' (through the data cache if cacheable).")
      .def("load", [value_errors](RiscvCpu& c, const std::string& path) { value_errors([&] { c.load(path); }); },
           nb::arg("path"), "Check an RV64 ELF now and load it when the simulation starts.")
      .def("connect_irq", [value_errors](RiscvCpu& c, unsigned line, Port& p) { value_errors([&] { c.connect_irq(line, p); }); },
           nb::arg("line"), nb::arg("event_port"), "Latch interrupt line `line` on each notification of a model's event.")
      .def("raise_irq", [value_errors](RiscvCpu& c, unsigned line) { value_errors([&] { c.raise_irq(line); }); },
           nb::arg("line"), "Latch interrupt line `line` now (from a Python process).")
      .def("symbolize", &RiscvCpu::symbolize, nb::arg("address"), "Nearest ELF symbol: 'name+0xoff'.")
      .def("ram_view",
           [](nb::handle_t<RiscvCpu> self) {
             RiscvCpu* c = nb::inst_ptr<RiscvCpu>(self);
             nb::object np = nb::module_::import_("numpy");
             nb::object buf = nb::steal(PyMemoryView_FromMemory(reinterpret_cast<char*>(c->ram()),
                                                                 static_cast<Py_ssize_t>(c->ram_size()), PyBUF_WRITE));
             return np.attr("frombuffer")(buf, np.attr("uint8"));
           },
           "Zero-copy uint8 view of the local RAM (backdoor: no time).")
      .def_prop_ro("exited", &RiscvCpu::exited)
      .def_prop_ro("exit_code", &RiscvCpu::exit_code)
      .def_prop_ro("instret", &RiscvCpu::instret)
      .def_prop_ro("cycle_ps", &RiscvCpu::cycle_ps)
      .def_prop_ro("entry", &RiscvCpu::entry)
      .def_prop_ro("state", &RiscvCpu::where)
      .def_prop_ro("console", [](const RiscvCpu& c) { return c.console(); })
      .def_prop_ro("signals", [](const RiscvCpu& c) { return c.signals(); }, "Values written to SIGNAL, in order.");
  m.def("riscv_board_registers", [] {
    std::vector<std::tuple<std::string, std::uint32_t, std::string>> out;
    for (const auto& r : kBoardRegs) out.emplace_back(r.name, r.offset, r.doc);
    return out;
  }, "The riscv_cpu board window: (name, offset, description) of each register.");
  m.attr("RISCV_BOARD_WINDOW") = kBoardWindow;
}

const RegisterPythonBindings reg_riscv_cpu_py(bind_riscv_cpu);

}  // namespace
}  // namespace cosim

// scratchpad: a banked on-chip SRAM with several access ports, bank conflicts and a
// fixed capacity.
//
// Words of `bank_width` bytes are spread over `banks` single-ported banks: word w lives
// in bank w % banks ('word' interleaving) or in bank w / (words per bank) ('block').
// Every binding of the 'port' socket is one access port (at most `ports`); a port serves
// one access at a time. An access that arrives at cycle s on a free port needs each bank
// it touches for as many cycles as it has words there, starting when that bank is free:
//   done = max over banks b (max(s, bank_free[b]) + words_in_b) + latency
// so contiguous accesses spread over all banks take ceil(words / banks) cycles, and
// accesses that meet in a bank (from other ports, or a 'block'-interleaved access) wait.
// Timing is by reservation (loosely timed): nothing waits in the kernel.
//
// Stats: accesses, bytes, bank conflicts (accesses that waited for a bank, and the
// cycles lost), per-port accesses; energy per 32-bit word moved. An access beyond the
// capacity is refused with ADDRESS_ERROR naming the range, the capacity and the
// initiator.
#include <nanobind/nanobind.h>

#include <cmath>
#include <cstring>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include "cosim/energy.h"
#include "cosim/model.h"
#include "cosim/python.h"

namespace cosim {
namespace {

class Scratchpad : public Model {
 public:
  Scratchpad(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "scratchpad", p),
        socket_("port"),
        size_(p.get_uint("size")),
        banks_(p.get_uint("banks")),
        width_(p.get_uint("bank_width")),
        ports_(p.get_uint("ports")),
        cycle_(Picos(std::llround(1e12 / p.get_float("clock_hz")))),
        latency_(p.get_uint("latency")),
        block_(p.get_string("interleave") == "block"),
        data_(size_, static_cast<unsigned char>(p.get_int("fill"))),
        bank_free_(banks_, 0),
        port_free_(ports_, 0),
        reads_(counter("reads", "read accesses")),
        writes_(counter("writes", "write accesses")),
        bytes_(counter("bytes", "bytes read or written", "B")),
        conflicts_(counter("bank_conflicts", "accesses that waited for a busy bank")),
        conflict_cycles_(counter("bank_conflict_cycles", "cycles lost waiting for busy banks")),
        port_waits_(counter("port_waits", "accesses that waited for their own port")),
        errors_(counter("errors", "accesses refused (overflow)")),
        energy_(make_energy(p.get_string("energy"))) {
    if (cycle_ == 0) throw std::invalid_argument("scratchpad: clock_hz must be at most 1e12");
    if (size_ % width_ != 0)
      throw std::invalid_argument("scratchpad '" + std::string(this->name()) + "': size (" +
                                  std::to_string(size_) + ") must be a multiple of bank_width (" +
                                  std::to_string(width_) + ")");
    if (block_ && (size_ / width_) % banks_ != 0)
      throw std::invalid_argument("scratchpad '" + std::string(this->name()) +
                                  "': block interleaving needs size / bank_width to be a multiple of banks");
    words_per_bank_ = size_ / width_ / banks_;
    for (std::uint64_t i = 0; i < ports_; ++i)
      port_accesses_.push_back(&counter("port" + std::to_string(i) + ".accesses", "accesses through port " +
                                                                                      std::to_string(i)));
    expose_target("port", socket_, true);
    socket_.register_b_transport(this, &Scratchpad::b_transport);
    socket_.register_transport_dbg(this, &Scratchpad::transport_dbg);
  }

  unsigned char* data() { return data_.data(); }
  std::uint64_t size() const { return size_; }

 private:
  EnergyEvent* make_energy(const std::string& key) {
    if (key.empty()) return nullptr;
    try {
      return &energy_event(name(), "access", key, "32-bit words read or written");
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("scratchpad '" + std::string(name()) + "': parameter 'energy': " + e.what());
    }
  }

  std::string initiator_name(int id) const {
    const Port* p = find_port("port");
    if (p != nullptr && id >= 0 && std::size_t(id) < p->peers.size()) return p->peers[std::size_t(id)];
    return "port #" + std::to_string(id);
  }

  std::uint64_t bank_of(std::uint64_t word) const { return block_ ? word / words_per_bank_ : word % banks_; }

  void b_transport(int id, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const std::uint64_t a = gp.get_address();
    const std::uint64_t len = gp.get_data_length();
    if (!gp.is_read() && !gp.is_write()) {
      set_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE, name(), "only read and write are supported");
      return;
    }
    if (gp.get_data_ptr() == nullptr || len == 0 || gp.get_streaming_width() < len) {
      set_error(gp, tlm::TLM_GENERIC_ERROR_RESPONSE, name(), "needs a data buffer and streaming width >= length");
      return;
    }
    if (a >= size_ || len > size_ - a) {
      errors_.inc();
      set_error(gp, tlm::TLM_ADDRESS_ERROR_RESPONSE, name(),
                "scratchpad overflow: access [" + hex(a) + ", " + hex(a + len - 1) + "] by '" +
                    initiator_name(id) + "' exceeds the capacity of " + std::to_string(size_) + " B [0x0, " +
                    hex(size_ - 1) + "]");
      return;
    }
    // Functional part, honouring byte enables.
    unsigned char* d = gp.get_data_ptr();
    const unsigned char* be = gp.get_byte_enable_ptr();
    const unsigned be_len = gp.get_byte_enable_length();
    if (be == nullptr) {
      if (gp.is_read())
        std::memcpy(d, &data_[a], len);
      else
        std::memcpy(&data_[a], d, len);
    } else {
      for (std::uint64_t i = 0; i < len; ++i) {
        if (be[i % be_len] == TLM_BYTE_DISABLED) continue;
        if (gp.is_read())
          d[i] = data_[a + i];
        else
          data_[a + i] = d[i];
      }
    }
    // Timing by reservation of the port and the banks.
    const unsigned port = unsigned(id) < ports_ ? unsigned(id) : unsigned(ports_ - 1);
    const Picos arrive = now_ps() + to_ps(delay);
    const std::uint64_t arrive_cycle = (arrive + cycle_ - 1) / cycle_;
    std::uint64_t s = arrive_cycle;
    if (port_free_[port] > s) {
      port_waits_.inc();
      s = port_free_[port];
    }
    const std::uint64_t w0 = a / width_, w1 = (a + len - 1) / width_;
    const std::uint64_t words = w1 - w0 + 1;
    std::uint64_t finish = s;
    if (block_) {
      for (std::uint64_t w = w0; w <= w1;) {
        const std::uint64_t b = bank_of(w);
        const std::uint64_t last = std::min(w1, (b + 1) * words_per_bank_ - 1);
        const std::uint64_t n = last - w + 1;
        const std::uint64_t start = std::max(s, bank_free_[b]);
        bank_free_[b] = start + n;
        finish = std::max(finish, start + n);
        w = last + 1;
      }
    } else {
      const std::uint64_t touched = std::min<std::uint64_t>(words, banks_);
      for (std::uint64_t k = 0; k < touched; ++k) {
        const std::uint64_t b = (w0 + k) % banks_;
        // Words of bank b in [w0, w1]: every banks-th word starting at w0 + k.
        const std::uint64_t n = (words - k + banks_ - 1) / banks_;
        const std::uint64_t start = std::max(s, bank_free_[b]);
        bank_free_[b] = start + n;
        finish = std::max(finish, start + n);
      }
    }
    // Cycles beyond the conflict-free ceil(words / banks) were lost to bank conflicts.
    const std::uint64_t ideal = (words + banks_ - 1) / banks_;
    const std::uint64_t lost = finish - s - ideal;
    if (lost > 0) {
      conflicts_.inc();
      conflict_cycles_.inc(lost);
    }
    port_free_[port] = finish;
    const std::uint64_t done = finish + latency_;
    delay = from_ps(done * cycle_ - now_ps());
    (gp.is_read() ? reads_ : writes_).inc();
    bytes_.inc(len);
    port_accesses_[port]->inc();
    if (energy_ != nullptr) energy_->add((len + 3) / 4);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  unsigned transport_dbg(int, tlm::tlm_generic_payload& gp) {
    const std::uint64_t a = gp.get_address();
    if (a >= size_) return 0;
    const std::uint64_t n = std::min<std::uint64_t>(gp.get_data_length(), size_ - a);
    if (gp.is_read())
      std::memcpy(gp.get_data_ptr(), &data_[a], n);
    else if (gp.is_write())
      std::memcpy(&data_[a], gp.get_data_ptr(), n);
    return unsigned(n);
  }

  void before_end_of_elaboration() override {
    const Port* p = find_port("port");
    if (p->peers.size() > ports_)
      SC_REPORT_ERROR("cosim/scratchpad",
                      (std::string("scratchpad '") + name() + "' has " + std::to_string(p->peers.size()) +
                       " initiators bound to 'port' but only " + std::to_string(ports_) +
                       " ports (parameter 'ports')")
                          .c_str());
  }

  tlm_utils::multi_passthrough_target_socket<Scratchpad, kBusWidth> socket_;
  std::uint64_t size_, banks_, width_, ports_;
  Picos cycle_;
  std::uint64_t latency_;
  bool block_;
  std::uint64_t words_per_bank_ = 1;
  std::vector<unsigned char> data_;
  std::vector<std::uint64_t> bank_free_, port_free_;
  std::vector<Counter*> port_accesses_;
  Counter &reads_, &writes_, &bytes_, &conflicts_, &conflict_cycles_, &port_waits_, &errors_;
  EnergyEvent* energy_;
};

ModelSpec scratchpad_spec() {
  ModelSpec s;
  s.name = "scratchpad";
  s.summary = "Banked on-chip SRAM: capacity, access ports, bank conflicts, energy per word";
  s.doc =
      "Each binding of 'port' is one access port (at most `ports`), serving one access at a "
      "time. Words of bank_width bytes are interleaved over single-ported banks (word or "
      "block interleaving); an access occupies each bank it touches for one cycle per word "
      "there, after the bank is free. latency is added at the end. Accesses past the "
      "capacity get ADDRESS_ERROR ('scratchpad overflow') naming the range and initiator.";
  s.source =
      "Structural model. Energy per 32-bit word: the 'energy' entry (default "
      "sram_read_32b_8kb: 5 pJ, Horowitz ISSCC 2014, for reads and writes). Default geometry "
      "(256 KiB, 8 banks x 8 B, 1 GHz, 1-cycle latency) is a round accelerator buffer.";
  s.params = {
      int_param("size", 256 << 10, 1, std::int64_t(1) << 34, "B", "capacity"),
      int_param("banks", 8, 1, 1024, "", "number of single-ported banks"),
      int_param("bank_width", 8, 1, 1024, "B", "bytes per bank word"),
      int_param("ports", 2, 1, 64, "", "access ports (initiators that may bind)"),
      float_param("clock_hz", 1e9, 1e6, 1e12, "Hz", "SRAM clock"),
      int_param("latency", 1, 0, 1 << 20, "cycles", "access latency after the last word"),
      string_param("interleave", "word", {"word", "block"},
                   "word: consecutive words in consecutive banks; block: each bank a contiguous range"),
      string_param("energy", "sram_read_32b_8kb", {}, "energy-table key charged per 32-bit word (empty: none)"),
      int_param("fill", 0, 0, 255, "", "initial value of every byte"),
  };
  s.ports = {{"port", PortKind::TlmTarget, "access ports: each binding is one port", true}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* { return new Scratchpad(n, p); };
  return s;
}

const RegisterModel reg_scratchpad(scratchpad_spec());

void bind_scratchpad(nanobind::module_& m) {
  namespace nb = nanobind;
  nb::class_<Scratchpad, Model>(m, "Scratchpad", "The 'scratchpad' model (see cosim.model_info('scratchpad')).")
      .def_prop_ro("size", &Scratchpad::size)
      .def("array",
           [](nb::handle_t<Scratchpad> self) {
             Scratchpad* s = nb::inst_ptr<Scratchpad>(self);
             nb::object np = nb::module_::import_("numpy");
             nb::object buf = nb::steal(PyMemoryView_FromMemory(reinterpret_cast<char*>(s->data()),
                                                                Py_ssize_t(s->size()), PyBUF_WRITE));
             return np.attr("frombuffer")(buf, np.attr("uint8"));
           },
           "Zero-copy numpy uint8 view of the contents (backdoor: no time, no stats).");
}

const RegisterPythonBindings reg_scratchpad_py(bind_scratchpad);

}  // namespace
}  // namespace cosim

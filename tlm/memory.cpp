// memory: an idealised byte-addressable memory with a fixed access latency plus a
// per-beat transfer time. It is the stand-in for any storage whose timing does not matter
// to a study (a boot ROM, a host's DRAM when the accelerator is the subject); the JEDEC
// DRAM/HBM timing models live in their own files.
//
// Timing: latency = {read,write}_latency + ceil(length / bytes_per_beat) * beat_time.
// Defaults: 10 ns access and no beat time, round numbers between on-chip SRAM (~1 ns
// at 1 GHz) and an idle DRAM read (~15 ns tRCD + 15 ns tCL for DDR4-2400, JESD79-4).
// Storage is anonymous memory mapped with MAP_NORESERVE, so a large memory costs host
// RAM only for the pages a simulation touches.
#include <sys/mman.h>

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <cstring>
#include <new>
#include <tlm_utils/simple_target_socket.h>

#include "cosim/model.h"
#include "cosim/python.h"

namespace cosim {
namespace {

class Memory : public Model {
 public:
  Memory(const sc_core::sc_module_name& name, const Params& p)
      : Model(name, "memory", p),
        socket_("target"),
        size_(p.get_uint("size")),
        read_latency_(from_ps(p.get_time_ps("read_latency"))),
        write_latency_(from_ps(p.get_time_ps("write_latency"))),
        beat_bytes_(p.get_uint("bytes_per_beat")),
        beat_time_(from_ps(p.get_time_ps("beat_time"))),
        allow_dmi_(p.get_bool("dmi")),
        reads_(counter("reads", "read transactions")),
        writes_(counter("writes", "write transactions")),
        bytes_read_(counter("bytes_read", "bytes read", "B")),
        bytes_written_(counter("bytes_written", "bytes written", "B")),
        errors_(counter("errors", "accesses answered with an error response")),
        dmi_grants_(counter("dmi_grants", "DMI regions granted")) {
    void* m = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<unsigned char*>(m);
    const auto fill = static_cast<int>(p.get_int("fill"));
    if (fill != 0) std::memset(data_, fill, size_);
    expose_target("target", socket_);
    socket_.register_b_transport(this, &Memory::b_transport);
    socket_.register_get_direct_mem_ptr(this, &Memory::get_direct_mem_ptr);
    socket_.register_transport_dbg(this, &Memory::transport_dbg);
  }
  ~Memory() override { ::munmap(data_, size_); }

  unsigned char* data() { return data_; }
  std::uint64_t size() const { return size_; }

 private:
  // Check an access; on failure answer the payload and return false.
  bool check(tlm::tlm_generic_payload& gp) {
    const std::uint64_t a = gp.get_address();
    const std::uint64_t len = gp.get_data_length();
    const std::uint64_t sw = gp.get_streaming_width();
    const std::uint64_t span = sw < len ? sw : len;  // bytes of address space touched
    if (gp.get_data_ptr() == nullptr || len == 0) {
      set_error(gp, tlm::TLM_GENERIC_ERROR_RESPONSE, name(), "payload has no data buffer");
      return false;
    }
    if (sw == 0) {
      set_error(gp, tlm::TLM_BURST_ERROR_RESPONSE, name(), "streaming width 0");
      return false;
    }
    if (a >= size_ || span > size_ - a) {
      set_error(gp, tlm::TLM_ADDRESS_ERROR_RESPONSE, name(),
                "access [" + hex(a) + ", " + hex(a + span - 1) + "] is outside the memory [0x0, " +
                    hex(size_ - 1) + "]");
      return false;
    }
    return true;
  }

  // Copy honouring byte enables and streaming width (IEEE 1666-2011, 14.13 and 14.18).
  void copy(tlm::tlm_generic_payload& gp) {
    const std::uint64_t a = gp.get_address();
    const unsigned len = gp.get_data_length();
    const unsigned sw = gp.get_streaming_width();
    unsigned char* d = gp.get_data_ptr();
    const unsigned char* be = gp.get_byte_enable_ptr();
    const unsigned be_len = gp.get_byte_enable_length();
    const bool read = gp.is_read();
    if (be == nullptr && sw >= len) {
      if (read)
        std::memcpy(d, data_ + a, len);
      else
        std::memcpy(data_ + a, d, len);
      return;
    }
    for (unsigned i = 0; i < len; ++i) {
      if (be != nullptr && be[i % be_len] == TLM_BYTE_DISABLED) continue;
      unsigned char* m = data_ + a + (i % sw);
      if (read)
        d[i] = *m;
      else
        *m = d[i];
    }
  }

  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (gp.is_read() || gp.is_write()) {
      if (!check(gp)) {
        errors_.inc();
        return;
      }
      copy(gp);
      const std::uint64_t len = gp.get_data_length();
      const std::uint64_t beats = (len + beat_bytes_ - 1) / beat_bytes_;
      delay += (gp.is_read() ? read_latency_ : write_latency_) +
               beat_time_ * static_cast<double>(beats);
      if (gp.is_read()) {
        reads_.inc();
        bytes_read_.inc(len);
      } else {
        writes_.inc();
        bytes_written_.inc(len);
      }
    }
    gp.set_dmi_allowed(allow_dmi_);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  bool get_direct_mem_ptr(tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
    if (!allow_dmi_ || gp.get_address() >= size_) return false;
    dmi.set_dmi_ptr(data_);
    dmi.set_start_address(0);
    dmi.set_end_address(size_ - 1);
    dmi.set_read_latency(read_latency_);
    dmi.set_write_latency(write_latency_);
    dmi.allow_read_write();
    dmi_grants_.inc();
    return true;
  }

  unsigned transport_dbg(tlm::tlm_generic_payload& gp) {
    const std::uint64_t a = gp.get_address();
    if (a >= size_) return 0;
    const std::uint64_t n = std::min<std::uint64_t>(gp.get_data_length(), size_ - a);
    if (gp.is_read())
      std::memcpy(gp.get_data_ptr(), data_ + a, n);
    else if (gp.is_write())
      std::memcpy(data_ + a, gp.get_data_ptr(), n);
    return static_cast<unsigned>(n);
  }

  tlm_utils::simple_target_socket<Memory, kBusWidth> socket_;
  std::uint64_t size_;
  sc_core::sc_time read_latency_, write_latency_;
  std::uint64_t beat_bytes_;
  sc_core::sc_time beat_time_;
  bool allow_dmi_;
  unsigned char* data_ = nullptr;
  Counter &reads_, &writes_, &bytes_read_, &bytes_written_, &errors_, &dmi_grants_;

};

ModelSpec memory_spec() {
  ModelSpec s;
  s.name = "memory";
  s.summary = "Idealised memory: fixed access latency plus per-beat transfer time, grants DMI";
  s.doc =
      "Byte-addressable storage behind one TLM target socket. latency = read/write_latency "
      "+ ceil(bytes / bytes_per_beat) * beat_time. Honours byte enables and streaming "
      "width; out-of-range accesses get ADDRESS_ERROR naming the range.";
  s.source =
      "Round-number defaults between on-chip SRAM (~1 ns) and an idle DDR4-2400 read "
      "(tRCD + tCL = 2 x 14.16 ns, JESD79-4); use the dram model where timing matters.";
  s.params = {
      int_param("size", 1 << 20, 1, std::int64_t(1) << 40, "B", "capacity in bytes"),
      time_param("read_latency", 10'000, 0, 1'000'000'000, "fixed latency of a read"),
      time_param("write_latency", 10'000, 0, 1'000'000'000, "fixed latency of a write"),
      int_param("bytes_per_beat", 8, 1, 4096, "B", "data-path width for the per-beat term"),
      time_param("beat_time", 0, 0, 1'000'000, "transfer time per beat (0: latency only)"),
      bool_param("dmi", true, "grant direct memory interface access"),
      int_param("fill", 0, 0, 255, "", "initial value of every byte"),
  };
  s.ports = {{"target", PortKind::TlmTarget, "read/write accesses", false}};
  s.factory = [](const sc_core::sc_module_name& n, const Params& p) -> Model* {
    return new Memory(n, p);
  };
  return s;
}

const RegisterModel reg_memory(memory_spec());

void bind_memory(nanobind::module_& m) {
  namespace nb = nanobind;
  nb::class_<Memory, Model>(m, "Memory", "The 'memory' model (see cosim.model_info('memory')).")
      .def_prop_ro("size", &Memory::size)
      .def(
          "array",
          [](nb::handle_t<Memory> self) {
            Memory* mem = nb::inst_ptr<Memory>(self);
            // A zero-copy uint8 view of the whole memory, for loading workloads and
            // checking results without simulated time passing.
            nb::object np = nb::module_::import_("numpy");
            nb::object buf = nb::steal(PyMemoryView_FromMemory(
                reinterpret_cast<char*>(mem->data()), static_cast<Py_ssize_t>(mem->size()), PyBUF_WRITE));
            nb::object arr = np.attr("frombuffer")(buf, np.attr("uint8"));
            return arr;
          },
          "Zero-copy numpy uint8 view of the whole memory (backdoor: no time, no stats).");
}

const RegisterPythonBindings reg_memory_py(bind_memory);

}  // namespace

}  // namespace cosim

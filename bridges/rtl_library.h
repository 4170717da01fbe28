// A Verilated RTL model loaded from a cosim RTL library (built by cosim.rtl.build), and
// direct access to its pins.
//
// The library exports the C ABI of core/include/cosim/rtl_abi.h. Pins are read and written
// in the model's own storage: a 1-bit pin is one byte, a pin up to 64 bits a native
// integer, a wider one little-endian 32-bit words, so a beat of any width moves with one
// memcpy and no function call.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cosim/rtl_abi.h"

namespace cosim::rtl {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "cosim RTL pins assume a little-endian host (Verilator's word order)");

enum class PinDir : std::uint32_t { Input = COSIM_RTL_INPUT, Output = COSIM_RTL_OUTPUT, Inout = COSIM_RTL_INOUT };
const char* pin_dir_name(PinDir d);

class Pin {
 public:
  Pin(std::string name, PinDir dir, std::uint32_t width, std::uint32_t storage, void* data)
      : name_(std::move(name)), dir_(dir), width_(width), storage_(storage),
        data_(static_cast<std::uint8_t*>(data)) {}

  const std::string& name() const { return name_; }
  PinDir dir() const { return dir_; }
  std::uint32_t width() const { return width_; }
  // Bytes a value of this pin takes in a payload: ceil(width / 8).
  std::uint32_t bytes() const { return (width_ + 7) / 8; }

  // 1-bit pins.
  bool bit() const { return (*data_ & 1u) != 0; }
  void set_bit(bool v) { *data_ = v ? 1 : 0; }

  // Pins up to 64 bits.
  std::uint64_t get() const {
    switch (storage_) {
      case 1: return *data_;
      case 2: { std::uint16_t v; std::memcpy(&v, data_, 2); return v; }
      case 4: { std::uint32_t v; std::memcpy(&v, data_, 4); return v; }
      default: { std::uint64_t v; std::memcpy(&v, data_, 8); return v; }
    }
  }
  void set(std::uint64_t v) {
    if (width_ < 64) v &= (std::uint64_t(1) << width_) - 1;
    switch (storage_) {
      case 1: *data_ = static_cast<std::uint8_t>(v); break;
      case 2: { auto x = static_cast<std::uint16_t>(v); std::memcpy(data_, &x, 2); break; }
      case 4: { auto x = static_cast<std::uint32_t>(v); std::memcpy(data_, &x, 4); break; }
      default: std::memcpy(data_, &v, 8); break;
    }
  }

  // Any width: bytes() bytes, least significant first.
  void read(std::uint8_t* dst) const {
    const std::uint32_t n = bytes();
    copy(dst, data_, n);
    if (width_ % 8 != 0) dst[n - 1] &= static_cast<std::uint8_t>((1u << (width_ % 8)) - 1);
  }
  void write(const std::uint8_t* src) {
    const std::uint32_t n = bytes();
    copy(data_, src, n);
    if (storage_ > n) std::memset(data_ + n, 0, storage_ - n);
    if (width_ % 8 != 0) data_[n - 1] &= static_cast<std::uint8_t>((1u << (width_ % 8)) - 1);
  }
  void clear() { std::memset(data_, 0, storage_); }

 private:
  // A beat moves every cycle: copies of the usual sizes are inlined (a memcpy of a
  // run-time length is a call and a `rep movsb`, which costs more than the copy).
  static void copy(std::uint8_t* d, const std::uint8_t* s, std::uint32_t n) {
    switch (n) {
      case 1: *d = *s; return;
      case 2: std::memcpy(d, s, 2); return;
      case 4: std::memcpy(d, s, 4); return;
      case 8: std::memcpy(d, s, 8); return;
      case 16: std::memcpy(d, s, 16); return;
      case 32: std::memcpy(d, s, 32); return;
      case 64: std::memcpy(d, s, 64); return;
      case 128: std::memcpy(d, s, 128); return;
      default: std::memcpy(d, s, n);
    }
  }

  std::string name_;
  PinDir dir_;
  std::uint32_t width_, storage_;
  std::uint8_t* data_;
};

// The entry points of one loaded library (shared by all its instances).
struct RtlLibrary {
  std::string path;
  std::string top;
  std::string trace_format;
  std::vector<cosim_rtl_port> ports;
  cosim_rtl_create_fn create = nullptr;
  cosim_rtl_destroy_fn destroy = nullptr;
  cosim_rtl_eval_fn eval = nullptr;
  cosim_rtl_port_data_fn port_data = nullptr;
  cosim_rtl_trace_open_fn trace_open = nullptr;
  cosim_rtl_trace_dump_fn trace_dump = nullptr;
  cosim_rtl_trace_close_fn trace_close = nullptr;

  // Load (once per path per process); throws std::invalid_argument naming the problem.
  static const RtlLibrary& load(const std::string& path);
};

// One instance of the model.
class RtlModel {
 public:
  explicit RtlModel(const RtlLibrary& lib);
  ~RtlModel();
  RtlModel(const RtlModel&) = delete;
  RtlModel& operator=(const RtlModel&) = delete;

  const RtlLibrary& library() const { return lib_; }
  // Returns true once the RTL has run $finish/$stop/$fatal.
  bool eval(std::uint64_t time_ps) { return lib_.eval(handle_, time_ps) != 0; }
  Pin* find(const std::string& name);
  std::vector<Pin>& pins() { return pins_; }

  bool traced() const { return !lib_.trace_format.empty(); }
  bool trace_open(const std::string& path) { return lib_.trace_open(handle_, path.c_str()) == 0; }
  void trace_dump(std::uint64_t time_ps) { lib_.trace_dump(handle_, time_ps); }
  void trace_close() { lib_.trace_close(handle_); }

 private:
  const RtlLibrary& lib_;
  void* handle_;
  std::vector<Pin> pins_;
};

}  // namespace cosim::rtl

// Plain C++ Verilator harness for rtl/systolic_array.sv: the baseline of
// bench/rtl_bridge.py. It drives the model's pins directly (no SystemC, no bridge) with
// the same protocol the cosim bridges use: reset, then per tile a DEPTH and a CTRL
// register write (req/ack), K operand beats (valid/ready) and ROWS result beats.
//
//   systolic_array_harness STIMULUS REPEATS RESULTS
// STIMULUS: little-endian u32 rows, cols, tiles, depth, then per tile depth operand
// beats of rows+cols bytes. The stimulus is run REPEATS times (for a measurable time);
// the result rows of the first pass (tiles x rows x cols int32) go to RESULTS. Prints
// one JSON line: cycles (reset included) and the CPU seconds of the timed part.
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include "Vtop.h"
#include "verilated.h"

namespace {

struct Harness {
  VerilatedContext ctx;
  std::unique_ptr<Vtop> top;
  std::uint64_t cycles = 0;
  Harness() : top(std::make_unique<Vtop>(&ctx, "top")) {}

  // One clock cycle is two evaluations, as in the cosim bridge: settle() with the clock
  // low (the inputs as set, the handshake decided from the settled outputs), then edge()
  // with the clock high. Every edge() follows a settle().
  void settle() {
    top->clk = 0;
    top->eval();
  }
  void edge() {
    top->clk = 1;
    top->eval();
    ++cycles;
  }

  void reset(int n) {
    top->rst_n = 0;
    for (int i = 0; i < n; ++i) {
      settle();
      edge();
    }
    top->rst_n = 1;
  }

  void csr_write(std::uint8_t addr, std::uint32_t data) {
    top->csr_req = 1;
    top->csr_we = 1;
    top->csr_addr = addr;
    top->csr_wdata = data;
    for (;;) {
      settle();
      const bool ack = top->csr_ack;
      edge();
      if (ack) break;
    }
    top->csr_req = 0;
  }

  void stream_in(const std::uint8_t* beats, std::size_t n, std::size_t beat_bytes) {
    for (std::size_t i = 0; i < n;) {
      top->in_valid = 1;
      std::memcpy(top->in_data.data(), beats + i * beat_bytes, beat_bytes);
      settle();
      const bool fire = top->in_ready;
      edge();
      if (fire) ++i;
    }
    top->in_valid = 0;
  }

  void stream_out(std::size_t n, std::size_t row_bytes, std::uint8_t* dst) {
    top->out_ready = 1;
    for (std::size_t i = 0; i < n;) {
      settle();
      const bool fire = top->out_valid;
      if (fire && dst != nullptr) std::memcpy(dst + i * row_bytes, top->out_data.data(), row_bytes);
      edge();
      if (fire) ++i;
    }
    top->out_ready = 0;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s STIMULUS REPEATS RESULTS\n", argv[0]);
    return 2;
  }
  std::ifstream f(argv[1], std::ios::binary);
  std::uint32_t hdr[4];
  f.read(reinterpret_cast<char*>(hdr), sizeof hdr);
  const std::uint32_t rows = hdr[0], cols = hdr[1], tiles = hdr[2], depth = hdr[3];
  const std::size_t beat_bytes = rows + cols;
  std::vector<std::uint8_t> stim(std::size_t(tiles) * depth * beat_bytes);
  f.read(reinterpret_cast<char*>(stim.data()), static_cast<std::streamsize>(stim.size()));
  if (!f) {
    std::fprintf(stderr, "short stimulus file %s\n", argv[1]);
    return 2;
  }
  const int repeats = std::atoi(argv[2]);
  const std::size_t row_bytes = 4u * cols;
  std::vector<std::uint8_t> results(std::size_t(tiles) * rows * row_bytes);
  Harness h;
  const std::clock_t t0 = std::clock();
  h.reset(4);
  for (int r = 0; r < repeats; ++r)
    for (std::uint32_t t = 0; t < tiles; ++t) {
      h.csr_write(0x08, depth);
      h.csr_write(0x00, 1);
      h.stream_in(stim.data() + std::size_t(t) * depth * beat_bytes, depth, beat_bytes);
      h.stream_out(rows, row_bytes, r == 0 ? results.data() + std::size_t(t) * rows * row_bytes : nullptr);
    }
  const double s = static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
  std::ofstream(argv[3], std::ios::binary)
      .write(reinterpret_cast<const char*>(results.data()), static_cast<std::streamsize>(results.size()));
  std::printf("{\"cycles\": %llu, \"seconds\": %.6f}\n", static_cast<unsigned long long>(h.cycles), s);
  h.top->final();
  return 0;
}

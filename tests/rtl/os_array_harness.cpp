// A plain C++ Verilator harness for os_array.sv (the reference of
// tests/test_rtl_foreign.py): it drives the pins itself, two evaluations per cycle
// (clock low to settle, then the rising edge), and sends each tile as soon as the
// previous one's done pulse is seen.
//
//   os_array_harness STIMULUS RESULTS
// STIMULUS: little-endian u32 N, tiles, K, then per tile K beats of N bytes of a_vec
// followed by N bytes of b_vec. RESULTS gets every captured row (4N bytes each).
// Prints one JSON line: the edge of each done pulse and the edges simulated.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "Vtop.h"
#include "verilated.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  std::ifstream f(argv[1], std::ios::binary);
  std::uint32_t hdr[3];
  f.read(reinterpret_cast<char*>(hdr), sizeof hdr);
  const std::uint32_t n = hdr[0], tiles = hdr[1], k = hdr[2];
  std::vector<std::uint8_t> stim(std::size_t(tiles) * k * 2 * n);
  f.read(reinterpret_cast<char*>(stim.data()), static_cast<std::streamsize>(stim.size()));
  if (!f) return 2;

  VerilatedContext ctx;
  auto top = std::make_unique<Vtop>(&ctx, "top");
  std::uint64_t cycles = 0;
  std::vector<std::uint8_t> rows;
  std::vector<std::uint64_t> dones;
  auto settle = [&] {
    top->clk = 0;
    top->eval();
    if (top->res_valid) {  // a result row transfers at the coming edge
      const auto* p = reinterpret_cast<const std::uint8_t*>(&top->res_row);
      rows.insert(rows.end(), p, p + 4 * n);
    }
  };
  auto edge = [&] {
    top->clk = 1;
    top->eval();
    ++cycles;
  };
  top->rst_n = 0;
  for (int i = 0; i < 4; ++i) settle(), edge();
  top->rst_n = 1;
  for (std::uint32_t t = 0; t < tiles; ++t) {
    for (std::uint32_t b = 0; b < k; ++b) {
      const std::uint8_t* beat = stim.data() + (std::size_t(t) * k + b) * 2 * n;
      top->in_valid = 1;
      std::memcpy(&top->a_vec, beat, n);
      std::memcpy(&top->b_vec, beat + n, n);
      top->in_last = b + 1 == k;
      for (;;) {
        settle();
        const bool fire = top->in_ready;
        edge();
        if (fire) break;
      }
    }
    top->in_valid = 0;
    top->in_last = 0;
    do {
      settle();
      edge();
    } while (!top->done);
    dones.push_back(cycles);
  }
  std::ofstream(argv[2], std::ios::binary)
      .write(reinterpret_cast<const char*>(rows.data()), static_cast<std::streamsize>(rows.size()));
  std::string d;
  for (auto c : dones) d += (d.empty() ? "" : ", ") + std::to_string(c);
  std::printf("{\"done\": [%s], \"cycles\": %llu}\n", d.c_str(), static_cast<unsigned long long>(cycles));
  top->final();
  return 0;
}

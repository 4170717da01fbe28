// k-winners-take-all over one activation vector: the k-WTA unit of the complementary
// sparsity engine (Hunter, Spracklen and Ahmad, "Two sparsities are better than one",
// Neuromorphic Computing and Engineering 2022). Twins: cosim.accel.complementary_sparsity
// .engine.kwta_mask (numpy) and kwta() in tlm/accel/complementary_sparsity/
// complementary_sparsity.cpp.
//
// A rank network evaluated in one cycle: element i wins when fewer than K elements rank
// above it, an element j ranking above i when x[j] > x[i], or x[j] == x[i] and j < i
// (tie-break: the larger value wins, among equal values the lower channel index). Exactly
// min(K, CHANNELS) elements win. One signed comparison per pair (CHANNELS*(CHANNELS-1)/2
// comparators; the pair's other order is its complement or equality).
//
// Ports: x (CHANNELS signed 8-bit values, channel c at bits [8c, 8c+8)), k (winners, 0
// gives none), en (take x at this edge), mask (registered: bit c set when channel c of
// the last x taken wins).
module kwta #(
  parameter int CHANNELS = 64
) (
  input  logic                        clk,
  input  logic                        en,
  input  logic [8*CHANNELS-1:0]        x,
  input  logic [$clog2(CHANNELS+1)-1:0] k,
  output logic [CHANNELS-1:0]          mask
);
  localparam int RW = $clog2(CHANNELS + 1);

  if (CHANNELS < 2 || CHANNELS > 256) begin : g_bad
    $fatal(1, "kwta: CHANNELS must be 2..256");
  end

  always_ff @(posedge clk)
    if (en)
      for (int i = 0; i < CHANNELS; i++) begin
        automatic logic [RW-1:0] rank = '0;
        for (int j = 0; j < CHANNELS; j++)
          if (j != i && ($signed(x[8*j +: 8]) > $signed(x[8*i +: 8])
                         || (x[8*j +: 8] == x[8*i +: 8] && j < i)))
            rank = rank + RW'(1);
        mask[i] <= rank < k;
      end
endmodule

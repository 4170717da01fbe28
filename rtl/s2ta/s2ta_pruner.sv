// S2TA's dynamic activation pruning (Liu et al., "S2TA: Exploiting Structured Sparsity for
// Energy-Efficient Mobile CNN Acceleration", HPCA 2022): an activation density-bound
// block (A-DBB) keeps the k largest-magnitude values of every block of 8, chosen at run
// time. This unit is time-unrolled: loaded with one block, it presents the largest
// remaining value (and its position in the block) every cycle and drops it on `advance`,
// so k advances give the block's top-k in order of magnitude, one per cycle, exactly as
// the tensor-PE array consumes them. Ties go to the lower position; |-128| = 128.
// With fewer than k nonzero values the zeros come last (the array gates them).
module s2ta_pruner (
  input  logic              clk,
  input  logic              rst_n,
  input  logic              load,      // take `block` (lane p = bits [8p+7:8p])
  input  logic [63:0]       block,
  input  logic              advance,   // the presented value is consumed
  output logic signed [7:0] val,       // largest remaining value
  output logic [2:0]        pos        // its position in the block
);
  logic [63:0] vals;
  logic [7:0]  taken;
  logic [7:0]  mag [8];
  logic [7:0]  best_mag;
  logic        found;

  always_comb begin
    for (int l = 0; l < 8; l++) begin
      mag[l] = vals[8*l+7] ? 8'(~vals[8*l +: 8] + 8'd1) : vals[8*l +: 8];
    end
    // Comparator chain: the first strictly larger magnitude wins, so ties keep the
    // lower position.
    pos      = 3'd0;
    best_mag = 8'd0;
    found    = 1'b0;
    for (int l = 0; l < 8; l++) begin
      if (!taken[l] && (!found || mag[l] > best_mag)) begin
        pos      = 3'(l);
        best_mag = mag[l];
        found    = 1'b1;
      end
    end
    val = vals[8*pos +: 8];
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      vals  <= '0;
      taken <= '1;
    end else if (load) begin
      vals  <= block;
      taken <= '0;
    end else if (advance) begin
      taken[pos] <= 1'b1;
    end
  end
endmodule

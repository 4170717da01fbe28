// The time-unrolled DBB tensor-PE array of S2TA (Liu et al., HPCA 2022): ROWS x COLS
// output-stationary tensor PEs, TPE(i,j) accumulating C[i][j] = sum_k A[i][k] W[k][j] over
// density-bound blocks of 8 along k.
//
// Each issue cycle carries, for every row i, one activation of the current block, already
// pruned and compressed (value, position in the block), and for every column j the
// current weight block in W-DBB form: an 8-bit mask of the positions kept and up to W_NNZ
// int8 values in position order. A block is time-unrolled: its k activations come in k
// consecutive issues with the same weight blocks. TPE(i,j) picks the weight at the
// activation's position (the mask bit, and the popcount of the mask below it as the index
// into the values) and multiplies; when the activation is zero or the weight was pruned
// the MAC is clock-gated (no product is added). Operands travel as in a skewed systolic
// array: row i enters i cycles late and moves right one TPE per cycle, column j enters j
// cycles late and moves down, so TPE(i,j) sees issue t in cycle t+i+j.
//
// `clear` zeroes the accumulators (a new job). `macs` and `gated` count the TPEs that
// multiplied or were gated in this cycle.
module s2ta_array #(
  parameter int ROWS  = 8,
  parameter int COLS  = 8,
  parameter int W_NNZ = 4,
  parameter int WB    = 8 + 8 * W_NNZ   // bits of one weight block
) (
  input  logic                   clk,
  input  logic                   rst_n,
  input  logic                   clear,
  input  logic                   issue,
  input  logic [8*ROWS-1:0]      a_val,     // row i: bits [8i+7:8i]
  input  logic [3*ROWS-1:0]      a_pos,     // row i: bits [3i+2:3i]
  input  logic [WB*COLS-1:0]     w_blk,     // column j: mask [WB*j+7:WB*j], values above
  output logic [32*ROWS*COLS-1:0] acc,      // TPE(i,j) at bits [32*(i*COLS+j) +: 32]
  output logic [31:0]            macs,
  output logic [31:0]            gated
);
  if (ROWS < 1 || COLS < 1 || ROWS > 16 || COLS > 16) begin : g_bad_shape
    $fatal(1, "s2ta_array: ROWS and COLS must be 1..16");
  end
  if (W_NNZ < 1 || W_NNZ > 8) begin : g_bad_nnz
    $fatal(1, "s2ta_array: W_NNZ must be 1..8");
  end

  // Operands at each TPE in this cycle.
  logic              v_at [ROWS][COLS];   // an activation is at TPE(i,j)
  logic [7:0]        x_at [ROWS][COLS];   // its value
  logic [2:0]        p_at [ROWS][COLS];   // its position
  logic [WB-1:0]     w_at [ROWS][COLS];   // the weight block at TPE(i,j)
  logic [ROWS*COLS-1:0] en, gate;

  // Row skew: row i's activation reaches TPE(i,0) after i+1 register stages.
  for (genvar i = 0; i < ROWS; i++) begin : g_rskew
    logic       sv [i+1];
    logic [7:0] sx [i+1];
    logic [2:0] sp [i+1];
    always_ff @(posedge clk) begin
      if (!rst_n) begin
        for (int k = 0; k <= i; k++) begin
          sv[k] <= 1'b0;
          sx[k] <= '0;
          sp[k] <= '0;
        end
      end else begin
        sv[0] <= issue;
        sx[0] <= issue ? a_val[8*i +: 8] : 8'd0;
        sp[0] <= issue ? a_pos[3*i +: 3] : 3'd0;
        for (int k = 1; k <= i; k++) begin
          sv[k] <= sv[k-1];
          sx[k] <= sx[k-1];
          sp[k] <= sp[k-1];
        end
      end
    end
    assign v_at[i][0] = sv[i];
    assign x_at[i][0] = sx[i];
    assign p_at[i][0] = sp[i];
  end

  // Column skew: column j's weight block reaches TPE(0,j) after j+1 register stages.
  for (genvar j = 0; j < COLS; j++) begin : g_cskew
    logic [WB-1:0] sw [j+1];
    always_ff @(posedge clk) begin
      if (!rst_n) begin
        for (int k = 0; k <= j; k++) sw[k] <= '0;
      end else begin
        if (issue) sw[0] <= w_blk[WB*j +: WB];
        for (int k = 1; k <= j; k++) sw[k] <= sw[k-1];
      end
    end
    assign w_at[0][j] = sw[j];
  end

  for (genvar i = 0; i < ROWS; i++) begin : g_row
    for (genvar j = 0; j < COLS; j++) begin : g_tpe
      logic [7:0]         mask;
      logic [3:0]         idx;
      logic               hit;
      logic signed [7:0]  w;
      logic signed [31:0] sum;

      // Weight select: the mask bit at the activation's position, and the number of
      // kept positions below it as the index into the compressed values.
      always_comb begin
        mask = w_at[i][j][7:0];
        hit  = mask[p_at[i][j]];
        idx  = 4'd0;
        for (int b = 0; b < 8; b++) begin
          if (3'(b) < p_at[i][j] && mask[b]) idx = idx + 4'd1;
        end
        w = 8'sd0;
        for (int n = 0; n < W_NNZ; n++) begin
          if (idx == 4'(n)) w = w_at[i][j][8 + 8*n +: 8];
        end
      end

      assign en[i*COLS+j]   = v_at[i][j] && hit && x_at[i][j] != 8'd0 && w != 8'sd0;
      assign gate[i*COLS+j] = v_at[i][j] && !en[i*COLS+j];

      always_ff @(posedge clk) begin
        if (!rst_n || clear) sum <= '0;
        else if (en[i*COLS+j]) sum <= sum + 32'($signed(x_at[i][j]) * w);
      end
      assign acc[32*(i*COLS+j) +: 32] = sum;

      if (j + 1 < COLS) begin : g_right
        logic       qv;
        logic [7:0] qx;
        logic [2:0] qp;
        always_ff @(posedge clk) begin
          if (!rst_n) begin
            qv <= 1'b0;
            qx <= '0;
            qp <= '0;
          end else begin
            qv <= v_at[i][j];
            qx <= x_at[i][j];
            qp <= p_at[i][j];
          end
        end
        assign v_at[i][j+1] = qv;
        assign x_at[i][j+1] = qx;
        assign p_at[i][j+1] = qp;
      end
      if (i + 1 < ROWS) begin : g_down
        // The block changes once per block of issues: the register toggles only then.
        logic [WB-1:0] qw;
        always_ff @(posedge clk) begin
          if (!rst_n) qw <= '0;
          else        qw <= w_at[i][j];
        end
        assign w_at[i+1][j] = qw;
      end
    end
  end

  always_comb begin
    macs  = '0;
    gated = '0;
    for (int n = 0; n < ROWS * COLS; n++) begin
      macs  = macs + 32'(en[n]);
      gated = gated + 32'(gate[n]);
    end
  end
endmodule

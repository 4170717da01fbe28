// Sequential integer square root: root = floor(sqrt(radicand)), one result bit per
// cycle, most significant first (a trial square per step). Used by the DFX vector
// unit's LayerNorm (s = isqrt(var << 20)). A pulse on `start` loads the radicand;
// `valid` rises RW/2 cycles later and stays high until the next start.
module seq_isqrt #(
  parameter int RW = 64   // radicand width (even)
) (
  input  logic            clk,
  input  logic            rst_n,
  input  logic            start,
  input  logic [RW-1:0]   radicand,
  output logic            valid,
  output logic [RW/2-1:0] root
);
  localparam int HW = RW / 2;
  localparam int CW = $clog2(HW + 1);
  logic [RW-1:0] v;
  logic [CW-1:0] left;
  logic [HW-1:0] trial;
  logic [RW-1:0] sq;

  assign trial = root | (HW'(1) << (left - CW'(1)));
  assign sq    = RW'(trial) * RW'(trial);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      v     <= '0;
      left  <= '0;
      valid <= 1'b0;
      root  <= '0;
    end else if (start) begin
      v     <= radicand;
      left  <= CW'(HW);
      valid <= 1'b0;
      root  <= '0;
    end else if (left != '0) begin
      if (sq <= v) root <= trial;
      left <= left - CW'(1);
      if (left == CW'(1)) valid <= 1'b1;
    end
  end
endmodule

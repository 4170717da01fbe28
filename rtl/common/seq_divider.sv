// Sequential restoring divider: q = floor(dividend / divisor), one quotient bit per cycle.
//
// Shared by the softmax core (R = floor(2^48 / sum)) and the vector unit's LayerNorm
// (rstd = floor(2^34 / s)). QW is the number of quotient bits computed; the caller
// guarantees dividend >> QW < divisor (the quotient fits QW bits), as both users do by
// construction. A pulse on `start` loads the operands; `valid` rises QW cycles later with
// the quotient and stays high until the next start.
module seq_divider #(
  parameter int NW = 49,  // dividend width
  parameter int DW = 33,  // divisor width
  parameter int QW = 33   // quotient bits
) (
  input  logic          clk,
  input  logic          rst_n,
  input  logic          start,
  input  logic [NW-1:0] dividend,
  input  logic [DW-1:0] divisor,
  output logic          valid,
  output logic [QW-1:0] quotient
);
  localparam int CW = $clog2(QW + 1);
  logic [DW-1:0] rem;      // partial remainder, < divisor
  logic [QW-1:0] num;      // dividend bits still to bring down, most significant first
  logic [DW-1:0] den;
  logic [CW-1:0] left;     // iterations still to do
  logic [DW:0]   trial;
  logic          fits;

  assign trial = {rem, num[QW-1]};
  assign fits  = trial >= {1'b0, den};

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      rem      <= '0;
      num      <= '0;
      den      <= '0;
      left     <= '0;
      valid    <= 1'b0;
      quotient <= '0;
    end else if (start) begin
      rem      <= DW'(dividend >> QW);
      num      <= dividend[QW-1:0];
      den      <= divisor;
      left     <= CW'(QW);
      valid    <= 1'b0;
      quotient <= '0;
    end else if (left != '0) begin
      rem      <= DW'(fits ? trial - {1'b0, den} : trial);
      num      <= num << 1;
      quotient <= {quotient[QW-2:0], fits};
      left     <= left - CW'(1);
      if (left == CW'(1)) valid <= 1'b1;
    end
  end
endmodule

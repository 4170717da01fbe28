// IEEE 754 binary32 addition, round to nearest even, combinational: y = a + b exactly
// as an x86 SSE `addss` (and numpy float32) computes it for finite operands and for
// infinities, subnormal operands and results included (no flush to zero).
//
// NaN: a NaN operand gives that operand quieted (a is preferred when both are NaN);
// inf + (-inf) gives the x86 default NaN 0xFFC00000. Which NaN payload a C++ compiler's
// `a + b` produces when both are NaN is not defined (it may swap the operands), so
// callers compare NaN results by class, not by payload.
//
// Used by the DFX matrix tile (rtl/dfx/fp16_dot_tile.sv: its operands are exact fp16
// products and sums of them, so only zero and normal numbers reach it) and by the
// near-bank MAC unit (rtl/ndp_gemv/ndp_mac_unit.sv: fp16 GEMV on data that may hold any value).
module fp32_add (
  input  logic [31:0] a,
  input  logic [31:0] b,
  output logic [31:0] y
);
  localparam logic [31:0] DEFAULT_NAN = 32'hFFC0_0000;

  logic        a_nan, b_nan, a_inf, b_inf;
  logic        hi_is_a;
  logic [31:0] hi, lo;
  logic [7:0]  e_hi, e_lo;
  logic [8:0]  diff;
  logic [26:0] m_hi, m_lo, shifted;  // 24-bit significand + guard, round, sticky
  logic        sticky;
  logic [27:0] sum;
  logic [26:0] norm;
  logic [8:0]  exp_n;
  logic [4:0]  lz;
  logic [4:0]  shift;
  logic [24:0] rounded;
  logic        round_up;
  logic [8:0]  exp_r;

  assign a_nan = a[30:23] == 8'hFF && a[22:0] != 23'd0;
  assign b_nan = b[30:23] == 8'hFF && b[22:0] != 23'd0;
  assign a_inf = a[30:23] == 8'hFF && a[22:0] == 23'd0;
  assign b_inf = b[30:23] == 8'hFF && b[22:0] == 23'd0;

  // Order by magnitude: |hi| >= |lo|.
  assign hi_is_a = a[30:0] >= b[30:0];
  assign hi      = hi_is_a ? a : b;
  assign lo    = hi_is_a ? b : a;
  assign e_hi    = hi[30:23] == 8'd0 ? 8'd1 : hi[30:23];
  assign e_lo  = lo[30:23] == 8'd0 ? 8'd1 : lo[30:23];
  assign m_hi    = {hi[30:23] != 8'd0, hi[22:0], 3'b000};
  assign m_lo  = {lo[30:23] != 8'd0, lo[22:0], 3'b000};
  assign diff     = {1'b0, e_hi} - {1'b0, e_lo};

  // Align the smaller operand, folding the bits shifted out into the sticky bit.
  always_comb begin
    if (diff >= 9'd27) begin
      shifted = 27'd0;
      sticky  = m_lo != 27'd0;
    end else begin
      shifted = m_lo >> diff[4:0];
      sticky  = (m_lo & ((27'd1 << diff[4:0]) - 27'd1)) != 27'd0;
    end
  end

  // Leading zeros of a 27-bit value (27 when it is zero).
  function automatic logic [4:0] clz27(input logic [26:0] v);
    logic [4:0] n;
    n = 5'd27;
    for (int i = 0; i < 27; i++) begin
      if (v[i]) n = 5'(26 - i);
    end
    return n;
  endfunction

  always_comb begin
    norm     = 27'd0;
    exp_n    = {1'b0, e_hi};
    lz       = 5'd0;
    shift    = 5'd0;
    rounded  = 25'd0;
    round_up = 1'b0;
    exp_r    = 9'd0;
    sum      = 28'd0;
    y        = 32'd0;
    if (a_nan) begin
      y = a | 32'h0040_0000;
    end else if (b_nan) begin
      y = b | 32'h0040_0000;
    end else if (a_inf && b_inf) begin
      y = a[31] == b[31] ? a : DEFAULT_NAN;
    end else if (a_inf) begin
      y = a;
    end else if (b_inf) begin
      y = b;
    end else begin
      if (hi[31] == lo[31]) begin
        sum = {1'b0, m_hi} + {1'b0, shifted[26:1], shifted[0] | sticky};
        if (sum[27]) begin
          norm  = {sum[27:2], sum[1] | sum[0]};
          exp_n = {1'b0, e_hi} + 9'd1;
        end else begin
          norm = sum[26:0];
        end
      end else begin
        sum = {1'b0, m_hi} - {1'b0, shifted[26:1], shifted[0] | sticky};
        lz  = clz27(sum[26:0]);
        // Normalise, but not below the smallest exponent (gradual underflow).
        shift = (9'(lz) < {1'b0, e_hi} - 9'd1) ? lz : 5'(e_hi - 8'd1);
        norm  = sum[26:0] << shift;
        exp_n = {1'b0, e_hi} - 9'(shift);
      end
      round_up = norm[2] && (norm[1] || norm[0] || norm[3]);
      rounded  = {1'b0, norm[26:3]} + 25'(round_up);
      exp_r    = exp_n;
      if (rounded[24]) begin
        rounded = rounded >> 1;
        exp_r   = exp_n + 9'd1;
      end
      if (norm == 27'd0) begin
        // Exact zero: +0 unless both operands are -0 (round to nearest).
        y = {hi[31] & lo[31], 31'd0};
      end else if (exp_r >= 9'd255) begin
        y = {hi[31], 8'hFF, 23'd0};
      end else begin
        y = {hi[31], rounded[23] ? exp_r[7:0] : 8'd0, rounded[22:0]};
      end
    end
  end
endmodule

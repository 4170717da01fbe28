// The exact product of two IEEE 754 binary16 values as a binary32, combinational.
//
// An fp16 significand has 11 bits, so the product of two has at most 22 and always fits
// the 24 bits of an fp32 significand; the exponent stays within fp32's normal range
// (2^-48 .. 2^32). So the product needs no rounding: it equals
// float(a) * float(b) as C++ (tlm/ndp/unit_ops.cpp: half_to_float, then `*`) computes it.
//
// Specials: a NaN operand gives that NaN quieted (a first); inf * 0 gives the x86 default
// NaN 0xFFC00000; inf * finite non-zero an infinity; signed zeros as IEEE 754 says.
// Used by the DFX matrix tile (finite inputs only) and the near-bank MAC unit (any input).
module fp16_mul_fp32 (
  input  logic [15:0] a,
  input  logic [15:0] b,
  output logic [31:0] y
);
  logic        sign;
  logic        a_nan, b_nan, a_inf, b_inf, a_zero, b_zero;
  logic [10:0] sig_a, sig_b;
  logic [4:0]  exp_a, exp_b;
  logic [21:0] prod;
  logic [4:0]  msb;
  logic [7:0]  exp32;
  logic [22:0] mant;

  assign sign   = a[15] ^ b[15];
  assign a_nan  = a[14:10] == 5'h1F && a[9:0] != 10'd0;
  assign b_nan  = b[14:10] == 5'h1F && b[9:0] != 10'd0;
  assign a_inf  = a[14:10] == 5'h1F && a[9:0] == 10'd0;
  assign b_inf  = b[14:10] == 5'h1F && b[9:0] == 10'd0;
  assign a_zero = a[14:0] == 15'd0;
  assign b_zero = b[14:0] == 15'd0;
  assign sig_a  = {a[14:10] != 5'd0, a[9:0]};
  assign sig_b  = {b[14:10] != 5'd0, b[9:0]};
  assign exp_a  = a[14:10] == 5'd0 ? 5'd1 : a[14:10];
  assign exp_b  = b[14:10] == 5'd0 ? 5'd1 : b[14:10];
  assign prod   = sig_a * sig_b;

  always_comb begin
    msb = 5'd0;
    for (int i = 0; i < 22; i++) begin
      if (prod[i]) msb = 5'(i);
    end
  end

  // value = prod * 2^(exp_a + exp_b - 50): fp32 biased exponent exp_a + exp_b + 77 + msb.
  assign exp32 = 8'(exp_a) + 8'(exp_b) + 8'd77 + 8'(msb);  // at most 158
  // The bits below the leading one, left-aligned in the 23-bit fraction.
  assign mant  = 23'({1'b0, prod} << (5'd23 - msb));

  always_comb begin
    if (a_nan) begin
      y = {a[15], 8'hFF, 1'b1, a[8:0], 13'd0};
    end else if (b_nan) begin
      y = {b[15], 8'hFF, 1'b1, b[8:0], 13'd0};
    end else if ((a_inf && b_zero) || (a_zero && b_inf)) begin
      y = 32'hFFC0_0000;
    end else if (a_inf || b_inf) begin
      y = {sign, 8'hFF, 23'd0};
    end else if (a_zero || b_zero) begin
      y = {sign, 31'd0};
    end else begin
      y = {sign, exp32, mant};
    end
  end
endmodule

// Exact product of two IEEE binary16 numbers as an IEEE binary32 number (combinational).
// An fp16 significand has 11 bits, so the product's 22 bits and its exponent range
// (2^-48 .. 2^32) fit binary32 exactly: no rounding happens here. Inputs must be finite
// (zero, subnormal or normal); the driver of the tile rejects infinities and NaN.
// Part of the DFX matrix tile (fp16_dot_tile.sv); numerics as cosim/accel/fp16_tile.py.
module fp16_mul_fp32 (
  input  logic [15:0] a,
  input  logic [15:0] b,
  output logic [31:0] y
);
  logic        s;
  logic [10:0] ma, mb;
  logic [5:0]  ea, eb;   // effective biased exponents (1 for subnormals)
  logic [21:0] p;
  logic [4:0]  q;        // position of the leading one of p
  logic [7:0]  e32;
  logic [22:0] frac;

  assign s  = a[15] ^ b[15];
  assign ma = a[14:10] == 5'd0 ? {1'b0, a[9:0]} : {1'b1, a[9:0]};
  assign mb = b[14:10] == 5'd0 ? {1'b0, b[9:0]} : {1'b1, b[9:0]};
  assign ea = a[14:10] == 5'd0 ? 6'd1 : {1'b0, a[14:10]};
  assign eb = b[14:10] == 5'd0 ? 6'd1 : {1'b0, b[14:10]};
  assign p  = ma * mb;

  always_comb begin
    q = 5'd0;
    for (int i = 0; i < 22; i++) if (p[i]) q = 5'(i);
  end

  // value = p * 2^(ea + eb - 50) = 1.f * 2^(q + ea + eb - 50); bias 127
  assign e32  = 8'(32'(q) + 32'(ea) + 32'(eb) + 32'd77);
  assign frac = 23'({1'b0, p} << (5'd23 - q));
  assign y    = p == 22'd0 ? {s, 31'd0} : {s, e32, frac};
endmodule

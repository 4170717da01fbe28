// IEEE binary32 addition, round to nearest, ties to even (combinational), for operands
// that are zero or normal: in the DFX matrix tile every operand is an exact product of
// two binary16 numbers or a sum of such (a multiple of 2^-48, at most 2^42 in
// magnitude), so subnormal, infinite and NaN operands and results cannot arise; a result
// below the normal range would be flushed to zero. Signed zeros follow IEEE 754:
// (-0) + (-0) = -0, x + (-x) = +0. Three extra bits (guard, round, sticky) give the
// correctly rounded result. Numerics as numpy float32 (cosim/accel/fp16_tile.py).
module fp32_add (
  input  logic [31:0] a,
  input  logic [31:0] b,
  output logic [31:0] y
);
  always_comb begin
    logic        swap, sa, sb;
    logic [7:0]  e1, e2, d;
    logic [23:0] m1, m2;
    logic [49:0] wide;
    logic [26:0] big, minor;
    logic [27:0] sum;
    logic [26:0] norm;
    logic [9:0]  e;        // signed working exponent
    logic [4:0]  lz;
    logic        rnd;
    logic [24:0] mant;

    y    = '0;
    swap = {b[30:0]} > {a[30:0]};
    sa   = swap ? b[31] : a[31];
    sb   = swap ? a[31] : b[31];
    e1   = swap ? b[30:23] : a[30:23];
    e2   = swap ? a[30:23] : b[30:23];
    m1   = {1'b1, swap ? b[22:0] : a[22:0]};
    m2   = {1'b1, swap ? a[22:0] : b[22:0]};
    d    = e1 - e2;
    big  = {m1, 3'b000};
    wide = {m2, 26'd0} >> d;
    minor = d >= 8'd50 ? 27'd1 : {wide[49:24], |wide[23:0]};
    lz   = '0;
    norm = '0;
    e    = '0;
    sum  = '0;
    rnd  = 1'b0;
    mant = '0;
    if (a[30:23] == 8'd0 && b[30:23] == 8'd0) begin
      y = {a[31] & b[31], 31'd0};
    end else if (a[30:23] == 8'd0) begin
      y = b;
    end else if (b[30:23] == 8'd0) begin
      y = a;
    end else begin
      if (sa == sb) begin
        sum = {1'b0, big} + {1'b0, minor};
        if (sum[27]) begin
          norm = {sum[27:2], sum[1] | sum[0]};
          e    = {2'b00, e1} + 10'd1;
        end else begin
          norm = sum[26:0];
          e    = {2'b00, e1};
        end
      end else begin
        norm = big - minor;
        for (int i = 0; i < 27; i++) if (norm[i]) lz = 5'(26 - i);
        norm = norm << lz;
        e    = {2'b00, e1} - {5'd0, lz};
      end
      rnd  = norm[2] & (norm[1] | norm[0] | norm[3]);
      mant = {1'b0, norm[26:3]} + {24'd0, rnd};
      if (mant[24]) begin
        mant = mant >> 1;
        e    = e + 10'd1;
      end
      if (norm == 27'd0 || $signed(e) <= 0) y = {sa & (norm != 27'd0), 31'd0};
      else if ($signed(e) >= 255) y = {sa, 8'hff, 23'd0};
      else y = {sa, e[7:0], mant[22:0]};
    end
  end
endmodule

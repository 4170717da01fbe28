// The fx format (signed Q15.16 in 32 bits) to binary16, round to nearest, ties to even,
// as cosim.accel.fixed_point.fx_to_fp16 (combinational); every fx value is in the
// binary16 range and values below 2^-14 are exact subnormals. Output stage of the DFX
// vector unit.
module fx_to_fp16 (
  input  logic [31:0] x,
  output logic [15:0] h
);
  always_comb begin
    logic [31:0] mag, rem, half;
    logic [4:0]  p, sh;
    logic [11:0] keep;
    logic [4:0]  expb;
    mag  = x[31] ? (x == 32'h8000_0000 ? 32'h7fff_ffff : -x) : x;
    p    = '0;
    for (int i = 0; i < 32; i++) if (mag[i]) p = 5'(i);
    sh   = '0;
    rem  = '0;
    half = '0;
    keep = '0;
    expb = '0;
    if (mag == 32'd0) begin
      h = 16'd0;
    end else if (p < 5'd2) begin
      h = {x[31], 15'(mag << 8)};                  // subnormal, exact
    end else begin
      if (p >= 5'd10) begin
        sh   = p - 5'd10;
        keep = 12'(mag >> sh);
        rem  = mag & ((32'd1 << sh) - 32'd1);
        half = sh == 5'd0 ? 32'hffff_ffff : 32'd1 << (sh - 5'd1);
        if (sh != 5'd0 && (rem > half || (rem == half && keep[0]))) keep = keep + 12'd1;
      end else begin
        keep = 12'(mag << (5'd10 - p));
      end
      expb = p - 5'd1;
      if (keep[11]) begin
        keep = keep >> 1;
        expb = expb + 5'd1;
      end
      h = {x[31], expb, keep[9:0]};
    end
  end
endmodule

// IEEE binary32 (zero or normal) to binary16, round to nearest, ties to even
// (combinational), with binary16 subnormals and overflow to infinity; as numpy's
// float32 -> float16 conversion. Output stage of the DFX matrix tile.
module fp32_to_fp16 (
  input  logic [31:0] a,
  output logic [15:0] y
);
  always_comb begin
    logic signed [9:0] ue;      // unbiased exponent
    logic [23:0]       sig;
    logic [5:0]        sh;      // significand bits dropped
    logic [15:0]       kept;
    logic [23:0]       rem, half;
    logic [15:0]       base, out;
    ue   = $signed({2'b00, a[30:23]}) - 10'sd127;
    sig  = {1'b1, a[22:0]};
    kept = '0;
    rem  = '0;
    half = '0;
    base = '0;
    out  = '0;
    sh   = '0;
    if (a[30:23] == 8'd0) begin
      y = {a[31], 15'd0};
    end else if (ue > 10'sd15) begin
      y = {a[31], 5'h1f, 10'd0};
    end else begin
      if (ue >= -10'sd14) begin
        sh   = 6'd13;
        base = 16'(ue + 10'sd15) << 10;
        sig  = {1'b0, a[22:0]};
      end else begin
        sh   = 6'(10'sd13 + (-10'sd14 - ue));    // subnormal: units of 2^-24
      end
      if (sh >= 6'd25) begin
        kept = '0;
        rem  = sig;
        half = 24'hff_ffff;                      // never rounds up
      end else begin
        kept = 16'(sig >> sh);
        rem  = sig & ((24'd1 << sh) - 24'd1);
        half = 24'd1 << (sh - 6'd1);
      end
      out = base + kept;
      if (rem > half || (rem == half && kept[0])) out = out + 16'd1;
      y = out >= 16'h7c00 ? {a[31], 5'h1f, 10'd0} : {a[31], out[14:0]};
    end
  end
endmodule

// binary16 to the fx format (signed Q15.16 in 32 bits, symmetric saturation), as
// cosim.accel.fixed_point.fp16_to_fx: the value times 2^16, magnitude rounded half up;
// infinities and NaN saturate (combinational). Input stage of the DFX vector unit.
module fp16_to_fx (
  input  logic [15:0] h,
  output logic [31:0] x
);
  localparam logic [32:0] FX_MAX = 33'h0_7fff_ffff;
  always_comb begin
    logic [10:0] sig;
    logic [4:0]  e;
    logic [32:0] mag;
    logic [3:0]  down;
    sig  = h[14:10] == 5'd0 ? {1'b0, h[9:0]} : {1'b1, h[9:0]};
    e    = h[14:10] == 5'd0 ? 5'd1 : h[14:10];
    down = '0;
    if (h[14:10] == 5'd31) begin
      mag = FX_MAX;
    end else if (e >= 5'd9) begin
      mag = 33'(sig) << (e - 5'd9);
      if (mag > FX_MAX) mag = FX_MAX;
    end else begin
      down = 4'(5'd9 - e);
      mag  = (33'(sig) + (33'd1 << (down - 4'd1))) >> down;
    end
    x = h[15] ? 32'(-mag) : mag[31:0];
  end
endmodule

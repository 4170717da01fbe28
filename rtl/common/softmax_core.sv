// Streaming fixed-point softmax of one row of scores, LANES elements per beat: the one
// softmax implementation shared by STA's softmax unit (softmax_unit.sv) and DFX's vector
// unit (vector_unit.sv). Numerics: cosim.accel.fixed_point.softmax_q16 (the spec):
//   u = sat32((x * mult) >>> shift)        Q.16, log2 domain (mult/2^shift = scale*log2 e)
//   m = max u;  e = exp2neg(m - u)         exp2neg(d) = poly(d[15:0]) >> d[31:16], 0 if >= 17
//   R = floor(2^48 / sum e)                seq_divider, 33 cycles
//   p = (e * R + 2^31) >> 32               Q0.16 probabilities
// poly(f) = 2^16 + ((C1 + ((C2 + ((C3*f) >>> 16))*f >>> 16))*f >>> 16), C = -45330, 15158,
// -2597: 2^(-f/2^16) with 2^0 exact and relative error below 1.5e-4.
//
// Scores stay on chip: the row lives in the core's buffer (MAX_LEN elements) between its
// three passes. A pulse on `start` (while idle) latches len (1..MAX_LEN), mult and shift;
// then ceil(len/LANES) beats come in (pass 1: scale, store, running maximum, one beat per
// cycle), pass 2 computes exponents and their sum (one beat per cycle), the divider runs,
// and pass 3 sends ceil(len/LANES) beats of probabilities (lanes past len are 0 in and
// out). `last` pulses with the final output beat; `busy` is high from start to then.
module softmax_core #(
  parameter int LANES   = 16,
  parameter int MAX_LEN = 256
) (
  input  logic                  clk,
  input  logic                  rst_n,
  input  logic                  start,
  input  logic [15:0]           len,
  input  logic [15:0]           mult,
  input  logic [5:0]            shift,
  input  logic                  in_valid,
  output logic                  in_ready,
  input  logic [32*LANES-1:0]   in_data,
  output logic                  out_valid,
  input  logic                  out_ready,
  output logic [32*LANES-1:0]   out_data,
  output logic                  busy,
  output logic                  last
);
  localparam int NBMAX = MAX_LEN / LANES;          // beats of the longest row
  localparam int BW    = $clog2(NBMAX + 1);
  localparam int BIX   = NBMAX > 1 ? $clog2(NBMAX) : 1;
  localparam logic signed [17:0] C1 = -18'sd45330;
  localparam logic signed [17:0] C2 = 18'sd15158;
  localparam logic signed [17:0] C3 = -18'sd2597;

  if (LANES < 1 || LANES > 64 || MAX_LEN < LANES || MAX_LEN % LANES != 0 || MAX_LEN > 4096)
  begin : g_bad_shape
    $fatal(1, "softmax_core: LANES must be 1..64 and MAX_LEN a multiple of LANES up to 4096");
  end

  typedef enum logic [2:0] {S_IDLE, S_IN, S_EXP, S_DIVS, S_DIV, S_OUT} state_t;
  state_t state;

  logic [15:0]        len_q, mult_q;
  logic [5:0]         shift_q;
  logic [BW-1:0]      nbeats, beat;
  logic [BIX-1:0]     bix;
  logic signed [31:0] mx;
  logic [31:0]        sum;
  logic [31:0]        buffer [NBMAX][LANES];
  logic               in_fire, out_fire, last_beat, div_valid;
  logic [32:0]        recip;

  assign nbeats    = BW'((32'(len_q) + 32'(LANES) - 32'd1) / 32'(LANES));
  assign bix       = BIX'(beat);
  assign last_beat = beat == nbeats - BW'(1);
  assign in_ready  = state == S_IN;
  assign out_valid = state == S_OUT;
  assign in_fire   = in_valid && in_ready;
  assign out_fire  = out_valid && out_ready;
  assign busy      = state != S_IDLE;
  assign last      = out_fire && last_beat;

  function automatic logic lane_valid(input logic [BW-1:0] b, input int l, input logic [15:0] n);
    return 32'(b) * 32'(LANES) + 32'(l) < 32'(n);
  endfunction

  // pass 1: scaled scores and their maximum
  logic signed [31:0] u [LANES];
  logic signed [31:0] beat_max;
  always_comb begin
    beat_max = mx;
    for (int l = 0; l < LANES; l++) begin
      logic signed [63:0] prod;
      prod = 64'($signed(in_data[32*l +: 32])) * $signed({48'd0, mult_q});
      prod = prod >>> shift_q;
      if (prod > 64'sd2147483647) u[l] = 32'sh7fffffff;
      else if (prod < -64'sd2147483648) u[l] = 32'sh80000000;
      else u[l] = prod[31:0];
      if (lane_valid(beat, l, len_q) && u[l] > beat_max) beat_max = u[l];
    end
  end

  // pass 2: e = exp2neg(max - u)
  logic [31:0] e [LANES];
  logic [31:0] beat_sum;
  always_comb begin
    beat_sum = '0;
    for (int l = 0; l < LANES; l++) begin
      logic [32:0]        d;
      logic signed [17:0] f;
      logic signed [35:0] t;
      logic [16:0]        k;
      d = 33'($signed(mx)) - 33'($signed(buffer[bix][l]));
      f = {2'b00, d[15:0]};
      k = d[32:16];
      t = (36'(C3) * 36'(f)) >>> 16;
      t = ((36'(C2) + t) * 36'(f)) >>> 16;
      t = ((36'(C1) + t) * 36'(f)) >>> 16;
      t = 36'sd65536 + t;
      e[l] = k >= 17'd17 ? 32'd0 : 32'(t[16:0] >> k);
      if (lane_valid(beat, l, len_q)) beat_sum = beat_sum + e[l];
    end
  end

  // pass 3: p = (e * R + 2^31) >> 32
  always_comb begin
    for (int l = 0; l < LANES; l++) begin
      logic [31:0] pr;
      pr = 32'((64'(buffer[bix][l]) * 64'(recip) + 64'h8000_0000) >> 32);
      out_data[32*l +: 32] = lane_valid(beat, l, len_q) ? pr : 32'd0;
    end
  end

  seq_divider #(.NW(49), .DW(32), .QW(33)) u_div (
    .clk(clk), .rst_n(rst_n), .start(state == S_DIVS),
    .dividend(49'd1 << 48), .divisor(sum), .valid(div_valid), .quotient(recip)
  );

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state   <= S_IDLE;
      len_q   <= 16'd1;
      mult_q  <= '0;
      shift_q <= '0;
      beat    <= '0;
      mx      <= '0;
      sum     <= '0;
    end else begin
      case (state)
        S_IDLE: if (start) begin
          len_q   <= len;
          mult_q  <= mult;
          shift_q <= shift;
          beat    <= '0;
          mx      <= 32'sh80000000;
          sum     <= '0;
          state   <= S_IN;
        end
        S_IN: if (in_fire) begin
          for (int l = 0; l < LANES; l++) buffer[bix][l] <= u[l];
          mx   <= beat_max;
          beat <= last_beat ? '0 : beat + BW'(1);
          if (last_beat) state <= S_EXP;
        end
        S_EXP: begin
          for (int l = 0; l < LANES; l++) buffer[bix][l] <= e[l];
          sum  <= sum + beat_sum;
          beat <= last_beat ? '0 : beat + BW'(1);
          if (last_beat) state <= S_DIVS;
        end
        S_DIVS: state <= S_DIV;
        S_DIV: if (div_valid) state <= S_OUT;
        S_OUT: if (out_fire) begin
          beat <= last_beat ? '0 : beat + BW'(1);
          if (last_beat) state <= S_IDLE;
        end
        default: state <= S_IDLE;
      endcase
    end
  end
endmodule

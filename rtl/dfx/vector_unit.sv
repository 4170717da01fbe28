// Vector unit of DFX (Hong et al., MICRO 2022): LayerNorm, softmax, GELU and element-wise
// addition on rows of FP16 values, LANES elements per beat. Inside, values are fixed
// point (fx: signed Q15.16, fp16_to_fx / fx_to_fp16 at the edges); the numerics are those
// of cosim.accel.fixed_point (the spec), the softmax is the shared softmax_core of STA's
// unit, the GELU a piecewise-linear table loaded by the driver. The RTL twin of
// cosim.accel.dfx.vector_unit (numpy) and tlm/accel/dfx/vector_unit.cpp.
//
// A job runs one operation (OP) on ROWS rows of LEN elements, row by row: a row's input
// beats, then its output beats (read them before sending the next row). Per row:
//   OP 0 ADD        in: a then b (2 x ceil(LEN/LANES) beats)  out: sat(a + b)
//   OP 1 LAYERNORM  in: x, gamma, beta (3 x ...)               out: layernorm(x)*gamma+beta
//                   LEN must be a power of two; EPS (fx) is added to the variance
//   OP 2 SOFTMAX    in: x                                      out: softmax(x*MULT/2^SHIFT/log2 e)
//   OP 3 GELU       in: x                                      out: gelu(x)
//   OP 4 LOAD_LUT   in: the 257 GELU table entries, LANES/2 int32 per beat
//                   (ceil(257/(LANES/2)) beats), no output; ROWS and LEN are ignored
// Beats are LANES binary16 values, element i of the beat at bits [16i, 16i+16); lanes past
// LEN in a row's last beat are ignored on input and 0 on output.
//
// Registers (32 bit):
//  0x00 CTRL W bit 0 start;  0x04 STATUS R busy, done, refused;  0x08 CYCLES;  0x0C INFO R
//  LANES [7:0], MAX_LEN/LANES [23:8], version [31:24];  0x10 OP;  0x14 LEN;  0x18 ROWS;
//  0x1C MULT (0..65535);  0x20 SHIFT (0..47);  0x24 EPS (fx, >= 0)
module vector_unit #(
  parameter int LANES   = 16,
  parameter int MAX_LEN = 512
) (
  input  logic                  clk,
  input  logic                  rst_n,
  input  logic                  csr_req,
  input  logic                  csr_we,
  input  logic [7:0]            csr_addr,
  input  logic [31:0]           csr_wdata,
  output logic                  csr_ack,
  output logic [31:0]           csr_rdata,
  input  logic                  in_valid,
  output logic                  in_ready,
  input  logic [16*LANES-1:0]   in_data,
  output logic                  out_valid,
  input  logic                  out_ready,
  output logic [16*LANES-1:0]   out_data,
  output logic                  busy,
  output logic                  done
);
  localparam int NB       = MAX_LEN / LANES;
  localparam int BCW      = $clog2(NB + 1);
  localparam int BIX      = NB > 1 ? $clog2(NB) : 1;
  localparam int LUT_N    = 257;
  localparam int LPB      = LANES / 2;                        // table entries per beat
  localparam logic [7:0] VERSION = 8'd1;
  localparam logic signed [63:0] FXMAX = 64'sd2147483647;

  if (LANES < 2 || LANES % 2 != 0 || LANES > 64 || MAX_LEN < LANES || MAX_LEN % LANES != 0
      || MAX_LEN > 4096) begin : g_bad_shape
    $fatal(1, "vector_unit: LANES must be even (2..64), MAX_LEN a multiple of LANES up to 4096");
  end

  typedef enum logic [3:0] {
    S_IDLE, S_ROW, S_IN, S_SMX, S_MEAN, S_VAR, S_VARF, S_SQRT, S_DIV, S_OUT, S_LUT
  } state_t;
  state_t state;

  // ------------------------------------------------------------------ registers
  logic [31:0] op_q, len_q, rows_q, mult_q, shift_q, eps_q, cycles_q, rows_left;
  logic        error_q, csr_access, start_req, cfg_ok, start, pow2;

  assign pow2 = len_q != 32'd0 && (len_q & (len_q - 32'd1)) == 32'd0;
  always_comb begin
    cfg_ok = op_q <= 32'd4;
    if (op_q != 32'd4) cfg_ok = cfg_ok && len_q >= 32'd1 && len_q <= 32'(MAX_LEN) && rows_q >= 32'd1;
    if (op_q == 32'd1) cfg_ok = cfg_ok && pow2 && !eps_q[31];
    if (op_q == 32'd2) cfg_ok = cfg_ok && mult_q < 32'h1_0000 && shift_q <= 32'd47;
  end
  assign csr_access = csr_req && !csr_ack;
  assign start_req  = csr_access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && state == S_IDLE;
  assign start      = start_req && cfg_ok;
  assign busy       = state != S_IDLE || core_busy;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      csr_ack   <= 1'b0;
      csr_rdata <= '0;
      op_q      <= '0;
      len_q     <= 32'd1;
      rows_q    <= 32'd1;
      mult_q    <= '0;
      shift_q   <= '0;
      eps_q     <= '0;
      error_q   <= 1'b0;
    end else begin
      csr_ack <= csr_access;
      if (start_req) error_q <= !cfg_ok;
      if (csr_access && csr_we) begin
        case (csr_addr)
          8'h10: op_q    <= csr_wdata;
          8'h14: len_q   <= csr_wdata;
          8'h18: rows_q  <= csr_wdata;
          8'h1C: mult_q  <= csr_wdata;
          8'h20: shift_q <= csr_wdata;
          8'h24: eps_q   <= csr_wdata;
          default: ;
        endcase
      end
      if (csr_access && !csr_we) begin
        case (csr_addr)
          8'h04:   csr_rdata <= {29'd0, error_q, done, busy};
          8'h08:   csr_rdata <= cycles_q;
          8'h0C:   csr_rdata <= {VERSION, 16'(NB), 8'(LANES)};
          8'h10:   csr_rdata <= op_q;
          8'h14:   csr_rdata <= len_q;
          8'h18:   csr_rdata <= rows_q;
          8'h1C:   csr_rdata <= mult_q;
          8'h20:   csr_rdata <= shift_q;
          8'h24:   csr_rdata <= eps_q;
          default: csr_rdata <= '0;
        endcase
      end
    end
  end

  // ------------------------------------------------------------------ row sequencing
  logic [BCW-1:0] nbeats, beat;
  logic [BIX-1:0] bix;
  logic [1:0]     seg, nseg;
  logic [5:0]     log2n;
  logic [31:0]    lut_k;
  logic           in_fire, out_fire, last_beat, smx_last, row_end;
  logic           core_in_ready, core_out_valid, core_busy, sqrt_valid, div_valid;
  logic [31:0]    sqrt_root;
  logic [24:0]    rstd;
  logic [32*LANES-1:0] core_out;

  assign nbeats    = BCW'((len_q + 32'(LANES) - 32'd1) / 32'(LANES));
  assign bix       = BIX'(beat);
  assign last_beat = beat == nbeats - BCW'(1);
  assign nseg      = op_q == 32'd0 ? 2'd2 : op_q == 32'd1 ? 2'd3 : 2'd1;
  always_comb begin
    log2n = '0;
    for (int i = 0; i < 32; i++) if (len_q[i]) log2n = 6'(i);
  end
  assign in_ready  = state == S_IN || state == S_LUT || (state == S_SMX && core_in_ready);
  assign out_valid = state == S_OUT || (state == S_SMX && core_out_valid);
  assign in_fire   = in_valid && in_ready;
  assign out_fire  = out_valid && out_ready;
  assign row_end   = (state == S_OUT && out_fire && last_beat) || (state == S_SMX && smx_last);

  function automatic logic lane_valid(input logic [BCW-1:0] b, input int l, input logic [31:0] n);
    return 32'(b) * 32'(LANES) + 32'(l) < n;
  endfunction

  function automatic logic signed [63:0] sat(input logic signed [63:0] v);
    return v > FXMAX ? FXMAX : v < -FXMAX ? -FXMAX : v;
  endfunction

  // input conversion
  logic [31:0] fxin [LANES];
  logic [32*LANES-1:0] fxin_flat;
  for (genvar l = 0; l < LANES; l++) begin : g_in
    fp16_to_fx u_cvt (.h(in_data[16 * l +: 16]), .x(fxin[l]));
    assign fxin_flat[32 * l +: 32] = fxin[l];
  end

  // buffers: x (or a), gamma (or b), beta
  logic [31:0] xb [NB][LANES];
  logic [31:0] gb [NB][LANES];
  logic [31:0] bb [NB][LANES];
  logic [31:0] lut [LUT_N];
  logic signed [63:0] sum, sq;
  logic signed [31:0] mean;

  // LayerNorm reductions
  logic signed [63:0] beat_sum, beat_sq;
  always_comb begin
    beat_sum = '0;
    beat_sq  = '0;
    for (int l = 0; l < LANES; l++) begin
      logic signed [63:0] c;
      c = sat(64'($signed(xb[bix][l])) - 64'(mean));
      if (lane_valid(beat, l, len_q)) begin
        beat_sum = beat_sum + 64'($signed(fxin[l]));
        beat_sq  = beat_sq + ((c * c) >>> 16);
      end
    end
  end

  logic [63:0] variance;
  always_comb begin
    logic signed [63:0] v;
    v = (sq >>> log2n) + 64'($signed(eps_q));
    if (v < 64'sd1) v = 64'sd1;
    if (v > 64'sd8796093022207) v = 64'sd8796093022207;   // 2^43 - 1
    variance = 64'(v) << 20;
  end

  seq_isqrt #(.RW(64)) u_sqrt (
    .clk(clk), .rst_n(rst_n), .start(state == S_VARF), .radicand(variance),
    .valid(sqrt_valid), .root(sqrt_root)
  );
  seq_divider #(.NW(35), .DW(32), .QW(25)) u_div (
    .clk(clk), .rst_n(rst_n), .start(state == S_SQRT && sqrt_valid),
    .dividend(35'd1 << 34), .divisor(sqrt_root), .valid(div_valid), .quotient(rstd)
  );

  softmax_core #(.LANES(LANES), .MAX_LEN(MAX_LEN)) u_softmax (
    .clk(clk), .rst_n(rst_n), .start(state == S_ROW && op_q == 32'd2), .len(len_q[15:0]),
    .mult(mult_q[15:0]), .shift(shift_q[5:0]), .in_valid(in_valid && state == S_SMX),
    .in_ready(core_in_ready), .in_data(fxin_flat), .out_valid(core_out_valid),
    .out_ready(out_ready && state == S_SMX), .out_data(core_out), .busy(core_busy), .last(smx_last)
  );

  // output values
  logic [31:0] zout [LANES];
  always_comb begin
    for (int l = 0; l < LANES; l++) begin
      logic signed [63:0] x, g, b, c, y, t, r, lo, hi;
      logic signed [31:0] z;
      logic [31:0] j;
      x = 64'($signed(xb[bix][l]));
      g = 64'($signed(gb[bix][l]));
      b = 64'($signed(bb[bix][l]));
      z = '0;
      c = '0;
      y = '0;
      t = '0;
      r = '0;
      j = '0;
      lo = '0;
      hi = '0;
      if (state == S_SMX) begin
        z = core_out[32 * l +: 32];
      end else if (op_q == 32'd0) begin
        z = 32'(sat(x + g));
      end else if (op_q == 32'd1) begin
        c = sat(x - 64'(mean));
        y = sat((c * $signed(64'(rstd))) >>> 16);
        z = 32'(sat(((y * g) >>> 16) + b));
      end else begin                                     // GELU from the table
        if (x >= 64'sd524288) begin
          z = 32'(x);
        end else if (x < -64'sd524288) begin
          z = '0;
        end else begin
          t  = x + 64'sd524288;
          j  = 32'(t >>> 12);
          r  = t & 64'sd4095;
          lo = 64'($signed(lut[j]));
          hi = 64'($signed(lut[j + 32'd1]));
          z  = 32'(lo + (((hi - lo) * r) >>> 12));
        end
      end
      zout[l] = (state == S_SMX || lane_valid(beat, l, len_q)) ? z : 32'd0;
    end
  end
  for (genvar l = 0; l < LANES; l++) begin : g_out
    fx_to_fp16 u_cvt (.x(zout[l]), .h(out_data[16 * l +: 16]));
  end

  // ------------------------------------------------------------------ state machine
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state     <= S_IDLE;
      done      <= 1'b0;
      cycles_q  <= '0;
      rows_left <= '0;
      beat      <= '0;
      seg       <= '0;
      sum       <= '0;
      sq        <= '0;
      mean      <= '0;
      lut_k     <= '0;
    end else begin
      if (state != S_IDLE) cycles_q <= cycles_q + 32'd1;
      case (state)
        S_IDLE: if (start) begin
          done      <= 1'b0;
          cycles_q  <= '0;
          rows_left <= rows_q;
          lut_k     <= '0;
          state     <= op_q == 32'd4 ? S_LUT : S_ROW;
        end
        S_ROW: begin
          beat  <= '0;
          seg   <= '0;
          sum   <= '0;
          sq    <= '0;
          state <= op_q == 32'd2 ? S_SMX : S_IN;
        end
        S_IN: if (in_fire) begin
          for (int l = 0; l < LANES; l++) begin
            if (seg == 2'd0) xb[bix][l] <= fxin[l];
            if (seg == 2'd1) gb[bix][l] <= fxin[l];
            if (seg == 2'd2) bb[bix][l] <= fxin[l];
          end
          if (seg == 2'd0) sum <= sum + beat_sum;
          beat <= last_beat ? '0 : beat + BCW'(1);
          if (last_beat) begin
            seg <= seg + 2'd1;
            if (seg == nseg - 2'd1) state <= op_q == 32'd1 ? S_MEAN : S_OUT;
          end
        end
        S_MEAN: begin
          mean  <= 32'(sum >>> log2n);
          state <= S_VAR;
        end
        S_VAR: begin
          sq   <= sq + beat_sq;
          beat <= last_beat ? '0 : beat + BCW'(1);
          if (last_beat) state <= S_VARF;
        end
        S_VARF: state <= S_SQRT;
        S_SQRT: if (sqrt_valid) state <= S_DIV;
        S_DIV:  if (div_valid) state <= S_OUT;
        S_OUT: if (out_fire) beat <= last_beat ? '0 : beat + BCW'(1);
        S_SMX: ;
        S_LUT: if (in_fire) begin
          for (int i = 0; i < LPB; i++)
            if (lut_k + 32'(i) < 32'(LUT_N)) lut[lut_k + 32'(i)] <= in_data[32 * i +: 32];
          lut_k <= lut_k + 32'(LPB);
          if (lut_k + 32'(LPB) >= 32'(LUT_N)) begin
            state <= S_IDLE;
            done  <= 1'b1;
          end
        end
        default: state <= S_IDLE;
      endcase
      if (row_end) begin
        rows_left <= rows_left - 32'd1;
        if (rows_left == 32'd1) begin
          state <= S_IDLE;
          done  <= 1'b1;
        end else begin
          state <= S_ROW;
        end
      end
    end
  end
endmodule

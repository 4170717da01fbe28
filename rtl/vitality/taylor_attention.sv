// taylor_attention: ViTALiTy's attention engine in the standard engine shape. A ROWS x DIM
// MAC array with the Taylor pre-processor (column sums ks, vs; centring Gc = N G - ks vs^T,
// rounded to int16) and post-processor (one reciprocal of N^2 per head, the normalisation
// of every output); MODE 1 runs softmax attention (the baseline) on the same array with
// K and V kept in an on-chip buffer. Numerics: cosim/accel/vitality/arithmetic.py. Twins:
// cosim/accel/vitality/engine.py, tlm/accel/vitality/taylor_attention.cpp.
// Job (one head): TOKENS pairs of input beats (k_j, v_j; DIM int8 lanes), then TOKENS
// query beats; a result beat (DIM int16, Q8.8) per query, in order. R = DIM / ROWS.
// Timing (edges after the one that takes a beat): Taylor: k_j 1, v_j R + 1 (G += k v^T,
// ROWS rows of G a cycle); after the last v: R centring edges then the first query; a
// query R + 1 (q Gq, ROWS rows a cycle; the result is written at the R-th and leaves one
// edge later). Softmax: k_j and v_j 1 each; one edge after the last v; a query 2B + 2
// (B = ceil(TOKENS / ROWS) score passes of ROWS keys, B weighting passes, one normalising
// edge; the result leaves one edge after the last).
// Registers: 0x00 CTRL (W bit 0 start), 0x04 STATUS (busy, done, refused), 0x08 CYCLES,
// 0x0C INFO (DIM [7:0], MAX_TOKENS [23:8], version [31:24]), 0x10 TOKENS (2..MAX_TOKENS),
// 0x14 MODE (0 Taylor, 1 softmax), 0x18 TAYLOR_SHIFT (A, 0..24), 0x1C G_SHIFT (0..32),
// 0x20 MULT (1..65535), 0x24 SHIFT (1..40): the softmax exponent's scale;
// counters (cumulative): 0x40 MACS, 0x44 EXPS, 0x48 RECIPS, 0x4C BUFFER_BYTES (K/V and
// score buffer bytes written and read).
module taylor_attention #(
  parameter int DIM = 64,
  parameter int ROWS = 8,
  parameter int MAX_TOKENS = 512
) (
  input  logic clk, rst_n, csr_req, csr_we,
  input  logic [7:0] csr_addr,
  input  logic [31:0] csr_wdata,
  output logic csr_ack,
  output logic [31:0] csr_rdata,
  input  logic in_valid,
  output logic in_ready,
  input  logic [8*DIM-1:0] in_data,
  output logic out_valid,
  input  logic out_ready,
  output logic [16*DIM-1:0] out_data,
  output logic busy, done
);
  localparam int TW = $clog2(MAX_TOKENS + 1) + 2;  // beat counters: up to 3 TOKENS
  localparam int AW = $clog2(MAX_TOKENS);
  localparam int R = DIM / ROWS;
  localparam int RW = $clog2(R + 1);
  localparam int DW = $clog2(DIM);
  localparam int QW = ROWS > 1 ? $clog2(ROWS) : 1;
  if (DIM % ROWS != 0) begin : g_bad
    $fatal(1, "taylor_attention: ROWS must divide DIM");
  end
  typedef enum logic [3:0] {IDLE, LOAD, GACC, PREP, QUERY, QG, SCORE, WEIGH, FINISH} state_t;
  state_t state;

  logic [31:0] tokens_q, mode_q, tshift_q, gshift_q, mult_q, shift_q, cycles_q;
  logic [31:0] macs_q, exps_q, recips_q, bytes_q;
  logic [TW-1:0] n, taken, qi, given, blk;
  logic [RW-1:0] rg;
  logic error_q, access, start, cfg_ok, softmax, take, give, last_v;

  // Taylor state: G (rows of DIM int32), column sums, the centred int16 G, 2^48 / N^2.
  logic [32*DIM-1:0] g [DIM];
  logic [16*DIM-1:0] gq [DIM];
  logic signed [31:0] ks [DIM];
  logic signed [31:0] vs [DIM];
  logic signed [31:0] acc [DIM];
  logic [8*DIM-1:0] kreg, vreg, qreg;
  logic [63:0] recip_q;
  // Softmax state: K and V buffers; per query of the block its row of scores, maximum,
  // weighted sums and sum of weights.
  logic [8*DIM-1:0] kbuf [MAX_TOKENS];
  logic [8*DIM-1:0] vbuf [MAX_TOKENS];
  logic [8*DIM-1:0] qbuf [ROWS];
  logic signed [31:0] sbuf [ROWS][MAX_TOKENS];
  logic signed [31:0] smax [ROWS];
  logic signed [63:0] o [ROWS][DIM];
  logic [31:0] wsum [ROWS];
  logic [TW-1:0] qcount, fr;  // queries in the block, the row being normalised
  logic [16*DIM-1:0] rbuf [MAX_TOKENS];

  assign access = csr_req && !csr_ack;
  assign cfg_ok = tokens_q >= 32'd2 && tokens_q <= 32'(MAX_TOKENS) && mode_q <= 32'd1
      && tshift_q <= 32'd24 && gshift_q <= 32'd32 && mult_q >= 32'd1 && mult_q <= 32'd65535
      && shift_q >= 32'd1 && shift_q <= 32'd40;
  assign start = access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && state == IDLE;
  assign busy = state != IDLE;
  assign softmax = mode_q[0];
  assign in_ready = state == LOAD || state == QUERY;
  assign take = in_valid && in_ready;
  assign last_v = taken + 1'b1 == 2 * n;
  assign out_valid = busy && given < qi;
  assign give = out_valid && out_ready;
  assign out_data = rbuf[given[AW-1:0]];

  function automatic logic signed [7:0] lane8(input logic [8*DIM-1:0] x, input int i);
    return x[8*i +: 8];
  endfunction

  function automatic logic [15:0] sat16(input logic signed [127:0] x);
    if (x > 128'sd32767) return 16'h7FFF;
    if (x < -128'sd32768) return 16'h8000;
    return x[15:0];
  endfunction

  // The array's row group: rows rg * ROWS .. + ROWS - 1 of G (or of K / V in softmax).
  function automatic logic [DW-1:0] row(input logic [RW-1:0] group, input int r);
    return DW'(int'(group) * ROWS + r);
  endfunction

  // Taylor q Gq over this cycle's row group, added to the running acc.
  logic signed [31:0] qg [DIM];
  always_comb
    for (int b = 0; b < DIM; b++) begin
      qg[b] = acc[b];
      for (int r = 0; r < ROWS; r++)
        qg[b] += 32'(lane8(qreg, int'(row(rg, r)))) * 32'($signed(gq[row(rg, r)][16*b +: 16]));
    end
  // Post-processor: out = sat16((num R + 2^(S-1)) >> S), num = (N vs << A) + (acc << GS).
  logic [16*DIM-1:0] taylor_res;
  always_comb
    for (int b = 0; b < DIM; b++) begin
      logic signed [63:0] num;
      logic signed [127:0] wide;
      num = ((64'(n) * 64'(vs[b])) <<< tshift_q[4:0]) + (64'(qg[b]) <<< gshift_q[5:0]);
      wide = 128'(num) * $signed({64'd0, recip_q});
      taylor_res[16*b +: 16] = sat16((wide + (128'sd1 <<< (7'd39 + 7'(tshift_q[4:0]))))
          >>> (7'd40 + 7'(tshift_q[4:0])));
    end

  // Softmax passes over a block of up to ROWS queries (query-stationary: array row r holds
  // query r), one key (scores) or one value row (weighted sums) a cycle.
  logic [AW-1:0] key;
  logic signed [31:0] score [ROWS];
  logic [15:0] w [ROWS];
  logic [47:0] t [ROWS];
  logic valid [ROWS];
  assign key = AW'(blk);
  always_comb
    for (int r = 0; r < ROWS; r++) begin
      valid[r] = r < int'(qcount);
      score[r] = 0;
      for (int a = 0; a < DIM; a++) score[r] += 32'(lane8(qbuf[r], a)) * 32'(lane8(kbuf[key], a));
      t[r] = (48'(smax[r] - sbuf[r][key]) * 48'(mult_q[15:0])
          + (48'd1 << (shift_q[5:0] - 6'd1))) >> shift_q[5:0];
    end
  for (genvar r = 0; r < ROWS; r++) begin : g_exp
    exp2_neg #(.T_BITS(48)) u_exp (.t(t[r]), .w(w[r]));
  end
  logic [63:0] srecip;
  logic [16*DIM-1:0] softmax_res;
  assign srecip = (64'd1 << 44) / 64'(wsum[fr[QW-1:0]] == 0 ? 32'd1 : wsum[fr[QW-1:0]]);
  always_comb
    for (int b = 0; b < DIM; b++) begin
      logic signed [63:0] y;
      y = (o[fr[QW-1:0]][b] * $signed(srecip) + (64'sd1 <<< 35)) >>> 36;
      softmax_res[16*b +: 16] = sat16(128'(y));
    end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {csr_ack, csr_rdata, tokens_q, mode_q, tshift_q, gshift_q, mult_q, shift_q} <= '0;
      {error_q, done, cycles_q, macs_q, exps_q, recips_q, bytes_q} <= '0;
      {n, taken, qi, given, blk, rg, recip_q, kreg, vreg, qreg, qcount, fr} <= '0;
      state <= IDLE;
    end else begin
      csr_ack <= access;
      if (access && csr_we)
        case (csr_addr)
          8'h10: tokens_q <= csr_wdata;
          8'h14: mode_q <= csr_wdata;
          8'h18: tshift_q <= csr_wdata;
          8'h1C: gshift_q <= csr_wdata;
          8'h20: mult_q <= csr_wdata;
          8'h24: shift_q <= csr_wdata;
          default: ;
        endcase
      if (access && !csr_we)
        case (csr_addr)
          8'h04: csr_rdata <= {29'd0, error_q, done, busy};
          8'h08: csr_rdata <= cycles_q;
          8'h0C: csr_rdata <= {8'd1, 16'(MAX_TOKENS), 8'(DIM)};
          8'h10: csr_rdata <= tokens_q;
          8'h14: csr_rdata <= mode_q;
          8'h18: csr_rdata <= tshift_q;
          8'h1C: csr_rdata <= gshift_q;
          8'h20: csr_rdata <= mult_q;
          8'h24: csr_rdata <= shift_q;
          8'h40: csr_rdata <= macs_q;
          8'h44: csr_rdata <= exps_q;
          8'h48: csr_rdata <= recips_q;
          8'h4C: csr_rdata <= bytes_q;
          default: csr_rdata <= '0;
        endcase
      if (start) error_q <= !cfg_ok;
      if (busy) cycles_q <= cycles_q + 32'd1;
      if (start && cfg_ok) begin
        state <= LOAD;
        {done, cycles_q} <= '0;
        n <= TW'(tokens_q);
        {taken, qi, given, blk, rg} <= '0;
        for (int a = 0; a < DIM; a++) begin
          ks[a] <= 0;
          vs[a] <= 0;
          g[a] <= '0;
        end
      end
      if (take) taken <= taken + 1'b1;
      case (state)
        LOAD:
          if (take) begin
            if (!taken[0]) begin
              kreg <= in_data;
              kbuf[taken[AW:1]] <= in_data;
              for (int a = 0; a < DIM; a++) ks[a] <= ks[a] + 32'(lane8(in_data, a));
            end else begin
              vreg <= in_data;
              vbuf[taken[AW:1]] <= in_data;
              for (int b = 0; b < DIM; b++) vs[b] <= vs[b] + 32'(lane8(in_data, b));
              rg <= '0;
              if (!softmax) state <= GACC;
              else if (last_v) state <= PREP;
            end
          end
        GACC: begin  // G += k v^T, ROWS rows a cycle
          for (int r = 0; r < ROWS; r++)
            for (int b = 0; b < DIM; b++)
              g[row(rg, r)][32*b +: 32] <= g[row(rg, r)][32*b +: 32]
                  + 32'(lane8(kreg, int'(row(rg, r)))) * 32'(lane8(vreg, b));
          rg <= rg + 1'b1;
          if (int'(rg) == R - 1) begin
            rg <= '0;
            state <= taken == 2 * n ? PREP : LOAD;
          end
        end
        PREP: begin
          if (softmax) begin
            bytes_q <= bytes_q + 32'(2 * n * DIM);
            state <= QUERY;
          end else begin  // centring, ROWS rows a cycle; the reciprocal with the last
            for (int r = 0; r < ROWS; r++)
              for (int b = 0; b < DIM; b++) begin
                logic signed [63:0] gc, c;
                gc = 64'(n) * 64'($signed(g[row(rg, r)][32*b +: 32]))
                    - 64'(ks[row(rg, r)]) * 64'(vs[b]);
                c = gshift_q == 0 ? gc
                    : (gc + (64'sd1 <<< (gshift_q[5:0] - 6'd1))) >>> gshift_q[5:0];
                gq[row(rg, r)][16*b +: 16] <= c > 64'sd32767 ? 16'h7FFF
                    : c < -64'sd32768 ? 16'h8000 : c[15:0];
              end
            rg <= rg + 1'b1;
            if (int'(rg) == R - 1) begin
              rg <= '0;
              recip_q <= (64'd1 << 48) / (64'(n) * 64'(n));
              macs_q <= macs_q + 32'((int'(n) + 1) * DIM * DIM);  // G's N d^2, then Gc's
              recips_q <= recips_q + 32'd1;
              state <= QUERY;
            end
          end
        end
        QUERY:
          if (take) begin
            if (softmax) begin  // gather the block: min(ROWS, N - qi) queries
              qbuf[qcount[QW-1:0]] <= in_data;
              qcount <= qcount + 1'b1;
              if (int'(qcount) + 1 == ROWS || int'(qi) + int'(qcount) + 1 == int'(n)) begin
                blk <= '0;
                state <= SCORE;
              end
            end else begin
              qreg <= in_data;
              rg <= '0;
              for (int b = 0; b < DIM; b++) acc[b] <= 0;
              state <= QG;
            end
          end
        QG: begin
          for (int b = 0; b < DIM; b++) acc[b] <= qg[b];
          rg <= rg + 1'b1;
          if (int'(rg) == R - 1) begin
            rbuf[qi[AW-1:0]] <= taylor_res;
            qi <= qi + 1'b1;
            macs_q <= macs_q + 32'(DIM * DIM);
            state <= QUERY;
          end
        end
        SCORE: begin  // key blk against every query of the block
          for (int r = 0; r < ROWS; r++)
            if (valid[r]) begin
              sbuf[r][key] <= score[r];
              if (blk == 0 || score[r] > smax[r]) smax[r] <= score[r];
              o[r] <= '{default: '0};
              wsum[r] <= '0;
            end
          blk <= blk + 1'b1;
          if (blk + 1'b1 == n) begin
            blk <= '0;
            state <= WEIGH;
          end
        end
        WEIGH: begin  // value row blk, weighted for every query of the block
          for (int r = 0; r < ROWS; r++)
            if (valid[r]) begin
              for (int b = 0; b < DIM; b++)
                o[r][b] <= o[r][b] + 64'($signed({1'b0, w[r]})) * 64'(lane8(vbuf[key], b));
              wsum[r] <= wsum[r] + 32'(w[r]);
            end
          blk <= blk + 1'b1;
          if (blk + 1'b1 == n) begin
            fr <= '0;
            state <= FINISH;
          end
        end
        FINISH: begin  // one query of the block normalised a cycle
          rbuf[qi[AW-1:0]] <= softmax_res;
          qi <= qi + 1'b1;
          fr <= fr + 1'b1;
          macs_q <= macs_q + 32'(2 * n * DIM);
          exps_q <= exps_q + 32'(n);
          recips_q <= recips_q + 32'd1;
          bytes_q <= bytes_q + 32'(8 * n) + (fr == 0 ? 32'(2 * n * DIM) : 32'd0);
          if (fr + 1'b1 == qcount) begin
            qcount <= '0;
            state <= QUERY;
          end
        end
        default: ;
      endcase
      if (give) begin
        given <= given + 1'b1;
        if (given + 1'b1 == n) {state, done} <= {IDLE, 1'b1};
      end
    end
  end
endmodule

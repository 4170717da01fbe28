// SPRINT's digital recompute and softmax (Yazdanbakhsh et al., "Sparse Attention
// Acceleration with Synergistic In-Memory Pruning and On-Chip Recomputation", MICRO
// 2022): for one query at a time it takes the K and V rows of the keys that survived
// the in-memory thresholding, recomputes each score exactly (int8 q . int8 k in int32)
// and folds it into a fixed-point online softmax and attention-weighted sum of the V
// rows, so every key's rows are used once and no score is stored. The arithmetic is
// cosim/accel/online_softmax.py's, bit for bit:
//
//   t = (|s - m| * MULT + 2^(SHIFT-1)) >> SHIFT           exp2_neg: w = 2^15 2^(-t/256)
//   first pair: m = s, alpha = 0, w = ONE;  s > m: alpha = w(t), w = ONE, m = s;
//   else alpha = ONE, w = w(t);  o[i] = ((o[i] alpha + 2^14) >> 15) + w v[i];
//   sum = ((sum alpha + 2^14) >> 15) + w;  R = floor(2^44 / sum);
//   out[i] = sat16((o[i] R + 2^35) >> 36)   (Q8.8 in units of v; 0 without pairs)
//
// Interfaces (synchronous to clk; rst_n active-low synchronous reset):
//  register port, req/ack: hold csr_req (with csr_we, csr_addr, csr_wdata) until csr_ack.
//  in stream (valid/ready): beats of D+1 bytes: bytes [0, D) data (int8 q, k or v row),
//      byte D a tag: 1 QUERY (q: starts a query), 2 KEY (k of the next pair), 3 VALUE
//      (v of that pair), 4 END (finish the query: its output follows). in_ready never
//      waits for in_valid.
//  out stream (valid/ready): one beat per query: D int16 outputs, output i at [16i, 16i+16).
//  busy: a job is running. done: the last job has finished (cleared by the next start).
//
// A job: write MULT, SHIFT, NQ, then 1 to CTRL; then NQ queries, each QUERY, any number
// (0 .. 1024) of KEY, VALUE pairs and END, reading each query's output after its END.
// A beat that breaks this order (or a 1025th pair) is dropped and sets STATUS bit 2.
//
// Timing (cycles after the edge that takes a beat until the next beat can be taken):
// QUERY 1, KEY D/LANES + 3 (dot product LANES MACs per cycle, then the exponent in two
// stages), VALUE D/LANES + 1 (LANES accumulators per cycle), END: the reciprocal by
// restoring division (30 cycles: sum >= 2^15 makes the first 15 quotient bits zero),
// D/LANES normalising cycles, then the output beat (valid D/LANES + 30 cycles after END).
//
// Registers (32 bit, byte addresses; others read 0 and ignore writes):
//  0x00 CTRL     W  bit 0: start a job (ignored while busy)
//  0x04 STATUS   R  bit 0 busy, bit 1 done, bit 2 a beat was out of order (this job)
//  0x08 CYCLES   R  clock cycles of the last job, from the start write to done
//  0x0C INFO     R  D [7:0], LANES [15:8], version [31:24]
//  0x10 MULT     RW exponent multiplier (1 .. 65535)
//  0x14 SHIFT    RW exponent shift (1 .. 40)
//  0x18 NQ       RW queries of the next job
//  0x1C PAIRS    R  KEY/VALUE pairs of the last job
//  0x20 RESCALES R  pairs whose score raised the running maximum (the rescaling multiplies)
//  0x24 EMPTY    R  queries of the last job without a pair
module sprint_recompute #(
  parameter int D     = 64,
  parameter int LANES = 16
) (
  input  logic               clk,
  input  logic               rst_n,
  input  logic               csr_req,
  input  logic               csr_we,
  input  logic [7:0]         csr_addr,
  input  logic [31:0]        csr_wdata,
  output logic               csr_ack,
  output logic [31:0]        csr_rdata,
  input  logic               in_valid,
  output logic               in_ready,
  input  logic [8*(D+1)-1:0] in_data,
  output logic               out_valid,
  input  logic               out_ready,
  output logic [16*D-1:0]    out_data,
  output logic               busy,
  output logic               done
);
  localparam int STEPS = D / LANES;
  localparam int STEP_W = STEPS > 1 ? $clog2(STEPS) : 1;
  localparam logic [7:0] VERSION = 8'd1;
  localparam logic [7:0] TAG_QUERY = 8'd1, TAG_KEY = 8'd2, TAG_VALUE = 8'd3, TAG_END = 8'd4;
  localparam int MAX_PAIRS = 1024;
  localparam int DIV_STEPS = 30;
  localparam logic [15:0] ONE = 16'd32768;

  if (!(D == 8 || D == 16 || D == 32 || D == 64) || LANES < 1 || LANES > D
      || D % LANES != 0 || (LANES & (LANES - 1)) != 0) begin : g_bad
    $fatal(1, "sprint_recompute: D must be 8, 16, 32 or 64 and LANES a power of two dividing D");
  end

  typedef enum logic [3:0] {
    S_IDLE, S_WAIT, S_DOT, S_EXP1, S_EXP2, S_ACC, S_DIV, S_NORM, S_OUT, S_FIN
  } state_t;
  state_t state;

  // ---------------------------------------------------------------- registers
  logic        csr_access, start;
  logic [15:0] mult_q;
  logic [5:0]  shift_q;
  logic [31:0] nq_q, cycles_q, pairs_q, rescales_q, empty_q;
  logic        err_q;

  assign csr_access = csr_req && !csr_ack;
  assign start      = csr_access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && state == S_IDLE;
  assign busy       = state != S_IDLE;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      csr_ack   <= 1'b0;
      csr_rdata <= '0;
      mult_q    <= 16'd1;
      shift_q   <= 6'd1;
      nq_q      <= '0;
    end else begin
      csr_ack <= csr_access;
      if (csr_access && csr_we) begin
        case (csr_addr)
          8'h10:   mult_q <= csr_wdata[15:0];
          8'h14:   shift_q <= csr_wdata[5:0];
          8'h18:   nq_q <= csr_wdata;
          default: ;
        endcase
      end
      if (csr_access && !csr_we) begin
        case (csr_addr)
          8'h04:   csr_rdata <= {29'd0, err_q, done, busy};
          8'h08:   csr_rdata <= cycles_q;
          8'h0C:   csr_rdata <= {VERSION, 8'd0, 8'(LANES), 8'(D)};
          8'h10:   csr_rdata <= {16'd0, mult_q};
          8'h14:   csr_rdata <= {26'd0, shift_q};
          8'h18:   csr_rdata <= nq_q;
          8'h1C:   csr_rdata <= pairs_q;
          8'h20:   csr_rdata <= rescales_q;
          8'h24:   csr_rdata <= empty_q;
          default: csr_rdata <= '0;
        endcase
      end
    end
  end

  // ------------------------------------------------------------------ datapath
  logic signed [7:0]  q [D];
  logic signed [7:0]  row [D];             // the K or V row being used
  logic signed [31:0] score, m;
  logic signed [39:0] o [D];
  logic [25:0]        sum;
  logic [15:0]        alpha, wgt;
  logic [39:0]        t;
  logic [15:0]        w;
  logic               first, greater;
  logic [10:0]        pairs_in_query;
  logic               expect_v;
  logic [STEP_W-1:0]  step;
  logic [4:0]         div_step;
  logic [29:0]        recip;
  logic [25:0]        rem;              // < sum
  logic [31:0]        queries_done;
  logic signed [15:0] out [D];

  exp2_neg u_exp (.t(t), .w(w));

  // one step of the dot product: LANES products
  logic signed [31:0] partial;
  always_comb begin
    partial = '0;
    for (int l = 0; l < LANES; l++) begin
      partial = partial + 32'(q[32'(step) * LANES + l] * row[32'(step) * LANES + l]);
    end
  end

  logic [31:0] delta;
  logic [55:0] tprod;
  assign delta = score > m ? 32'(score - m) : 32'(m - score);
  assign tprod = 56'(delta) * 56'(mult_q) + (56'd1 << (shift_q - 6'd1));

  logic [7:0]  tag;
  logic        in_fire, out_fire, ordered;
  assign tag      = in_data[8*D +: 8];
  assign in_ready = state == S_WAIT;
  assign in_fire  = in_valid && in_ready;
  assign out_fire = out_valid && out_ready;
  assign out_valid = state == S_OUT;
  always_comb begin
    for (int i = 0; i < D; i++) out_data[16*i +: 16] = out[i];
  end
  // which tags fit now: QUERY only between queries; KEY/END after QUERY or VALUE; VALUE after KEY
  logic in_query;
  always_comb begin
    case (tag)
      TAG_QUERY: ordered = !in_query;
      TAG_KEY:   ordered = in_query && !expect_v && pairs_in_query != 11'(MAX_PAIRS);
      TAG_VALUE: ordered = in_query && expect_v;
      TAG_END:   ordered = in_query && !expect_v;
      default:   ordered = 1'b0;
    endcase
  end

  logic [26:0] rem_shift;
  assign rem_shift = {rem, 1'b0};

  logic signed [71:0] norm_prod [LANES];
  for (genvar l = 0; l < LANES; l++) begin : g_norm
    assign norm_prod[l] = 72'(o[32'(step) * LANES + l]) * $signed({42'd0, recip});
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state          <= S_IDLE;
      done           <= 1'b0;
      err_q          <= 1'b0;
      cycles_q       <= '0;
      pairs_q        <= '0;
      rescales_q     <= '0;
      empty_q        <= '0;
      queries_done   <= '0;
      in_query       <= 1'b0;
      expect_v       <= 1'b0;
      pairs_in_query <= '0;
      step           <= '0;
      div_step       <= '0;
      score          <= '0;
      m              <= '0;
      sum            <= '0;
      alpha          <= '0;
      wgt            <= '0;
      t              <= '0;
      first          <= 1'b0;
      greater        <= 1'b0;
      recip          <= '0;
      rem            <= '0;
    end else begin
      if (state != S_IDLE) cycles_q <= cycles_q + 32'd1;
      case (state)
        S_IDLE: begin
          if (start) begin
            cycles_q     <= '0;
            done         <= 1'b0;
            err_q        <= 1'b0;
            pairs_q      <= '0;
            rescales_q   <= '0;
            empty_q      <= '0;
            queries_done <= '0;
            in_query     <= 1'b0;
            expect_v     <= 1'b0;
            state        <= nq_q == 32'd0 ? S_FIN : S_WAIT;
          end
        end
        S_WAIT: begin
          if (in_fire && !ordered) begin
            err_q <= 1'b1;
          end else if (in_fire) begin
            for (int i = 0; i < D; i++) row[i] <= in_data[8*i +: 8];
            step <= '0;
            case (tag)
              TAG_QUERY: begin
                for (int i = 0; i < D; i++) q[i] <= in_data[8*i +: 8];
                in_query       <= 1'b1;
                pairs_in_query <= '0;
                sum            <= '0;
                for (int i = 0; i < D; i++) o[i] <= '0;
              end
              TAG_KEY: begin
                score <= '0;
                state <= S_DOT;
              end
              TAG_VALUE: state <= S_ACC;
              default: begin  // END
                in_query <= 1'b0;
                if (pairs_in_query == '0) begin
                  for (int i = 0; i < D; i++) out[i] <= '0;
                  empty_q <= empty_q + 32'd1;
                  state   <= S_OUT;
                end else begin
                  rem      <= 26'd16384;  // 2^44 after its first 15 quotient bits (all 0)
                  recip    <= '0;
                  div_step <= '0;
                  state    <= S_DIV;
                end
              end
            endcase
          end
        end
        S_DOT: begin
          score <= score + partial;
          if (32'(step) == 32'(STEPS - 1)) state <= S_EXP1;
          else step <= step + 1'b1;
        end
        S_EXP1: begin
          first   <= pairs_in_query == '0;
          greater <= score > m;
          t       <= pairs_in_query == '0 ? 40'd0 : 40'(tprod >> shift_q);
          state   <= S_EXP2;
        end
        S_EXP2: begin
          if (first) begin
            alpha <= 16'd0;
            wgt   <= ONE;
            m     <= score;
          end else if (greater) begin
            alpha      <= w;
            wgt        <= ONE;
            m          <= score;
            rescales_q <= rescales_q + 32'd1;
          end else begin
            alpha <= ONE;
            wgt   <= w;
          end
          expect_v <= 1'b1;
          state    <= S_WAIT;
        end
        S_ACC: begin
          for (int l = 0; l < LANES; l++) begin
            o[32'(step) * LANES + l] <= 40'((72'(o[32'(step) * LANES + l]) * $signed({56'd0, alpha})
                                             + 72'sd16384) >>> 15)
                                        + 40'($signed({1'b0, wgt}) * row[32'(step) * LANES + l]);
          end
          if (step == '0) begin
            sum <= 26'(((42'(sum) * 42'(alpha)) + 42'd16384) >> 15) + 26'(wgt);
          end
          if (32'(step) == 32'(STEPS - 1)) begin
            state          <= S_WAIT;
            expect_v       <= 1'b0;
            pairs_in_query <= pairs_in_query + 11'd1;
            pairs_q        <= pairs_q + 32'd1;
          end else begin
            step <= step + 1'b1;
          end
        end
        S_DIV: begin
          if (rem_shift >= {1'b0, sum}) begin
            rem   <= 26'(rem_shift - {1'b0, sum});
            recip <= {recip[28:0], 1'b1};
          end else begin
            rem   <= 26'(rem_shift);
            recip <= {recip[28:0], 1'b0};
          end
          if (div_step == 5'(DIV_STEPS - 1)) state <= S_NORM;
          div_step <= div_step + 5'd1;
        end
        S_NORM: begin
          for (int l = 0; l < LANES; l++) begin
            logic signed [71:0] r;
            r = (norm_prod[l] + 72'sd34359738368) >>> 36;  // + 2^35
            out[32'(step) * LANES + l] <= r > 72'sd32767 ? 16'sd32767
                                        : r < -72'sd32768 ? -16'sd32768 : 16'(r);
          end
          if (32'(step) == 32'(STEPS - 1)) state <= S_OUT;
          else step <= step + 1'b1;
        end
        S_OUT: begin
          if (out_fire) begin
            queries_done <= queries_done + 32'd1;
            if (queries_done + 32'd1 == nq_q) begin
              state <= S_IDLE;
              done  <= 1'b1;
            end else begin
              state <= S_WAIT;
            end
          end
        end
        S_FIN: begin  // a job of no queries: done rises one cycle after its start
          state <= S_IDLE;
          done  <= 1'b1;
        end
        default: state <= S_IDLE;
      endcase
    end
  end
endmodule

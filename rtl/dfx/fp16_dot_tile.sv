// FP16 matrix tile of DFX's matrix processing unit (Hong et al., "DFX: A Low-latency
// Multi-FPGA Appliance for Accelerating Transformer-based Text Generation", MICRO 2022):
// LANES dot-product lanes of WIDTH FP16 multipliers, an FP32 adder tree per lane and an
// FP32 accumulator per lane and token. The RTL twin of cosim.accel.dfx.fp16_tile (numpy) and
// tlm/accel/dfx/fp16_dot_tile.cpp.
//
// Y[t][l] = fp16(bias[l] + sum_c tree(W[l][cW..cW+W-1] * X[t][cW..cW+W-1])), in this order:
// products exact in FP32 (fp16_mul_fp32), the tree adds neighbours level by level
// ((p0+p1)+(p2+p3))+..., each sum rounded to FP32 (fp32_add, ties to even), the tree sum
// of chunk c is added to the accumulator, chunks in order; the result is rounded once to
// FP16 (fp32_to_fp16). Inputs must be finite.
//
// Weights stream, activations stay (as DFX's GEMV/GEMM dataflow): a job takes T
// activation rows (KEEP reuses the previous ones), then BLOCKS row blocks, each an
// optional bias beat and IN_LEN/WIDTH weight beats; every weight beat is applied to the T
// tokens, one token per cycle, through a 3-stage pipeline (products, tree, accumulate).
// Weight beats wait in a two-entry FIFO, so a GEMV (T = 1) takes one weight beat per
// cycle across block boundaries. A block's T result beats leave from a two-block output
// buffer while the next block computes; a block starts only when the block two before it
// has been read out (so its buffer slot is free).
//
// Interfaces (synchronous to clk; rst_n active-low synchronous reset):
//  register port req/ack (cosim.accel.stream_engine);
//  in  (valid/ready, 16*LANES*WIDTH bits): activation beat k of a row holds elements
//      [k*LANES*WIDTH, (k+1)*LANES*WIDTH) of it (FP16 lanes, element i at bits [16i, 16i+16));
//      a row is ceil(IN_LEN/(LANES*WIDTH)) beats, rows token by token;
//      bias beat: bias[l] at bits [16l, 16l+16);
//      weight beat c of a block: lane l's WIDTH weights W[l][cW + v] at bits [16(l*WIDTH+v), ...);
//  out (valid/ready, 16*LANES bits): per block one beat per token, Y[t][l] at bits [16l, 16l+16).
//
// Registers (32 bit):
//  0x00 CTRL    W  bit 0 start, bit 1 KEEP activation rows, bit 2 each block has a bias beat
//  0x04 STATUS  R  bit 0 busy, bit 1 done, bit 2 the last start was refused
//  0x08 CYCLES  R  clock cycles of the last job
//  0x0C INFO    R  LANES [7:0], WIDTH [15:8], version [31:24]
//  0x10 TOKENS  RW T, 1..T_MAX
//  0x14 IN_LEN  RW elements per activation row, a multiple of WIDTH, 1..IN_MAX
//  0x18 BLOCKS  RW row blocks per job, 1..65535
module fp16_dot_tile #(
  parameter int LANES  = 8,
  parameter int WIDTH  = 8,
  parameter int IN_MAX = 512,
  parameter int T_MAX  = 16
) (
  input  logic                        clk,
  input  logic                        rst_n,
  input  logic                        csr_req,
  input  logic                        csr_we,
  input  logic [7:0]                  csr_addr,
  input  logic [31:0]                 csr_wdata,
  output logic                        csr_ack,
  output logic [31:0]                 csr_rdata,
  input  logic                        in_valid,
  output logic                        in_ready,
  input  logic [16*LANES*WIDTH-1:0]   in_data,
  output logic                        out_valid,
  input  logic                        out_ready,
  output logic [16*LANES-1:0]         out_data,
  output logic                        busy,
  output logic                        done
);
  localparam int APB   = LANES * WIDTH;             // activation elements per beat
  localparam int BW    = 16 * APB;                  // beat width
  localparam int ABMAX = IN_MAX / APB;              // activation beats per row, at most
  localparam int TW    = $clog2(T_MAX + 1);
  localparam int TIX   = T_MAX > 1 ? $clog2(T_MAX) : 1;
  localparam int AIX   = ABMAX > 1 ? $clog2(ABMAX) : 1;
  localparam int LV    = $clog2(WIDTH);              // tree levels
  localparam logic [7:0] VERSION = 8'd1;

  if (LANES < 1 || WIDTH < 1 || (WIDTH & (WIDTH - 1)) != 0 || BW > 1024 || LANES > 64)
  begin : g_bad_shape
    $fatal(1, "fp16_dot_tile: WIDTH must be a power of two and LANES*WIDTH*16 <= 1024 bits");
  end
  if (IN_MAX < APB || IN_MAX % APB != 0 || T_MAX < 1 || T_MAX > 64) begin : g_bad_size
    $fatal(1, "fp16_dot_tile: IN_MAX must be a multiple of LANES*WIDTH; T_MAX 1..64");
  end

  typedef enum logic [1:0] {S_IDLE, S_ACT, S_RUN} state_t;
  state_t state;

  // ------------------------------------------------------------------ registers
  logic [31:0] tokens_q, inlen_q, blocks_q, cycles_q;
  logic        error_q, csr_access, start_req, cfg_ok, start;
  logic        bias_q;

  assign cfg_ok = tokens_q >= 32'd1 && tokens_q <= 32'(T_MAX) && inlen_q >= 32'd1
               && inlen_q <= 32'(IN_MAX) && inlen_q % 32'(WIDTH) == 32'd0
               && blocks_q >= 32'd1 && blocks_q <= 32'd65535;
  assign csr_access = csr_req && !csr_ack;
  assign start_req  = csr_access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && state == S_IDLE;
  assign start      = start_req && cfg_ok;
  assign busy       = state != S_IDLE;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      csr_ack   <= 1'b0;
      csr_rdata <= '0;
      tokens_q  <= '0;
      inlen_q   <= '0;
      blocks_q  <= 32'd1;
      error_q   <= 1'b0;
    end else begin
      csr_ack <= csr_access;
      if (start_req) error_q <= !cfg_ok;
      if (csr_access && csr_we && csr_addr == 8'h10) tokens_q <= csr_wdata;
      if (csr_access && csr_we && csr_addr == 8'h14) inlen_q  <= csr_wdata;
      if (csr_access && csr_we && csr_addr == 8'h18) blocks_q <= csr_wdata;
      if (csr_access && !csr_we) begin
        case (csr_addr)
          8'h04:   csr_rdata <= {29'd0, error_q, done, busy};
          8'h08:   csr_rdata <= cycles_q;
          8'h0C:   csr_rdata <= {VERSION, 8'd0, 8'(WIDTH), 8'(LANES)};
          8'h10:   csr_rdata <= tokens_q;
          8'h14:   csr_rdata <= inlen_q;
          8'h18:   csr_rdata <= blocks_q;
          default: csr_rdata <= '0;
        endcase
      end
    end
  end

  // ------------------------------------------------------------------ input side
  logic [TW-1:0]  ntok, act_t;
  logic [31:0]    abeats, chunks, act_k, in_blk, in_pos, blk_read;
  logic [AIX-1:0] act_c;
  logic           in_fire, in_bias, in_weight, room;
  logic [BW-1:0]  fifo [2];
  logic [1:0]     fcount;
  logic           fhead;
  logic [31:0]    init [2][LANES];                 // per block slot: the accumulators' start
  logic [31:0]    bias32 [LANES];

  assign ntok     = TW'(tokens_q);
  assign abeats   = (inlen_q + 32'(APB) - 32'd1) / 32'(APB);
  assign chunks   = inlen_q / 32'(WIDTH);
  // position in_pos of block in_blk: 0 is the bias beat when there is one
  assign in_bias  = bias_q && in_pos == 32'd0;
  assign in_weight = !in_bias;
  // a block may begin only when the block two before it has been read out
  assign room     = in_blk - blk_read < 32'd2;
  assign in_ready = state == S_ACT
                 || (state == S_RUN && in_blk != blocks_q
                     && (in_bias ? room : fcount != 2'd2));
  assign in_fire  = in_valid && in_ready;

  for (genvar l = 0; l < LANES; l++) begin : g_bias
    fp16_mul_fp32 u_bias (.a(in_data[16 * l +: 16]), .b(16'h3c00), .y(bias32[l]));
  end

  // ------------------------------------------------------------------ issue side
  logic [BW-1:0]  cur;
  logic           cur_valid, cur_first, cur_last, cur_par;
  logic [TW-1:0]  t_cnt;
  logic [TIX-1:0] tix;
  logic [31:0]    ld_chunk, ld_blk, cur_chunk;
  logic           last_tok, load_cur, push, pop_gate;

  assign tix      = TIX'(t_cnt);
  assign push     = in_fire && state == S_RUN && in_weight;
  assign last_tok = cur_valid && t_cnt == ntok - TW'(1);
  // the first chunk of a block waits until that block's buffer slot is free
  assign pop_gate = ld_chunk != 32'd0 || ld_blk - blk_read < 32'd2;
  assign load_cur = state == S_RUN && fcount != 2'd0 && (!cur_valid || last_tok) && pop_gate;

  // ------------------------------------------------------------------ output side
  logic [31:0]    obuf [2][T_MAX][LANES];
  logic [TW-1:0]  captured [2];
  logic           rslot;
  logic [TW-1:0]  out_t;
  logic [TIX-1:0] oix;
  logic           out_fire, slot_full;
  assign oix       = TIX'(out_t);
  assign slot_full = captured[rslot] == ntok;
  assign out_valid = state == S_RUN && slot_full;
  assign out_fire  = out_valid && out_ready;

  // ------------------------------------------------------------------ sequencing
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state     <= S_IDLE;
      done      <= 1'b0;
      cycles_q  <= '0;
      bias_q    <= 1'b0;
      act_k     <= '0;
      act_t     <= '0;
      act_c     <= '0;
      in_blk    <= '0;
      in_pos    <= '0;
      blk_read  <= '0;
      fcount    <= '0;
      fhead     <= 1'b0;
      cur_valid <= 1'b0;
      cur_first <= 1'b0;
      cur_last  <= 1'b0;
      cur_par   <= 1'b0;
      cur_chunk <= '0;
      t_cnt     <= '0;
      ld_chunk  <= '0;
      ld_blk    <= '0;
      rslot     <= 1'b0;
      out_t     <= '0;
    end else begin
      if (state != S_IDLE) cycles_q <= cycles_q + 32'd1;
      // input sequencing: bias beats to their block slot, weight beats to the FIFO
      if (in_fire && state == S_RUN) begin
        if (in_bias) for (int l = 0; l < LANES; l++) init[in_blk[0]][l] <= bias32[l];
        if (in_pos == chunks - (bias_q ? 32'd0 : 32'd1)) begin
          in_pos <= '0;
          in_blk <= in_blk + 32'd1;
        end else begin
          in_pos <= in_pos + 32'd1;
        end
      end
      if (push) fifo[fhead ^ fcount[0]] <= in_data;
      if (load_cur) begin
        cur       <= fifo[fhead];
        fhead     <= ~fhead;
        cur_first <= ld_chunk == 32'd0;
        cur_last  <= ld_chunk == chunks - 32'd1;
        cur_par   <= ld_blk[0];
        cur_chunk <= ld_chunk;
        if (ld_chunk == chunks - 32'd1) begin
          ld_chunk <= '0;
          ld_blk   <= ld_blk + 32'd1;
        end else begin
          ld_chunk <= ld_chunk + 32'd1;
        end
      end
      fcount <= fcount + (push ? 2'd1 : 2'd0) - (load_cur ? 2'd1 : 2'd0);
      if (cur_valid) t_cnt <= last_tok ? '0 : t_cnt + TW'(1);
      if (load_cur) cur_valid <= 1'b1;
      else if (last_tok) cur_valid <= 1'b0;
      // results
      if (out_fire) begin
        if (out_t == ntok - TW'(1)) begin
          out_t    <= '0;
          rslot    <= ~rslot;
          blk_read <= blk_read + 32'd1;
        end else begin
          out_t <= out_t + TW'(1);
        end
      end
      case (state)
        S_IDLE: if (start) begin
          done      <= 1'b0;
          cycles_q  <= '0;
          bias_q    <= csr_wdata[2];
          act_k     <= '0;
          act_t     <= '0;
          act_c     <= '0;
          in_blk    <= '0;
          in_pos    <= '0;
          blk_read  <= '0;
          fcount    <= '0;
          fhead     <= 1'b0;
          cur_valid <= 1'b0;
          t_cnt     <= '0;
          ld_chunk  <= '0;
          ld_blk    <= '0;
          rslot     <= 1'b0;
          out_t     <= '0;
          state     <= csr_wdata[1] ? S_RUN : S_ACT;
        end
        S_ACT: if (in_fire) begin
          act_k <= act_k + 32'd1;
          if (32'(act_c) == abeats - 32'd1) begin
            act_c <= '0;
            act_t <= act_t + TW'(1);
          end else begin
            act_c <= act_c + AIX'(1);
          end
          if (act_k == abeats * tokens_q - 32'd1) state <= S_RUN;
        end
        S_RUN: if (out_fire && out_t == ntok - TW'(1) && blk_read == blocks_q - 32'd1) begin
          state <= S_IDLE;
          done  <= 1'b1;
        end
        default: state <= S_IDLE;
      endcase
    end
  end

  // ------------------------------------------------------------------ activations
  logic [BW-1:0] xmem [T_MAX][ABMAX];
  always_ff @(posedge clk) begin
    if (state == S_ACT && in_fire) xmem[TIX'(act_t)][act_c] <= in_data;
  end

  // ------------------------------------------------------------------ datapath
  // stage 1: products of the current beat with token t's activations
  logic [16*WIDTH-1:0] xs;
  logic [31:0]         prod [LANES][WIDTH];
  logic [31:0]         p1 [LANES][WIDTH];
  logic                v1, v2, f1, f2, e1, e2, q1, q2;   // valid, first, last chunk, slot
  logic [TIX-1:0]      t1, t2;
  always_comb begin
    logic [31:0]  el;
    logic [BW-1:0] word;
    el   = cur_chunk * 32'(WIDTH);
    word = xmem[tix][AIX'(el / 32'(APB))];
    xs   = word[16 * (el % 32'(APB)) +: 16 * WIDTH];
  end
  for (genvar l = 0; l < LANES; l++) begin : g_lane
    for (genvar v = 0; v < WIDTH; v++) begin : g_mul
      fp16_mul_fp32 u_mul (
        .a(cur[16 * (l * WIDTH + v) +: 16]), .b(xs[16 * v +: 16]), .y(prod[l][v])
      );
    end
  end
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {v1, f1, e1, q1} <= '0;
      t1 <= '0;
    end else begin
      v1 <= cur_valid;
      f1 <= cur_first;
      e1 <= cur_last;
      q1 <= cur_par;
      t1 <= tix;
    end
    p1 <= prod;
  end

  // stage 2: the adder tree of each lane, neighbours first, level by level
  logic [31:0] root [LANES];
  logic [31:0] s2 [LANES];
  for (genvar l = 0; l < LANES; l++) begin : g_tree
    for (genvar k = 0; k <= LV; k++) begin : g_lvl
      logic [31:0] s [WIDTH >> k];
      if (k == 0) begin : g_leaf
        for (genvar v = 0; v < WIDTH; v++) begin : g_v
          assign s[v] = p1[l][v];
        end
      end else begin : g_sum
        for (genvar i = 0; i < (WIDTH >> k); i++) begin : g_i
          fp32_add u_add (.a(g_lvl[k - 1].s[2 * i]), .b(g_lvl[k - 1].s[2 * i + 1]), .y(s[i]));
        end
      end
    end
    assign root[l] = g_lvl[LV].s[0];
  end
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {v2, f2, e2, q2} <= '0;
      t2 <= '0;
    end else begin
      v2 <= v1;
      f2 <= f1;
      e2 <= e1;
      q2 <= q1;
      t2 <= t1;
    end
    s2 <= root;
  end

  // stage 3: accumulate; a block's first chunk starts from its bias (or +0), its last
  // chunk's sums go to the block's output slot
  logic [31:0] acc [T_MAX][LANES];
  logic [31:0] acc_next [LANES];
  for (genvar l = 0; l < LANES; l++) begin : g_acc
    fp32_add u_acc (
      .a(f2 ? (bias_q ? init[q2][l] : 32'd0) : acc[t2][l]), .b(s2[l]), .y(acc_next[l])
    );
  end
  always_ff @(posedge clk) begin
    if (!rst_n || (state == S_IDLE && start)) begin
      captured[0] <= '0;
      captured[1] <= '0;
    end else begin
      if (v2) begin
        for (int l = 0; l < LANES; l++) acc[t2][l] <= acc_next[l];
        if (e2) begin
          for (int l = 0; l < LANES; l++) obuf[q2][t2][l] <= acc_next[l];
          captured[q2] <= captured[q2] + TW'(1);
        end
      end
      if (out_fire && out_t == ntok - TW'(1)) captured[rslot] <= '0;
    end
  end

  // ------------------------------------------------------------------ results
  for (genvar l = 0; l < LANES; l++) begin : g_out
    fp32_to_fp16 u_cvt (.a(obuf[rslot][oix][l]), .y(out_data[16 * l +: 16]));
  end
endmodule

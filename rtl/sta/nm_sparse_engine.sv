// N:M sparse x dense and dense x dense int8 matrix engine with int32 accumulation: the
// select-and-MAC engine of STA (Fang, Zhou and Wang, IEEE TVLSI 2022), the RTL twin of
// cosim.accel.sta.nm_sparse (numpy) and tlm/accel/sta/nm_sparse_engine.cpp.
//
// Y[t][p] = sum_s W[p][s] * X[t][pos(s)] for LANES rows p of a weight tile and T tokens t.
// A weight row keeps N of every M weights (the N:M format of cosim.accel.sta.nm_sparse):
// slot s of a row belongs to group s >> log2 N and carries a position idx inside it, so
// pos(s) = ((s >> log2 N) << log2 M) + idx. Each lane has SLOTS multipliers; each one
// selects its activation among the M of its group (an M:1 selector indexed by idx), so a
// weight beat covers SLOTS*M/N activations. Dense mode (PATTERN bit 8) uses pos(s) = s.
//
// Weights stream, activations stay: a job takes T activation rows (one beat each, kept
// for following jobs with CTRL.KEEP), then IN_LEN*N/(M*SLOTS) weight beats; every weight
// beat is applied to the T tokens one per cycle (max(T, 2) cycles per beat, the next beat
// waits in a one-deep buffer), then T result beats leave.
//
// Interfaces (synchronous to clk; rst_n active-low synchronous reset):
//  register port req/ack (see cosim.accel.stream_engine): hold csr_req with csr_we,
//      csr_addr, csr_wdata until csr_ack (one cycle, with csr_rdata for a read).
//  in  (valid/ready, 8*IN_MAX bits): activation beat: bytes [0, IN_LEN) = row of X (int8);
//      weight beat: bytes [0, LANES*SLOTS) = values (lane-major: lane p slot k at byte
//      p*SLOTS+k), then from bit 8*LANES*SLOTS the indices, log2 M bits each in the same
//      order (absent in dense mode). in_ready never waits for in_valid.
//  out (valid/ready, 32*LANES bits): one beat per token, lane p at bits [32p, 32p+32).
//  busy: a job is running; done: the last job finished (cleared by the next start).
//
// Registers (32 bit, byte addresses; others read 0 and ignore writes):
//  0x00 CTRL    W  bit 0 start (ignored while busy), bit 1 KEEP activation rows
//  0x04 STATUS  R  bit 0 busy, bit 1 done, bit 2 the last start was refused (bad config)
//  0x08 CYCLES  R  clock cycles of the last job, from the start write to done
//  0x0C INFO    R  LANES [7:0], SLOTS [15:8], log2 M_MAX [19:16], version [31:24]
//  0x10 PATTERN RW [3:0] log2 N, [7:4] log2 M, [8] dense
//  0x14 TOKENS  RW T, 1..T_MAX
//  0x18 IN_LEN  RW activation elements per row, 1..IN_MAX, a multiple of the window
//  0x1C OUT_CFG RW [5:0] shift, [8] requantise to int8, [9] ReLU
// Result lanes: the int32 sum (wrapping), or sat8(relu((acc + 2^(shift-1)) >>> shift))
// sign-extended when requantising.
module nm_sparse_engine #(
  parameter int LANES  = 16,
  parameter int SLOTS  = 4,
  parameter int M_MAX  = 8,
  parameter int IN_MAX = 128,
  parameter int T_MAX  = 16
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
  input  logic [8*IN_MAX-1:0]   in_data,
  output logic                  out_valid,
  input  logic                  out_ready,
  output logic [32*LANES-1:0]   out_data,
  output logic                  busy,
  output logic                  done
);
  localparam int IDXW_MAX = $clog2(M_MAX);
  localparam int KV       = LANES * SLOTS;          // multipliers
  localparam int TW       = $clog2(T_MAX + 1);
  localparam int TIX      = T_MAX > 1 ? $clog2(T_MAX) : 1;  // token index
  localparam int XW       = $clog2(IN_MAX);          // activation position
  localparam int SW       = $clog2(IN_MAX + 1);      // slot / position counters
  localparam logic [7:0] VERSION = 8'd1;

  if (LANES < 1 || LANES > 32 || SLOTS < 1 || SLOTS > 16 || (SLOTS & (SLOTS - 1)) != 0)
  begin : g_bad_shape
    $fatal(1, "nm_sparse_engine: LANES must be 1..32 and SLOTS a power of two up to 16");
  end
  if (M_MAX != 2 && M_MAX != 4 && M_MAX != 8 && M_MAX != 16) begin : g_bad_m
    $fatal(1, "nm_sparse_engine: M_MAX must be 2, 4, 8 or 16");
  end
  if (IN_MAX < 4 || IN_MAX > 128 || KV * (8 + IDXW_MAX) > 8 * IN_MAX) begin : g_bad_in
    $fatal(1, "nm_sparse_engine: IN_MAX must be 4..128 bytes and hold a weight beat");
  end
  if (T_MAX < 1 || T_MAX > 64) begin : g_bad_t
    $fatal(1, "nm_sparse_engine: T_MAX must be 1..64");
  end

  typedef enum logic [2:0] {S_IDLE, S_ACT, S_WGT, S_MAC, S_OUT} state_t;
  state_t state;

  // ------------------------------------------------------------------ registers
  logic [8:0]  pattern_q;
  logic [31:0] tokens_q, inlen_q, outcfg_q, cycles_q;
  logic        error_q;
  logic        csr_access, start_req, start, keep;

  logic [3:0] l2n, l2m;
  logic       dense;
  logic       cfg_ok;
  logic [4:0] win_shift;       // log2 of the window: log2 SLOTS + (log2 M - log2 N)
  logic [31:0] beats_needed;   // weight beats of a job

  assign l2n   = pattern_q[3:0];
  assign l2m   = pattern_q[7:4];
  assign dense = pattern_q[8];
  assign win_shift = 5'($clog2(SLOTS)) + (dense ? 5'd0 : 5'(l2m - l2n));
  assign beats_needed = inlen_q >> win_shift;

  always_comb begin
    cfg_ok = tokens_q >= 32'd1 && tokens_q <= 32'(T_MAX)
          && inlen_q >= 32'd1 && inlen_q <= 32'(IN_MAX)
          && (inlen_q & ((32'd1 << win_shift) - 32'd1)) == 32'd0;
    if (!dense) cfg_ok = cfg_ok && l2n <= l2m && 32'(l2m) <= 32'(IDXW_MAX);
  end

  assign csr_access = csr_req && !csr_ack;
  assign start_req  = csr_access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && state == S_IDLE;
  assign start      = start_req && cfg_ok;
  assign keep       = csr_wdata[1];
  assign busy       = state != S_IDLE;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      csr_ack   <= 1'b0;
      csr_rdata <= '0;
      pattern_q <= '0;
      tokens_q  <= '0;
      inlen_q   <= '0;
      outcfg_q  <= '0;
      error_q   <= 1'b0;
    end else begin
      csr_ack <= csr_access;
      if (start_req) error_q <= !cfg_ok;
      if (csr_access && csr_we) begin
        case (csr_addr)
          8'h10: pattern_q <= csr_wdata[8:0];
          8'h14: tokens_q  <= csr_wdata;
          8'h18: inlen_q   <= csr_wdata;
          8'h1C: outcfg_q  <= csr_wdata;
          default: ;
        endcase
      end
      if (csr_access && !csr_we) begin
        case (csr_addr)
          8'h04:   csr_rdata <= {29'd0, error_q, done, busy};
          8'h08:   csr_rdata <= cycles_q;
          8'h0C:   csr_rdata <= {VERSION, 4'd0, 4'(IDXW_MAX), 8'(SLOTS), 8'(LANES)};
          8'h10:   csr_rdata <= {23'd0, pattern_q};
          8'h14:   csr_rdata <= tokens_q;
          8'h18:   csr_rdata <= inlen_q;
          8'h1C:   csr_rdata <= outcfg_q;
          default: csr_rdata <= '0;
        endcase
      end
    end
  end

  // ------------------------------------------------------------------ sequencing
  logic [TW-1:0] t_cnt;           // activation rows loaded / token in MAC / result sent
  logic [TW-1:0] ntok;
  logic [31:0]   beats_in;        // weight beats accepted
  logic [31:0]   beat_idx;        // index of the beat in `cur`
  logic          wbuf_valid;
  logic [8*IN_MAX-1:0] wbuf, cur;
  logic          in_fire, out_fire, last_tok, load_cur, more_beats;

  logic [TIX-1:0] tix;
  assign tix        = TIX'(t_cnt);
  assign ntok       = TW'(tokens_q);
  assign in_fire    = in_valid && in_ready;
  assign out_fire   = out_valid && out_ready;
  assign last_tok   = t_cnt == ntok - TW'(1);
  assign more_beats = beats_in != beats_needed;
  assign in_ready   = state == S_ACT
                   || ((state == S_WGT || state == S_MAC) && !wbuf_valid && more_beats);
  assign load_cur   = wbuf_valid && (state == S_WGT || (state == S_MAC && last_tok));
  assign out_valid  = state == S_OUT;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state      <= S_IDLE;
      done       <= 1'b0;
      cycles_q   <= '0;
      t_cnt      <= '0;
      beats_in   <= '0;
      beat_idx   <= '0;
      wbuf_valid <= 1'b0;
      wbuf       <= '0;
      cur        <= '0;
    end else begin
      if (state != S_IDLE) cycles_q <= cycles_q + 32'd1;
      if (in_fire && state != S_ACT) begin
        wbuf       <= in_data;
        beats_in   <= beats_in + 32'd1;
      end
      if (in_fire && state != S_ACT) wbuf_valid <= 1'b1;
      else if (load_cur)             wbuf_valid <= 1'b0;
      if (load_cur) begin
        cur      <= wbuf;
        beat_idx <= beat_idx + 32'd1;
      end
      case (state)
        S_IDLE: begin
          if (start) begin
            done     <= 1'b0;
            cycles_q <= '0;
            t_cnt    <= '0;
            beats_in <= '0;
            beat_idx <= '1;       // the first load_cur makes it 0
            state    <= keep ? S_WGT : S_ACT;
          end
        end
        S_ACT: begin
          if (in_fire) begin
            t_cnt <= t_cnt + TW'(1);
            if (last_tok) begin
              t_cnt <= '0;
              state <= S_WGT;
            end
          end
        end
        S_WGT: begin
          if (load_cur) begin
            t_cnt <= '0;
            state <= S_MAC;
          end
        end
        S_MAC: begin
          t_cnt <= t_cnt + TW'(1);
          if (last_tok) begin
            t_cnt <= '0;
            if (load_cur)          state <= S_MAC;
            else if (!more_beats)  state <= S_OUT;
            else                   state <= S_WGT;
          end
        end
        S_OUT: begin
          if (out_fire) begin
            t_cnt <= t_cnt + TW'(1);
            if (last_tok) begin
              state <= S_IDLE;
              done  <= 1'b1;
            end
          end
        end
        default: state <= S_IDLE;
      endcase
    end
  end

  // ------------------------------------------------------------------ activations
  logic [7:0] xmem [T_MAX][IN_MAX];
  always_ff @(posedge clk) begin
    if (state == S_ACT && in_fire) begin
      for (int i = 0; i < IN_MAX; i++) xmem[tix][i] <= in_data[8*i +: 8];
    end
  end

  // ------------------------------------------------------------------ select and MAC
  // Slot k of lane p in the current beat: its value, its index (log2 M bits at position
  // (p*SLOTS + k) * log2 M of the index field) and the activation its selector picks.
  localparam int IFW = 8 * IN_MAX - 8 * KV;      // index field width of a beat
  logic [IFW-1:0]     ifield;
  logic signed [31:0] dot [LANES];
  assign ifield = cur[8*IN_MAX-1 : 8*KV];
  always_comb begin
    for (int p = 0; p < LANES; p++) begin
      dot[p] = '0;
      for (int k = 0; k < SLOTS; k++) begin
        logic [SW+4:0]      s;
        logic [XW-1:0]      pos;
        logic [3:0]         idx;
        logic signed [7:0]  w, x;
        logic signed [15:0] prod;
        s     = (SW+5)'(beat_idx) * (SW+5)'(SLOTS) + (SW+5)'(k);
        idx   = 4'(ifield >> ((p * SLOTS + k) * 32'(l2m))) & 4'((5'd1 << l2m) - 5'd1);
        pos   = XW'(dense ? s : (((s >> l2n) << l2m) | (SW+5)'(idx)));
        w     = cur[8*(p*SLOTS + k) +: 8];
        x     = xmem[tix][pos];
        prod  = w * x;
        dot[p] = dot[p] + 32'(prod);
      end
    end
  end

  logic signed [31:0] acc [T_MAX][LANES];
  always_ff @(posedge clk) begin
    if (state == S_IDLE && start) begin
      for (int t = 0; t < T_MAX; t++)
        for (int p = 0; p < LANES; p++) acc[t][p] <= '0;
    end else if (state == S_MAC) begin
      for (int p = 0; p < LANES; p++) acc[tix][p] <= acc[tix][p] + dot[p];
    end
  end

  // ------------------------------------------------------------------ results
  always_comb begin
    for (int p = 0; p < LANES; p++) begin
      logic signed [63:0] r;
      logic [5:0]         sh;
      sh = outcfg_q[5:0];
      r  = 64'(acc[tix][p]);
      if (outcfg_q[8]) begin
        if (sh != 6'd0) r = (r + (64'sd1 <<< (sh - 6'd1))) >>> sh;
        if (outcfg_q[9] && r < 0) r = '0;
        if (r > 64'sd127) r = 64'sd127;
        if (r < -64'sd128) r = -64'sd128;
      end
      out_data[32*p +: 32] = r[31:0];
    end
  end
endmodule

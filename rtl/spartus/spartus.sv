// spartus: one DeltaLSTM layer (INPUTS inputs, HIDDEN hidden units) on LANES column-balanced
// MAC lanes, in the standard engine shape. Twins: cosim/accel/spartus/engine.py,
// tlm/accel/spartus/spartus.cpp; formats and tables: cosim/accel/spartus/fixed_point.py.
// Registers: 0x00 CTRL (W bit 0 start, bit 1 dense: every column is propagated, bit 2 clears
// the counters), 0x04 STATUS (busy, done, refused), 0x08 CYCLES, 0x0C INFO (LANES [7:0],
// HIDDEN/8 [15:8], INPUTS/8 [23:16], version [31:24]), 0x10 KPL (nonzeros per column per
// lane, 1..4*HIDDEN/LANES with (INPUTS+HIDDEN)*KPL <= MAX_WORDS), 0x14 THRESHOLD (delta
// threshold, Q8, 0..32767), 0x18 MODE (0 step a frame, 1 load weights, 2 reset the state),
// counters 0x20 MACS, 0x24 WEIGHT_READS, 0x28 COLUMNS, 0x2C ENCODED, 0x30 LUT_LOOKUPS.
// Beats are 16*LANES bits. MODE 1 takes COLS*KPL weight words (column by column, KPL words
// each; lane l's 16 bits: int8 weight [7:0], row offset in the lane's block [15:8]); with
// CTRL bit 1 (a dense image, KPL even) it takes COLS*KPL/2 beats of two words of LANES int8
// weights each, word k of a column holding row k of every lane's block. MODE 2
// takes 8*HIDDEN/LANES beats of int32 biases (Q14) into the accumulators and clears the
// state. MODE 0 takes INPUTS/LANES beats of the frame (int16, Q8): the delta encoder
// compares each with its last propagated value and marks its column needed when the change
// exceeds THRESHOLD; the column scheduler then issues the lowest needed column for KPL
// cycles (one weight word a cycle, every lane one MAC), the next the cycle after; one
// cycle finds none left; the activation stage takes HIDDEN/8 cycles (8 units each: four
// gate tables, the cell update, tanh, and the hidden delta encoder); then HIDDEN/LANES
// result beats of h (int16, Q8), one a cycle; done at the last.
module spartus #(
  parameter int LANES = 16,
  parameter int INPUTS = 64,
  parameter int HIDDEN = 128,
  parameter int MAX_WORDS = 6144
) (
  input  logic clk, rst_n, csr_req, csr_we,
  input  logic [7:0] csr_addr,
  input  logic [31:0] csr_wdata,
  output logic csr_ack,
  output logic [31:0] csr_rdata,
  input  logic in_valid,
  output logic in_ready,
  input  logic [16*LANES-1:0] in_data,
  output logic out_valid,
  input  logic out_ready,
  output logic [16*LANES-1:0] out_data,
  output logic busy, done
);
  localparam int COLS = INPUTS + HIDDEN, ROWS = 4 * HIDDEN, RPL = ROWS / LANES, ACT = 8;
  localparam int XB = INPUTS / LANES, HB = HIDDEN / LANES, BB = 8 * HIDDEN / LANES;
  localparam int AW = $clog2(MAX_WORDS), CB = $clog2(COLS);
  typedef enum logic [2:0] {IDLE, TAKE, MAC, ACTIVATE, GIVE} state_t;
  localparam logic signed [15:0] SIGMOID [256] = '{16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd0, 16'sd1, 16'sd1, 16'sd1, 16'sd1, 16'sd1, 16'sd1, 16'sd1, 16'sd1, 16'sd1, 16'sd1, 16'sd1, 16'sd1, 16'sd1, 16'sd1, 16'sd1, 16'sd1, 16'sd1, 16'sd2, 16'sd2, 16'sd2, 16'sd2, 16'sd2, 16'sd2, 16'sd2, 16'sd2, 16'sd2, 16'sd3, 16'sd3, 16'sd3, 16'sd3, 16'sd3, 16'sd4, 16'sd4, 16'sd4, 16'sd4, 16'sd5, 16'sd5, 16'sd5, 16'sd6, 16'sd6, 16'sd6, 16'sd7, 16'sd7, 16'sd8, 16'sd8, 16'sd8, 16'sd9, 16'sd10, 16'sd10, 16'sd11, 16'sd11, 16'sd12, 16'sd13, 16'sd14, 16'sd15, 16'sd15, 16'sd16, 16'sd17, 16'sd18, 16'sd19, 16'sd21, 16'sd22, 16'sd23, 16'sd24, 16'sd26, 16'sd27, 16'sd29, 16'sd31, 16'sd32, 16'sd34, 16'sd36, 16'sd38, 16'sd40, 16'sd42, 16'sd44, 16'sd47, 16'sd49, 16'sd52, 16'sd54, 16'sd57, 16'sd60, 16'sd63, 16'sd66, 16'sd69, 16'sd72, 16'sd75, 16'sd79, 16'sd82, 16'sd86, 16'sd89, 16'sd93, 16'sd97, 16'sd100, 16'sd104, 16'sd108, 16'sd112, 16'sd116, 16'sd120, 16'sd124, 16'sd128, 16'sd132, 16'sd136, 16'sd140, 16'sd144, 16'sd148, 16'sd152, 16'sd156, 16'sd159, 16'sd163, 16'sd167, 16'sd170, 16'sd174, 16'sd177, 16'sd181, 16'sd184, 16'sd187, 16'sd190, 16'sd193, 16'sd196, 16'sd199, 16'sd202, 16'sd204, 16'sd207, 16'sd209, 16'sd212, 16'sd214, 16'sd216, 16'sd218, 16'sd220, 16'sd222, 16'sd224, 16'sd225, 16'sd227, 16'sd229, 16'sd230, 16'sd232, 16'sd233, 16'sd234, 16'sd235, 16'sd237, 16'sd238, 16'sd239, 16'sd240, 16'sd241, 16'sd241, 16'sd242, 16'sd243, 16'sd244, 16'sd245, 16'sd245, 16'sd246, 16'sd246, 16'sd247, 16'sd248, 16'sd248, 16'sd248, 16'sd249, 16'sd249, 16'sd250, 16'sd250, 16'sd250, 16'sd251, 16'sd251, 16'sd251, 16'sd252, 16'sd252, 16'sd252, 16'sd252, 16'sd253, 16'sd253, 16'sd253, 16'sd253, 16'sd253, 16'sd254, 16'sd254, 16'sd254, 16'sd254, 16'sd254, 16'sd254, 16'sd254, 16'sd254, 16'sd254, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256};
  localparam logic signed [15:0] TANH [256] = '{-16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd256, -16'sd255, -16'sd255, -16'sd255, -16'sd255, -16'sd255, -16'sd255, -16'sd255, -16'sd255, -16'sd255, -16'sd254, -16'sd254, -16'sd254, -16'sd254, -16'sd253, -16'sd253, -16'sd253, -16'sd252, -16'sd252, -16'sd251, -16'sd250, -16'sd250, -16'sd249, -16'sd248, -16'sd247, -16'sd246, -16'sd244, -16'sd243, -16'sd241, -16'sd239, -16'sd237, -16'sd234, -16'sd232, -16'sd229, -16'sd225, -16'sd221, -16'sd217, -16'sd212, -16'sd207, -16'sd201, -16'sd195, -16'sd188, -16'sd180, -16'sd172, -16'sd163, -16'sd153, -16'sd142, -16'sd131, -16'sd118, -16'sd105, -16'sd92, -16'sd77, -16'sd63, -16'sd47, -16'sd32, -16'sd16, 16'sd0, 16'sd16, 16'sd32, 16'sd47, 16'sd63, 16'sd77, 16'sd92, 16'sd105, 16'sd118, 16'sd131, 16'sd142, 16'sd153, 16'sd163, 16'sd172, 16'sd180, 16'sd188, 16'sd195, 16'sd201, 16'sd207, 16'sd212, 16'sd217, 16'sd221, 16'sd225, 16'sd229, 16'sd232, 16'sd234, 16'sd237, 16'sd239, 16'sd241, 16'sd243, 16'sd244, 16'sd246, 16'sd247, 16'sd248, 16'sd249, 16'sd250, 16'sd250, 16'sd251, 16'sd252, 16'sd252, 16'sd253, 16'sd253, 16'sd253, 16'sd254, 16'sd254, 16'sd254, 16'sd254, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd255, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256, 16'sd256};
  state_t state;
  logic [31:0] kpl_q, thr_q, mode_q, cycles_q, macs_q, reads_q, cols_q, enc_q, luts_q, want;
  logic [15:0] taken, given, k_q, act_q;
  logic error_q, dense_q, access, start, cfg_ok, start_ok, any;
  logic [16*LANES-1:0] dense_lo, dense_hi;  // the two words of a dense load beat
  logic [CB-1:0] col;
  logic [AW-1:0] waddr;
  logic [16*LANES-1:0] wmem [MAX_WORDS];
  logic [16*LANES-1:0] word;
  logic signed [31:0] m_q [ROWS];     // gate pre-activations (Q14): i, f, g, o blocks
  logic signed [31:0] c_q [HIDDEN];   // cell state (Q8)
  logic signed [15:0] xp_q [INPUTS];  // last propagated inputs
  logic signed [15:0] hp_q [HIDDEN];  // last propagated hidden state
  logic signed [15:0] h_q [HIDDEN];   // this frame's hidden state
  logic signed [16:0] d_q [COLS];     // each column's delta
  logic [COLS-1:0] need_q;
  logic signed [16:0] xd [LANES];
  logic xf [LANES];
  logic signed [31:0] cn [ACT];
  logic signed [15:0] hn [ACT];
  logic signed [16:0] hd [ACT];
  logic hf [ACT];

  function automatic logic [7:0] lut_index(input logic signed [31:0] v, input int shift);
    logic signed [32:0] s = (33'(v) + (33'sd1 <<< (shift - 1))) >>> shift;  // round to nearest
    if (s < -33'sd128) return 8'd0;
    if (s > 33'sd127) return 8'd255;
    return 8'(s + 33'sd128);
  endfunction
  // the delta encoder's test: a change propagates when it exceeds the threshold
  function automatic logic fires(input logic signed [16:0] d, input logic [31:0] thr, input logic all);
    logic [16:0] mag = d < 0 ? 17'(-d) : 17'(d);
    return all || 32'(mag) > thr;
  endfunction

  assign access = csr_req && !csr_ack;
  assign cfg_ok = kpl_q >= 32'd1 && kpl_q <= 32'(RPL) && 32'(COLS) * kpl_q <= 32'(MAX_WORDS)
                  && thr_q <= 32'd32767 && mode_q <= 32'd2;
  assign start_ok = cfg_ok && !(mode_q == 32'd1 && csr_wdata[1] && kpl_q[0]);
  assign start = access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && state == IDLE;
  assign busy = state != IDLE;
  always_comb
    case (mode_q)
      32'd0: want = 32'(XB);
      32'd1: want = dense_q ? (32'(COLS) * kpl_q) >> 1 : 32'(COLS) * kpl_q;
      default: want = 32'(BB);
    endcase
  assign in_ready = state == TAKE && 32'(taken) < want;
  assign out_valid = state == GIVE;
  always_comb
    for (int l = 0; l < LANES; l++) out_data[16*l +: 16] = h_q[32'(given) * LANES + l];

  always_comb
    for (int l = 0; l < LANES; l++) begin
      dense_lo[16*l +: 16] = {k_q[7:0], in_data[8*l +: 8]};
      dense_hi[16*l +: 16] = {k_q[7:0] + 8'd1, in_data[8*(LANES+l) +: 8]};
    end

  // column scheduler: the lowest needed column
  always_comb begin
    col = '0;
    any = 1'b0;
    for (int j = COLS - 1; j >= 0; j--)
      if (need_q[j]) begin
        col = CB'(j);
        any = 1'b1;
      end
  end
  assign waddr = AW'(32'(col) * kpl_q + 32'(k_q));
  assign word = wmem[waddr];

  // delta encoder of the inputs (one beat a cycle)
  always_comb
    for (int l = 0; l < LANES; l++) begin
      xd[l] = 17'($signed(in_data[16*l +: 16])) - 17'(xp_q[32'(taken) * LANES + l]);
      xf[l] = fires(xd[l], thr_q, dense_q);
    end

  // activation: ACT hidden units a cycle, and the delta encoder of their new state
  always_comb
    for (int j = 0; j < ACT; j++) begin
      automatic int u = 32'(act_q) * ACT + j;
      automatic logic signed [47:0] ig = 48'(SIGMOID[lut_index(m_q[u], 10)]);
      automatic logic signed [47:0] fg = 48'(SIGMOID[lut_index(m_q[HIDDEN + u], 10)]);
      automatic logic signed [47:0] gg = 48'(TANH[lut_index(m_q[2 * HIDDEN + u], 10)]);
      automatic logic signed [31:0] og = 32'(SIGMOID[lut_index(m_q[3 * HIDDEN + u], 10)]);
      cn[j] = 32'((fg * 48'(c_q[u]) + ig * gg) >>> 8);
      hn[j] = 16'((og * 32'(TANH[lut_index(cn[j], 4)])) >>> 8);
      hd[j] = 17'(hn[j]) - 17'(hp_q[u]);
      hf[j] = fires(hd[j], thr_q, dense_q);
    end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {csr_ack, csr_rdata, kpl_q, thr_q, mode_q, error_q, dense_q, done, cycles_q} <= '0;
      {macs_q, reads_q, cols_q, enc_q, luts_q, taken, given, k_q, act_q, need_q} <= '0;
      state <= IDLE;
    end else begin
      csr_ack <= access;
      if (access && csr_we && csr_addr == 8'h10) kpl_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h14) thr_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h18) mode_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h00 && csr_wdata[2])
        {macs_q, reads_q, cols_q, enc_q, luts_q} <= '0;
      if (access && !csr_we)
        case (csr_addr)
          8'h04: csr_rdata <= {29'd0, error_q, done, busy};
          8'h08: csr_rdata <= cycles_q;
          8'h0C: csr_rdata <= {8'd1, 8'(INPUTS / 8), 8'(HIDDEN / 8), 8'(LANES)};
          8'h10: csr_rdata <= kpl_q;
          8'h14: csr_rdata <= thr_q;
          8'h18: csr_rdata <= mode_q;
          8'h20: csr_rdata <= macs_q;
          8'h24: csr_rdata <= reads_q;
          8'h28: csr_rdata <= cols_q;
          8'h2C: csr_rdata <= enc_q;
          8'h30: csr_rdata <= luts_q;
          default: csr_rdata <= '0;
        endcase
      if (start) error_q <= !start_ok;
      if (busy) cycles_q <= cycles_q + 32'd1;
      if (start && start_ok) begin
        {done, cycles_q, taken, given, k_q, act_q} <= '0;
        dense_q <= csr_wdata[1];
        state <= TAKE;
        if (mode_q == 32'd0 && csr_wdata[1]) need_q[COLS-1:INPUTS] <= '1;  // dense: every column
        if (mode_q == 32'd2) begin
          need_q <= '0;
          for (int i = 0; i < COLS; i++) d_q[i] <= '0;
          for (int i = 0; i < INPUTS; i++) xp_q[i] <= '0;
          for (int u = 0; u < HIDDEN; u++) {hp_q[u], h_q[u], c_q[u]} <= '0;
        end
      end
      case (state)
        TAKE:
          if (in_valid && in_ready) begin
            taken <= taken + 16'd1;
            if (mode_q == 32'd1 && !dense_q) wmem[taken[AW-1:0]] <= in_data;
            else if (mode_q == 32'd1) begin
              wmem[AW'(2 * 32'(taken))] <= dense_lo;
              wmem[AW'(2 * 32'(taken) + 1)] <= dense_hi;
              k_q <= 32'(k_q) + 32'd2 == kpl_q ? '0 : k_q + 16'd2;
            end else if (mode_q == 32'd2)
              for (int l = 0; l < LANES / 2; l++) m_q[32'(taken) * (LANES / 2) + l] <= in_data[32*l +: 32];
            else begin
              enc_q <= enc_q + 32'(LANES);
              for (int l = 0; l < LANES; l++) begin
                d_q[32'(taken) * LANES + l] <= xd[l];
                need_q[32'(taken) * LANES + l] <= xf[l];
                if (xf[l]) xp_q[32'(taken) * LANES + l] <= in_data[16*l +: 16];
              end
            end
            if (32'(taken) + 32'd1 == want) begin
              if (mode_q == 32'd0) state <= MAC;
              else {state, done} <= {IDLE, 1'b1};
            end
          end
        MAC:
          if (!any) state <= ACTIVATE;
          else begin
            for (int l = 0; l < LANES; l++)
              m_q[l * RPL + 32'(word[16*l+8 +: 8])] <= m_q[l * RPL + 32'(word[16*l+8 +: 8])]
                  + 32'($signed(word[16*l +: 8])) * 32'(d_q[col]);
            macs_q <= macs_q + 32'(LANES);
            reads_q <= reads_q + 32'd1;
            if (32'(k_q) + 32'd1 == kpl_q) begin
              k_q <= '0;
              need_q[col] <= 1'b0;
              cols_q <= cols_q + 32'd1;
            end else k_q <= k_q + 16'd1;
          end
        ACTIVATE: begin
          for (int j = 0; j < ACT; j++) begin
            c_q[32'(act_q) * ACT + j] <= cn[j];
            h_q[32'(act_q) * ACT + j] <= hn[j];
            d_q[INPUTS + 32'(act_q) * ACT + j] <= hd[j];
            need_q[INPUTS + 32'(act_q) * ACT + j] <= hf[j];
            if (hf[j]) hp_q[32'(act_q) * ACT + j] <= hn[j];
          end
          enc_q <= enc_q + 32'(ACT);
          luts_q <= luts_q + 32'(5 * ACT);
          act_q <= act_q + 16'd1;
          if (32'(act_q) + 32'd1 == 32'(HIDDEN / ACT)) state <= GIVE;
        end
        GIVE:
          if (out_ready) begin
            given <= given + 16'd1;
            if (32'(given) + 32'd1 == 32'(HB)) {state, done} <= {IDLE, 1'b1};
          end
        default: ;
      endcase
    end
  end
endmodule

// nuQmm engine: binary-coding-quantised (BCQ) weights times int8 activations through
// lookup tables (Park et al., "nuQmm: quantized MatMul for efficient inference of
// large-scale generative language models", arXiv:2206.09557, 2022). Twins:
// cosim.accel.nuqmm.engine (numpy) and tlm/accel/nuqmm/nuqmm.cpp.
//
// A weight row r is sum_i alpha[r,i] * b[r,i,:] with q bit-planes b of +-1 (bit 1 = +1,
// bit 0 = -1). For every group of MU activations of each of the BATCH activation columns
// the LUT builder computes all 2^MU signed sums LUT_c[p] = sum_j (p_j ? +x_j : -x_j) once
// (LANES entries a cycle); then every plane-row's MU-bit pattern of that group looks one
// entry up in each column's table: LANES lookup-accumulate lanes, one pattern each a
// cycle, a weight beat held for BATCH cycles (one per column: the weights are read once
// for all columns). After the last group the scale unit forms, per column,
// y[r] = sum_i alpha[r,i] * acc[i*ROWS + r] (16-bit unsigned fixed-point alpha times the
// int32 sum, int64) and the results leave as (y >>> SHIFT)[31:0].
//
// Job (one input stream, then the results), plane-row k = i*ROWS + r (plane-major):
//  1. BATCH*GROUPS*MU/LANES activation beats (column after column; byte: int8 activation);
//  2. per group g: BATCH*BUILD build cycles (BUILD = ceil(2^MU / LANES)), then ROWS*Q/LANES
//     weight beats (beat t, byte l: the MU-bit pattern of plane-row t*LANES + l in group g);
//  3. 2*ROWS*Q/LANES scale beats (LANES/2 little-endian uint16 alphas, plane-rows in order);
//  4. BATCH*4*ROWS/LANES result beats (LANES/4 little-endian int32; column after column,
//     rows in order).
// Timing: a beat is taken at the first edge it is offered in a taking state; weight and
// scale beats are then held BATCH-1 more edges; the build cycles sit between the last
// beat of a group (or the activations) and the first beat of the next group; result
// beats from the edge after the last scale beat's last column, one per edge.
//
// Interfaces (synchronous to clk; rst_n active-low synchronous reset):
//  register port req/ack (cosim.accel.stream_engine): hold csr_req with csr_we, csr_addr,
//      csr_wdata until csr_ack (one cycle, with csr_rdata for a read).
//  in  (valid/ready, 8*LANES bits): activation, weight-pattern or scale beats (above).
//  out (valid/ready, 8*LANES bits): result beats.
//  busy: a job is running; done: the last job finished (cleared by the next start).
//
// Registers (32 bit, byte addresses; others read 0 and ignore writes):
//  0x00 CTRL        W  bit 0 start (ignored while busy)
//  0x04 STATUS      R  bit 0 busy, bit 1 done, bit 2 the last start was refused
//  0x08 CYCLES      R  clock cycles of the last job, from the start write to done
//  0x0C INFO        R  LANES [7:0], MU [15:8], MAX_Q [20:16], MAX_BATCH [23:21], version [31:24]
//  0x10 GROUPS      RW activation groups (n / MU), 1..MAX_GROUPS, GROUPS*MU % LANES == 0
//  0x14 ROWS        RW output rows, LANES..MAX_ROWS, a multiple of LANES
//  0x18 Q           RW bit-planes, 1..MAX_Q
//  0x1C SHIFT       RW result shift, 0..63
//  0x20 BATCH       RW activation columns, 1..MAX_BATCH
//  0x40 LUT_ENTRIES R  LUT entries built (cumulative, as the counters below)
//  0x44 LOOKUPS     R  lookup-accumulates (one per plane-row, group and column)
//  0x48 SCALE_MACS  R  alpha x sum multiply-adds (one per plane-row and column)
// A start is refused (STATUS bit 2) unless every configuration register is in range.
module nuqmm #(
  parameter int MU         = 8,
  parameter int LANES      = 16,
  parameter int MAX_Q      = 4,
  parameter int MAX_ROWS   = 1024,
  parameter int MAX_GROUPS = 512,
  parameter int MAX_BATCH  = 4
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
  input  logic [8*LANES-1:0] in_data,
  output logic               out_valid,
  input  logic               out_ready,
  output logic [8*LANES-1:0] out_data,
  output logic               busy,
  output logic               done
);
  localparam int ENTRIES = 1 << MU;
  localparam int BUILD = (ENTRIES + LANES - 1) / LANES;
  localparam int ACT_BYTES = MAX_BATCH * MAX_GROUPS * MU;
  localparam int ACCS = MAX_ROWS * MAX_Q;
  localparam int AW = $clog2(ACT_BYTES);
  localparam int KW = $clog2(MAX_BATCH * ACCS);
  localparam int RW = $clog2(MAX_BATCH * MAX_ROWS);
  localparam int TW = $clog2(MAX_BATCH * (1 << MU));
  localparam logic [7:0] VERSION = 8'd1;

  if (MU < 2 || MU > 8) begin : g_bad_mu
    $fatal(1, "nuqmm: MU must be 2..8");
  end
  if (LANES < 4 || LANES > 64 || LANES % 4 != 0) begin : g_bad_lanes
    $fatal(1, "nuqmm: LANES must be 4..64, a multiple of 4");
  end
  if (MAX_Q < 1 || MAX_Q > 8 || MAX_ROWS < LANES || MAX_ROWS > 4096 || MAX_GROUPS < 1
      || MAX_GROUPS > 512 || MAX_GROUPS * MU < LANES || MAX_BATCH < 1 || MAX_BATCH > 4)
  begin : g_bad_sizes
    $fatal(1, "nuqmm: MAX_Q 1..8, MAX_ROWS LANES..4096, MAX_GROUPS 1..512, MAX_GROUPS*MU >= LANES, MAX_BATCH 1..4");
  end

  typedef enum logic [2:0] {S_IDLE, S_ACT, S_BUILD, S_LOOK, S_LHOLD, S_SCALE, S_SHOLD, S_GIVE} state_t;
  state_t state;

  // ------------------------------------------------------------------ registers
  logic [31:0] groups_q, rows_q, q_q, shift_q, batch_q, cycles_q;
  logic [31:0] lut_cnt, look_cnt, smac_cnt;
  logic        error_q, csr_access, start_req, start, cfg_ok;
  logic [63:0] acts_needed;

  assign acts_needed = 64'(groups_q) * 64'(MU);
  assign cfg_ok = groups_q >= 32'd1 && groups_q <= 32'(MAX_GROUPS)
               && acts_needed % 64'(LANES) == 64'd0
               && rows_q >= 32'(LANES) && rows_q <= 32'(MAX_ROWS) && rows_q % 32'(LANES) == 32'd0
               && q_q >= 32'd1 && q_q <= 32'(MAX_Q) && shift_q <= 32'd63
               && batch_q >= 32'd1 && batch_q <= 32'(MAX_BATCH);

  assign csr_access = csr_req && !csr_ack;
  assign start_req  = csr_access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && state == S_IDLE;
  assign start      = start_req && cfg_ok;
  assign busy       = state != S_IDLE;
  assign in_ready   = state == S_ACT || state == S_LOOK || state == S_SCALE;
  assign out_valid  = state == S_GIVE;

  // ------------------------------------------------------------------ datapath state
  logic signed [7:0]  act [ACT_BYTES];     // the activation vector
  logic signed [15:0] lut [MAX_BATCH * ENTRIES];  // the current group's tables, per column
  logic signed [31:0] acc [MAX_BATCH * ACCS];     // one sum per plane-row and column
  logic signed [63:0] y   [MAX_BATCH * MAX_ROWS]; // scaled row results per column
  logic [31:0] beat_q, group_q, bcyc_q, plane_q, row_q, col_q;
  logic [31:0] act_beats, look_beats, scale_beats, out_beats;
  logic [8*LANES-1:0] w_q, cur;                  // the beat held for columns 1..BATCH-1
  logic last_col;

  assign act_beats   = 32'(acts_needed * 64'(batch_q) / 64'(LANES));
  assign look_beats  = rows_q * q_q / 32'(LANES);
  assign scale_beats = 32'd2 * look_beats;
  assign out_beats   = 32'd4 * rows_q / 32'(LANES);
  assign cur         = state == S_LOOK || state == S_SCALE ? in_data : w_q;
  assign last_col    = col_q + 32'd1 == batch_q;

  // LUT builder: LANES entries of the current group and column a cycle
  logic signed [15:0] built [LANES];
  always_comb
    for (int l = 0; l < LANES; l++) begin
      automatic int p = int'(bcyc_q) * LANES + l;
      built[l] = '0;
      for (int j = 0; j < MU; j++) begin
        automatic logic signed [15:0] x =
          16'(act[AW'(int'(col_q) * int'(acts_needed) + int'(group_q) * MU + j)]);
        built[l] = p[j] ? built[l] + x : built[l] - x;
      end
    end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      csr_ack   <= 1'b0;
      csr_rdata <= '0;
      {groups_q, rows_q, q_q, shift_q, batch_q, cycles_q} <= '0;
      {lut_cnt, look_cnt, smac_cnt} <= '0;
      {error_q, done} <= '0;
      {beat_q, group_q, bcyc_q, plane_q, row_q, col_q} <= '0;
      w_q   <= '0;
      state <= S_IDLE;
    end else begin
      csr_ack <= csr_access;
      if (start_req) error_q <= !cfg_ok;
      if (csr_access && csr_we) begin
        case (csr_addr)
          8'h10: groups_q <= csr_wdata;
          8'h14: rows_q   <= csr_wdata;
          8'h18: q_q      <= csr_wdata;
          8'h1C: shift_q  <= csr_wdata;
          8'h20: batch_q  <= csr_wdata;
          default: ;
        endcase
      end
      if (csr_access && !csr_we) begin
        case (csr_addr)
          8'h04:   csr_rdata <= {29'd0, error_q, done, busy};
          8'h08:   csr_rdata <= cycles_q;
          8'h0C:   csr_rdata <= {VERSION, 3'(MAX_BATCH), 5'(MAX_Q), 8'(MU), 8'(LANES)};
          8'h10:   csr_rdata <= groups_q;
          8'h14:   csr_rdata <= rows_q;
          8'h18:   csr_rdata <= q_q;
          8'h1C:   csr_rdata <= shift_q;
          8'h20:   csr_rdata <= batch_q;
          8'h40:   csr_rdata <= lut_cnt;
          8'h44:   csr_rdata <= look_cnt;
          8'h48:   csr_rdata <= smac_cnt;
          default: csr_rdata <= '0;
        endcase
      end
      if (state != S_IDLE) cycles_q <= cycles_q + 32'd1;

      case (state)
        S_IDLE:
          if (start) begin
            cycles_q <= '0;
            done     <= 1'b0;
            {beat_q, group_q, bcyc_q, plane_q, row_q, col_q} <= '0;
            state    <= S_ACT;
          end
        S_ACT:
          if (in_valid) begin
            for (int c = 0; c < LANES; c++)
              act[AW'(int'(beat_q) * LANES + c)] <= $signed(in_data[8*c +: 8]);
            if (beat_q + 32'd1 < act_beats) beat_q <= beat_q + 32'd1;
            else begin
              beat_q <= '0;
              state  <= S_BUILD;
            end
          end
        S_BUILD: begin
          for (int l = 0; l < LANES; l++)
            if (int'(bcyc_q) * LANES + l < ENTRIES)
              lut[TW'(int'(col_q) * ENTRIES + int'(bcyc_q) * LANES + l)] <= built[l];
          if (bcyc_q + 32'd1 < 32'(BUILD)) bcyc_q <= bcyc_q + 32'd1;
          else begin
            lut_cnt <= lut_cnt + 32'(ENTRIES);
            bcyc_q  <= '0;
            if (last_col) begin
              col_q <= '0;
              state <= S_LOOK;
            end else col_q <= col_q + 32'd1;
          end
        end
        S_LOOK, S_LHOLD:
          if (state == S_LHOLD || in_valid) begin
            if (state == S_LOOK) w_q <= in_data;
            for (int l = 0; l < LANES; l++) begin
              automatic logic [KW-1:0] k = KW'(int'(col_q) * ACCS + int'(beat_q) * LANES + l);
              automatic logic signed [31:0] e =
                32'(lut[TW'(int'(col_q) * ENTRIES + int'(cur[8*l +: MU]))]);
              acc[k] <= group_q == 32'd0 ? e : acc[k] + e;
            end
            look_cnt <= look_cnt + 32'(LANES);
            if (!last_col) begin
              col_q <= col_q + 32'd1;
              state <= S_LHOLD;
            end else begin
              col_q <= '0;
              state <= S_LOOK;
              if (beat_q + 32'd1 < look_beats) beat_q <= beat_q + 32'd1;
              else begin
                beat_q <= '0;
                if (group_q + 32'd1 < groups_q) begin
                  group_q <= group_q + 32'd1;
                  state   <= S_BUILD;
                end else state <= S_SCALE;
              end
            end
          end
        S_SCALE, S_SHOLD:
          if (state == S_SHOLD || in_valid) begin
            if (state == S_SCALE) w_q <= in_data;
            for (int l = 0; l < LANES / 2; l++) begin
              automatic logic [KW-1:0] k = KW'(int'(col_q) * ACCS + int'(beat_q) * (LANES / 2) + l);
              automatic logic [RW-1:0] r = RW'(int'(col_q) * MAX_ROWS + int'(row_q) + l);
              automatic logic signed [63:0] alpha = 64'($signed({1'b0, cur[16*l +: 16]}));
              automatic logic signed [63:0] sum = 64'(acc[k]);
              automatic logic signed [63:0] prod = alpha * sum;
              y[r] <= plane_q == 32'd0 ? prod : y[r] + prod;
            end
            smac_cnt <= smac_cnt + 32'(LANES / 2);
            if (!last_col) begin
              col_q <= col_q + 32'd1;
              state <= S_SHOLD;
            end else begin
              col_q <= '0;
              state <= S_SCALE;
              if (row_q + 32'(LANES / 2) < rows_q) row_q <= row_q + 32'(LANES / 2);
              else begin
                row_q   <= '0;
                plane_q <= plane_q + 32'd1;
              end
              if (beat_q + 32'd1 < scale_beats) beat_q <= beat_q + 32'd1;
              else begin
                beat_q <= '0;
                state  <= S_GIVE;
              end
            end
          end
        S_GIVE:
          if (out_ready) begin
            if (beat_q + 32'd1 < out_beats) beat_q <= beat_q + 32'd1;
            else begin
              beat_q <= '0;
              if (!last_col) col_q <= col_q + 32'd1;
              else begin
                col_q <= '0;
                state <= S_IDLE;
                done  <= 1'b1;
              end
            end
          end
        default: state <= S_IDLE;
      endcase
    end
  end

  always_comb
    for (int w = 0; w < LANES / 4; w++) begin
      automatic logic [RW-1:0] r = RW'(int'(col_q) * MAX_ROWS + int'(beat_q) * (LANES / 4) + w);
      out_data[32*w +: 32] = 32'(y[r] >>> shift_q[5:0]);
    end
endmodule

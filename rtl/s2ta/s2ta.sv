// S2TA (Liu et al., "S2TA: Exploiting Structured Sparsity for Energy-Efficient Mobile CNN
// Acceleration", HPCA 2022): an output-stationary array of time-unrolled DBB tensor PEs
// (s2ta_array.sv) fed through one dynamic activation pruner per row (s2ta_pruner.sv).
// C[ROWS x COLS] = A'[ROWS x K] W[K x COLS], K = 8 * DEPTH, int8 operands, int32 results,
// where W is W-DBB (at most W_NNZ nonzeros in every block of 8 along K, pruned offline)
// and A' keeps the A_NNZ largest-magnitude values of every block of 8 of A (A-DBB,
// pruned here at run time). A block takes A_NNZ cycles instead of the 8 a dense array
// spends on it: the speedup is 8 / A_NNZ; the weight sparsity gates MACs and shrinks the
// weight traffic. The RTL twin of cosim.accel.s2ta (numpy and TLM twins).
//
// Interfaces (synchronous to clk; rst_n active-low synchronous reset):
//  register port, req/ack (as rtl/systolic/systolic_array.sv).
//  activation stream act, one beat per block: row i's 8 int8 values of the block at bytes
//      [8i, 8i+8) (64*ROWS bits).
//  weight stream wgt, one beat per block: column j's W-DBB block at bits [WB*j +: WB],
//      WB = 8 + 8*W_NNZ: the mask of kept positions in the low byte, then the kept values
//      in position order (unused value bytes 0).
//  result stream out: ROWS beats, beat i = C[i][0..COLS-1] as int32.
//  The streams are ready only while a job still needs beats; each has a one-beat buffer
//  that takes the next beat in the cycle the block moves on into the array.
//  busy: a job runs. done: the last job finished (cleared by the next start).
//
// A job: write DEPTH (blocks), CONFIG (A_NNZ), then 1 to CTRL. Block b is taken when its
// activation and weight beats have both arrived and block b-1 has issued its last
// activation; one issue per cycle; ROWS+COLS-1 cycles after the last issue the results
// drain, one row per beat.
//
// Registers (32 bit, byte addresses; others read 0 and ignore writes; the standard
// engine header, then S2TA's from 0x10):
//  0x00 CTRL   W  bit 0 start (ignored while busy), bit 1 clear counters
//  0x04 STATUS R  bit 0 busy, bit 1 done (bit 2, error, is 0: no job is refused)
//  0x08 CYCLES R  clock cycles of the last job, from the start write to done
//  0x0C INFO   R  ROWS [7:0], COLS [15:8], W_NNZ [23:16], version [31:24]
//  0x10 DEPTH  RW blocks of 8 along K of the next job
//  0x14 CONFIG RW [3:0] A_NNZ, activations kept per block (1..8; 0 or more: 8)
//  event counters (R, since reset or CTRL bit 1; wrap at 2**32):
//  0x20 MACs done   0x24 MACs gated (zero activation or pruned weight)   0x28 issue cycles
//  0x2C blocks taken   0x30 nonzero activations in the blocks taken
//  0x34 nonzero activations issued (the rest were pruned)   0x38 result beats
module s2ta #(
  parameter int ROWS  = 8,
  parameter int COLS  = 8,
  parameter int W_NNZ = 4
) (
  input  logic                      clk,
  input  logic                      rst_n,
  input  logic                      csr_req,
  input  logic                      csr_we,
  input  logic [7:0]                csr_addr,
  input  logic [31:0]               csr_wdata,
  output logic                      csr_ack,
  output logic [31:0]               csr_rdata,
  input  logic                      act_valid,
  output logic                      act_ready,
  input  logic [64*ROWS-1:0]        act_data,
  input  logic                      wgt_valid,
  output logic                      wgt_ready,
  input  logic [(8+8*W_NNZ)*COLS-1:0] wgt_data,
  output logic                      out_valid,
  input  logic                      out_ready,
  output logic [32*COLS-1:0]        out_data,
  output logic                      busy,
  output logic                      done
);
  localparam logic [7:0] VERSION = 8'd1;
  localparam int WB = 8 + 8 * W_NNZ;
  localparam int L = ROWS + COLS - 1;  // cycles for an issue to cross the array

  if (64 * ROWS > 1024 || WB * COLS > 1024 || 32 * COLS > 1024) begin : g_bad_beats
    $fatal(1, "s2ta: beats are limited to 1024 bits (ROWS <= 16, COLS * (8 + 8 W_NNZ) <= 1024)");
  end

  typedef enum logic [1:0] {S_IDLE, S_RUN, S_FLUSH, S_DRAIN} state_t;
  state_t state;

  logic [31:0] depth_q, cfg_q, cycles_q;
  logic [31:0] job_depth, act_cnt, wgt_cnt, blocks;
  logic [3:0]  nna;            // activations issued per block in this job
  logic [3:0]  s;              // issue index within the current block
  logic        csr_access, ctrl_write, start;
  logic        act_fire, wgt_fire, out_fire;
  logic        abuf_full, wbuf_full, slot_valid, issue, last_issue, load_slot;
  logic [64*ROWS-1:0]   abuf;
  logic [WB*COLS-1:0]   wbuf, wslot;
  logic [L-1:0]         in_flight;
  logic [31:0]          out_count;

  assign csr_access = csr_req && !csr_ack;
  assign ctrl_write = csr_access && csr_we && csr_addr == 8'h00;
  assign start      = ctrl_write && csr_wdata[0] && state == S_IDLE;
  assign busy       = state != S_IDLE;

  // A buffer takes the next beat in the cycle its block moves into the array.
  assign act_ready  = state == S_RUN && (!abuf_full || load_slot) && act_cnt != job_depth;
  assign wgt_ready  = state == S_RUN && (!wbuf_full || load_slot) && wgt_cnt != job_depth;
  assign act_fire   = act_valid && act_ready;
  assign wgt_fire   = wgt_valid && wgt_ready;
  assign issue      = state == S_RUN && slot_valid;
  assign last_issue = issue && s == nna - 4'd1;
  assign load_slot  = state == S_RUN && abuf_full && wbuf_full && (!slot_valid || last_issue);
  assign out_valid  = state == S_DRAIN;
  assign out_fire   = out_valid && out_ready;

  // ---------------------------------------------------------------- pruners and array
  logic [8*ROWS-1:0]   a_val;
  logic [3*ROWS-1:0]   a_pos;
  logic [32*ROWS*COLS-1:0] acc;
  logic [31:0]         macs, gated;

  for (genvar i = 0; i < ROWS; i++) begin : g_prune
    s2ta_pruner u_pruner (
      .clk, .rst_n,
      .load    (load_slot),
      .block   (abuf[64*i +: 64]),
      .advance (issue),
      .val     (a_val[8*i +: 8]),
      .pos     (a_pos[3*i +: 3])
    );
  end

  s2ta_array #(.ROWS(ROWS), .COLS(COLS), .W_NNZ(W_NNZ)) u_array (
    .clk, .rst_n,
    .clear (start),
    .issue,
    .a_val,
    .a_pos,
    .w_blk (wslot),
    .acc,
    .macs,
    .gated
  );

  always_comb begin
    for (int j = 0; j < COLS; j++) begin
      out_data[32*j +: 32] = '0;
      for (int r = 0; r < ROWS; r++) begin
        if (out_count == 32'(r)) out_data[32*j +: 32] = acc[32*(r*COLS+j) +: 32];
      end
    end
  end

  // ---------------------------------------------------------------- counters
  logic [31:0] c_macs, c_gated, c_issue, c_blocks, c_act_nz, c_sel_nz, c_out;
  logic [31:0] abuf_nz, sel_nz;

  always_comb begin
    abuf_nz = '0;
    sel_nz  = '0;
    for (int i = 0; i < ROWS; i++) begin
      for (int l = 0; l < 8; l++) abuf_nz = abuf_nz + 32'(abuf[64*i + 8*l +: 8] != 8'd0);
      sel_nz = sel_nz + 32'(a_val[8*i +: 8] != 8'd0);
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n || (ctrl_write && csr_wdata[1])) begin
      c_macs <= '0; c_gated <= '0; c_issue <= '0; c_blocks <= '0;
      c_act_nz <= '0; c_sel_nz <= '0; c_out <= '0;
    end else begin
      c_macs  <= c_macs + macs;
      c_gated <= c_gated + gated;
      if (issue) begin
        c_issue  <= c_issue + 32'd1;
        c_sel_nz <= c_sel_nz + sel_nz;
      end
      if (load_slot) begin
        c_blocks <= c_blocks + 32'd1;
        c_act_nz <= c_act_nz + abuf_nz;
      end
      if (out_fire) c_out <= c_out + 32'd1;
    end
  end

  // ---------------------------------------------------------------- register port
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      csr_ack   <= 1'b0;
      csr_rdata <= '0;
      depth_q   <= '0;
      cfg_q     <= 32'd8;
    end else begin
      csr_ack <= csr_access;
      if (csr_access && csr_we && csr_addr == 8'h10) depth_q <= csr_wdata;
      if (csr_access && csr_we && csr_addr == 8'h14) cfg_q <= {28'd0, csr_wdata[3:0]};
      if (csr_access && !csr_we) begin
        case (csr_addr)
          8'h04:   csr_rdata <= {30'd0, done, busy};
          8'h08:   csr_rdata <= cycles_q;
          8'h0C:   csr_rdata <= {VERSION, 8'(W_NNZ), 8'(COLS), 8'(ROWS)};
          8'h10:   csr_rdata <= depth_q;
          8'h14:   csr_rdata <= cfg_q;
          8'h20:   csr_rdata <= c_macs;
          8'h24:   csr_rdata <= c_gated;
          8'h28:   csr_rdata <= c_issue;
          8'h2C:   csr_rdata <= c_blocks;
          8'h30:   csr_rdata <= c_act_nz;
          8'h34:   csr_rdata <= c_sel_nz;
          8'h38:   csr_rdata <= c_out;
          default: csr_rdata <= '0;
        endcase
      end
    end
  end

  // ---------------------------------------------------------------- job sequencing
  always_ff @(posedge clk) begin
    if (!rst_n) in_flight <= '0;
    else        in_flight <= (in_flight << 1) | L'(issue);
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state      <= S_IDLE;
      done       <= 1'b0;
      cycles_q   <= '0;
      job_depth  <= '0;
      nna        <= 4'd8;
      act_cnt    <= '0;
      wgt_cnt    <= '0;
      blocks     <= '0;
      s          <= '0;
      abuf_full  <= 1'b0;
      wbuf_full  <= 1'b0;
      slot_valid <= 1'b0;
      abuf       <= '0;
      wbuf       <= '0;
      wslot      <= '0;
      out_count  <= '0;
    end else begin
      if (state != S_IDLE) cycles_q <= cycles_q + 32'd1;
      if (act_fire) begin
        abuf    <= act_data;
        act_cnt <= act_cnt + 32'd1;
      end
      if (wgt_fire) begin
        wbuf    <= wgt_data;
        wgt_cnt <= wgt_cnt + 32'd1;
      end
      abuf_full <= act_fire || (abuf_full && !load_slot);
      wbuf_full <= wgt_fire || (wbuf_full && !load_slot);
      if (issue) s <= last_issue ? 4'd0 : s + 4'd1;
      if (load_slot) begin
        wslot      <= wbuf;
        slot_valid <= 1'b1;
        blocks     <= blocks + 32'd1;
        s          <= 4'd0;
      end else if (last_issue) begin
        slot_valid <= 1'b0;
      end
      case (state)
        S_IDLE: begin
          if (start) begin
            job_depth <= depth_q;
            nna       <= (cfg_q[3:0] == 4'd0 || cfg_q[3:0] > 4'd8) ? 4'd8 : cfg_q[3:0];
            act_cnt   <= '0;
            wgt_cnt   <= '0;
            blocks    <= '0;
            cycles_q  <= '0;
            out_count <= '0;
            done      <= 1'b0;
            state     <= S_RUN;
          end
        end
        S_RUN: begin
          if (blocks == job_depth && !slot_valid) state <= S_FLUSH;
        end
        S_FLUSH: begin
          if (in_flight == '0) state <= S_DRAIN;
        end
        S_DRAIN: begin
          if (out_fire) begin
            out_count <= out_count + 32'd1;
            if (out_count == 32'(ROWS - 1)) begin
              state <= S_IDLE;
              done  <= 1'b1;
            end
          end
        end
        default: state <= S_IDLE;
      endcase
    end
  end
endmodule

// The near-bank MAC unit of the near-data units in HBM (tlm/ndp, Samsung HBM-PIM / SK
// hynix AiM style): y_i = sum_j A_ij x_j over rows of A that stream in one DRAM burst per
// beat, with x held in the unit's vector buffer. It computes the same bits as the units'
// C++ datapath (tlm/ndp/unit_ops.h, gemv_unit) and its numpy twin
// (cosim.system.ndp_layout.reference_gemv):
//
//   int8: int8 x int8 products summed in int32 (two's complement wrap-around);
//   fp16: lane l (l < LANES16 = BURST_BYTES / 2) accumulates in fp32, in column order,
//         the exact products of the columns j = l mod LANES16; the lane sums are added as
//         a pairwise tree ((0+1)+(2+3))+... in fp32 (round to nearest even).
//
// Both datapaths keep one accumulator per lane and reduce the lanes with a pipelined
// pairwise tree of log2(BURST_BYTES) levels (in fp16 mode the upper half of the lanes
// holds +0, which the last level adds without changing the value: a lane sum is never
// -0). So a row's result is valid LATENCY = 1 + log2(BURST_BYTES) cycles after the
// edge that took its last beat, and the unit takes one beat per cycle (initiation
// interval 1) while its output queue has room. In the ndp model these are the units'
// `unit_latency` (cycles at the DRAM clock, which the unit runs at) and the rate of one
// burst per column access (`unit_interval` >= 1).
//
// Interfaces (synchronous to clk; rst_n active-low synchronous reset):
//  register port, req/ack: hold csr_req (with csr_we, csr_addr, csr_wdata) until csr_ack.
//  in stream (valid/ready): one burst of 8*BURST_BYTES bits per beat, byte k of the burst
//      at bits [8k, 8k+8); fp16 element l at bits [16l, 16l+16). in_ready never waits for
//      in_valid.
//  out stream (valid/ready): one 32-bit result per beat (int32, or fp32 bits).
//  busy: a job is running. done: the last job has finished (cleared by the next start).
//
// Registers (32 bit, byte addresses; others read 0 and ignore writes):
//  0x00 CTRL   W  bit 0: start a job: a GEMV, or with bit 1 set an x load
//  0x04 STATUS R  bit 0 busy, bit 1 done, bit 2 the last job was refused (bad DTYPE/N)
//  0x08 CYCLES R  clock cycles of the last job, from the start write to done
//  0x0C INFO   R  BURST_BYTES [7:0], LATENCY [15:8], XBYTES / BURST_BYTES [23:16]
//                 (saturated at 255), version [31:24]
//  0x10 DTYPE  RW 1 int8, 3 fp16 (the ndp model's codes)
//  0x14 N      RW columns of A (elements of x): 1 .. XBYTES / element bytes
//  0x18 ROWS   RW rows of the next GEMV job (0 allowed)
//
// Jobs. Load x: ceil(N * e / BURST_BYTES) beats of x (e = element bytes) fill the vector
// buffer. GEMV: ROWS rows of ceil(N * e / BURST_BYTES) beats each (a row padded to whole
// bursts, as the ndp layout stores it; padding lanes are ignored), then ROWS results.
// A job with a bad DTYPE or N (or no rows) finishes one cycle after its start (STATUS bit 2
// set for a bad one) and takes no beats; every job raises done once.
module ndp_mac_unit #(
  parameter int BURST_BYTES = 32,
  parameter int XBYTES      = 2048
) (
  input  logic                     clk,
  input  logic                     rst_n,
  input  logic                     csr_req,
  input  logic                     csr_we,
  input  logic [7:0]               csr_addr,
  input  logic [31:0]              csr_wdata,
  output logic                     csr_ack,
  output logic [31:0]              csr_rdata,
  input  logic                     in_valid,
  output logic                     in_ready,
  input  logic [8*BURST_BYTES-1:0] in_data,
  output logic                     out_valid,
  input  logic                     out_ready,
  output logic [31:0]              out_data,
  output logic                     busy,
  output logic                     done
);
  localparam int LANES   = BURST_BYTES;            // int8 lanes; fp16 uses the lower half
  localparam int LANES16 = BURST_BYTES / 2;
  localparam int LEVELS  = $clog2(BURST_BYTES);
  localparam int LATENCY = 1 + LEVELS;
  localparam int XBEATS  = XBYTES / BURST_BYTES;
  localparam int XB_W    = $clog2(XBEATS);
  localparam int PTR_W   = $clog2(2 * (LATENCY + 2));
  localparam int FIFO_D  = 1 << PTR_W;              // results in flight + queued
  localparam int CNT_W   = PTR_W + 1;
  localparam logic [7:0] VERSION = 8'd1;
  localparam logic [7:0] XBEATS_INFO = XBEATS > 255 ? 8'd255 : 8'(XBEATS);

  if (BURST_BYTES < 4 || BURST_BYTES > 128 || (BURST_BYTES & (BURST_BYTES - 1)) != 0) begin : g_bad_burst
    $fatal(1, "ndp_mac_unit: BURST_BYTES must be a power of two in 4..128");
  end
  if (XBYTES < 2 * BURST_BYTES || XBYTES % BURST_BYTES != 0 || XBYTES > 65536
      || (XBEATS & (XBEATS - 1)) != 0) begin : g_bad_xbytes
    $fatal(1, "ndp_mac_unit: XBYTES must be BURST_BYTES times a power of two >= 2, at most 65536");
  end

  typedef enum logic [1:0] {S_IDLE, S_LOADX, S_RUN, S_FIN} state_t;
  state_t state;

  // ------------------------------------------------------------------ registers
  logic [31:0] dtype_q, n_q, rows_q, cycles_q;
  logic        refused_q;
  logic        csr_access, start_run, start_load, start_any, config_ok;
  logic        is_fp_q;                 // the running job is fp16
  logic [31:0] job_rows;                // ROWS latched at start
  logic [16:0] job_n;                   // N latched at start
  logic [XB_W:0] beats_per_row;         // ceil(N * e / BURST_BYTES) of the job
  logic [17:0] n_bytes;

  assign csr_access = csr_req && !csr_ack;
  assign start_any  = csr_access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && state == S_IDLE;
  assign start_run  = start_any && !csr_wdata[1];
  assign start_load = start_any && csr_wdata[1];
  assign n_bytes    = dtype_q == 32'd3 ? {n_q[16:0], 1'b0} : {1'b0, n_q[16:0]};
  assign config_ok  = (dtype_q == 32'd1 || dtype_q == 32'd3) && n_q != 32'd0
                      && n_q[31:17] == 15'd0 && n_bytes <= 18'(XBYTES);
  assign busy       = state != S_IDLE;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      csr_ack   <= 1'b0;
      csr_rdata <= '0;
      dtype_q   <= 32'd1;
      n_q       <= '0;
      rows_q    <= '0;
    end else begin
      csr_ack <= csr_access;
      if (csr_access && csr_we) begin
        case (csr_addr)
          8'h10:   dtype_q <= csr_wdata;
          8'h14:   n_q <= csr_wdata;
          8'h18:   rows_q <= csr_wdata;
          default: ;
        endcase
      end
      if (csr_access && !csr_we) begin
        case (csr_addr)
          8'h04:   csr_rdata <= {29'd0, refused_q, done, busy};
          8'h08:   csr_rdata <= cycles_q;
          8'h0C:   csr_rdata <= {VERSION, XBEATS_INFO, 8'(LATENCY), 8'(BURST_BYTES)};
          8'h10:   csr_rdata <= dtype_q;
          8'h14:   csr_rdata <= n_q;
          8'h18:   csr_rdata <= rows_q;
          default: csr_rdata <= '0;
        endcase
      end
    end
  end

  // -------------------------------------------------------------- vector buffer
  logic [8*BURST_BYTES-1:0] xbuf [XBEATS];

  // ------------------------------------------------------------------ sequencing
  logic [XB_W:0] beat_in_row;   // index of the next beat within its row
  logic [31:0]   rows_in;       // rows whose last beat was taken
  logic [31:0]   rows_out;      // results that left
  logic          in_fire, out_fire;
  logic [CNT_W-1:0] in_flight;  // rows taken but not yet in the output queue
  logic [CNT_W-1:0] queued;     // results in the output queue
  logic          room;

  assign room     = 32'(in_flight) + 32'(queued) < 32'(FIFO_D);
  assign in_ready = (state == S_LOADX) || (state == S_RUN && rows_in != job_rows && room);
  assign in_fire  = in_valid && in_ready;
  assign out_fire = out_valid && out_ready;

  // Beat k of a row covers columns k*lanes .. k*lanes+lanes-1; enable lanes below N.
  logic [LANES-1:0] lane_en;
  always_comb begin
    for (int l = 0; l < LANES; l++) begin
      lane_en[l] = is_fp_q
                   ? (l < LANES16 && 32'(beat_in_row) * 32'(LANES16) + 32'(l) < 32'(job_n))
                   : (32'(beat_in_row) * 32'(LANES) + 32'(l) < 32'(job_n));
    end
  end

  // ------------------------------------------------------- stage P: products
  logic             p_valid, p_first, p_last;
  logic [LANES-1:0] p_en;
  logic [31:0]      p_prod [LANES];
  logic [31:0]      prod_c [LANES];
  logic [8*BURST_BYTES-1:0] xbeat;
  assign xbeat = xbuf[XB_W'(beat_in_row)];

  for (genvar l = 0; l < LANES; l++) begin : g_prod
    if (l < LANES16) begin : g_fp
      logic [31:0] fprod;
      fp16_mul_fp32 u_mul (
        .a(in_data[16*l +: 16]),
        .b(xbeat[16*l +: 16]),
        .y(fprod)
      );
      logic signed [15:0] iprod;
      assign iprod     = $signed(in_data[8*l +: 8]) * $signed(xbeat[8*l +: 8]);
      assign prod_c[l] = is_fp_q ? fprod : 32'(iprod);
    end else begin : g_int
      logic signed [15:0] iprod;
      assign iprod     = $signed(in_data[8*l +: 8]) * $signed(xbeat[8*l +: 8]);
      assign prod_c[l] = is_fp_q ? 32'd0 : 32'(iprod);
    end
  end

  // ------------------------------------------------- stage A: lane accumulators
  logic [31:0] acc [LANES];
  logic [31:0] acc_next [LANES];
  for (genvar l = 0; l < LANES; l++) begin : g_acc
    logic [31:0] base, fsum;
    assign base = p_first ? 32'd0 : acc[l];
    fp32_add u_add (.a(base), .b(p_prod[l]), .y(fsum));
    assign acc_next[l] = !p_en[l] ? base : is_fp_q ? fsum : base + p_prod[l];
  end

  // ---------------------------------------------- pairwise tree over the lanes
  // tree0 holds the lane sums of a finished row; level lv < LEVELS has LANES >> lv
  // registers; the last level's adder writes the output queue directly.
  logic [31:0] tree0 [LANES];
  logic        tree_valid [LEVELS];
  logic [31:0] row_result;
  for (genvar lv = 1; lv <= LEVELS; lv++) begin : g_level
    logic [31:0] val [LANES >> lv];
    for (genvar i = 0; i < (LANES >> lv); i++) begin : g_node
      logic [31:0] in_a, in_b, fsum;
      if (lv == 1) begin : g_first
        assign in_a = tree0[2*i];
        assign in_b = tree0[2*i+1];
      end else begin : g_next
        assign in_a = g_level[lv-1].g_reg.q[2*i];
        assign in_b = g_level[lv-1].g_reg.q[2*i+1];
      end
      fp32_add u_add (.a(in_a), .b(in_b), .y(fsum));
      assign val[i] = is_fp_q ? fsum : in_a + in_b;
    end
    if (lv < LEVELS) begin : g_reg
      logic [31:0] q [LANES >> lv];
      always_ff @(posedge clk) q <= val;
    end
  end
  assign row_result = g_level[LEVELS].val[0];

  // ------------------------------------------------------------ output queue
  logic [31:0] fifo [FIFO_D];
  logic [PTR_W-1:0] rd_ptr, wr_ptr;
  assign out_valid = queued != '0;
  assign out_data  = fifo[rd_ptr];

  logic job_over;
  assign job_over = state == S_RUN && rows_out + 32'(out_fire) == job_rows
                    && rows_in == job_rows;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state       <= S_IDLE;
      done        <= 1'b0;
      refused_q   <= 1'b0;
      cycles_q    <= '0;
      is_fp_q     <= 1'b0;
      job_rows    <= '0;
      job_n       <= '0;
      beats_per_row <= '0;
      beat_in_row <= '0;
      rows_in     <= '0;
      rows_out    <= '0;
      p_valid     <= 1'b0;
      p_first     <= 1'b0;
      p_last      <= 1'b0;
      p_en        <= '0;
      in_flight   <= '0;
      queued      <= '0;
      rd_ptr      <= '0;
      wr_ptr      <= '0;
      for (int lv = 0; lv < LEVELS; lv++) tree_valid[lv] <= 1'b0;
    end else begin
      if (state != S_IDLE) cycles_q <= cycles_q + 32'd1;
      // ---- job start
      if (start_any) begin
        cycles_q    <= '0;
        done        <= 1'b0;
        refused_q   <= !config_ok;
        is_fp_q     <= dtype_q == 32'd3;
        job_rows    <= rows_q;
        job_n       <= n_q[16:0];
        beats_per_row <= (XB_W+1)'((n_bytes + 18'(BURST_BYTES - 1)) >> $clog2(BURST_BYTES));
        beat_in_row <= '0;
        rows_in     <= '0;
        rows_out    <= '0;
        if (!config_ok || (start_run && rows_q == 32'd0)) begin
          state <= S_FIN;  // nothing to do: done rises on the next edge
        end else if (start_run) begin
          state <= S_RUN;
        end else if (start_load) begin
          state <= S_LOADX;
        end
      end
      // ---- x load
      if (state == S_LOADX && in_fire) begin
        xbuf[XB_W'(beat_in_row)] <= in_data;
        if (beat_in_row + 1'b1 == beats_per_row) begin
          state <= S_IDLE;
          done  <= 1'b1;
        end else begin
          beat_in_row <= beat_in_row + 1'b1;
        end
      end
      // ---- stage P
      p_valid <= state == S_RUN && in_fire;
      if (state == S_RUN && in_fire) begin
        p_first <= beat_in_row == '0;
        p_last  <= beat_in_row + 1'b1 == beats_per_row;
        p_en    <= lane_en;
        for (int l = 0; l < LANES; l++) p_prod[l] <= prod_c[l];
        if (beat_in_row + 1'b1 == beats_per_row) begin
          beat_in_row <= '0;
          rows_in     <= rows_in + 32'd1;
        end else begin
          beat_in_row <= beat_in_row + 1'b1;
        end
      end
      // ---- stage A
      if (p_valid) begin
        for (int l = 0; l < LANES; l++) acc[l] <= acc_next[l];
      end
      tree_valid[0] <= p_valid && p_last;
      if (p_valid && p_last) begin
        for (int l = 0; l < LANES; l++) tree0[l] <= acc_next[l];
      end
      for (int lv = 1; lv < LEVELS; lv++) tree_valid[lv] <= tree_valid[lv-1];
      // ---- output queue
      if (tree_valid[LEVELS-1]) begin
        fifo[wr_ptr] <= row_result;
        wr_ptr <= wr_ptr + 1'b1;
      end
      if (out_fire) begin
        rd_ptr   <= rd_ptr + 1'b1;
        rows_out <= rows_out + 32'd1;
      end
      queued    <= queued + CNT_W'(tree_valid[LEVELS-1]) - CNT_W'(out_fire);
      in_flight <= in_flight + CNT_W'(state == S_RUN && in_fire && beat_in_row + 1'b1 == beats_per_row)
                   - CNT_W'(tree_valid[LEVELS-1]);
      if (job_over || state == S_FIN) begin
        state <= S_IDLE;
        done  <= 1'b1;
      end
    end
  end
endmodule

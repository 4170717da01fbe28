// lw_gcn_pe_array: LW-GCN's PE array (Tao et al., "LW-GCN: A Lightweight FPGA-based Graph
// Convolutional Network Accelerator", ACM TRETS 2022): PES PEs in lock step, each taking one
// (row, col, val) slot per beat, multiplying val by the LANES-wide feature row `col` of
// the feature buffer and adding the products into its accumulator row `row` through an
// accumulation pipeline: a row's sum is visible to a later slot of the same row ACC_LAT
// cycles after its issue. A slot whose row is still in flight (a read-after-write
// hazard) stalls the whole array; the PCOO encoder orders slots so this never happens.
// Both products of a GCN layer run here: X W (X's entries against W's rows) and A (X W)
// (the adjacency's nonzeros against X W's rows). Twins: cosim/accel/lw_gcn/engine.py
// (numpy), tlm/accel/lw_gcn/lw_gcn_pe_array.cpp.
//
// Registers: 0x00 CTRL (W bit 0 start, bit 1 clear the counters), 0x04 STATUS (busy,
// done, refused), 0x08 CYCLES, 0x0C INFO (PES [7:0], LANES [15:8], ACC_LAT [23:16],
// version [31:24]), 0x10 LOAD (feature beats), 0x14 SLOTS (slot beats), 0x18 ROWS
// (result rows per PE, 1..MAX_ROWS), 0x1C OUT_CFG (shift [4:0], bit 8 ReLU),
// 0x20 NNZ (valid slots issued), 0x24 BEATS (slot beats issued), 0x28 STALLS (cycles a
// held beat waited on a hazard), 0x2C LOADED (feature beats taken); counters cumulative.
// Input beats (8 PES bytes): first LOAD feature beats, 4 PES int16 each, filling the
// feature buffer (row-major, LANES per row) from position 0; then SLOTS slot beats, slot
// p (bits [64p +: 64]) for PE p: row [15:0] (local to the PE), col [31:16], int16 val
// [47:32], valid [48]. Output beats: PES*ROWS rows, row r of PE p as beat r*PES + p, of
// LANES int16: clip16(relu?(acc >>> shift)); a row reads as zero after it is given (slots
// must name rows below ROWS: a row beyond keeps its sum until a job with more rows).
// Timing: one beat per edge; a slot beat is held one edge and issues when no PE's row is
// in flight; results start ACC_LAT edges after the last issue (the pipeline drained).
module lw_gcn_pe_array #(
  parameter int PES = 4,
  parameter int LANES = 16,
  parameter int ACC_LAT = 4,
  parameter int MAX_ROWS = 2048,
  parameter int MAX_FEAT = 4096
) (
  input  logic clk, rst_n, csr_req, csr_we,
  input  logic [7:0] csr_addr,
  input  logic [31:0] csr_wdata,
  output logic csr_ack,
  output logic [31:0] csr_rdata,
  input  logic in_valid,
  output logic in_ready,
  input  logic [64*PES-1:0] in_data,
  output logic out_valid,
  input  logic out_ready,
  output logic [16*LANES-1:0] out_data,
  output logic busy, done
);
  localparam int STAGES = ACC_LAT - 1;
  localparam int RW = $clog2(MAX_ROWS);
  localparam int FW = $clog2(MAX_FEAT * LANES);
  localparam int LOAD_MAX = (MAX_FEAT * LANES) / (4 * PES);
  localparam int PI = PES > 1 ? $clog2(PES) : 1;
  logic [31:0] load_q, slots_q, rows_q, outcfg_q, cycles_q;
  logic [31:0] nnz_q, beats_q, stalls_q, loaded_q;
  logic [31:0] taken_load, taken_slots, issued, out_row;
  logic [PI-1:0] out_pe;
  logic signed [15:0] feat [MAX_FEAT * LANES];
  logic signed [31:0] acc [PES][MAX_ROWS][LANES];
  logic [64*PES-1:0] held;
  logic pipe_v [STAGES][PES];
  logic [RW-1:0] pipe_row [STAGES][PES];
  logic signed [31:0] pipe_sum [STAGES][PES][LANES];
  logic signed [31:0] sum_now [PES][LANES];
  logic running, holding, error_q, access, start, cfg_ok, hazard, issue, take, in_load;
  logic pipe_busy, give;
  logic [31:0] valid_count;

  assign access = csr_req && !csr_ack;
  assign cfg_ok = load_q <= 32'(LOAD_MAX) && rows_q >= 32'd1 && rows_q <= 32'(MAX_ROWS)
               && outcfg_q[31:9] == 23'd0 && outcfg_q[7:5] == 3'd0;
  assign start = access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && !running;
  assign busy = running;
  assign in_load = taken_load < load_q;

  // Hazard: a held valid slot whose row is in one of its PE's pipeline stages.
  always_comb begin
    hazard = 1'b0;
    pipe_busy = 1'b0;
    valid_count = '0;
    for (int p = 0; p < PES; p++) begin
      valid_count = valid_count + 32'(held[64*p+48]);
      for (int s = 0; s < STAGES; s++) begin
        pipe_busy = pipe_busy | pipe_v[s][p];
        if (held[64*p+48] && pipe_v[s][p] && pipe_row[s][p] == held[64*p +: RW]) hazard = 1'b1;
      end
    end
  end

  // The multiply-add of the held beat: acc row + val * feature row, per PE and lane.
  always_comb begin
    for (int p = 0; p < PES; p++)
      for (int l = 0; l < LANES; l++)
        sum_now[p][l] = acc[p][held[64*p +: RW]][l] + 32'(signed'(held[64*p+32 +: 16]))
          * 32'(feat[FW'(32'(held[64*p+16 +: 16]) * 32'(LANES) + 32'(l))]);
  end

  assign issue = holding && !hazard;
  assign in_ready = running && (in_load || (taken_slots < slots_q && (!holding || issue)));
  assign take = in_valid && in_ready;
  assign out_valid = running && !in_load && issued == slots_q && !holding && !pipe_busy
                  && out_row < rows_q;
  assign give = out_valid && out_ready;

  always_comb begin
    for (int l = 0; l < LANES; l++) begin
      logic signed [31:0] y;
      y = acc[out_pe][out_row[RW-1:0]][l] >>> outcfg_q[4:0];
      if (outcfg_q[8] && y < 0) y = '0;
      if (y > 32'sd32767) y = 32'sd32767;
      if (y < -32'sd32768) y = -32'sd32768;
      out_data[16*l +: 16] = y[15:0];
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {csr_ack, csr_rdata, load_q, slots_q, rows_q, outcfg_q, error_q} <= '0;
      {nnz_q, beats_q, stalls_q, loaded_q, cycles_q} <= '0;
      {running, holding, done, taken_load, taken_slots, issued, out_row, out_pe} <= '0;
      held <= '0;
      for (int s = 0; s < STAGES; s++)
        for (int p = 0; p < PES; p++) pipe_v[s][p] <= 1'b0;
      for (int p = 0; p < PES; p++)
        for (int r = 0; r < MAX_ROWS; r++)
          for (int l = 0; l < LANES; l++) acc[p][r][l] <= '0;
    end else begin
      csr_ack <= access;
      if (access && csr_we && csr_addr == 8'h10) load_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h14) slots_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h18) rows_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h1C) outcfg_q <= csr_wdata;
      if (access && !csr_we)
        case (csr_addr)
          8'h04: csr_rdata <= {29'd0, error_q, done, busy};
          8'h08: csr_rdata <= cycles_q;
          8'h0C: csr_rdata <= {8'd1, 8'(ACC_LAT), 8'(LANES), 8'(PES)};
          8'h10: csr_rdata <= load_q;
          8'h14: csr_rdata <= slots_q;
          8'h18: csr_rdata <= rows_q;
          8'h1C: csr_rdata <= outcfg_q;
          8'h20: csr_rdata <= nnz_q;
          8'h24: csr_rdata <= beats_q;
          8'h28: csr_rdata <= stalls_q;
          8'h2C: csr_rdata <= loaded_q;
          default: csr_rdata <= '0;
        endcase
      if (start) error_q <= !cfg_ok;
      if (running) cycles_q <= cycles_q + 32'd1;
      // Accumulation pipeline: stage 0 takes the issued sums, the last stage writes back.
      for (int p = 0; p < PES; p++) begin
        if (pipe_v[STAGES-1][p])
          for (int l = 0; l < LANES; l++)
            acc[p][pipe_row[STAGES-1][p]][l] <= pipe_sum[STAGES-1][p][l];
        for (int s = STAGES - 1; s > 0; s--) begin
          pipe_v[s][p] <= pipe_v[s-1][p];
          pipe_row[s][p] <= pipe_row[s-1][p];
          for (int l = 0; l < LANES; l++) pipe_sum[s][p][l] <= pipe_sum[s-1][p][l];
        end
        pipe_v[0][p] <= issue && held[64*p+48];
        pipe_row[0][p] <= held[64*p +: RW];
        for (int l = 0; l < LANES; l++) pipe_sum[0][p][l] <= sum_now[p][l];
      end
      if (holding && hazard) stalls_q <= stalls_q + 32'd1;
      if (issue) begin
        holding <= 1'b0;
        issued <= issued + 32'd1;
        beats_q <= beats_q + 32'd1;
        nnz_q <= nnz_q + valid_count;
      end
      if (take) begin
        if (in_load) begin
          for (int i = 0; i < 4 * PES; i++)
            feat[FW'(taken_load * 32'(4 * PES) + 32'(i))] <= in_data[16*i +: 16];
          taken_load <= taken_load + 32'd1;
          loaded_q <= loaded_q + 32'd1;
        end else begin
          held <= in_data;
          holding <= 1'b1;
          taken_slots <= taken_slots + 32'd1;
        end
      end
      if (give) begin
        for (int l = 0; l < LANES; l++) acc[out_pe][out_row[RW-1:0]][l] <= '0;
        if (32'(out_pe) + 32'd1 == 32'(PES)) begin
          out_pe <= '0;
          out_row <= out_row + 32'd1;
          if (out_row + 32'd1 == rows_q) {running, done} <= 2'b01;
        end else out_pe <= out_pe + 1'b1;
      end
      if (start && cfg_ok)
        {running, done, cycles_q, taken_load, taken_slots, issued, out_row, out_pe, holding}
          <= {1'b1, 1'b0, 32'd0, 32'd0, 32'd0, 32'd0, 32'd0, PI'(0), 1'b0};
      if (access && csr_we && csr_addr == 8'h00 && csr_wdata[1])
        {nnz_q, beats_q, stalls_q, loaded_q} <= '0;
    end
  end
endmodule

// gcod: GCoD's aggregation engine, y_i = sum over a row's beats of a_ij * h_j on LANES
// int32 lanes, in the standard engine shape. One RTL serves both of GCoD's engines: the
// dense-block engine (rows of a diagonal block, features from the scratchpad) and the
// sparse engine (off-diagonal nonzeros, features from DRAM). Twins:
// cosim/accel/gcod/engine.py, tlm/accel/gcod/gcod.cpp.
// Input beat: word 0 = {last[31], 15'b0, a_ij[15:0] signed}, words 1..LANES = h_j (int32).
// A job takes COUNT beats, one per cycle; a beat with `last` (and the job's final beat)
// closes a row, whose sum is buffered and given from the next cycle, one result per cycle
// (LANES int32, wrapping). The job is done when ROWS results have been given.
// Registers: 0x00 CTRL (W bit 0 start, bit 1 clear counters), 0x04 STATUS (busy, done,
// refused), 0x08 CYCLES, 0x0C INFO (LANES [7:0], MAX_ROWS [23:8], version [31:24]),
// 0x10 COUNT (ROWS..65535), 0x14 ROWS (1..MAX_ROWS), 0x20 MACS, 0x24 BEATS (counters).
module gcod #(
  parameter int LANES = 16,
  parameter int MAX_ROWS = 64
) (
  input  logic clk, rst_n, csr_req, csr_we,
  input  logic [7:0] csr_addr,
  input  logic [31:0] csr_wdata,
  output logic csr_ack,
  output logic [31:0] csr_rdata,
  input  logic in_valid,
  output logic in_ready,
  input  logic [32*LANES+31:0] in_data,
  output logic out_valid,
  input  logic out_ready,
  output logic [32*LANES-1:0] out_data,
  output logic busy, done
);
  localparam int RW = $clog2(MAX_ROWS + 1);
  localparam int AW = $clog2(MAX_ROWS);
  logic [31:0] count_q, rows_q, cycles_q, taken, macs_q, beats_q;
  logic [RW-1:0] made, given;
  logic [32*LANES-1:0] buffer [MAX_ROWS], acc_q, sum;
  logic running, error_q, access, start, cfg_ok, take, closes;
  assign access = csr_req && !csr_ack;
  assign cfg_ok = rows_q >= 32'd1 && rows_q <= 32'(MAX_ROWS) && count_q >= rows_q
                  && count_q <= 32'd65535;
  assign start = access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && !running;
  assign busy = running;
  assign in_ready = running && taken < count_q;
  assign take = in_valid && in_ready;
  assign closes = in_data[31] || taken + 32'd1 == count_q;
  assign out_valid = running && given < made;
  assign out_data = buffer[given[AW-1:0]];
  always_comb
    for (int l = 0; l < LANES; l++)
      sum[32*l +: 32] = acc_q[32*l +: 32]
          + 32'($signed(in_data[32*l+32 +: 32]) * $signed(in_data[15:0]));

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {csr_ack, csr_rdata, count_q, rows_q, error_q, macs_q, beats_q} <= '0;
      {running, done, cycles_q, taken, made, given, acc_q} <= '0;
    end else begin
      csr_ack <= access;
      if (access && csr_we && csr_addr == 8'h10) count_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h14) rows_q <= csr_wdata;
      if (access && !csr_we)
        case (csr_addr)
          8'h04: csr_rdata <= {29'd0, error_q, done, busy};
          8'h08: csr_rdata <= cycles_q;
          8'h0C: csr_rdata <= {8'd1, 16'(MAX_ROWS), 8'(LANES)};
          8'h10: csr_rdata <= count_q;
          8'h14: csr_rdata <= rows_q;
          8'h20: csr_rdata <= macs_q;
          8'h24: csr_rdata <= beats_q;
          default: csr_rdata <= '0;
        endcase
      if (start) error_q <= !cfg_ok;
      if (access && csr_we && csr_addr == 8'h00 && csr_wdata[1]) {macs_q, beats_q} <= '0;
      if (running) cycles_q <= cycles_q + 32'd1;
      if (start && cfg_ok) begin
        {running, done, cycles_q, taken} <= {2'b10, 64'd0};
        {made, given, acc_q} <= '0;
      end
      if (take) begin
        taken <= taken + 32'd1;
        macs_q <= macs_q + 32'(LANES);
        beats_q <= beats_q + 32'd1;
        if (closes) begin
          buffer[made[AW-1:0]] <= sum;
          made <= made + 1'b1;
          acc_q <= '0;
        end else acc_q <= sum;
      end
      if (out_valid && out_ready) begin
        given <= given + 1'b1;
        if (32'(given) + 32'd1 == rows_q) {running, done} <= 2'b01;
      end
    end
  end
endmodule

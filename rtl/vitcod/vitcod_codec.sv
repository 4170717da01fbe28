// vitcod_codec: ViTCoD's Q/K auto-encoder layer (and, built the other way round, its
// decoder): a linear map of each DIN-byte int8 row to DOUT int8 values,
// y[j] = sat8((sum_i x[i] * w[j][i] + round) >>> SHIFT), round = 2^(SHIFT-1) (0 at SHIFT 0).
// Twins: cosim/accel/vitcod/engine.py, tlm/accel/vitcod/vitcod_codec.cpp.
// Registers: 0x00 CTRL (W bit 0 start, bit 1 clear counters, bit 2 load weights),
// 0x04 STATUS (busy, done, refused), 0x08 CYCLES, 0x0C INFO (DIN [7:0], DOUT [15:8],
// MAX_ROWS/8 [23:16], version [31:24]), 0x10 COUNT (rows, 1..MAX_ROWS), 0x14 SHIFT
// (0..15). Counter: 0x40 ROWS (rows coded, cumulative).
// A load job (CTRL bits 0 and 2) takes DOUT beats, beat j the DIN weights of output j,
// one a cycle, and is done at the last. A coding job takes COUNT rows one a cycle and
// gives row r's result from the cycle after row r was taken; done at the last result.
module vitcod_codec #(
  parameter int DIN = 64,
  parameter int DOUT = 32,
  parameter int MAX_ROWS = 256
) (
  input  logic clk, rst_n, csr_req, csr_we,
  input  logic [7:0] csr_addr,
  input  logic [31:0] csr_wdata,
  output logic csr_ack,
  output logic [31:0] csr_rdata,
  input  logic in_valid,
  output logic in_ready,
  input  logic [8*DIN-1:0] in_data,
  output logic out_valid,
  input  logic out_ready,
  output logic [8*DOUT-1:0] out_data,
  output logic busy, done
);
  localparam int CW = $clog2(MAX_ROWS + 1);
  localparam int RW = $clog2(MAX_ROWS);
  localparam int OW = $clog2(DOUT + 1);
  logic [31:0] count_q, shift_q, cycles_q, rows_q;
  logic [CW-1:0] taken, given;
  logic [OW-1:0] wtaken;
  logic [8*DIN-1:0] weights [DOUT];
  logic [8*DOUT-1:0] buffer [MAX_ROWS], coded;
  logic running, loading, error_q, access, start, cfg_ok;
  assign access = csr_req && !csr_ack;
  assign cfg_ok = (csr_wdata[2] || (count_q >= 32'd1 && count_q <= 32'(MAX_ROWS))) && shift_q <= 32'd15;
  assign start = access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && !running;
  assign busy = running;
  assign in_ready = running && (loading ? 32'(wtaken) < 32'(DOUT) : 32'(taken) < count_q);
  assign out_valid = running && !loading && given < taken;
  assign out_data = buffer[given[RW-1:0]];

  function automatic logic [7:0] code(input logic [8*DIN-1:0] x, input logic [8*DIN-1:0] w,
                                      input logic [4:0] shift);
    logic signed [31:0] acc;
    logic signed [15:0] a, b;
    acc = shift == 5'd0 ? 32'sd0 : 32'sd1 <<< (shift - 5'd1);
    for (int i = 0; i < DIN; i++) begin
      a = 16'($signed(x[8*i +: 8]));
      b = 16'($signed(w[8*i +: 8]));
      acc = acc + 32'(a * b);
    end
    acc = acc >>> shift;
    if (acc > 32'sd127) return 8'd127;
    if (acc < -32'sd128) return 8'h80;
    return acc[7:0];
  endfunction

  always_comb
    for (int j = 0; j < DOUT; j++) coded[8*j +: 8] = code(in_data, weights[j], shift_q[4:0]);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {csr_ack, csr_rdata, count_q, shift_q, error_q, rows_q} <= '0;
      {running, loading, done, cycles_q, taken, given, wtaken} <= '0;
    end else begin
      csr_ack <= access;
      if (access && csr_we && csr_addr == 8'h10) count_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h14) shift_q <= csr_wdata;
      if (access && !csr_we)
        case (csr_addr)
          8'h04: csr_rdata <= {29'd0, error_q, done, busy};
          8'h08: csr_rdata <= cycles_q;
          8'h0C: csr_rdata <= {8'd1, 8'(MAX_ROWS / 8), 8'(DOUT), 8'(DIN)};
          8'h10: csr_rdata <= count_q;
          8'h14: csr_rdata <= shift_q;
          8'h40: csr_rdata <= rows_q;
          default: csr_rdata <= '0;
        endcase
      if (access && csr_we && csr_addr == 8'h00 && csr_wdata[1]) rows_q <= '0;
      if (start) error_q <= !cfg_ok;
      if (running) cycles_q <= cycles_q + 32'd1;
      if (start && cfg_ok)
        {running, loading, done, cycles_q, taken, given, wtaken} <=
            {1'b1, csr_wdata[2], 1'b0, 32'd0, CW'(0), CW'(0), OW'(0)};
      if (in_valid && in_ready) begin
        if (loading) begin
          weights[wtaken[$clog2(DOUT)-1:0]] <= in_data;
          wtaken <= wtaken + 1'b1;
          if (32'(wtaken) + 32'd1 == 32'(DOUT)) {running, loading, done} <= 3'b001;
        end else begin
          buffer[taken[RW-1:0]] <= coded;
          taken <= taken + 1'b1;
          rows_q <= rows_q + 32'd1;
        end
      end
      if (out_valid && out_ready) begin
        given <= given + 1'b1;
        if (32'(given) + 32'd1 == count_q) {running, done} <= 2'b01;
      end
    end
  end
endmodule

// vitcod: y = (x * SCALE) >>> SHIFT on LANES int32 lanes in the standard engine shape. A job
// buffers COUNT input beats, one per cycle, and gives one result per cycle from the cycle
// after its input. Twins: cosim/accel/vitcod/engine.py, tlm/accel/vitcod/vitcod.cpp.
// Registers: 0x00 CTRL (W bit 0 start), 0x04 STATUS (busy, done, refused), 0x08 CYCLES,
// 0x0C INFO (LANES [7:0], MAX_BEATS [23:8], version [31:24]), 0x10 COUNT (1..MAX_BEATS),
// 0x14 SCALE (signed), 0x18 SHIFT (0..31).
module vitcod #(
  parameter int LANES = 4,
  parameter int MAX_BEATS = 64
) (
  input  logic clk, rst_n, csr_req, csr_we,
  input  logic [7:0] csr_addr,
  input  logic [31:0] csr_wdata,
  output logic csr_ack,
  output logic [31:0] csr_rdata,
  input  logic in_valid,
  output logic in_ready,
  input  logic [32*LANES-1:0] in_data,
  output logic out_valid,
  input  logic out_ready,
  output logic [32*LANES-1:0] out_data,
  output logic busy, done
);
  localparam int CW = $clog2(MAX_BEATS + 1);
  logic [31:0] count_q, scale_q, shift_q, cycles_q;
  logic [CW-1:0] taken, given;
  logic [32*LANES-1:0] buffer [MAX_BEATS], scaled;
  logic running, error_q, access, start, cfg_ok;
  assign access = csr_req && !csr_ack;
  assign cfg_ok = count_q >= 32'd1 && count_q <= 32'(MAX_BEATS) && shift_q <= 32'd31;
  assign start = access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && !running;
  assign busy = running;
  assign in_ready = running && 32'(taken) < count_q;
  assign out_valid = running && given < taken;
  assign out_data = buffer[given[$clog2(MAX_BEATS)-1:0]];
  always_comb
    for (int l = 0; l < LANES; l++)
      scaled[32*l +: 32] = 32'((64'($signed(in_data[32*l +: 32])) * 64'($signed(scale_q))) >>> shift_q[4:0]);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {csr_ack, csr_rdata, count_q, scale_q, shift_q, error_q} <= '0;
      {running, done, cycles_q, taken, given} <= '0;
    end else begin
      csr_ack <= access;
      if (access && csr_we && csr_addr == 8'h10) count_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h14) scale_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h18) shift_q <= csr_wdata;
      if (access && !csr_we)
        case (csr_addr)
          8'h04: csr_rdata <= {29'd0, error_q, done, busy};
          8'h08: csr_rdata <= cycles_q;
          8'h0C: csr_rdata <= {8'd1, 16'(MAX_BEATS), 8'(LANES)};
          8'h10: csr_rdata <= count_q;
          8'h14: csr_rdata <= scale_q;
          8'h18: csr_rdata <= shift_q;
          default: csr_rdata <= '0;
        endcase
      if (start) error_q <= !cfg_ok;
      if (running) cycles_q <= cycles_q + 32'd1;
      if (start && cfg_ok) {running, done, cycles_q, taken, given} <= {1'b1, 1'b0, 32'd0, CW'(0), CW'(0)};
      if (in_valid && in_ready) begin
        buffer[taken[$clog2(MAX_BEATS)-1:0]] <= scaled;
        taken <= taken + 1'b1;
      end
      if (out_valid && out_ready) begin
        given <= given + 1'b1;
        if (32'(given) + 32'd1 == count_q) {running, done} <= 2'b01;
      end
    end
  end
endmodule

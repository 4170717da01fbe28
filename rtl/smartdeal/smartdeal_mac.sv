// smartdeal_mac: SmartDeal's MAC array (and its baseline's: the same array). ROWS x COLS int8
// PEs, output stationary with broadcast operands: C[ROWS x COLS] += a[k] w[k]^T for each of
// DEPTH input beats, one per cycle, int32 accumulators (wrapping); then ROWS result beats,
// row i = sat8((C[i][j] + 2^(OSHIFT-1)) >>> OSHIFT) for j < COLS. A MAC whose operands are
// not both nonzero is gated (counted, not computed). Twins: cosim/accel/smartdeal/engine.py,
// tlm/accel/smartdeal/smartdeal_mac.cpp.
//
// Streams: in, beat k = a[0..ROWS-1] (int8, bytes 0..ROWS-1) then w[0..COLS-1] (bytes
// ROWS..ROWS+COLS-1); out, COLS int8 per beat. A job takes its DEPTH beats one per cycle
// from the edge after its start and gives result i from the edge after its last beat.
//
// Registers (32 bit, byte addresses; others read 0):
//  0x00 CTRL    W  bit 0 start (ignored while busy), bit 1 clear the counters
//  0x04 STATUS  R  bit 0 busy, bit 1 done, bit 2 error (the last start was refused)
//  0x08 CYCLES  R  clock cycles of the last job, start to done
//  0x0C INFO    R  ROWS [7:0], COLS [15:8], version [31:24]
//  0x10 DEPTH   RW input beats of a job (1 .. 65535; else refused)
//  0x14 OSHIFT  RW requantisation shift (0 .. 31; else refused)
//  event counters (R, since reset or CTRL bit 1; wrap at 2**32):
//  0x20 macs: MACs with both operands nonzero   0x24 gated: the other MACs
//  0x28 beats: input beats                      0x2C results: result beats
module smartdeal_mac #(
  parameter int ROWS = 8,
  parameter int COLS = 8
) (
  input  logic clk, rst_n, csr_req, csr_we,
  input  logic [7:0] csr_addr,
  input  logic [31:0] csr_wdata,
  output logic csr_ack,
  output logic [31:0] csr_rdata,
  input  logic in_valid,
  output logic in_ready,
  input  logic [8*(ROWS+COLS)-1:0] in_data,
  output logic out_valid,
  input  logic out_ready,
  output logic [8*COLS-1:0] out_data,
  output logic busy, done
);
  localparam int RW = $clog2(ROWS + 1);
  localparam int NA = $clog2(ROWS + 1);
  localparam int NW = $clog2(COLS + 1);
  localparam int GI = ROWS > 1 ? $clog2(ROWS) : 1;
  logic [31:0] depth_q, oshift_q, cycles_q, taken;
  logic [31:0] c_macs, c_gated, c_beats, c_results;
  logic [RW-1:0] given;
  logic signed [31:0] acc [ROWS][COLS];
  logic running, error_q, access, start, cfg_ok, fire_in, fire_out;
  logic [NA-1:0] nz_a;
  logic [NW-1:0] nz_w;
  logic signed [63:0] rounded;
  logic [31:0] pairs;
  logic [GI-1:0] gi;

  assign access = csr_req && !csr_ack;
  assign cfg_ok = depth_q >= 32'd1 && depth_q <= 32'd65535 && oshift_q <= 32'd31;
  assign start = access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && !running;
  assign busy = running;
  assign in_ready = running && taken < depth_q;
  assign out_valid = running && taken == depth_q && 32'(given) < 32'(ROWS);
  assign fire_in = in_valid && in_ready;
  assign fire_out = out_valid && out_ready;

  always_comb begin
    nz_a = '0;
    nz_w = '0;
    for (int r = 0; r < ROWS; r++) nz_a = nz_a + NA'(in_data[8*r +: 8] != 8'd0);
    for (int c = 0; c < COLS; c++) nz_w = nz_w + NW'(in_data[8*(ROWS+c) +: 8] != 8'd0);
    pairs = 32'(nz_a) * 32'(nz_w);
  end

  always_comb begin
    out_data = '0;
    rounded = '0;
    gi = 32'(given) < 32'(ROWS) ? GI'(given) : '0;
    for (int c = 0; c < COLS; c++) begin
      rounded = 64'(acc[gi][c]);
      if (oshift_q[4:0] != 5'd0) rounded = (rounded + (64'sd1 <<< (oshift_q[4:0] - 5'd1))) >>> oshift_q[4:0];
      if (rounded > 64'sd127) out_data[8*c +: 8] = 8'h7F;
      else if (rounded < -64'sd128) out_data[8*c +: 8] = 8'h80;
      else out_data[8*c +: 8] = rounded[7:0];
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {csr_ack, csr_rdata, depth_q, oshift_q, error_q, running, done, cycles_q, taken, given} <= '0;
      {c_macs, c_gated, c_beats, c_results} <= '0;
      for (int r = 0; r < ROWS; r++) for (int c = 0; c < COLS; c++) acc[r][c] <= '0;
    end else begin
      csr_ack <= access;
      if (access && csr_we && csr_addr == 8'h10) depth_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h14) oshift_q <= csr_wdata;
      if (access && !csr_we)
        case (csr_addr)
          8'h04: csr_rdata <= {29'd0, error_q, done, busy};
          8'h08: csr_rdata <= cycles_q;
          8'h0C: csr_rdata <= {8'd1, 8'd0, 8'(COLS), 8'(ROWS)};
          8'h10: csr_rdata <= depth_q;
          8'h14: csr_rdata <= oshift_q;
          8'h20: csr_rdata <= c_macs;
          8'h24: csr_rdata <= c_gated;
          8'h28: csr_rdata <= c_beats;
          8'h2C: csr_rdata <= c_results;
          default: csr_rdata <= '0;
        endcase
      if (access && csr_we && csr_addr == 8'h00 && csr_wdata[1]) {c_macs, c_gated, c_beats, c_results} <= '0;
      if (start) error_q <= !cfg_ok;
      if (running) cycles_q <= cycles_q + 32'd1;
      if (start && cfg_ok) begin
        {running, done, cycles_q, taken, given} <= {1'b1, 1'b0, 32'd0, 32'd0, RW'(0)};
        for (int r = 0; r < ROWS; r++) for (int c = 0; c < COLS; c++) acc[r][c] <= '0;
      end
      if (fire_in) begin
        taken <= taken + 32'd1;
        c_beats <= c_beats + 32'd1;
        c_macs <= c_macs + pairs;
        c_gated <= c_gated + 32'(ROWS * COLS) - pairs;
        for (int r = 0; r < ROWS; r++)
          for (int c = 0; c < COLS; c++)
            acc[r][c] <= acc[r][c] + 32'($signed(in_data[8*r +: 8])) * 32'($signed(in_data[8*(ROWS+c) +: 8]));
      end
      if (fire_out) begin
        given <= given + 1'b1;
        c_results <= c_results + 32'd1;
        if (32'(given) + 32'd1 == 32'(ROWS)) {running, done} <= 2'b01;
      end
    end
  end
endmodule

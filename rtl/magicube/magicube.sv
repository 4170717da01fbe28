// magicube: a vector-sparse SpMM engine in the standard engine shape: a gather unit (a
// buffer of MAX_K rows of 16 int8 of the dense operand B, read at the column indices of
// the nonzero vectors) feeding an 8 x 16 x 4 int8 MMA tile (8 x 16 x 8 for int4 operands:
// twice the vectors per step, as tensor cores double k for int4). Twins:
// cosim/accel/magicube/engine.py, tlm/accel/magicube/magicube.cpp; beat formats in
// cosim/accel/magicube/format.py.
// Registers: 0x00 CTRL (W bit 0 start), 0x04 STATUS (busy, done, refused), 0x08 CYCLES,
// 0x0C INFO (log2 MAX_K [7:0], tile rows 8 [15:8], lanes 16 [23:16], version [31:24]),
// 0x10 MODE (0 load B rows, 1 multiply), 0x14 COUNT (beats, 1..65535), 0x18 VLEN (result
// rows a multiply gives, 1..8), 0x1C PREC (0 int8, 1 int4), 0x20 ROW0 (first B row a load writes,
// a multiple of 4; ROW0 + 4 COUNT <= MAX_K), 0x40 STEPS (MMA steps, counter), 0x44 ROWS
// (B rows loaded, counter).
// Job, load: COUNT beats of 64 bytes, 4 B rows of 16 int8 each, one beat per cycle; done
// at the last beat. Job, multiply: COUNT beats (MMA steps) of 8 uint32 column indices
// (bytes 0..31; int8 uses slots 0..3) and the vectors' values (bytes 32..63: int8 value of
// row r, slot t at byte 32 + 4r + t; int4 value r, t in nibble 8r + t, low nibble first),
// one step per cycle, accumulating acc[r][c] += sum_t a[r][t] * B[idx_t][c]. A row
// group ends at a step with bit 31 of its index word 7 set (the group-end flag) or at the
// job's last step: then VLEN result beats (row r: 16 int32) leave, one per cycle from the
// cycle after that step, while no step is taken; the accumulators clear after the last.
// The job is done at its last result. An index is taken modulo MAX_K.
module magicube #(
  parameter int MAX_K = 1024
) (
  input  logic clk, rst_n, csr_req, csr_we,
  input  logic [7:0] csr_addr,
  input  logic [31:0] csr_wdata,
  output logic csr_ack,
  output logic [31:0] csr_rdata,
  input  logic in_valid,
  output logic in_ready,
  input  logic [511:0] in_data,
  output logic out_valid,
  input  logic out_ready,
  output logic [511:0] out_data,
  output logic busy, done
);
  localparam int KW = $clog2(MAX_K);
  logic [31:0] mode_q, count_q, vlen_q, prec_q, row0_q, cycles_q, steps_q, rows_q;
  logic [15:0] taken;
  logic [3:0] given;
  logic [127:0] bbuf [MAX_K];
  logic signed [31:0] acc [8][16];
  logic signed [31:0] sum [8][16];
  logic signed [7:0] a_val [8][8];
  logic [127:0] b_row [8];
  logic running, pending, error_q, access, start, cfg_ok, load_ok, take, give, group_end;
  assign access = csr_req && !csr_ack;
  assign load_ok = row0_q[1:0] == 2'd0 && 64'(row0_q) + 64'(count_q) * 64'd4 <= 64'(MAX_K);
  assign cfg_ok = mode_q <= 32'd1 && count_q >= 32'd1 && count_q <= 32'd65535 && prec_q <= 32'd1 &&
                  (mode_q == 32'd1 ? vlen_q >= 32'd1 && vlen_q <= 32'd8 : load_ok);
  assign start = access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && !running;
  assign busy = running;
  assign in_ready = running && !pending && 32'(taken) < count_q;
  assign out_valid = running && pending;
  assign group_end = in_data[255] || 32'(taken) + 32'd1 == count_q;
  assign take = in_valid && in_ready;
  assign give = out_valid && out_ready;
  always_comb
    for (int c = 0; c < 16; c++) out_data[32*c +: 32] = acc[given[2:0]][c];

  // The gather unit: the B row each vector slot's index names, and the slot's values.
  always_comb
    for (int t = 0; t < 8; t++) begin
      b_row[t] = bbuf[in_data[32*t +: KW]];
      for (int r = 0; r < 8; r++)
        if (prec_q[0]) a_val[r][t] = 8'($signed(in_data[256 + 4*(8*r + t) +: 4]));
        else a_val[r][t] = t < 4 ? $signed(in_data[256 + 8*(4*r + t) +: 8]) : 8'sd0;
    end

  // The MMA tile: one step of 8 rows x 16 columns x 8 (int4) or 4 (int8) products.
  always_comb
    for (int r = 0; r < 8; r++)
      for (int c = 0; c < 16; c++) begin
        sum[r][c] = acc[r][c];
        for (int t = 0; t < 8; t++)
          sum[r][c] = sum[r][c] + 32'(a_val[r][t]) * 32'($signed(b_row[t][8*c +: 8]));
      end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {csr_ack, csr_rdata, mode_q, count_q, vlen_q, prec_q, row0_q, error_q} <= '0;
      {running, pending, done, cycles_q, taken, given, steps_q, rows_q} <= '0;
    end else begin
      csr_ack <= access;
      if (access && csr_we && !running)
        case (csr_addr)
          8'h10: mode_q <= csr_wdata;
          8'h14: count_q <= csr_wdata;
          8'h18: vlen_q <= csr_wdata;
          8'h1C: prec_q <= csr_wdata;
          8'h20: row0_q <= csr_wdata;
          default: ;
        endcase
      if (access && !csr_we)
        case (csr_addr)
          8'h04: csr_rdata <= {29'd0, error_q, done, busy};
          8'h08: csr_rdata <= cycles_q;
          8'h0C: csr_rdata <= {8'd1, 8'd16, 8'd8, 8'(KW)};
          8'h10: csr_rdata <= mode_q;
          8'h14: csr_rdata <= count_q;
          8'h18: csr_rdata <= vlen_q;
          8'h1C: csr_rdata <= prec_q;
          8'h20: csr_rdata <= row0_q;
          8'h40: csr_rdata <= steps_q;
          8'h44: csr_rdata <= rows_q;
          default: csr_rdata <= '0;
        endcase
      if (start) error_q <= !cfg_ok;
      if (running) cycles_q <= cycles_q + 32'd1;
      if (start && cfg_ok) begin
        {running, pending, done, cycles_q, taken, given} <= {2'b10, 1'b0, 32'd0, 16'd0, 4'd0};
        for (int r = 0; r < 8; r++)
          for (int c = 0; c < 16; c++) acc[r][c] <= '0;
      end
      if (take) begin
        taken <= taken + 16'd1;
        if (mode_q == 32'd0) begin
          for (int j = 0; j < 4; j++) bbuf[KW'(row0_q) + KW'(4 * 32'(taken)) + KW'(j)] <= in_data[128*j +: 128];
          rows_q <= rows_q + 32'd4;
          if (32'(taken) + 32'd1 == count_q) {running, done} <= 2'b01;
        end else begin
          steps_q <= steps_q + 32'd1;
          pending <= group_end;
          for (int r = 0; r < 8; r++)
            for (int c = 0; c < 16; c++) acc[r][c] <= sum[r][c];
        end
      end
      if (give) begin
        given <= given + 4'd1;
        if (32'(given) + 32'd1 == vlen_q) begin
          {pending, given} <= {1'b0, 4'd0};
          for (int r = 0; r < 8; r++)
            for (int c = 0; c < 16; c++) acc[r][c] <= '0;
          if (32'(taken) == count_q) {running, done} <= 2'b01;
        end
      end
    end
  end
endmodule

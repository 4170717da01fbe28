// STA's scalable softmax unit: rows of int32 attention scores in, quantised probabilities
// out, without the scores leaving the chip (Fang, Zhou and Wang, IEEE TVLSI 2022). A
// register port and two streams around the shared softmax_core (numerics there and in
// cosim.accel.fixed_point); the RTL twin of cosim.accel.sta.softmax_unit (numpy) and
// tlm/accel/sta/softmax_unit.cpp.
//
// A job is ROWS rows of LEN scores: each row is ceil(LEN/LANES) input beats, then as
// many output beats, which must be read before the next row's beats are taken (the core
// holds one row). Beats are LANES x 32 bits, lane l at bits [32l, 32l+32); lanes past
// LEN in a row's last beat are ignored on input and 0 on output.
// Output lane value: q = min((p + 2^(OSH-1)) >> OSH, OUT_MAX) of the Q0.16 probability p
// (OSH = 0: min(p, OUT_MAX)), e.g. OSH 9, OUT_MAX 127 for int8 probabilities in Q0.7.
//
// Registers (32 bit; common part as in cosim.accel.stream_engine):
//  0x00 CTRL    W  bit 0 start a job (ignored while busy)
//  0x04 STATUS  R  bit 0 busy, bit 1 done, bit 2 the last start was refused (bad config)
//  0x08 CYCLES  R  clock cycles of the last job
//  0x0C INFO    R  LANES [7:0], MAX_LEN/LANES [23:8], version [31:24]
//  0x10 LEN     RW scores per row, 1..MAX_LEN
//  0x14 MULT    RW scale multiplier, 0..65535 (mult / 2^SHIFT = scale * log2 e)
//  0x18 SHIFT   RW 0..47
//  0x1C OUT_Q   RW [4:0] OSH 0..16, [31:16] OUT_MAX
//  0x20 ROWS    RW rows per job, >= 1
module softmax_unit #(
  parameter int LANES   = 16,
  parameter int MAX_LEN = 256
) (
  input  logic                  clk,
  input  logic                  rst_n,
  input  logic                  csr_req,
  input  logic                  csr_we,
  input  logic [7:0]            csr_addr,
  input  logic [31:0]           csr_wdata,
  output logic                  csr_ack,
  output logic [31:0]           csr_rdata,
  input  logic                  in_valid,
  output logic                  in_ready,
  input  logic [32*LANES-1:0]   in_data,
  output logic                  out_valid,
  input  logic                  out_ready,
  output logic [32*LANES-1:0]   out_data,
  output logic                  busy,
  output logic                  done
);
  localparam logic [7:0] VERSION = 8'd1;

  logic [31:0] len_q, mult_q, shift_q, outq_q, rows_q, cycles_q, rows_left;
  logic        error_q, running, csr_access, start_req, cfg_ok, core_start, core_busy;
  logic        core_last;
  logic [32*LANES-1:0] probs;

  assign cfg_ok = len_q >= 32'd1 && len_q <= 32'(MAX_LEN) && mult_q < 32'h1_0000
               && shift_q <= 32'd47 && outq_q[4:0] <= 5'd16 && rows_q >= 32'd1;
  assign csr_access = csr_req && !csr_ack;
  assign start_req  = csr_access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && !running;
  assign busy       = running;
  assign core_start = running && !core_busy && rows_left != 32'd0;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      csr_ack   <= 1'b0;
      csr_rdata <= '0;
      len_q     <= 32'd1;
      mult_q    <= '0;
      shift_q   <= '0;
      outq_q    <= '0;
      rows_q    <= 32'd1;
      error_q   <= 1'b0;
    end else begin
      csr_ack <= csr_access;
      if (start_req) error_q <= !cfg_ok;
      if (csr_access && csr_we) begin
        case (csr_addr)
          8'h10: len_q   <= csr_wdata;
          8'h14: mult_q  <= csr_wdata;
          8'h18: shift_q <= csr_wdata;
          8'h1C: outq_q  <= csr_wdata;
          8'h20: rows_q  <= csr_wdata;
          default: ;
        endcase
      end
      if (csr_access && !csr_we) begin
        case (csr_addr)
          8'h04:   csr_rdata <= {29'd0, error_q, done, busy};
          8'h08:   csr_rdata <= cycles_q;
          8'h0C:   csr_rdata <= {VERSION, 16'(MAX_LEN / LANES), 8'(LANES)};
          8'h10:   csr_rdata <= len_q;
          8'h14:   csr_rdata <= mult_q;
          8'h18:   csr_rdata <= shift_q;
          8'h1C:   csr_rdata <= outq_q;
          8'h20:   csr_rdata <= rows_q;
          default: csr_rdata <= '0;
        endcase
      end
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      running   <= 1'b0;
      done      <= 1'b0;
      cycles_q  <= '0;
      rows_left <= '0;
    end else begin
      if (running) cycles_q <= cycles_q + 32'd1;
      if (start_req && cfg_ok) begin
        running   <= 1'b1;
        done      <= 1'b0;
        cycles_q  <= '0;
        rows_left <= rows_q;
      end else begin
        if (core_start) rows_left <= rows_left - 32'd1;
        if (core_last && rows_left == 32'd0) begin
          running <= 1'b0;
          done    <= 1'b1;
        end
      end
    end
  end

  softmax_core #(.LANES(LANES), .MAX_LEN(MAX_LEN)) u_core (
    .clk(clk), .rst_n(rst_n), .start(core_start), .len(len_q[15:0]), .mult(mult_q[15:0]),
    .shift(shift_q[5:0]), .in_valid(in_valid), .in_ready(in_ready), .in_data(in_data),
    .out_valid(out_valid), .out_ready(out_ready), .out_data(probs), .busy(core_busy),
    .last(core_last)
  );

  // output quantisation
  always_comb begin
    for (int l = 0; l < LANES; l++) begin
      logic [31:0] p, q;
      logic [4:0]  osh;
      osh = outq_q[4:0];
      p   = probs[32*l +: 32];
      q   = osh == 5'd0 ? p : (p + (32'd1 << (osh - 5'd1))) >> osh;
      out_data[32*l +: 32] = q > {16'd0, outq_q[31:16]} ? {16'd0, outq_q[31:16]} : q;
    end
  end
endmodule

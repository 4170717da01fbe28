// phantom_core: one Phantom core (Qureshi and Munir, "Phantom: A High-Performance
// Computational Core for Sparse Convolutional Neural Networks", arXiv:2111.05002): the
// binary masks of a window of weights and activations are ANDed, a lookahead encoder
// picks the valid pairs (both nonzero) of the window, up to THREADS per cycle, and
// dispatches them to THREADS MAC threads whose products add into the output's int32
// accumulator. Dense mode (the baseline) issues every pair of the window.
// Twins: cosim/accel/phantom/engine.py (numpy), tlm/accel/phantom/phantom_core.cpp.
//
// Registers: 0x00 CTRL (W bit 0 start, bit 1 clear the counters), 0x04 STATUS (busy,
// done, refused), 0x08 CYCLES, 0x0C INFO (WINDOW [7:0], THREADS [15:8], MAX_OUTS
// [23:16], version [31:24]), 0x10 OUTPUTS (1..MAX_OUTS), 0x14 GROUP (windows
// per output, 1..65535), 0x18 MODE (bit 0 dense), 0x20 ISSUED (pairs dispatched to the
// threads), 0x24 VALID (popcount of the ANDed masks), 0x28 WINDOWS (windows taken),
// 0x2C ISSUE_CYCLES (cycles the dispatcher held a window); counters are cumulative.
// Input beat (2 WINDOW + 4 bytes): WINDOW int8 weights, WINDOW int8 activations, then a
// 32-bit word: weight mask [15:0], activation mask [31:16] (bit i: position i nonzero).
// Output beat: one int32, the sum of w*a over the issued pairs of its GROUP windows.
// A job takes OUTPUTS*GROUP beats and gives OUTPUTS results in order. A window whose
// ANDed mask has p bits holds the dispatcher max(1, ceil(p / THREADS)) cycles (dense:
// ceil(WINDOW / THREADS)); the next window is taken at the edge the last pairs issue.
module phantom_core #(
  parameter int WINDOW = 8,
  parameter int THREADS = 2,
  parameter int MAX_OUTS = 64
) (
  input  logic clk, rst_n, csr_req, csr_we,
  input  logic [7:0] csr_addr,
  input  logic [31:0] csr_wdata,
  output logic csr_ack,
  output logic [31:0] csr_rdata,
  input  logic in_valid,
  output logic in_ready,
  input  logic [16*WINDOW+31:0] in_data,
  output logic out_valid,
  input  logic out_ready,
  output logic [31:0] out_data,
  output logic busy, done
);
  localparam int OW = $clog2(MAX_OUTS + 1);
  localparam int PW = $clog2(WINDOW + 1);
  localparam int TW = $clog2(THREADS + 1);
  localparam int TI = THREADS > 1 ? $clog2(THREADS) : 1;
  logic [31:0] outputs_q, group_q, mode_q, cycles_q;
  logic [31:0] issued_q, valid_q, windows_q, issue_cycles_q;
  logic [31:0] taken, total, group_pos;
  logic [OW-1:0] made, given;
  logic [31:0] results [MAX_OUTS];
  logic signed [7:0] w_q [WINDOW], a_q [WINDOW];
  logic [WINDOW-1:0] rem, sel, in_and, in_issue;
  logic [PW-1:0] rem_count, in_count;
  logic [TW-1:0] sel_count;
  logic signed [31:0] acc, acc_next;
  logic signed [31:0] thread_w [THREADS], thread_a [THREADS];
  logic running, holding, error_q, access, start, cfg_ok, take, retire, last_of_group;

  assign access = csr_req && !csr_ack;
  assign cfg_ok = outputs_q >= 32'd1 && outputs_q <= 32'(MAX_OUTS)
               && group_q >= 32'd1 && group_q <= 32'd65535;
  assign start = access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && !running;
  assign busy = running;
  assign total = outputs_q * group_q;

  // Mask AND of the incoming window and its popcount.
  always_comb begin
    in_and = in_data[16*WINDOW +: WINDOW] & in_data[16*WINDOW+16 +: WINDOW];
    in_issue = mode_q[0] ? {WINDOW{1'b1}} : in_and;
    in_count = '0;
    for (int i = 0; i < WINDOW; i++) in_count = in_count + PW'(in_and[i]);
  end

  // Lookahead encoder: the first THREADS valid pairs of the held window, thread k gets
  // the k-th; MAC threads: their products add into the accumulator.
  always_comb begin
    sel = '0;
    sel_count = '0;
    rem_count = '0;
    for (int k = 0; k < THREADS; k++) begin
      thread_w[k] = '0;
      thread_a[k] = '0;
    end
    for (int i = 0; i < WINDOW; i++) begin
      rem_count = rem_count + PW'(rem[i]);
      if (rem[i] && 32'(sel_count) < 32'(THREADS)) begin
        sel[i] = 1'b1;
        thread_w[sel_count[TI-1:0]] = 32'(w_q[i]);
        thread_a[sel_count[TI-1:0]] = 32'(a_q[i]);
        sel_count = sel_count + 1'b1;
      end
    end
    acc_next = acc;
    for (int k = 0; k < THREADS; k++) acc_next = acc_next + thread_w[k] * thread_a[k];
  end

  assign retire = holding && 32'(rem_count) <= 32'(THREADS);
  assign last_of_group = group_pos + 32'd1 == group_q;
  assign in_ready = running && taken < total && (!holding || retire);
  assign take = in_valid && in_ready;
  assign out_valid = running && given < made;
  assign out_data = results[given[$clog2(MAX_OUTS)-1:0]];

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {csr_ack, csr_rdata, outputs_q, group_q, mode_q, error_q} <= '0;
      {issued_q, valid_q, windows_q, issue_cycles_q} <= '0;
      {running, holding, done, cycles_q, taken, made, given, group_pos, acc, rem} <= '0;
    end else begin
      csr_ack <= access;
      if (access && csr_we && csr_addr == 8'h10) outputs_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h14) group_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h18) mode_q <= csr_wdata;
      if (access && !csr_we)
        case (csr_addr)
          8'h04: csr_rdata <= {29'd0, error_q, done, busy};
          8'h08: csr_rdata <= cycles_q;
          8'h0C: csr_rdata <= {8'd1, 8'(MAX_OUTS), 8'(THREADS), 8'(WINDOW)};
          8'h10: csr_rdata <= outputs_q;
          8'h14: csr_rdata <= group_q;
          8'h18: csr_rdata <= mode_q;
          8'h20: csr_rdata <= issued_q;
          8'h24: csr_rdata <= valid_q;
          8'h28: csr_rdata <= windows_q;
          8'h2C: csr_rdata <= issue_cycles_q;
          default: csr_rdata <= '0;
        endcase
      if (start) error_q <= !cfg_ok;
      if (running) cycles_q <= cycles_q + 32'd1;
      if (holding) begin
        issued_q <= issued_q + 32'(sel_count);
        issue_cycles_q <= issue_cycles_q + 32'd1;
        rem <= rem & ~sel;
        acc <= acc_next;
        if (retire) begin
          holding <= 1'b0;
          group_pos <= last_of_group ? 32'd0 : group_pos + 32'd1;
          if (last_of_group) begin
            results[made[$clog2(MAX_OUTS)-1:0]] <= acc_next;
            made <= made + 1'b1;
            acc <= '0;
          end
        end
      end
      if (take) begin
        for (int i = 0; i < WINDOW; i++) begin
          w_q[i] <= in_data[8*i +: 8];
          a_q[i] <= in_data[8*WINDOW + 8*i +: 8];
        end
        rem <= in_issue;
        holding <= 1'b1;
        taken <= taken + 32'd1;
        windows_q <= windows_q + 32'd1;
        valid_q <= valid_q + 32'(in_count);
      end
      if (out_valid && out_ready) begin
        given <= given + 1'b1;
        if (32'(given) + 32'd1 == outputs_q) {running, done} <= 2'b01;
      end
      if (start && cfg_ok)
        {running, done, cycles_q, taken, made, given, group_pos, acc, holding} <= {1'b1, 1'b0, 32'd0, 32'd0, OW'(0), OW'(0), 32'd0, 32'd0, 1'b0};
      if (access && csr_we && csr_addr == 8'h00 && csr_wdata[1])
        {issued_q, valid_q, windows_q, issue_cycles_q} <= '0;
    end
  end
endmodule

// vitcod_attention: ViTCoD's split PE array computing one head's masked attention scores
// S[i][j] = q_i . k_j (int8, D lanes, int32) on a polarised mask: columns 0..GLOBAL-1 are
// dense for every row (the denser engine) and SPARSE (row, col) pairs are the rest (the
// sparser engine). PES dot-product PEs (D MACs each); DENSE_PES of them form the denser
// engine, the others the sparser one, and both run at once (the balancing: the driver
// splits the PEs in proportion to the two engines' work).
// Twins: cosim/accel/vitcod/engine.py, tlm/accel/vitcod/vitcod_attention.cpp.
// Registers: 0x00 CTRL (W bit 0 start, bit 1 clear counters), 0x04 STATUS (busy, done,
// refused), 0x08 CYCLES, 0x0C INFO (PES [7:0], MAX_TOKENS [19:8], D/16 [23:20], version
// [31:24]), 0x10 TOKENS (1..MAX_TOKENS), 0x14 GLOBAL (0..TOKENS), 0x18 SPARSE
// (0..MAX_SPARSE), 0x1C DENSE_PES (0..PES; >= 1 with GLOBAL > 0, <= PES-1 with SPARSE > 0;
// GLOBAL + SPARSE > 0). Counters (cumulative): 0x40 DENSE_SCORES, 0x44 SPARSE_SCORES,
// 0x48 DENSE_CYCLES, 0x4C SPARSE_CYCLES (cycles each engine computed).
// Job: TOKENS key rows, TOKENS query rows (beats of D int8), then ceil(SPARSE / (D/4))
// beats of D/4 pairs (row u16, col u16; the low bits index the token buffers). Compute
// starts the cycle after the last input. Each engine broadcasts one query row a cycle to
// its PEs: the denser engine scores up to DENSE_PES columns of the TOKENS x GLOBAL block
// (row-major, ceil(GLOBAL / DENSE_PES) cycles a row); the sparser engine scores up to
// PES - DENSE_PES consecutive pairs of the same row whose key columns fall in rising banks
// of its key buffer (PES banks, column mod PES: the in-order bank selector of the sparse
// PEs), so irregular columns cost cycles. Results: ceil(TOKENS*GLOBAL / (D/4)) beats of dense
// scores then ceil(SPARSE / (D/4)) beats of sparse scores (int32, zero padded), each beat
// given from the cycle after its last score is written; done at the last result.
module vitcod_attention #(
  parameter int D = 64,
  parameter int PES = 8,
  parameter int MAX_TOKENS = 256,
  parameter int MAX_SPARSE = 8192
) (
  input  logic clk, rst_n, csr_req, csr_we,
  input  logic [7:0] csr_addr,
  input  logic [31:0] csr_wdata,
  output logic csr_ack,
  output logic [31:0] csr_rdata,
  input  logic in_valid,
  output logic in_ready,
  input  logic [8*D-1:0] in_data,
  output logic out_valid,
  input  logic out_ready,
  output logic [8*D-1:0] out_data,
  output logic busy, done
);
  localparam int W = D / 4;  // int32 scores (and index pairs) per beat
  localparam int TW = $clog2(MAX_TOKENS);
  localparam int DN = MAX_TOKENS * MAX_TOKENS;
  localparam int DI = $clog2(DN);  // index widths of the result and pair buffers
  localparam int SI = $clog2(MAX_SPARSE);
  logic [31:0] tokens_q, global_q, sparse_q, dpes_q, cycles_q;
  logic [31:0] dscores_q, sscores_q, dcycles_q, scycles_q;
  logic [8*D-1:0] kbuf [MAX_TOKENS];
  logic [8*D-1:0] qbuf [MAX_TOKENS];
  logic [31:0] pairs [MAX_SPARSE];
  logic [31:0] dres [DN];
  logic [31:0] sres [MAX_SPARSE];
  logic [31:0] taken, total_in, dn, sn, dbeats, sbeats, given, spes;
  logic [31:0] dpos, spos, dnext, snext, drow, dcol, dstep, srow, stake;
  logic [SI-1:0] sidx [PES];
  logic sact [PES];
  logic running, computing, error_q, access, start, cfg_ok;
  logic [31:0] beat_end, beat_first;
  logic beat_ready;

  function automatic logic [31:0] dot(input logic [8*D-1:0] a, input logic [8*D-1:0] b);
    logic [31:0] acc;
    logic signed [15:0] x, y;
    acc = '0;
    for (int l = 0; l < D; l++) begin
      x = 16'($signed(a[8*l +: 8]));
      y = 16'($signed(b[8*l +: 8]));
      acc = acc + 32'(x * y);
    end
    return acc;
  endfunction

  // the key-buffer bank of a pair's column
  function automatic logic [31:0] bank(input logic [TW-1:0] col);
    return 32'(col) % 32'(PES);
  endfunction

  assign access = csr_req && !csr_ack;
  assign dn = tokens_q * global_q;
  assign sn = sparse_q;
  assign spes = 32'(PES) - dpes_q;
  assign dbeats = (dn + 32'(W - 1)) / 32'(W);
  assign sbeats = (sn + 32'(W - 1)) / 32'(W);
  assign total_in = 2 * tokens_q + sbeats;
  assign cfg_ok = tokens_q >= 32'd1 && tokens_q <= 32'(MAX_TOKENS) && global_q <= tokens_q
      && sparse_q <= 32'(MAX_SPARSE) && dpes_q <= 32'(PES) && (global_q + sparse_q) > 0
      && (global_q == 0 || dpes_q >= 32'd1) && (sparse_q == 0 || dpes_q < 32'(PES));
  assign start = access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && !running;
  assign busy = running;
  assign in_ready = running && !computing && taken < total_in;
  // result beat `given`: dense beats first, then sparse ones; ready once its last score is in
  assign beat_first = given < dbeats ? given * 32'(W) : (given - dbeats) * 32'(W);
  assign beat_end = given < dbeats ? ((beat_first + 32'(W) < dn) ? beat_first + 32'(W) : dn)
                                   : ((beat_first + 32'(W) < sn) ? beat_first + 32'(W) : sn);
  assign beat_ready = given < dbeats ? dpos >= beat_end : spos >= beat_end;
  assign out_valid = running && computing && given < dbeats + sbeats && beat_ready;
  always_comb begin
    out_data = '0;
    for (int l = 0; l < W; l++)
      if (beat_first + 32'(l) < beat_end)
        out_data[32*l +: 32] = given < dbeats ? dres[DI'(beat_first + 32'(l))]
                                              : sres[SI'(beat_first + 32'(l))];
  end
  // denser engine: columns dcol.. of row drow this cycle
  assign dstep = dcol + dpes_q < global_q ? dpes_q : global_q - dcol;
  assign dnext = dpos + dstep;
  // sparser engine: the run of pairs from spos that share spos's row, at most PES - DENSE_PES
  assign srow = 32'(pairs[SI'(spos)][TW-1:0]);
  always_comb begin
    logic run;
    run = 1'b1;
    stake = '0;
    for (int p = 0; p < PES; p++) begin
      sidx[p] = SI'(spos + 32'(p));
      run = run && 32'(p) < spes && spos + 32'(p) < sn
          && 32'(pairs[SI'(spos + 32'(p))][TW-1:0]) == srow
          && (p == 0 || bank(pairs[SI'(spos + 32'(p))][16 +: TW]) > bank(pairs[SI'(spos + 32'(p) - 1)][16 +: TW]));
      sact[p] = run;
      if (run) stake = stake + 32'd1;
    end
  end
  assign snext = spos + stake;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {csr_ack, csr_rdata, tokens_q, global_q, sparse_q, dpes_q, error_q} <= '0;
      {running, computing, done, cycles_q, taken, given, dpos, spos, drow, dcol} <= '0;
      {dscores_q, sscores_q, dcycles_q, scycles_q} <= '0;
    end else begin
      csr_ack <= access;
      if (access && csr_we && csr_addr == 8'h10) tokens_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h14) global_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h18) sparse_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h1C) dpes_q <= csr_wdata;
      if (access && !csr_we)
        case (csr_addr)
          8'h04: csr_rdata <= {29'd0, error_q, done, busy};
          8'h08: csr_rdata <= cycles_q;
          8'h0C: csr_rdata <= {8'd1, 4'(D / 16), 12'(MAX_TOKENS), 8'(PES)};
          8'h10: csr_rdata <= tokens_q;
          8'h14: csr_rdata <= global_q;
          8'h18: csr_rdata <= sparse_q;
          8'h1C: csr_rdata <= dpes_q;
          8'h40: csr_rdata <= dscores_q;
          8'h44: csr_rdata <= sscores_q;
          8'h48: csr_rdata <= dcycles_q;
          8'h4C: csr_rdata <= scycles_q;
          default: csr_rdata <= '0;
        endcase
      if (access && csr_we && csr_addr == 8'h00 && csr_wdata[1])
        {dscores_q, sscores_q, dcycles_q, scycles_q} <= '0;
      if (start) error_q <= !cfg_ok;
      if (running) cycles_q <= cycles_q + 32'd1;
      if (start && cfg_ok)
        {running, computing, done, cycles_q, taken, given, dpos, spos, drow, dcol} <= {3'b100, 224'd0};
      if (in_valid && in_ready) begin
        if (taken < tokens_q) kbuf[TW'(taken)] <= in_data;
        else if (taken < 2 * tokens_q) qbuf[TW'(taken - tokens_q)] <= in_data;
        else
          for (int l = 0; l < W; l++)
            if ((taken - 2 * tokens_q) * 32'(W) + 32'(l) < sn)
              pairs[SI'((taken - 2 * tokens_q) * 32'(W) + 32'(l))] <= in_data[32*l +: 32];
        taken <= taken + 32'd1;
        if (taken + 32'd1 == total_in) computing <= 1'b1;
      end
      if (computing) begin
        for (int p = 0; p < PES; p++) begin
          if (32'(p) < dstep && dpos < dn)
            dres[DI'(dpos + 32'(p))] <= dot(qbuf[TW'(drow)], kbuf[TW'(dcol + 32'(p))]);
          if (sact[p])
            sres[sidx[p]] <= dot(qbuf[TW'(srow)], kbuf[pairs[sidx[p]][16 +: TW]]);
        end
        if (dpos < dn) begin
          dcycles_q <= dcycles_q + 32'd1;
          dscores_q <= dscores_q + dstep;
          dpos <= dnext;
          if (dcol + dstep == global_q) begin
            dcol <= '0;
            drow <= drow + 32'd1;
          end else dcol <= dcol + dstep;
        end
        if (spos < sn) begin
          scycles_q <= scycles_q + 32'd1;
          sscores_q <= sscores_q + stake;
          spos <= snext;
        end
      end
      if (out_valid && out_ready) begin
        given <= given + 32'd1;
        if (given + 32'd1 == dbeats + sbeats) {running, computing, done} <= 3'b001;
      end
    end
  end
endmodule

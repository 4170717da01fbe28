// Dense int8 systolic array with int32 accumulation on ROWS x COLS processing elements,
// output-stationary ("OS"), weight-stationary ("WS") or input-stationary ("IS"). The dense
// baseline engine of the accelerator scenarios and the RTL twin of cosim.accel.systolic;
// its schedule is the one of the standard analytical model of dense arrays (SCALE-Sim,
// Samajdar et al., ISPASS 2020), docs/accelerators/systolic.md derives the cycles.
//
// Interfaces (synchronous to clk; rst_n is an active-low synchronous reset):
//  register port, req/ack: hold csr_req (with csr_we, csr_addr, csr_wdata) until csr_ack
//      is seen; csr_ack is high for one cycle, with csr_rdata for a read.
//  operand stream (valid/ready), one beat of 8*(COLS+ROWS) bits:
//      bytes [0, COLS)          b: a row of the streamed B (OS) or of the stationary tile
//      bytes [COLS, COLS+ROWS)  a: a column of A (OS) or a row of the streamed operand
//  result stream (valid/ready), one row of COLS int32 per beat, element j at [32j, 32j+32).
//      in_ready never waits for in_valid.
//  busy: a job is running. done: the last job has finished (cleared by the next start).
//
// A job is FOLDS folds (FOLDS = 0 runs one) of DEPTH each:
//  OS: per fold C[ROWS x COLS] = A[ROWS x K] B[K x COLS], K = DEPTH: K beats (column k of
//      A, row k of B), then ROWS result rows. When the last PE has its sum the whole
//      accumulator array is copied into an output buffer that drains while the next fold
//      computes; the next fold's first beat is taken ROWS+COLS-1 cycles after the last beat
//      of a fold, so that it meets the copy. DEPTH = 0 folds give zero rows.
//  WS, IS: per fold Out[T x COLS] = X[T x ROWS] S[ROWS x COLS], T = DEPTH: ROWS beats that
//      shift the stationary tile S down the columns (bottom row first: beat r carries row
//      ROWS-1-r in its b bytes), then T beats of X (row t in the a bytes); result row t
//      leaves ROWS+COLS cycles after X's row t was taken. A fold's first beat is taken
//      ROWS+COLS-1 cycles after the last X beat of the fold before (the array has drained).
//      WS streams activations past stationary weights; IS is the same datapath with the
//      input tile stationary and the weights streamed (Out = C transposed).
//  A stalled result stream stalls the whole array (no result is ever dropped).
//
// Registers (32 bit, byte addresses; others read 0 and ignore writes):
//  0x00 CTRL   W  bit 0: start a job (ignored while busy)
//  0x04 STATUS R  bit 0 busy, bit 1 done
//  0x08 DEPTH  RW K (OS) or T (WS, IS) of each fold of the next job
//  0x0C CYCLES R  clock cycles of the last job, from the start write to done
//  0x10 INFO   R  ROWS [7:0], COLS [15:8], dataflow [17:16] (0 OS, 1 WS, 2 IS), version [31:24]
//  0x14 FOLDS  RW folds of the next job (reset value 1)
module systolic_array #(
  parameter int    ROWS     = 8,
  parameter int    COLS     = 8,
  parameter string DATAFLOW = "OS"
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
  input  logic [8*(ROWS+COLS)-1:0] in_data,
  output logic                     out_valid,
  input  logic                     out_ready,
  output logic [32*COLS-1:0]       out_data,
  output logic                     busy,
  output logic                     done
);
  localparam bit OS = DATAFLOW == "OS";
  localparam logic [1:0] DF = DATAFLOW == "OS" ? 2'd0 : DATAFLOW == "WS" ? 2'd1 : 2'd2;
  localparam int S = ROWS + COLS;            // stages of the tag pipe
  localparam logic [7:0] VERSION = 8'd2;

  if (ROWS < 1 || COLS < 1 || ROWS > 64 || COLS > 64 || ROWS + COLS > 128) begin : g_bad_shape
    $fatal(1, "systolic_array: ROWS and COLS must be 1..64 with ROWS+COLS <= 128");
  end
  if (DATAFLOW != "OS" && DATAFLOW != "WS" && DATAFLOW != "IS") begin : g_bad_dataflow
    $fatal(1, "systolic_array: DATAFLOW must be \"OS\", \"WS\" or \"IS\"");
  end

  typedef enum logic {S_IDLE, S_RUN} state_t;
  state_t state;

  logic [31:0] depth_q, folds_q;   // DEPTH and FOLDS registers
  logic [31:0] job_depth, job_folds;
  logic [31:0] in_count;           // beats of the current fold taken
  logic [31:0] fold_in;            // folds whose beats have all been taken
  logic [31:0] cycles_q;           // CYCLES register
  logic        csr_access, start, in_fire, out_fire;
  logic        adv;                // the array moves on this cycle (not stalled)
  logic        fold_end;           // this cycle takes the last beat of a fold
  logic        tag_in;             // ... and it is a streamed beat (OS: or an empty fold)
  logic        finish;             // the job ends at this edge
  logic [S-1:0] tags;              // bit n: a fold's last streamed beat was taken n+1 edges ago
  logic        gate_ok;            // a fold may start: the one before has passed the array

  assign csr_access = csr_req && !csr_ack;
  assign start      = csr_access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && state == S_IDLE;
  assign in_fire    = in_valid && in_ready;
  assign out_fire   = out_valid && out_ready;
  assign busy       = state != S_IDLE;

  always_comb begin
    gate_ok = 1'b1;
    for (int n = 0; n < S - 2; n++) if (tags[n]) gate_ok = 1'b0;
  end

  // ---------------------------------------------------------------- register port
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      csr_ack   <= 1'b0;
      csr_rdata <= '0;
      depth_q   <= '0;
      folds_q   <= 32'd1;
    end else begin
      csr_ack <= csr_access;
      if (csr_access && csr_we && csr_addr == 8'h08) depth_q <= csr_wdata;
      if (csr_access && csr_we && csr_addr == 8'h14) folds_q <= csr_wdata;
      if (csr_access && !csr_we) begin
        case (csr_addr)
          8'h04:   csr_rdata <= {30'd0, done, busy};
          8'h08:   csr_rdata <= depth_q;
          8'h0C:   csr_rdata <= cycles_q;
          8'h10:   csr_rdata <= {VERSION, 6'd0, DF, 8'(COLS), 8'(ROWS)};
          8'h14:   csr_rdata <= folds_q;
          default: csr_rdata <= '0;
        endcase
      end
    end
  end

  // ---------------------------------------------------------------- job sequencing
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state     <= S_IDLE;
      done      <= 1'b0;
      job_depth <= '0;
      job_folds <= '0;
      in_count  <= '0;
      fold_in   <= '0;
      cycles_q  <= '0;
      tags      <= '0;
    end else begin
      if (state != S_IDLE) cycles_q <= cycles_q + 32'd1;
      if (adv) tags <= {tags[S-2:0], tag_in};
      if (fold_end) begin
        in_count <= '0;
        fold_in  <= fold_in + 32'd1;
      end else if (in_fire) begin
        in_count <= in_count + 32'd1;
      end
      if (start) begin
        job_depth <= depth_q;
        job_folds <= folds_q == 32'd0 ? 32'd1 : folds_q;
        in_count  <= '0;
        fold_in   <= '0;
        cycles_q  <= '0;
        done      <= 1'b0;
        state     <= S_RUN;
      end else if (finish) begin
        state <= S_IDLE;
        done  <= 1'b1;
      end
    end
  end

  // ---------------------------------------------------------------- datapath
  // Operand skew: operand i of a beat taken at edge t is at the first PE of its row (or
  // column) after edge t+i, so PE(i,j) uses it at edge t+1+i+j.
  if (OS) begin : g_os
    logic               more;                  // folds left to feed
    logic               inject;                // an empty fold (DEPTH = 0) enters
    logic               copy;                  // accumulators -> output buffer at this edge
    logic [6:0]         left;                  // output buffer rows not yet sent
    logic [5:0]         out_row;
    logic signed [7:0]  a_at   [ROWS][COLS];   // operands at PE(i,j) in this cycle
    logic signed [7:0]  b_at   [ROWS][COLS];
    logic signed [31:0] obuf   [ROWS][COLS];   // the output buffer

    assign more     = state == S_RUN && fold_in != job_folds;
    assign copy     = tags[S-1] && left == 7'd0;
    assign adv      = !(tags[S-1] && left != 7'd0);
    assign in_ready = more && job_depth != 0 && adv && (in_count != 0 || gate_ok);
    assign inject   = more && job_depth == 0 && adv && gate_ok;
    assign fold_end = (in_fire && in_count == job_depth - 32'd1) || inject;
    assign tag_in   = fold_end;
    assign out_valid = left != 7'd0;
    assign finish   = state == S_RUN && fold_in == job_folds && tags == '0 &&
                      (left == 7'd0 || (left == 7'd1 && out_fire));

    always_ff @(posedge clk) begin
      if (!rst_n) begin
        left    <= '0;
        out_row <= '0;
      end else if (copy) begin
        left    <= 7'(ROWS);
        out_row <= '0;
      end else if (out_fire) begin
        left    <= left - 7'd1;
        out_row <= out_row + 6'd1;
      end
    end

    for (genvar i = 0; i < ROWS; i++) begin : g_askew
      logic signed [7:0] sk [i+1];
      always_ff @(posedge clk) begin
        if (!rst_n) begin
          for (int k = 0; k <= i; k++) sk[k] <= '0;
        end else if (adv) begin
          sk[0] <= in_fire ? in_data[8*(COLS+i) +: 8] : 8'd0;
          for (int k = 1; k <= i; k++) sk[k] <= sk[k-1];
        end
      end
      assign a_at[i][0] = sk[i];
    end

    for (genvar j = 0; j < COLS; j++) begin : g_bskew
      logic signed [7:0] sk [j+1];
      always_ff @(posedge clk) begin
        if (!rst_n) begin
          for (int k = 0; k <= j; k++) sk[k] <= '0;
        end else if (adv) begin
          sk[0] <= in_fire ? in_data[8*j +: 8] : 8'd0;
          for (int k = 1; k <= j; k++) sk[k] <= sk[k-1];
        end
      end
      assign b_at[0][j] = sk[j];
    end

    for (genvar i = 0; i < ROWS; i++) begin : g_row
      for (genvar j = 0; j < COLS; j++) begin : g_pe
        logic signed [15:0] prod;
        logic signed [31:0] acc, held;
        assign prod = a_at[i][j] * b_at[i][j];
        assign obuf[i][j] = held;
        always_ff @(posedge clk) begin
          if (!rst_n) begin
            acc  <= '0;
            held <= '0;
          end else if (adv) begin
            acc <= (copy ? 32'sd0 : acc) + 32'(prod);
            if (copy) held <= acc;
          end
        end
        if (j + 1 < COLS) begin : g_a_right
          logic signed [7:0] q;
          always_ff @(posedge clk) begin
            if (!rst_n)   q <= '0;
            else if (adv) q <= a_at[i][j];
          end
          assign a_at[i][j+1] = q;
        end
        if (i + 1 < ROWS) begin : g_b_down
          logic signed [7:0] q;
          always_ff @(posedge clk) begin
            if (!rst_n)   q <= '0;
            else if (adv) q <= b_at[i][j];
          end
          assign b_at[i+1][j] = q;
        end
      end
    end

    always_comb begin
      out_data = '0;
      for (int r = 0; r < ROWS; r++) begin
        if (out_row == 6'(r)) begin
          for (int j = 0; j < COLS; j++) out_data[32*j +: 32] = obuf[r][j];
        end
      end
    end
  end else begin : g_stationary
    logic               more;
    logic               load;                  // a beat of the stationary tile
    logic               feed;                  // a beat of the streamed operand
    logic [S-1:0]       row_valid;             // bit n: a streamed row was taken n+1 edges ago
    logic signed [7:0]  a_at  [ROWS][COLS];    // streamed operand at PE(i,j) in this cycle
    logic signed [7:0]  w_at  [ROWS][COLS];    // stationary operand of PE(i,j)
    logic signed [31:0] p_at  [ROWS][COLS];    // partial sum entering PE(i,j) from above
    logic signed [31:0] col_out [COLS];        // partial sums leaving the bottom row

    assign more      = state == S_RUN && fold_in != job_folds;
    assign adv       = !(out_valid && !out_ready);
    assign in_ready  = more && adv && (in_count != 0 || gate_ok);
    assign load      = in_fire && in_count < 32'(ROWS);
    assign feed      = in_fire && in_count >= 32'(ROWS);
    assign fold_end  = in_fire && in_count == 32'(ROWS) + job_depth - 32'd1;
    assign tag_in    = fold_end && feed;
    assign out_valid = row_valid[S-1];
    assign finish    = state == S_RUN && fold_in == job_folds &&
                       (row_valid == '0 || (row_valid == {1'b1, {(S-1){1'b0}}} && out_fire));

    always_ff @(posedge clk) begin
      if (!rst_n)   row_valid <= '0;
      else if (adv) row_valid <= {row_valid[S-2:0], feed};
    end

    for (genvar i = 0; i < ROWS; i++) begin : g_askew
      logic signed [7:0] sk [i+1];
      always_ff @(posedge clk) begin
        if (!rst_n) begin
          for (int k = 0; k <= i; k++) sk[k] <= '0;
        end else if (adv) begin
          sk[0] <= feed ? in_data[8*(COLS+i) +: 8] : 8'd0;
          for (int k = 1; k <= i; k++) sk[k] <= sk[k-1];
        end
      end
      assign a_at[i][0] = sk[i];
    end

    for (genvar i = 0; i < ROWS; i++) begin : g_row
      for (genvar j = 0; j < COLS; j++) begin : g_pe
        logic signed [7:0]  w;
        logic signed [15:0] prod;
        logic signed [31:0] psum;
        assign w_at[i][j] = w;
        assign prod = a_at[i][j] * w;
        always_ff @(posedge clk) begin
          if (!rst_n) begin
            w    <= '0;
            psum <= '0;
          end else begin
            // the stationary tile shifts down its columns, one row per load beat
            if (load) w <= i == 0 ? in_data[8*j +: 8] : w_at[(i == 0 ? 0 : i - 1)][j];
            if (adv) psum <= p_at[i][j] + 32'(prod);
          end
        end
        if (i == 0) begin : g_top
          assign p_at[0][j] = '0;
        end
        if (i + 1 < ROWS) begin : g_p_down
          assign p_at[i+1][j] = psum;
        end else begin : g_p_out
          assign col_out[j] = psum;
        end
        if (j + 1 < COLS) begin : g_a_right
          logic signed [7:0] q;
          always_ff @(posedge clk) begin
            if (!rst_n)   q <= '0;
            else if (adv) q <= a_at[i][j];
          end
          assign a_at[i][j+1] = q;
        end
      end
    end

    // De-skew: column j leaves the array j cycles after column 0; delay it COLS-1-j
    // more cycles so a whole result row leaves together.
    for (genvar j = 0; j < COLS; j++) begin : g_deskew
      localparam int D = COLS - 1 - j;
      if (D == 0) begin : g_direct
        assign out_data[32*j +: 32] = col_out[j];
      end else begin : g_delay
        logic signed [31:0] dq [D];
        always_ff @(posedge clk) begin
          if (!rst_n) begin
            for (int k = 0; k < D; k++) dq[k] <= '0;
          end else if (adv) begin
            dq[0] <= col_out[j];
            for (int k = 1; k < D; k++) dq[k] <= dq[k-1];
          end
        end
        assign out_data[32*j +: 32] = dq[D-1];
      end
    end
  end
endmodule

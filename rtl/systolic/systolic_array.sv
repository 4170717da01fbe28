// Dense int8 systolic array with int32 accumulation: C = A x B on ROWS x COLS processing
// elements, output-stationary ("OS") or weight-stationary ("WS") dataflow. It is the
// dense baseline engine of the accelerator scenarios (shared/ACCELERATORS.md, S2TA and
// ViTALiTy rows) and the RTL twin of cosim.accel.systolic (numpy and TLM twins).
//
// Interfaces (synchronous to clk; rst_n is an active-low synchronous reset):
//  register port, req/ack: hold csr_req (with csr_we, csr_addr, csr_wdata) until csr_ack
//      is seen; csr_ack is high for one cycle, with csr_rdata for a read.
//  operand stream (valid/ready), one beat of 8*(COLS+ROWS) bits:
//      bytes [0, COLS)          b: byte j = B[k][j] (OS) or W[i][j] (WS weight load)
//      bytes [COLS, COLS+ROWS)  a: byte COLS+i = A[i][k] (OS) or A[m][i] (WS)
//  result stream (valid/ready), one row of C per beat: int32 C[r][j] at bits [32j, 32j+32).
//      in_ready never waits for in_valid.
//  busy: a job is running. done: the last job has finished (cleared by the next start).
//
// A job: write DEPTH, then write 1 to CTRL.
//  OS: C[ROWS x COLS] = A[ROWS x K] B[K x COLS], K = DEPTH >= 0: K operand beats (column k
//      of A with row k of B), then ROWS result beats. PE(i,j) keeps C[i][j].
//  WS: C[M x COLS] = A[M x ROWS] W[ROWS x COLS], M = DEPTH >= 0: ROWS weight beats (row i
//      of W in the b bytes), then M activation beats (row m of A in the a bytes). Result
//      row m leaves ROWS+COLS-1 cycles after its activation row entered; a stalled
//      result stream stalls the whole array.
//
// Registers (32 bit, byte addresses; others read 0 and ignore writes):
//  0x00 CTRL   W  bit 0: start a job (ignored while busy)
//  0x04 STATUS R  bit 0 busy, bit 1 done
//  0x08 DEPTH  RW K (OS) or M (WS) of the next job
//  0x0C CYCLES R  clock cycles of the last job, from the start write to done
//  0x10 INFO   R  ROWS [7:0], COLS [15:8], dataflow [16] (0 OS, 1 WS), version [31:24]
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
  localparam bit WS = DATAFLOW == "WS";
  localparam logic [7:0] VERSION = 8'd1;

  if (ROWS < 1 || COLS < 1 || ROWS > 64 || COLS > 64 || ROWS + COLS > 128) begin : g_bad_shape
    $fatal(1, "systolic_array: ROWS and COLS must be 1..64 with ROWS+COLS <= 128");
  end
  if (DATAFLOW != "OS" && DATAFLOW != "WS") begin : g_bad_dataflow
    $fatal(1, "systolic_array: DATAFLOW must be \"OS\" or \"WS\"");
  end

  typedef enum logic [2:0] {S_IDLE, S_WLOAD, S_FEED, S_FLUSH, S_DRAIN} state_t;
  state_t state;

  logic [31:0] depth_q;      // DEPTH register
  logic [31:0] job_depth;    // DEPTH latched at start
  logic [31:0] in_count;     // beats accepted in the current phase
  logic [31:0] out_count;    // result beats sent
  logic [31:0] cycles_q;     // CYCLES register
  logic        csr_access, start, in_fire, out_fire, pipe_empty;

  assign csr_access = csr_req && !csr_ack;
  assign start      = csr_access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && state == S_IDLE;
  assign in_fire    = in_valid && in_ready;
  assign out_fire   = out_valid && out_ready;
  assign busy       = state != S_IDLE;

  // ---------------------------------------------------------------- register port
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      csr_ack   <= 1'b0;
      csr_rdata <= '0;
      depth_q   <= '0;
    end else begin
      csr_ack <= csr_access;
      if (csr_access && csr_we && csr_addr == 8'h08) depth_q <= csr_wdata;
      if (csr_access && !csr_we) begin
        case (csr_addr)
          8'h04:   csr_rdata <= {30'd0, done, busy};
          8'h08:   csr_rdata <= depth_q;
          8'h0C:   csr_rdata <= cycles_q;
          8'h10:   csr_rdata <= {VERSION, 7'd0, WS, 8'(COLS), 8'(ROWS)};
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
      in_count  <= '0;
      out_count <= '0;
      cycles_q  <= '0;
    end else begin
      if (state != S_IDLE) cycles_q <= cycles_q + 32'd1;
      if (out_fire) out_count <= out_count + 32'd1;
      case (state)
        S_IDLE: begin
          if (start) begin
            job_depth <= depth_q;
            in_count  <= '0;
            out_count <= '0;
            cycles_q  <= '0;
            done      <= 1'b0;
            state     <= WS ? S_WLOAD : S_FEED;
          end
        end
        S_WLOAD: begin
          if (in_fire) begin
            in_count <= in_count + 32'd1;
            if (in_count == 32'(ROWS - 1)) begin
              in_count <= '0;
              state    <= S_FEED;
            end
          end
        end
        S_FEED: begin
          if (in_fire) in_count <= in_count + 32'd1;
          if (in_count == job_depth) state <= S_FLUSH;
        end
        S_FLUSH: begin
          if (WS) begin
            if (out_count == job_depth) begin
              state <= S_IDLE;
              done  <= 1'b1;
            end
          end else if (pipe_empty) begin
            state <= S_DRAIN;
          end
        end
        S_DRAIN: begin
          if (out_fire && out_count == 32'(ROWS - 1)) begin
            state <= S_IDLE;
            done  <= 1'b1;
          end
        end
        default: state <= S_IDLE;
      endcase
    end
  end

  // ---------------------------------------------------------------- datapath
  // Operand skew (both dataflows): operand i of a beat reaches the first PE of its row
  // (or column) after i+1 register stages, so PE(i,j) sees the operands of beat t in
  // cycle t+i+j.
  if (!WS) begin : g_os
    localparam int L = ROWS + COLS - 1;       // cycles until beat t is fully accumulated
    logic signed [7:0]  a_at   [ROWS][COLS];  // operands at PE(i,j) in this cycle
    logic signed [7:0]  b_at   [ROWS][COLS];
    logic signed [31:0] acc_at [ROWS][COLS];
    logic [L-1:0]       in_flight;            // bit n: the beat taken n cycles ago

    assign in_ready   = state == S_FEED && in_count != job_depth;
    assign out_valid  = state == S_DRAIN;
    assign pipe_empty = in_flight == '0;

    always_ff @(posedge clk) begin
      if (!rst_n) in_flight <= '0;
      else        in_flight <= (in_flight << 1) | L'(in_fire);
    end

    for (genvar i = 0; i < ROWS; i++) begin : g_askew
      logic signed [7:0] sk [i+1];
      always_ff @(posedge clk) begin
        if (!rst_n) begin
          for (int k = 0; k <= i; k++) sk[k] <= '0;
        end else begin
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
        end else begin
          sk[0] <= in_fire ? in_data[8*j +: 8] : 8'd0;
          for (int k = 1; k <= j; k++) sk[k] <= sk[k-1];
        end
      end
      assign b_at[0][j] = sk[j];
    end

    for (genvar i = 0; i < ROWS; i++) begin : g_row
      for (genvar j = 0; j < COLS; j++) begin : g_pe
        logic signed [15:0] prod;
        logic signed [31:0] acc;
        assign prod = a_at[i][j] * b_at[i][j];
        assign acc_at[i][j] = acc;
        always_ff @(posedge clk) begin
          if (!rst_n || start) acc <= '0;
          else                 acc <= acc + 32'(prod);
        end
        if (j + 1 < COLS) begin : g_a_right
          logic signed [7:0] q;
          always_ff @(posedge clk) q <= rst_n ? a_at[i][j] : 8'sd0;
          assign a_at[i][j+1] = q;
        end
        if (i + 1 < ROWS) begin : g_b_down
          logic signed [7:0] q;
          always_ff @(posedge clk) q <= rst_n ? b_at[i][j] : 8'sd0;
          assign b_at[i+1][j] = q;
        end
      end
    end

    // Drain: result row out_count, one per beat.
    always_comb begin
      out_data = '0;
      for (int r = 0; r < ROWS; r++) begin
        if (out_count == 32'(r)) begin
          for (int j = 0; j < COLS; j++) out_data[32*j +: 32] = acc_at[r][j];
        end
      end
    end
  end else begin : g_ws
    localparam int L = ROWS + COLS;           // row_valid stages: a row leaves after L-1
    logic               adv;                  // the array moves on this cycle
    logic               feed;
    logic [L-1:0]       row_valid;            // bit n: a real row entered n steps ago
    logic signed [7:0]  a_at  [ROWS][COLS];   // activation at PE(i,j) in this cycle
    logic signed [31:0] p_at  [ROWS][COLS];   // partial sum entering PE(i,j) from above
    logic signed [31:0] col_out [COLS];       // partial sums leaving the bottom row

    assign adv        = !(out_valid && !out_ready);
    assign feed       = in_fire && state == S_FEED;
    assign in_ready   = state == S_WLOAD || (state == S_FEED && in_count != job_depth && adv);
    assign out_valid  = row_valid[L-1];
    assign pipe_empty = 1'b1;

    always_ff @(posedge clk) begin
      if (!rst_n)   row_valid <= '0;
      else if (adv) row_valid <= (row_valid << 1) | L'(feed);
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
        assign prod = a_at[i][j] * w;
        always_ff @(posedge clk) begin
          if (!rst_n) begin
            w    <= '0;
            psum <= '0;
          end else begin
            if (state == S_WLOAD && in_fire && in_count == 32'(i)) w <= in_data[8*j +: 8];
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

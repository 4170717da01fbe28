// An output-stationary N x N int8 matrix-multiply array written the way an IP from
// elsewhere is: its own pin names, an operand input whose beat is three pins
// (a_vec, b_vec, in_last) with valid/ready, results that leave one row per cycle
// without back-pressure, and a done pulse; no busy pin, no register port.
// A test fixture of the RTL bridges (tests/test_rtl_foreign.py), not a cosim engine.
//
// A tile: K operand beats (beat k: a_vec byte i = A[i][k], b_vec byte j = B[k][j],
// in_last on the last one), then LAT cycles of work, then N result rows (row i:
// res_row bits [32j, 32j+32) = C[i][j], int32) on N consecutive cycles, then done for
// one cycle. in_ready is high while the array waits for operands.
module os_array #(
  parameter int N   = 4,
  parameter int LAT = 3
) (
  input  logic            clk,
  input  logic            rst_n,
  input  logic            in_valid,
  output logic            in_ready,
  input  logic [8*N-1:0]  a_vec,
  input  logic [8*N-1:0]  b_vec,
  input  logic            in_last,
  output logic            res_valid,
  output logic [32*N-1:0] res_row,
  output logic            done
);
  localparam int RW = N > 1 ? $clog2(N) : 1;
  localparam int LW = LAT > 1 ? $clog2(LAT) : 1;

  typedef enum logic [1:0] {S_FEED, S_WORK, S_DRAIN, S_DONE} state_t;
  state_t state;
  logic signed [31:0] acc [N][N];
  logic [RW-1:0] row;
  logic [LW-1:0] wait_q;

  assign in_ready = state == S_FEED;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state     <= S_FEED;
      row       <= '0;
      wait_q    <= '0;
      res_valid <= 1'b0;
      res_row   <= '0;
      done      <= 1'b0;
      for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) acc[i][j] <= '0;
    end else begin
      res_valid <= 1'b0;
      done      <= 1'b0;
      case (state)
        S_FEED: if (in_valid) begin
          for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
              acc[i][j] <= acc[i][j] + 32'(signed'(a_vec[8*i +: 8])) * 32'(signed'(b_vec[8*j +: 8]));
          if (in_last) begin
            state  <= S_WORK;
            wait_q <= '0;
          end
        end
        S_WORK: begin
          wait_q <= wait_q + 1'b1;
          if (wait_q == LW'(LAT - 1)) begin
            state <= S_DRAIN;
            row   <= '0;
          end
        end
        S_DRAIN: begin
          res_valid <= 1'b1;
          for (int j = 0; j < N; j++) res_row[32*j +: 32] <= acc[row][j];
          row <= row + 1'b1;
          if (row == RW'(N - 1)) state <= S_DONE;
        end
        default: begin  // S_DONE
          done  <= 1'b1;
          state <= S_FEED;
          for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) acc[i][j] <= '0;
        end
      endcase
    end
  end
endmodule

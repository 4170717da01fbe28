// A block that hands out results while it still works: a beat K on the input starts K
// cycles of work, each pushing one 32-bit result (100 + i) into an output FIFO of 16
// entries (the core stalls while it is full); done pulses once the K results are
// pushed. busy is high while working. With HOLD = 0 there is no FIFO: each result is
// offered for one cycle only, whether or not out_ready is high (a protocol error).
// A test fixture of the RTL bridges (tests/test_rtl_foreign.py).
module early_results #(
  parameter bit HOLD = 1'b1
) (
  input  logic        clk,
  input  logic        rst_n,
  input  logic        in_valid,
  output logic        in_ready,
  input  logic [7:0]  in_data,
  output logic        out_valid,
  input  logic        out_ready,
  output logic [31:0] out_data,
  output logic        busy,
  output logic        done
);
  logic [7:0]  left;     // results still to produce
  logic [7:0]  made;     // results produced in this job
  logic [31:0] fifo [16];
  logic [3:0]  rd, wr;
  logic [4:0]  count;
  logic        push, pop, full;
  logic        pulse_valid;
  logic [31:0] pulse_data;

  assign in_ready = left == 8'd0;
  assign busy     = left != 8'd0;
  assign full     = count == 5'd16;
  assign push     = busy && (!HOLD || !full);
  assign pop      = HOLD && out_valid && out_ready;
  assign out_valid = HOLD ? count != 5'd0 : pulse_valid;
  assign out_data  = HOLD ? fifo[rd] : pulse_data;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      left        <= '0;
      made        <= '0;
      rd          <= '0;
      wr          <= '0;
      count       <= '0;
      done        <= 1'b0;
      pulse_valid <= 1'b0;
      pulse_data  <= '0;
    end else begin
      done        <= 1'b0;
      pulse_valid <= 1'b0;
      if (in_valid && in_ready) begin
        left <= in_data;
        made <= '0;
      end else if (push) begin
        left <= left - 8'd1;
        made <= made + 8'd1;
        if (left == 8'd1) done <= 1'b1;
        if (HOLD) begin
          fifo[wr] <= 32'd100 + 32'(made);
          wr <= wr + 4'd1;
        end else begin
          pulse_valid <= 1'b1;
          pulse_data  <= 32'd100 + 32'(made);
        end
      end
      if (pop) rd <= rd + 4'd1;
      count <= count + 5'(HOLD && push) - 5'(pop);
    end
  end
endmodule

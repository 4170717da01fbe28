// A valid/ready stream stage that adds INC to every WIDTH-bit beat (modulo 2**WIDTH).
//
// A small test block for stream bridges: any width from 1 to 1024 bits, a two-entry FIFO
// (so one beat per cycle at full rate, one cycle of latency), and optional back-pressure
// on its input: when STALL_MASK != 0, in_ready drops in the cycles where a 16-bit LFSR
// (x^16 + x^14 + x^13 + x^11 + 1, seeded with 1 at reset) has all STALL_MASK bits set.
// in_ready never waits for in_valid. busy is high while a beat is held.
module stream_add #(
  parameter int WIDTH      = 64,
  parameter int INC        = 1,
  parameter int STALL_MASK = 0
) (
  input  logic             clk,
  input  logic             rst_n,
  input  logic             in_valid,
  output logic             in_ready,
  input  logic [WIDTH-1:0] in_data,
  output logic             out_valid,
  input  logic             out_ready,
  output logic [WIDTH-1:0] out_data,
  output logic             busy
);
  if (WIDTH < 1 || WIDTH > 1024 || INC < 0 || STALL_MASK < 0 || STALL_MASK > 65535) begin : g_bad
    $fatal(1, "stream_add: WIDTH must be 1..1024, INC >= 0, STALL_MASK 0..65535");
  end

  logic [WIDTH-1:0] mem [2];
  logic             rd_ptr, wr_ptr;
  logic [1:0]       count;
  logic [15:0]      lfsr;
  logic             stall, push, pop;

  assign stall     = STALL_MASK != 0 && (lfsr & 16'(STALL_MASK)) == 16'(STALL_MASK);
  assign in_ready  = count != 2'd2 && !stall;
  assign out_valid = count != 2'd0;
  assign out_data  = mem[rd_ptr] + WIDTH'(INC);
  assign busy      = out_valid;
  assign push      = in_valid && in_ready;
  assign pop       = out_valid && out_ready;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      rd_ptr <= 1'b0;
      wr_ptr <= 1'b0;
      count  <= 2'd0;
      lfsr   <= 16'd1;
    end else begin
      lfsr <= {lfsr[14:0], lfsr[15] ^ lfsr[13] ^ lfsr[12] ^ lfsr[10]};
      if (push) begin
        mem[wr_ptr] <= in_data;
        wr_ptr      <= !wr_ptr;
      end
      if (pop) rd_ptr <= !rd_ptr;
      count <= count + {1'b0, push} - {1'b0, pop};
    end
  end
endmodule

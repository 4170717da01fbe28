// Vector add through a memory master port: DST[w] = SRC_A[w] + SRC_B[w] for LEN words of
// DATA_W bits, added as DATA_W/32 independent int32 lanes (wrapping).
//
// A small test block for the register, memory-master and interrupt bridges. It issues one
// memory request at a time and waits for its response, so its cycle count grows with the
// memory latency: per word, three requests (read A, read B, write DST).
//
// Memory port: mem_req_valid/mem_req_ready handshake with mem_req_we, mem_req_addr (byte
// address, DATA_W/8 bytes per access) and mem_req_wdata; every request (read or write)
// gets one response cycle, mem_rsp_valid, with mem_rsp_rdata for a read.
//
// Register port, req/ack (as systolic_array.sv). Registers (32 bit, byte addresses):
//  0x00 CTRL   W  bit 0: start (ignored while busy)
//  0x04 STATUS R  bit 0 busy, bit 1 done
//  0x08 SRC_A  RW byte address of the first A word
//  0x0C SRC_B  RW byte address of the first B word
//  0x10 DST    RW byte address of the first result word
//  0x14 LEN    RW number of words
//  0x18 CYCLES R  clock cycles of the last job, from the start write to done
// done stays high from the end of a job to the next start.
module mem_vadd #(
  parameter int DATA_W = 32
) (
  input  logic              clk,
  input  logic              rst_n,
  input  logic              csr_req,
  input  logic              csr_we,
  input  logic [7:0]        csr_addr,
  input  logic [31:0]       csr_wdata,
  output logic              csr_ack,
  output logic [31:0]       csr_rdata,
  output logic              mem_req_valid,
  input  logic              mem_req_ready,
  output logic              mem_req_we,
  output logic [31:0]       mem_req_addr,
  output logic [DATA_W-1:0] mem_req_wdata,
  input  logic              mem_rsp_valid,
  input  logic [DATA_W-1:0] mem_rsp_rdata,
  output logic              busy,
  output logic              done
);
  if (DATA_W < 32 || DATA_W > 1024 || DATA_W % 32 != 0) begin : g_bad
    $fatal(1, "mem_vadd: DATA_W must be a multiple of 32 in 32..1024");
  end

  localparam logic [31:0] WORD_BYTES = 32'(DATA_W / 8);

  typedef enum logic [2:0] {S_IDLE, S_RD_A, S_WAIT_A, S_RD_B, S_WAIT_B, S_WR, S_WAIT_W} state_t;
  state_t state;

  logic [31:0]       src_a, src_b, dst, len, cycles_q, word;
  logic [DATA_W-1:0] a_q, sum;
  logic              csr_access, start, req_fire;

  assign csr_access = csr_req && !csr_ack;
  assign start      = csr_access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && state == S_IDLE;
  assign busy       = state != S_IDLE;
  assign req_fire   = mem_req_valid && mem_req_ready;

  always_comb begin
    for (int l = 0; l < DATA_W / 32; l++) sum[32*l +: 32] = a_q[32*l +: 32] + mem_rsp_rdata[32*l +: 32];
  end

  assign mem_req_valid = state == S_RD_A || state == S_RD_B || state == S_WR;
  assign mem_req_we    = state == S_WR;
  assign mem_req_addr  = (state == S_RD_A ? src_a : state == S_RD_B ? src_b : dst) + word * WORD_BYTES;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      csr_ack   <= 1'b0;
      csr_rdata <= '0;
      src_a     <= '0;
      src_b     <= '0;
      dst       <= '0;
      len       <= '0;
    end else begin
      csr_ack <= csr_access;
      if (csr_access && csr_we) begin
        case (csr_addr)
          8'h08:   src_a <= csr_wdata;
          8'h0C:   src_b <= csr_wdata;
          8'h10:   dst   <= csr_wdata;
          8'h14:   len   <= csr_wdata;
          default: ;
        endcase
      end
      if (csr_access && !csr_we) begin
        case (csr_addr)
          8'h04:   csr_rdata <= {30'd0, done, busy};
          8'h08:   csr_rdata <= src_a;
          8'h0C:   csr_rdata <= src_b;
          8'h10:   csr_rdata <= dst;
          8'h14:   csr_rdata <= len;
          8'h18:   csr_rdata <= cycles_q;
          default: csr_rdata <= '0;
        endcase
      end
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state         <= S_IDLE;
      done          <= 1'b0;
      word          <= '0;
      cycles_q      <= '0;
      a_q           <= '0;
      mem_req_wdata <= '0;
    end else begin
      if (state != S_IDLE) cycles_q <= cycles_q + 32'd1;
      case (state)
        S_IDLE: begin
          if (start) begin
            word     <= '0;
            cycles_q <= '0;
            done     <= 1'b0;
            if (len == 32'd0) done <= 1'b1;
            else              state <= S_RD_A;
          end
        end
        S_RD_A:   if (req_fire) state <= S_WAIT_A;
        S_WAIT_A: begin
          if (mem_rsp_valid) begin
            a_q   <= mem_rsp_rdata;
            state <= S_RD_B;
          end
        end
        S_RD_B:   if (req_fire) state <= S_WAIT_B;
        S_WAIT_B: begin
          if (mem_rsp_valid) begin
            mem_req_wdata <= sum;
            state         <= S_WR;
          end
        end
        S_WR:     if (req_fire) state <= S_WAIT_W;
        S_WAIT_W: begin
          if (mem_rsp_valid) begin
            if (word + 32'd1 == len) begin
              state <= S_IDLE;
              done  <= 1'b1;
            end else begin
              word  <= word + 32'd1;
              state <= S_RD_A;
            end
          end
        end
        default: state <= S_IDLE;
      endcase
    end
  end
endmodule

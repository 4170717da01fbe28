// EIE: the compressed sparse fully-connected engine of Han et al., "EIE: Efficient
// Inference Engine on Compressed Deep Neural Network" (ISCA 2016): PES processing
// elements (eie_pe.sv: activation queue, pointer and sparse-matrix memories, codebook
// decode, MAC, accumulators) fed by the activation broadcast (eie_lnzd.sv: the
// activation buffer and the leading-nonzero detector). b = W a with W (rows x cols) held
// compressed in the PEs: row i belongs to PE i % PES; a column's entries in a PE are CSC
// runs of 8-bit entries (4-bit codebook index, 4-bit relative row index), decoded
// through a 16-entry codebook of int16 weights; activations int16, products and
// accumulators int32 (wrapping). The RTL twin of cosim.accel.eie (numpy and TLM twins).
//
// Interfaces (synchronous to clk; rst_n active-low synchronous reset):
//  register port, req/ack (as rtl/systolic/systolic_array.sv): hold csr_req until csr_ack.
//  load stream ld (64-bit beats, never back-pressured): packets of one header beat and
//      `count` data beats. Header: [1:0] target (0 pointers, 1 matrix words, 2 codebook),
//      [15:8] PE (255: every PE), [39:16] start address, [63:40] count.
//        pointers: a data beat holds ptr[a] in [31:0] and ptr[a+1] in [63:32]; a += 2.
//                  Pointers are entry addresses; there are ACT_DEPTH+1 of them per PE.
//        matrix:   a data beat is matrix word a (64 bits); a += 1.
//        codebook: a data beat holds codebook entries a..a+3 (int16, a multiple of 4).
//      A bad target, PE or address sets STATUS.error and drops the data.
//  activation stream act (256-bit beats: 16 int16 activations), never back-pressured:
//      a beat is written to activation group ACT_WPTR, which then advances.
//  result stream out (32*PES bits): drain beat r holds accumulator r of PE k in lane k,
//      i.e. outputs r*PES .. r*PES+PES-1, with ReLU if CONFIG.relu.
//  busy: a job runs. done: the last job finished (cleared by the next start).
//
// A job (write 1 to CTRL): broadcast the activations of columns [COL_START, COL_START +
// COL_COUNT) (the nonzero ones with CONFIG.skip), let every PE process them, then, with
// CONFIG.drain, stream ROWS result beats. CONFIG.clear_acc zeroes the accumulators first
// (without it a job adds to them: column blocks). CONFIG.dense: dense mode (see
// eie_pe.sv), entries from DENSE_BASE. A job whose range leaves the buffer, or whose
// ROWS exceeds ROWS_MAX, is refused with STATUS.error.
//
// Registers (32 bit, byte addresses; others read 0 and ignore writes; the standard
// engine header, then EIE's from 0x10):
//  0x00 CTRL       W  bit 0 start (ignored while busy), bit 1 clear counters, bit 2 clear error
//  0x04 STATUS     R  bit 0 busy, bit 1 done, bit 2 error (sticky until CTRL bit 2)
//  0x08 CYCLES     R  clock cycles of the last job, start write to done
//  0x0C INFO       R  PES [7:0], FIFO_DEPTH [15:8], version [31:24]
//  0x10 CONFIG     RW bit 0 skip zeros, 1 dense, 2 relu, 3 clear_acc, 4 drain,
//                     [15:8] queue limit (1..FIFO_DEPTH; 0 or more: FIFO_DEPTH)
//  0x14 COL_START  RW   0x18 COL_COUNT RW   0x1C ROWS RW (local rows per PE)
//  0x20 DENSE_BASE RW entry address (4-bit units) of the first dense entry
//  0x24 ACT_WPTR   RW activation group the next act beat is written to
//  0x28 MAT_WORDS, 0x2C ACT_DEPTH, 0x30 ROWS_MAX: capacities (R)
//  event counters (R, since reset or CTRL bit 1; wrap at 2**32):
//  0x40 busy cycles   0x44 activations broadcast   0x48 entries (MACs)
//  0x4C entries with weight 0 (padding)   0x50 matrix word reads   0x54 pointer reads
//  0x58 activation group reads   0x5C broadcast stall cycles   0x60 load data beats
//  0x64 result beats   0x68 activation beats written
//  0x80 + 4k: work of PE k (cycles: max(1, entries) per activation taken)
module eie #(
  parameter int PES        = 8,
  parameter int FIFO_DEPTH = 8,
  parameter int ACT_DEPTH  = 2048,
  parameter int MAT_WORDS  = 8192,
  parameter int ROWS_MAX   = 1024
) (
  input  logic                 clk,
  input  logic                 rst_n,
  input  logic                 csr_req,
  input  logic                 csr_we,
  input  logic [7:0]           csr_addr,
  input  logic [31:0]          csr_wdata,
  output logic                 csr_ack,
  output logic [31:0]          csr_rdata,
  input  logic                 ld_valid,
  output logic                 ld_ready,
  input  logic [63:0]          ld_data,
  input  logic                 act_valid,
  output logic                 act_ready,
  input  logic [255:0]         act_data,
  output logic                 out_valid,
  input  logic                 out_ready,
  output logic [32*PES-1:0]    out_data,
  output logic                 busy,
  output logic                 done
);
  localparam logic [7:0] VERSION = 8'd1;
  localparam int COL_W   = $clog2(ACT_DEPTH);
  localparam int GROUPS  = ACT_DEPTH / 16;
  localparam int G_W     = GROUPS > 1 ? $clog2(GROUPS) : 1;
  localparam int WADDR_W = $clog2(MAT_WORDS);
  localparam int EADDR_W = WADDR_W + 5;
  localparam int ROW_W   = $clog2(ROWS_MAX);
  localparam int FCNT_W  = $clog2(FIFO_DEPTH + 1);

  if (PES < 1 || PES > 32) begin : g_bad_pes
    $fatal(1, "eie: PES must be 1..32 (result beats of at most 1024 bits)");
  end
  if (MAT_WORDS < 2 || MAT_WORDS > (1 << 20)) begin : g_bad_mat
    $fatal(1, "eie: MAT_WORDS must be 2..2**20");
  end

  typedef enum logic [1:0] {S_IDLE, S_RUN, S_DRAIN} state_t;
  state_t state;

  // ---------------------------------------------------------------- registers
  logic [31:0]     cfg, col_start_r, col_count_r, rows_r, dense_base_r;
  logic [COL_W:0]  col_start, col_count;
  logic [ROW_W:0]  rows;
  logic [EADDR_W-1:0] dense_base;
  logic [31:0]     act_wptr;
  logic [31:0]     cycles_q;
  logic            err;
  // CONFIG fields latched at start
  logic            job_dense, job_relu, job_drain;
  logic [FCNT_W-1:0] limit;
  logic [63:0]     dense_end;
  logic            csr_access, ctrl_write, start_req, range_ok, start;

  assign csr_access = csr_req && !csr_ack;
  assign ctrl_write = csr_access && csr_we && csr_addr == 8'h00;
  assign start_req  = ctrl_write && csr_wdata[0] && state == S_IDLE;
  assign dense_end  = 64'(dense_base_r) + 64'(col_count_r) * 64'(rows_r);
  assign range_ok   = 64'(col_start_r) + 64'(col_count_r) <= 64'(ACT_DEPTH)
                      && rows_r <= 32'(ROWS_MAX)
                      && (!cfg[1] || dense_end <= 64'(MAT_WORDS) * 64'd16);
  assign start      = start_req && range_ok;
  assign busy       = state != S_IDLE;
  // In range whenever a job runs (range_ok); the truncations drop only zero bits.
  assign col_start  = (COL_W+1)'(col_start_r);
  assign col_count  = (COL_W+1)'(col_count_r);
  assign rows       = (ROW_W+1)'(rows_r);
  assign dense_base = EADDR_W'(dense_base_r);

  // ---------------------------------------------------------------- events and counters
  logic [PES-1:0] ev_issue, ev_word, ev_pop, ev_empty, ev_zero_w, pe_idle, pe_room;
  logic           lz_busy, lz_read, lz_stall, bc_valid;
  logic [COL_W:0] bc_col;
  logic signed [15:0] bc_val;
  logic           ld_fire, act_fire, out_fire, ld_write;
  logic [31:0]    c_busy, c_acts, c_entries, c_zero_w, c_words, c_ptr, c_act_reads, c_stall,
                  c_load, c_out, c_act_writes;
  logic [31:0]    work [PES];
  logic [31:0]    work_rd;

  always_comb begin
    work_rd = '0;
    for (int k = 0; k < PES; k++) begin
      if (csr_addr[6:2] == 5'(k)) work_rd = work[k];
    end
  end

  function automatic logic [31:0] ones(logic [PES-1:0] v);
    logic [31:0] n = '0;
    for (int i = 0; i < PES; i++) n += 32'(v[i]);
    return n;
  endfunction

  always_ff @(posedge clk) begin
    if (!rst_n || (ctrl_write && csr_wdata[1])) begin
      c_busy <= '0; c_acts <= '0; c_entries <= '0; c_zero_w <= '0; c_words <= '0;
      c_ptr <= '0; c_act_reads <= '0; c_stall <= '0; c_load <= '0; c_out <= '0;
      c_act_writes <= '0;
      for (int k = 0; k < PES; k++) work[k] <= '0;
    end else begin
      if (busy)     c_busy <= c_busy + 32'd1;
      if (bc_valid) c_acts <= c_acts + 32'd1;
      c_entries <= c_entries + ones(ev_issue);
      c_zero_w  <= c_zero_w + ones(ev_zero_w);
      c_words   <= c_words + ones(ev_word);
      if (!job_dense) c_ptr <= c_ptr + 32'd2 * ones(ev_pop);
      if (lz_read)  c_act_reads <= c_act_reads + 32'd1;
      if (lz_stall) c_stall <= c_stall + 32'd1;
      if (ld_write) c_load <= c_load + 32'd1;
      if (out_fire) c_out <= c_out + 32'd1;
      if (act_fire) c_act_writes <= c_act_writes + 32'd1;
      for (int k = 0; k < PES; k++) work[k] <= work[k] + 32'(ev_issue[k]) + 32'(ev_empty[k]);
    end
  end

  // ---------------------------------------------------------------- register port
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      csr_ack    <= 1'b0;
      csr_rdata  <= '0;
      cfg          <= 32'h0000_0001;
      col_start_r  <= '0;
      col_count_r  <= '0;
      rows_r       <= '0;
      dense_base_r <= '0;
    end else begin
      csr_ack <= csr_access;
      if (csr_access && csr_we) begin
        case (csr_addr)
          8'h10: cfg          <= {16'd0, csr_wdata[15:0]};
          8'h14: col_start_r  <= csr_wdata;
          8'h18: col_count_r  <= csr_wdata;
          8'h1C: rows_r       <= csr_wdata;
          8'h20: dense_base_r <= csr_wdata;
          default: ;
        endcase
      end
      if (csr_access && !csr_we) begin
        if (csr_addr >= 8'h80) begin
          csr_rdata <= work_rd;
        end else begin
          case (csr_addr)
            8'h04:   csr_rdata <= {29'd0, err, done, busy};
            8'h08:   csr_rdata <= cycles_q;
            8'h0C:   csr_rdata <= {VERSION, 8'd0, 8'(FIFO_DEPTH), 8'(PES)};
            8'h10:   csr_rdata <= cfg;
            8'h14:   csr_rdata <= col_start_r;
            8'h18:   csr_rdata <= col_count_r;
            8'h1C:   csr_rdata <= rows_r;
            8'h20:   csr_rdata <= dense_base_r;
            8'h24:   csr_rdata <= act_wptr;
            8'h28:   csr_rdata <= 32'(MAT_WORDS);
            8'h2C:   csr_rdata <= 32'(ACT_DEPTH);
            8'h30:   csr_rdata <= 32'(ROWS_MAX);
            8'h40:   csr_rdata <= c_busy;
            8'h44:   csr_rdata <= c_acts;
            8'h48:   csr_rdata <= c_entries;
            8'h4C:   csr_rdata <= c_zero_w;
            8'h50:   csr_rdata <= c_words;
            8'h54:   csr_rdata <= c_ptr;
            8'h58:   csr_rdata <= c_act_reads;
            8'h5C:   csr_rdata <= c_stall;
            8'h60:   csr_rdata <= c_load;
            8'h64:   csr_rdata <= c_out;
            8'h68:   csr_rdata <= c_act_writes;
            default: csr_rdata <= '0;
          endcase
        end
      end
    end
  end

  // ---------------------------------------------------------------- load stream decoder
  logic        ld_in_data, ld_bad;
  logic [1:0]  ld_target;
  logic [7:0]  ld_pe;
  logic [23:0] ld_addr, ld_left;
  logic        ld_ptr, ld_mat, ld_cb, ld_hi_en;
  logic [PES-1:0] ld_sel;

  assign ld_ready = 1'b1;
  assign ld_fire  = ld_valid && ld_ready;
  assign ld_ptr   = ld_fire && ld_in_data && !ld_bad && ld_target == 2'd0
                    && 32'(ld_addr) <= ACT_DEPTH;
  assign ld_hi_en = 32'(ld_addr) + 1 <= ACT_DEPTH;
  assign ld_mat   = ld_fire && ld_in_data && !ld_bad && ld_target == 2'd1
                    && 32'(ld_addr) < MAT_WORDS;
  assign ld_cb    = ld_fire && ld_in_data && !ld_bad && ld_target == 2'd2
                    && ld_addr < 24'd16 && ld_addr[1:0] == 2'd0;
  assign ld_write = ld_ptr || ld_mat || ld_cb;
  for (genvar k = 0; k < PES; k++) begin : g_sel
    assign ld_sel[k] = ld_pe == 8'd255 || ld_pe == 8'(k);
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ld_in_data <= 1'b0;
      ld_bad     <= 1'b0;
      ld_target  <= '0;
      ld_pe      <= '0;
      ld_addr    <= '0;
      ld_left    <= '0;
    end else if (ld_fire) begin
      if (!ld_in_data) begin
        ld_target  <= ld_data[1:0];
        ld_pe      <= ld_data[15:8];
        ld_addr    <= ld_data[39:16];
        ld_left    <= ld_data[63:40];
        ld_in_data <= ld_data[63:40] != 24'd0;
        ld_bad     <= ld_data[1:0] == 2'd3 || (ld_data[15:8] != 8'd255 && 32'(ld_data[15:8]) >= PES);
      end else begin
        ld_addr    <= ld_addr + (ld_target == 2'd0 ? 24'd2 : ld_target == 2'd2 ? 24'd4 : 24'd1);
        ld_left    <= ld_left - 24'd1;
        ld_in_data <= ld_left != 24'd1;
      end
    end
  end

  // ---------------------------------------------------------------- activation stream
  assign act_ready = 1'b1;
  assign act_fire  = act_valid && act_ready;

  // ---------------------------------------------------------------- errors
  always_ff @(posedge clk) begin
    if (!rst_n || (ctrl_write && csr_wdata[2])) begin
      err <= 1'b0;
    end else begin
      if (start_req && !range_ok) err <= 1'b1;
      if (ld_fire && !ld_in_data && (ld_data[1:0] == 2'd3
          || (ld_data[15:8] != 8'd255 && 32'(ld_data[15:8]) >= PES))) err <= 1'b1;
      if (ld_fire && ld_in_data && !ld_bad && !ld_write) err <= 1'b1;
      if (act_fire && 32'(act_wptr) >= GROUPS) err <= 1'b1;
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) act_wptr <= '0;
    else if (csr_access && csr_we && csr_addr == 8'h24) act_wptr <= csr_wdata;
    else if (act_fire) act_wptr <= act_wptr + 32'd1;
  end

  // ---------------------------------------------------------------- broadcast
  logic all_room;
  assign all_room = &pe_room;

  eie_lnzd #(.ACT_DEPTH(ACT_DEPTH)) u_lnzd (
    .clk, .rst_n,
    .wr_en    (act_fire && 32'(act_wptr) < GROUPS),
    .wr_group (G_W'(act_wptr)),
    .wr_data  (act_data),
    .start,
    .col_start,
    .col_count,
    .skip     (cfg[0]),
    .room     (all_room),
    .bc_valid,
    .bc_col,
    .bc_val,
    .busy     (lz_busy),
    .ev_read  (lz_read),
    .ev_stall (lz_stall)
  );

  // ---------------------------------------------------------------- processing elements
  logic [ROW_W:0]        drain_r;
  logic signed [31:0]    pe_rd [PES];

  for (genvar k = 0; k < PES; k++) begin : g_pe
    eie_pe #(
      .FIFO_DEPTH(FIFO_DEPTH), .ACT_DEPTH(ACT_DEPTH), .MAT_WORDS(MAT_WORDS), .ROWS_MAX(ROWS_MAX)
    ) u_pe (
      .clk, .rst_n,
      .dense      (job_dense),
      .col_start,
      .rows,
      .dense_base,
      .fifo_limit (limit),
      .job_start  (start),
      .acc_clear  (start && cfg[3]),
      .bc_valid,
      .bc_col,
      .bc_val,
      .room       (pe_room[k]),
      .ptr_we     (ld_ptr && ld_sel[k]),
      .ptr_addr   ((COL_W+1)'(ld_addr)),
      .ptr_lo     (EADDR_W'(ld_data[31:0])),
      .ptr_hi     (EADDR_W'(ld_data[63:32])),
      .ptr_hi_en  (ld_hi_en),
      .mat_we     (ld_mat && ld_sel[k]),
      .mat_addr   (WADDR_W'(ld_addr)),
      .mat_data   (ld_data),
      .cb_we      (ld_cb && ld_sel[k]),
      .cb_addr    (ld_addr[3:2]),
      .cb_data    (ld_data),
      .rd_row     (ROW_W'(drain_r)),
      .rd_data    (pe_rd[k]),
      .idle       (pe_idle[k]),
      .ev_issue   (ev_issue[k]),
      .ev_word    (ev_word[k]),
      .ev_pop     (ev_pop[k]),
      .ev_empty   (ev_empty[k]),
      .ev_zero_w  (ev_zero_w[k])
    );
    assign out_data[32*k +: 32] = (job_relu && pe_rd[k] < 0) ? 32'd0 : pe_rd[k];
  end

  // ---------------------------------------------------------------- job sequencing
  assign out_valid = state == S_DRAIN;
  assign out_fire  = out_valid && out_ready;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state    <= S_IDLE;
      done     <= 1'b0;
      cycles_q <= '0;
      job_dense <= 1'b0;
      job_relu  <= 1'b0;
      job_drain <= 1'b0;
      limit     <= FCNT_W'(FIFO_DEPTH);
      drain_r   <= '0;
    end else begin
      if (state != S_IDLE) cycles_q <= cycles_q + 32'd1;
      case (state)
        S_IDLE: begin
          if (start) begin
            job_dense <= cfg[1];
            job_relu  <= cfg[2];
            job_drain <= cfg[4];
            limit     <= (cfg[15:8] == 8'd0 || 32'(cfg[15:8]) > FIFO_DEPTH)
                         ? FCNT_W'(FIFO_DEPTH) : FCNT_W'(cfg[15:8]);
            cycles_q <= '0;
            done     <= 1'b0;
            drain_r  <= '0;
            state    <= S_RUN;
          end
        end
        S_RUN: begin
          if (!lz_busy && &pe_idle) begin
            if (job_drain && rows != 0) begin
              state <= S_DRAIN;
            end else begin
              state <= S_IDLE;
              done  <= 1'b1;
            end
          end
        end
        S_DRAIN: begin
          if (out_fire) begin
            drain_r <= drain_r + 1'b1;
            if (drain_r + 1'b1 == rows) begin
              state <= S_IDLE;
              done  <= 1'b1;
            end
          end
        end
        default: state <= S_IDLE;
      endcase
    end
  end
endmodule

// One EIE processing element (Han et al., "EIE: Efficient Inference Engine on Compressed
// Deep Neural Network", ISCA 2016, Section IV): activation queue, pointer read unit (two
// pointer banks), sparse-matrix read unit (64-bit words of 8-bit entries), codebook
// decode, multiply-accumulate into the destination accumulators.
//
// The PE owns output rows k, k+PES, k+2*PES, ... of the layer (rows interleaved over PEs);
// "row" below is the local row index. Column j of its slice of the weight matrix is a
// CSC run of entries from ptr[j] to ptr[j+1]-1. An entry (sparse mode) is one byte:
// bits [3:0] the 4-bit codebook index (index 0 decodes to the weight 0), bits [7:4] the
// relative row index z = zeros since the previous entry of the column (since row 0 for
// the first), so row = z for the first entry and row_prev + z + 1 after it. A gap of more
// than 15 zeros is bridged with padding entries (index 0, z = 15), as in the paper.
// Entry e lives in byte e%8 of word e/8.
// Dense mode (the "same layer dense" baseline): entries are 4-bit codebook indices of
// every row, 16 per word (entry e in nibble e%16 of word e/16); column j's entries start
// at dense_base + (j - col_start) * rows and cover local rows 0 .. rows-1.
//
// Pipeline, one entry per cycle:
//   P  pop the head of the activation queue when the E stage is free next cycle and read
//      its column's pointers (both banks in one cycle: j and j+1 differ in parity) or
//      compute the dense range;
//   E  issue entries ptr[j] .. ptr[j+1]-1, one per cycle, reading a matrix word only when
//      the entry lies in another word than the one held (8 or 16 entries per read);
//   M  decode the entry, look up the codebook, multiply with the activation and
//      accumulate (32-bit, wrapping) into the row's accumulator.
// An activation costs max(1, entries) cycles of the PE (`work`): an empty column still
// takes its pointer-read cycle.
//
// Activation queue: FIFO_DEPTH entries; `room` is high while it holds fewer than
// fifo_limit (1..FIFO_DEPTH) entries, so the broadcaster may push in this cycle. A pushed
// activation can be popped from the next cycle on.
module eie_pe #(
  parameter int FIFO_DEPTH = 8,
  parameter int ACT_DEPTH  = 2048,  // columns the pointer memory covers (power of two)
  parameter int MAT_WORDS  = 8192,  // 64-bit words of the sparse-matrix memory
  parameter int ROWS_MAX   = 1024,  // accumulators (power of two)
  // derived widths
  parameter int COL_W   = $clog2(ACT_DEPTH),
  parameter int WADDR_W = $clog2(MAT_WORDS),
  parameter int EADDR_W = WADDR_W + 5,  // entry addresses (4-bit dense units), end inclusive
  parameter int ROW_W   = $clog2(ROWS_MAX),
  parameter int FCNT_W  = $clog2(FIFO_DEPTH + 1),
  parameter int QP_W    = FIFO_DEPTH > 1 ? $clog2(FIFO_DEPTH) : 1,
  parameter int PBANK   = ACT_DEPTH / 2 + 1,
  parameter int PADDR_W = $clog2(PBANK)
) (
  input  logic                      clk,
  input  logic                      rst_n,
  // job configuration (stable while a job runs)
  input  logic                      dense,
  input  logic [COL_W:0]            col_start,
  input  logic [ROW_W:0]            rows,
  input  logic [EADDR_W-1:0]        dense_base,
  input  logic [FCNT_W-1:0]         fifo_limit,
  input  logic                      job_start,   // a job starts: forget the held matrix word
  input  logic                      acc_clear,   // a job starts that clears the accumulators
  // activation broadcast
  input  logic                      bc_valid,
  input  logic [COL_W:0]            bc_col,
  input  logic signed [15:0]        bc_val,
  output logic                      room,
  // memory writes from the load stream
  input  logic                      ptr_we,      // pointers p and p+1 (one per bank)
  input  logic [COL_W:0]            ptr_addr,
  input  logic [EADDR_W-1:0]        ptr_lo,
  input  logic [EADDR_W-1:0]        ptr_hi,
  input  logic                      ptr_hi_en,
  input  logic                      mat_we,
  input  logic [WADDR_W-1:0]        mat_addr,
  input  logic [63:0]               mat_data,
  input  logic                      cb_we,       // codebook entries 4a .. 4a+3
  input  logic [1:0]                cb_addr,
  input  logic [63:0]               cb_data,
  // accumulator read port (drain)
  input  logic [ROW_W-1:0]          rd_row,
  output logic signed [31:0]        rd_data,
  // status and event pulses (for the counters)
  output logic                      idle,
  output logic                      ev_issue,     // an entry was issued (one MAC follows)
  output logic                      ev_word,      // a matrix word was read
  output logic                      ev_pop,       // an activation was taken (pointer read)
  output logic                      ev_empty,     // ... whose column has no entries here
  output logic                      ev_zero_w     // a decoded weight was 0 (padding)
);
  if (FIFO_DEPTH < 1 || FIFO_DEPTH > 64) begin : g_bad_fifo
    $fatal(1, "eie_pe: FIFO_DEPTH must be 1..64");
  end
  if (ACT_DEPTH < 16 || (ACT_DEPTH & (ACT_DEPTH - 1)) != 0) begin : g_bad_act
    $fatal(1, "eie_pe: ACT_DEPTH must be a power of two >= 16");
  end
  if ((ROWS_MAX & (ROWS_MAX - 1)) != 0 || ROWS_MAX < 16) begin : g_bad_rows
    $fatal(1, "eie_pe: ROWS_MAX must be a power of two >= 16");
  end

  // ------------------------------------------------------------ activation queue
  logic [COL_W+16:0]  q_mem [FIFO_DEPTH];    // {col, val}
  logic [FCNT_W-1:0]  q_count;
  logic [QP_W-1:0]    q_rd, q_wr;
  logic               pop;
  logic [COL_W:0]     head_col;
  logic signed [15:0] head_val;

  assign room     = q_count < fifo_limit;
  assign head_col = q_mem[q_rd][COL_W+16:16];
  assign head_val = q_mem[q_rd][15:0];

  function automatic logic [QP_W-1:0] q_next(logic [QP_W-1:0] p);
    if (32'(p) == FIFO_DEPTH - 1) return '0;
    return p + 1'b1;
  endfunction

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      q_count <= '0;
      q_rd    <= '0;
      q_wr    <= '0;
    end else begin
      if (bc_valid) begin
        q_mem[q_wr] <= {bc_col, bc_val};
        q_wr        <= q_next(q_wr);
      end
      if (pop) q_rd <= q_next(q_rd);
      q_count <= q_count + FCNT_W'(bc_valid) - FCNT_W'(pop);
    end
  end

  // ------------------------------------------------------------ pointer banks
  // Bank b holds the pointers of the columns of parity b: ptr[2i+b] at row i.
  logic [EADDR_W-1:0] ptr_bank0 [PBANK];
  logic [EADDR_W-1:0] ptr_bank1 [PBANK];
  logic [COL_W:0]     ptr_hi_addr;
  assign ptr_hi_addr = ptr_addr + 1'b1;

  always_ff @(posedge clk) begin
    if (ptr_we) begin
      if (ptr_addr[0]) ptr_bank1[PADDR_W'(ptr_addr >> 1)] <= ptr_lo;
      else             ptr_bank0[PADDR_W'(ptr_addr >> 1)] <= ptr_lo;
      if (ptr_hi_en) begin
        if (ptr_hi_addr[0]) ptr_bank1[PADDR_W'(ptr_hi_addr >> 1)] <= ptr_hi;
        else                ptr_bank0[PADDR_W'(ptr_hi_addr >> 1)] <= ptr_hi;
      end
    end
  end

  // ------------------------------------------------------------ P stage: range of the head
  logic [EADDR_W-1:0] p_start, p_end;
  logic [COL_W:0]     head_next;
  logic [COL_W:0]     dense_col;
  logic [EADDR_W-1:0] dense_off;
  assign head_next = head_col + 1'b1;
  assign dense_col = head_col - col_start;
  // (j - col_start) * rows: at most ACT_DEPTH * ROWS_MAX entries, within EADDR_W when the
  // driver keeps the block inside the memory (checked by the driver).
  assign dense_off = EADDR_W'(dense_col) * EADDR_W'(rows);

  always_comb begin
    if (dense) begin
      p_start = dense_base + dense_off;
      p_end   = dense_base + dense_off + EADDR_W'(rows);
    end else if (head_col[0]) begin
      p_start = ptr_bank1[PADDR_W'(head_col >> 1)];
      p_end   = ptr_bank0[PADDR_W'(head_next >> 1)];
    end else begin
      p_start = ptr_bank0[PADDR_W'(head_col >> 1)];
      p_end   = ptr_bank1[PADDR_W'(head_next >> 1)];
    end
  end

  // ------------------------------------------------------------ E stage: entry issue
  logic [EADDR_W-1:0] e_cur, e_end;
  logic signed [15:0] e_val;
  logic               e_first;
  logic               e_has, e_last;
  logic [WADDR_W-1:0] e_word;
  logic               wb_valid;     // m_word holds matrix word wb_addr
  logic [WADDR_W-1:0] wb_addr;
  logic               need_read;

  assign e_has     = e_cur != e_end;
  assign e_last    = e_has && (e_cur + 1'b1 == e_end);
  assign pop       = q_count != 0 && (!e_has || e_last);
  assign e_word    = dense ? WADDR_W'(e_cur >> 4) : WADDR_W'(e_cur >> 3);
  assign need_read = !wb_valid || wb_addr != e_word;

  assign ev_issue  = e_has;
  assign ev_word   = e_has && need_read;
  assign ev_pop    = pop;
  assign ev_empty  = pop && p_start == p_end;

  // ------------------------------------------------------------ M stage registers
  logic               m_valid;
  logic [63:0]        m_word;
  logic [3:0]         m_sub;
  logic signed [15:0] m_val;
  logic               m_first;

  logic [63:0] mat_mem [MAT_WORDS];

  always_ff @(posedge clk) begin
    if (mat_we) mat_mem[mat_addr] <= mat_data;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      e_cur    <= '0;
      e_end    <= '0;
      e_val    <= '0;
      e_first  <= 1'b0;
      wb_valid <= 1'b0;
      wb_addr  <= '0;
      m_valid  <= 1'b0;
      m_word   <= '0;
      m_sub    <= '0;
      m_val    <= '0;
      m_first  <= 1'b0;
    end else begin
      m_valid <= e_has;
      if (e_has) begin
        if (need_read) begin
          m_word   <= mat_mem[e_word];
          wb_addr  <= e_word;
          wb_valid <= 1'b1;
        end
        m_sub   <= dense ? e_cur[3:0] : {1'b0, e_cur[2:0]};
        m_val   <= e_val;
        m_first <= e_first;
        e_cur   <= e_cur + 1'b1;
        e_first <= 1'b0;
      end
      if (pop) begin
        e_cur   <= p_start;
        e_end   <= p_end;
        e_val   <= head_val;
        e_first <= 1'b1;
      end
      // A write to the held word, or a new job (a new block may reuse the addresses),
      // makes the held copy stale.
      if (job_start || (mat_we && wb_valid && mat_addr == wb_addr && !(e_has && need_read)))
        wb_valid <= 1'b0;
    end
  end

  // ------------------------------------------------------------ M stage: decode and MAC
  logic signed [15:0] codebook [16];
  logic [7:0]         m_entry;
  logic [3:0]         m_idx, m_z;
  logic [ROW_W:0]     row_prev, m_row;
  logic signed [15:0] m_w;
  logic signed [31:0] m_prod;

  logic signed [31:0] acc   [ROWS_MAX];
  logic [ROWS_MAX-1:0] acc_v;            // accumulator holds a value since the last clear

  always_comb begin
    m_entry = dense ? {4'd0, m_word[4*m_sub +: 4]} : m_word[8*m_sub[2:0] +: 8];
    m_idx   = m_entry[3:0];
    m_z     = m_entry[7:4];
    m_row   = m_first ? (ROW_W+1)'(m_z) : row_prev + (ROW_W+1)'(m_z) + 1'b1;
    m_w     = codebook[m_idx];
    m_prod  = 32'(m_w) * 32'(m_val);
  end
  assign ev_zero_w = m_valid && m_idx == 4'd0;

  always_ff @(posedge clk) begin
    if (cb_we) begin
      for (int i = 0; i < 4; i++) codebook[{cb_addr, 2'(i)}] <= cb_data[16*i +: 16];
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      acc_v    <= '0;
      row_prev <= '0;
    end else if (acc_clear) begin
      acc_v <= '0;
    end else if (m_valid) begin
      acc[ROW_W'(m_row)]   <= (acc_v[ROW_W'(m_row)] ? acc[ROW_W'(m_row)] : 32'sd0) + m_prod;
      acc_v[ROW_W'(m_row)] <= 1'b1;
      row_prev             <= m_row;
    end
  end

  assign rd_data = acc_v[rd_row] ? acc[rd_row] : 32'sd0;
  assign idle    = q_count == 0 && !e_has && !m_valid;
endmodule

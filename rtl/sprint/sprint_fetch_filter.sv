// SPRINT's fetch filter (Yazdanbakhsh et al., MICRO 2022: adjacent queries keep many of
// the same keys after pruning, so only keys not already on chip are fetched): it keeps
// which key sits in which slot of the on-chip K/V buffer and, for each query's mask of
// surviving keys (from the ReRAM's in-array thresholding), lists the survivors in key
// order with their slot and whether they must be fetched.
//
// Replacement: a missing key takes the next slot (round robin from where the last one was
// taken) that is free or whose key is not pinned. The survivors of a query are consumed
// in batches of at most CAP = SLOTS/2 entries; a batch's slots are pinned while it is
// being filled and while the next batch is filled (the compute may still read it), so a
// victim always exists (at most SLOTS - 1 pins) and no slot in use is overwritten. A
// batch never spans two queries; the first entry of each batch is flagged.
//
// Interfaces (synchronous to clk; rst_n active-low synchronous reset):
//  register port, req/ack: hold csr_req (with csr_we, csr_addr, csr_wdata) until csr_ack.
//  in stream (valid/ready): the mask, 64 keys per beat (bit j of beat w: key 64w + j).
//  out stream (valid/ready): one 32-bit entry per surviving key, in key order:
//      [15:0] key, [23:16] slot, [24] miss (fetch it into the slot), [25] first entry of a
//      batch, [26] the miss evicted a key.
//  busy: a job is running. done: the last job has finished (cleared by the next start).
//
// Jobs: write KEYS, then CTRL = 1: ceil(KEYS / 64) mask beats in, one entry per set bit
// below KEYS out; CTRL = 3: forget every key (all slots free, pins cleared), done the next
// cycle. Every job raises done once.
//
// Timing: one mask beat per cycle; the scan then takes one cycle per mask word and two
// per entry (find, offer), plus one per slot the victim search passes over; the entry
// waits while out_ready is low.
//
// Registers (32 bit, byte addresses; others read 0 and ignore writes):
//  0x00 CTRL    W  bit 0: start a job: filter a query, or with bit 1 set a reset
//  0x04 STATUS  R  bit 0 busy, bit 1 done
//  0x08 CYCLES  R  clock cycles of the last job
//  0x0C INFO    R  SLOTS - 1 [7:0], MAX_KEYS / 64 [15:8], version [31:24]
//  0x10 KEYS    RW keys of the sequence (1 .. MAX_KEYS)
//  0x14 HITS    R  survivors found resident, since the last reset
//  0x18 MISSES  R  survivors to fetch, since the last reset
//  0x1C ENTRIES R  entries of the last query
//  0x20 SEARCH  R  slots the victim search passed over, since the last reset
module sprint_fetch_filter #(
  parameter int MAX_KEYS = 1024,
  parameter int SLOTS    = 128
) (
  input  logic        clk,
  input  logic        rst_n,
  input  logic        csr_req,
  input  logic        csr_we,
  input  logic [7:0]  csr_addr,
  input  logic [31:0] csr_wdata,
  output logic        csr_ack,
  output logic [31:0] csr_rdata,
  input  logic        in_valid,
  output logic        in_ready,
  input  logic [63:0] in_data,
  output logic        out_valid,
  input  logic        out_ready,
  output logic [31:0] out_data,
  output logic        busy,
  output logic        done
);
  localparam int WORDS  = MAX_KEYS / 64;
  localparam int WORD_W = WORDS > 1 ? $clog2(WORDS) : 1;
  localparam int KEY_W  = $clog2(MAX_KEYS);
  localparam int SLOT_W = $clog2(SLOTS);
  localparam int CAP    = SLOTS / 2;
  localparam logic [7:0] VERSION = 8'd1;

  if (MAX_KEYS < 64 || MAX_KEYS > 65536 || MAX_KEYS % 64 != 0 || (WORDS & (WORDS - 1)) != 0
      || SLOTS < 4 || SLOTS > 256 || (SLOTS & (SLOTS - 1)) != 0) begin : g_bad
    $fatal(1, "sprint_fetch_filter: MAX_KEYS must be 64 times a power of two (<= 65536), SLOTS a power of two in 4..256");
  end

  typedef enum logic [2:0] {S_IDLE, S_MASK, S_SCAN, S_SEARCH, S_EMIT, S_FIN} state_t;
  state_t state;

  // ---------------------------------------------------------------- registers
  logic        csr_access, start_query, start_reset;
  logic [31:0] keys_q, cycles_q, hits_q, misses_q, entries_q, search_q;

  assign csr_access  = csr_req && !csr_ack;
  assign start_query = csr_access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && !csr_wdata[1]
                       && state == S_IDLE;
  assign start_reset = csr_access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && csr_wdata[1]
                       && state == S_IDLE;
  assign busy        = state != S_IDLE;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      csr_ack   <= 1'b0;
      csr_rdata <= '0;
      keys_q    <= 32'(MAX_KEYS);
    end else begin
      csr_ack <= csr_access;
      if (csr_access && csr_we && csr_addr == 8'h10) keys_q <= csr_wdata;
      if (csr_access && !csr_we) begin
        case (csr_addr)
          8'h04:   csr_rdata <= {30'd0, done, busy};
          8'h08:   csr_rdata <= cycles_q;
          8'h0C:   csr_rdata <= {VERSION, 8'd0, 8'(WORDS), 8'(SLOTS - 1)};
          8'h10:   csr_rdata <= keys_q;
          8'h14:   csr_rdata <= hits_q;
          8'h18:   csr_rdata <= misses_q;
          8'h1C:   csr_rdata <= entries_q;
          8'h20:   csr_rdata <= search_q;
          default: csr_rdata <= '0;
        endcase
      end
    end
  end

  // ------------------------------------------------------------------- tables
  logic [63:0]       mask [WORDS];
  logic [MAX_KEYS-1:0] key_valid;
  logic [SLOT_W-1:0] key_slot [MAX_KEYS];
  logic [SLOTS-1:0]  slot_valid;
  logic [KEY_W-1:0]  slot_key [SLOTS];
  logic [SLOTS-1:0]  pin_cur, pin_prev;
  logic [SLOT_W-1:0] ptr;
  logic [$clog2(CAP+1)-1:0] batch_count;
  logic              batch_new;

  logic [WORD_W:0]   word;     // mask word being scanned (beats taken, in S_MASK)
  logic [63:0]       cur;      // its bits not yet listed
  logic [KEY_W-1:0]  key;      // the key being listed
  logic [31:0]       entry;
  logic [31:0]       job_words;
  logic [31:0]       job_keys;

  // lowest set bit of cur
  logic [5:0] low;
  always_comb begin
    low = 6'd0;
    for (int i = 63; i >= 0; i--) begin
      if (cur[i]) low = 6'(i);
    end
  end

  logic [KEY_W-1:0] found_key;
  assign found_key = KEY_W'({word[WORD_W-1:0], low});

  logic in_fire, out_fire, evictable, full;
  assign full      = 32'(batch_count) == 32'(CAP);
  assign in_ready  = state == S_MASK;
  assign in_fire   = in_valid && in_ready;
  assign out_valid = state == S_EMIT;
  assign out_fire  = out_valid && out_ready;
  assign out_data  = entry;
  assign evictable = !slot_valid[ptr] || !(pin_cur[ptr] || pin_prev[ptr]);

  // the mask bits of word w below KEYS
  function automatic logic [63:0] live_bits(input logic [31:0] w, input logic [31:0] nkeys);
    logic [31:0] first = w * 32'd64;
    if (nkeys >= first + 32'd64) return '1;
    if (nkeys <= first) return '0;
    return (64'd1 << (nkeys - first)) - 64'd1;
  endfunction

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state       <= S_IDLE;
      done        <= 1'b0;
      cycles_q    <= '0;
      hits_q      <= '0;
      misses_q    <= '0;
      entries_q   <= '0;
      search_q    <= '0;
      key_valid   <= '0;
      slot_valid  <= '0;
      pin_cur     <= '0;
      pin_prev    <= '0;
      ptr         <= '0;
      batch_count <= '0;
      batch_new   <= 1'b0;
      word        <= '0;
      cur         <= '0;
      key         <= '0;
      entry       <= '0;
      job_words   <= '0;
      job_keys    <= '0;
    end else begin
      if (state != S_IDLE) cycles_q <= cycles_q + 32'd1;
      case (state)
        S_IDLE: begin
          if (start_query) begin
            cycles_q    <= '0;
            done        <= 1'b0;
            entries_q   <= '0;
            job_keys    <= keys_q;
            job_words   <= (keys_q + 32'd63) >> 6;
            word        <= '0;
            // a batch never spans queries: the last query's batch becomes the previous one
            pin_prev    <= pin_cur;
            pin_cur     <= '0;
            batch_count <= '0;
            batch_new   <= 1'b1;
            state       <= keys_q == 32'd0 ? S_FIN : S_MASK;
          end else if (start_reset) begin
            cycles_q   <= '0;
            key_valid  <= '0;
            slot_valid <= '0;
            pin_cur    <= '0;
            pin_prev   <= '0;
            ptr        <= '0;
            hits_q     <= '0;
            misses_q   <= '0;
            search_q   <= '0;
            done       <= 1'b0;
            state      <= S_FIN;
          end
        end
        S_MASK: begin
          if (in_fire) begin
            mask[word[WORD_W-1:0]] <= in_data & live_bits(32'(word), job_keys);
            if (32'(word) + 32'd1 == job_words) begin
              word  <= '0;
              cur   <= mask[0];
              state <= S_SCAN;
              if (job_words == 32'd1) cur <= in_data & live_bits(32'd0, job_keys);
            end else begin
              word <= word + 1'b1;
            end
          end
        end
        S_SCAN: begin
          if (cur == 64'd0) begin
            if (32'(word) + 32'd1 >= job_words) begin
              state <= S_IDLE;
              done  <= 1'b1;
            end else begin
              word <= word + 1'b1;
              cur  <= mask[word[WORD_W-1:0] + 1'b1];
            end
          end else begin
            key <= found_key;
            cur <= cur & (cur - 64'd1);
            // a full batch becomes the previous one; this entry starts a new batch
            if (full) begin
              pin_prev    <= pin_cur;
              batch_count <= '0;
              batch_new   <= 1'b1;
            end
            if (key_valid[found_key]) begin
              entry   <= {5'd0, 1'b0, full || batch_new, 1'b0, 8'(key_slot[found_key]),
                          16'(found_key)};
              pin_cur <= (full ? '0 : pin_cur) | (SLOTS'(1) << key_slot[found_key]);
              hits_q  <= hits_q + 32'd1;
              state   <= S_EMIT;
            end else begin
              if (full) pin_cur <= '0;
              state <= S_SEARCH;
            end
          end
        end
        S_SEARCH: begin
          if (evictable) begin
            entry <= {5'd0, slot_valid[ptr], batch_new, 1'b1, 8'(ptr), 16'(key)};
            if (slot_valid[ptr]) key_valid[slot_key[ptr]] <= 1'b0;
            slot_valid[ptr] <= 1'b1;
            slot_key[ptr]   <= key;
            key_valid[key]  <= 1'b1;
            key_slot[key]   <= ptr;
            pin_cur[ptr]    <= 1'b1;
            ptr             <= ptr + 1'b1;
            misses_q        <= misses_q + 32'd1;
            state           <= S_EMIT;
          end else begin
            ptr      <= ptr + 1'b1;
            search_q <= search_q + 32'd1;
          end
        end
        S_EMIT: begin
          if (out_fire) begin
            batch_count <= batch_count + 1'b1;
            batch_new   <= 1'b0;
            entries_q   <= entries_q + 32'd1;
            state       <= S_SCAN;
          end
        end
        S_FIN: begin  // a job with nothing to stream: done rises one cycle after its start
          state <= S_IDLE;
          done  <= 1'b1;
        end
        default: state <= S_IDLE;
      endcase
    end
  end
endmodule

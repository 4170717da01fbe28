// smartdeal_rebuild: SmartDeal's weight rebuild engine (Chen et al., IEEE TNNLS 2022). A job
// rebuilds FILTERS filters of ROWS kernel rows each from their W = Ce x B images (format:
// cosim/accel/smartdeal/format.py): per filter 2 basis beats (B, 3x3 int8), ceil(ROWS/48)
// mask beats (bit i: Ce row i stored) and ceil(stored/4) code beats (12 bits a stored row:
// three 4-bit codes, [3] sign, [2:0] m). Row i gives the beat of 3 int8 weights
// w[s] = sat8((sum_j +-(B[j][s] << (m_j - 1)) + 2^(SHIFT-1)) >>> SHIFT) (m_j = 0: no term;
// rows not stored: 0), by shift-add: 3 shifters and adders per tap, no multiplier.
// Twins: cosim/accel/smartdeal/engine.py, tlm/accel/smartdeal/smartdeal_rebuild.cpp.
//
// The input side takes one beat per cycle into a job buffer of MAX_BEATS beats (it parses
// the masks to know how many code beats follow) until the job's last beat; the output
// side gives row i, one per cycle, from the edge after the beats it needs (its mask beat
// and, if stored, its code beat) are in. done at the last row.
//
// Registers (32 bit, byte addresses; others read 0):
//  0x00 CTRL    W  bit 0 start (ignored while busy), bit 1 clear the counters
//  0x04 STATUS  R  bit 0 busy, bit 1 done, bit 2 error (the last start was refused)
//  0x08 CYCLES  R  clock cycles of the last job, start to done
//  0x0C INFO    R  MAX_ROWS [11:0], MAX_BEATS [23:12], version [31:24]
//  0x10 ROWS    RW kernel rows per filter (1 .. MAX_ROWS)
//  0x14 FILTERS RW filters of a job (>= 1, and the job's largest image fits MAX_BEATS)
//  0x18 SHIFT   RW rebuild shift (0 .. 7)
//  event counters (R, since reset or CTRL bit 1; wrap at 2**32):
//  0x20 rows: rows given   0x24 stored: rows stored (mask set)   0x28 terms: nonzero codes
//  0x2C beats: input beats taken   0x30 filters: filters done
module smartdeal_rebuild #(
  parameter int MAX_ROWS = 192,
  parameter int MAX_BEATS = 512
) (
  input  logic clk, rst_n, csr_req, csr_we,
  input  logic [7:0] csr_addr,
  input  logic [31:0] csr_wdata,
  output logic csr_ack,
  output logic [31:0] csr_rdata,
  input  logic in_valid,
  output logic in_ready,
  input  logic [47:0] in_data,
  output logic out_valid,
  input  logic out_ready,
  output logic [23:0] out_data,
  output logic busy, done
);
  localparam int AW = $clog2(MAX_BEATS);
  logic [47:0] buffer [MAX_BEATS];
  logic [31:0] rows_q, filters_q, shift_q, cycles_q;
  logic [31:0] c_rows, c_stored, c_terms, c_beats, c_filters;
  logic running, error_q, access, start, cfg_ok, fire_in, fire_out;
  logic [31:0] mb, worst;
  // input side: beats taken, the phase of the filter being parsed
  logic [31:0] taken, p_cnt, p_pop, p_filter, pop, pop_next;
  logic [1:0] p_phase;
  logic in_all;
  // output side: the row being given
  logic [31:0] o_base, o_row, o_mbeat, o_code, o_filter, mask_idx, code_idx, kept_f;
  logic [5:0] o_mbit;
  logic [1:0] o_slot;
  logic [47:0] mask_word, code_word, b0, b1;
  logic [11:0] codes;
  logic stored;
  logic [1:0] nterms;
  logic signed [31:0] acc;
  logic signed [31:0] term;

  function automatic logic [47:0] beat_at(input logic [31:0] idx);
    return buffer[idx < 32'(MAX_BEATS) ? AW'(idx) : AW'(0)];
  endfunction

  assign access = csr_req && !csr_ack;
  assign mb = (rows_q + 32'd47) / 32'd48;
  assign worst = filters_q * (32'd2 + mb + ((rows_q + 32'd3) >> 2));
  assign cfg_ok = rows_q >= 32'd1 && rows_q <= 32'(MAX_ROWS) && filters_q >= 32'd1 &&
                  filters_q <= 32'(MAX_BEATS) && shift_q <= 32'd7 && worst <= 32'(MAX_BEATS);
  assign start = access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && !running;
  assign busy = running;
  assign in_ready = running && !in_all;
  assign fire_in = in_valid && in_ready;

  // the stored rows a mask beat adds (bits past ROWS do not count)
  always_comb begin
    pop = '0;
    for (int i = 0; i < 48; i++)
      if (32'(i) + 32'd48 * p_cnt < rows_q && in_data[i]) pop = pop + 32'd1;
    pop_next = p_pop + pop;
  end

  assign mask_idx = o_base + 32'd2 + o_mbeat;
  assign code_idx = o_base + 32'd2 + mb + o_code;
  assign mask_word = beat_at(mask_idx);
  assign code_word = beat_at(code_idx);
  assign b0 = beat_at(o_base);
  assign b1 = beat_at(o_base + 32'd1);
  assign stored = mask_word[o_mbit];
  assign codes = stored ? code_word[12*o_slot +: 12] : 12'd0;
  assign out_valid = running && mask_idx < taken && (!stored || code_idx < taken);
  assign fire_out = out_valid && out_ready;
  assign kept_f = 32'd4 * o_code + 32'(o_slot) + 32'(stored);

  always_comb begin
    out_data = '0;
    nterms = '0;
    for (int j = 0; j < 3; j++) if (codes[4*j +: 3] != 3'd0) nterms = nterms + 2'd1;
    for (int s = 0; s < 3; s++) begin
      acc = '0;
      for (int j = 0; j < 3; j++) begin
        // B[j][s] is byte 3j + s of the basis (bytes 0..5 in beat 0, 6..8 in beat 1)
        term = 3 * j + s < 6 ? 32'($signed(b0[8*(3*j+s) +: 8])) : 32'($signed(b1[8*(3*j+s-6) +: 8]));
        if (codes[4*j +: 3] == 3'd0) term = '0;
        else term = term <<< (codes[4*j +: 3] - 3'd1);
        if (codes[4*j+3]) term = -term;
        acc = acc + term;
      end
      if (shift_q[2:0] != 3'd0) acc = (acc + (32'sd1 <<< (shift_q[2:0] - 3'd1))) >>> shift_q[2:0];
      if (acc > 32'sd127) out_data[8*s +: 8] = 8'h7F;
      else if (acc < -32'sd128) out_data[8*s +: 8] = 8'h80;
      else out_data[8*s +: 8] = acc[7:0];
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {csr_ack, csr_rdata, rows_q, filters_q, shift_q, error_q, running, done, cycles_q} <= '0;
      {c_rows, c_stored, c_terms, c_beats, c_filters} <= '0;
      {taken, p_cnt, p_pop, p_filter, p_phase, in_all} <= '0;
      {o_base, o_row, o_mbeat, o_code, o_filter, o_mbit, o_slot} <= '0;
    end else begin
      csr_ack <= access;
      if (access && csr_we && csr_addr == 8'h10) rows_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h14) filters_q <= csr_wdata;
      if (access && csr_we && csr_addr == 8'h18) shift_q <= csr_wdata;
      if (access && !csr_we)
        case (csr_addr)
          8'h04: csr_rdata <= {29'd0, error_q, done, busy};
          8'h08: csr_rdata <= cycles_q;
          8'h0C: csr_rdata <= {8'd1, 12'(MAX_BEATS), 12'(MAX_ROWS)};
          8'h10: csr_rdata <= rows_q;
          8'h14: csr_rdata <= filters_q;
          8'h18: csr_rdata <= shift_q;
          8'h20: csr_rdata <= c_rows;
          8'h24: csr_rdata <= c_stored;
          8'h28: csr_rdata <= c_terms;
          8'h2C: csr_rdata <= c_beats;
          8'h30: csr_rdata <= c_filters;
          default: csr_rdata <= '0;
        endcase
      if (access && csr_we && csr_addr == 8'h00 && csr_wdata[1])
        {c_rows, c_stored, c_terms, c_beats, c_filters} <= '0;
      if (start) error_q <= !cfg_ok;
      if (running) cycles_q <= cycles_q + 32'd1;
      if (start && cfg_ok) begin
        {running, done, cycles_q} <= {1'b1, 1'b0, 32'd0};
        {taken, p_cnt, p_pop, p_filter, p_phase, in_all} <= '0;
        {o_base, o_row, o_mbeat, o_code, o_filter, o_mbit, o_slot} <= '0;
      end
      if (fire_in) begin
        buffer[AW'(taken)] <= in_data;
        taken <= taken + 32'd1;
        c_beats <= c_beats + 32'd1;
        case (p_phase)
          2'd0: begin
            if (p_cnt == 32'd1) {p_phase, p_cnt} <= {2'd1, 32'd0};
            else p_cnt <= 32'd1;
          end
          2'd1: begin
            p_pop <= pop_next;
            if (p_cnt + 32'd1 == mb) begin
              if (pop_next == 32'd0) begin
                {p_phase, p_cnt, p_pop} <= '0;
                p_filter <= p_filter + 32'd1;
                if (p_filter + 32'd1 == filters_q) in_all <= 1'b1;
              end else {p_phase, p_cnt} <= {2'd2, (pop_next + 32'd3) >> 2};
            end else p_cnt <= p_cnt + 32'd1;
          end
          default: begin
            if (p_cnt == 32'd1) begin
              {p_phase, p_cnt, p_pop} <= '0;
              p_filter <= p_filter + 32'd1;
              if (p_filter + 32'd1 == filters_q) in_all <= 1'b1;
            end else p_cnt <= p_cnt - 32'd1;
          end
        endcase
      end
      if (fire_out) begin
        c_rows <= c_rows + 32'd1;
        if (stored) begin
          c_stored <= c_stored + 32'd1;
          c_terms <= c_terms + 32'(nterms);
          o_slot <= o_slot + 2'd1;
          if (o_slot == 2'd3) o_code <= o_code + 32'd1;
        end
        if (o_mbit == 6'd47) {o_mbit, o_mbeat} <= {6'd0, o_mbeat + 32'd1};
        else o_mbit <= o_mbit + 6'd1;
        o_row <= o_row + 32'd1;
        if (o_row + 32'd1 == rows_q) begin
          o_base <= o_base + 32'd2 + mb + ((kept_f + 32'd3) >> 2);
          {o_row, o_mbeat, o_code, o_mbit, o_slot} <= '0;
          o_filter <= o_filter + 32'd1;
          c_filters <= c_filters + 32'd1;
          if (o_filter + 32'd1 == filters_q) {running, done} <= 2'b01;
        end
      end
    end
  end
endmodule

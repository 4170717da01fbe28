// EIE activation broadcast: the source-activation buffer and the leading-nonzero detector
// (LNZD) that sends the nonzero activations of a column range, one per cycle, to every
// PE's activation queue (Han et al., ISCA 2016, Section IV: "the LNZD node ... finds the
// first nonzero activation and broadcasts it with its index"; here a flat 16-lane
// detector over one buffer group at a time instead of the paper's quad tree over PEs).
//
// Buffer: ACT_DEPTH int16 activations in groups of 16 (one 256-bit word per group; lane
// l of group g is activation 16g + l). A scan of columns [col_start, col_start+col_count):
// each cycle the detector looks at the current group (reading it from the buffer the
// first time), masks the lanes outside the range and, unless `skip` is off, the zero
// activations, and sends the lowest remaining lane as (column, value) when `room` says
// every queue can take one; otherwise it holds (a stall). A group with nothing to send
// costs one cycle. With skip off every activation in the range is sent (the dense
// baseline and the no-zero-skipping measurement).
module eie_lnzd #(
  parameter int ACT_DEPTH = 2048,   // power of two, >= 16
  parameter int COL_W     = $clog2(ACT_DEPTH),
  parameter int GROUPS    = ACT_DEPTH / 16,
  parameter int G_W       = GROUPS > 1 ? $clog2(GROUPS) : 1
) (
  input  logic               clk,
  input  logic               rst_n,
  // buffer writes: one group per write
  input  logic               wr_en,
  input  logic [G_W-1:0]     wr_group,
  input  logic [255:0]       wr_data,
  // scan control; the range must lie inside the buffer (the caller checks)
  input  logic               start,
  input  logic [COL_W:0]     col_start,
  input  logic [COL_W:0]     col_count,
  input  logic               skip,
  input  logic               room,
  output logic               bc_valid,
  output logic [COL_W:0]     bc_col,
  output logic signed [15:0] bc_val,
  output logic               busy,
  output logic               ev_read,   // a group was read from the buffer
  output logic               ev_stall   // an activation waited for queue room
);
  if (ACT_DEPTH < 16 || (ACT_DEPTH & (ACT_DEPTH - 1)) != 0) begin : g_bad_depth
    $fatal(1, "eie_lnzd: ACT_DEPTH must be a power of two >= 16");
  end

  logic [255:0]   act_mem [GROUPS];
  logic           active, loaded, skip_q;
  logic [G_W-1:0] g, g_first, g_last;
  logic [3:0]     lo_first, hi_last;
  logic [15:0]    gmask;
  logic [255:0]   gdata;

  logic [255:0]   cur_data;
  logic [15:0]    nz, rmask, cur_mask, rest;
  logic           has;
  logic [3:0]     lead;
  logic [COL_W:0] end_col;

  always_ff @(posedge clk) begin
    if (wr_en) act_mem[wr_group] <= wr_data;
  end

  always_comb begin
    cur_data = loaded ? gdata : act_mem[g];
    for (int l = 0; l < 16; l++) begin
      nz[l]    = cur_data[16*l +: 16] != 16'd0;
      rmask[l] = (g != g_first || 4'(l) >= lo_first) && (g != g_last || 4'(l) <= hi_last);
    end
    cur_mask = loaded ? gmask : ((skip_q ? nz : 16'hFFFF) & rmask);
    has      = cur_mask != 16'd0;
    // Leading-nonzero detector: the lowest set lane.
    lead = 4'd0;
    for (int l = 15; l >= 0; l--) begin
      if (cur_mask[l]) lead = 4'(l);
    end
    rest = cur_mask & ~(16'd1 << lead);
  end

  assign bc_valid = active && has && room;
  assign bc_col   = (COL_W+1)'({g, lead});
  assign bc_val   = cur_data[16*lead +: 16];
  assign busy     = active;
  assign ev_read  = active && !loaded;
  assign ev_stall = active && has && !room;
  assign end_col  = col_start + col_count - 1'b1;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      active   <= 1'b0;
      loaded   <= 1'b0;
      skip_q   <= 1'b1;
      g        <= '0;
      g_first  <= '0;
      g_last   <= '0;
      lo_first <= '0;
      hi_last  <= '0;
      gmask    <= '0;
      gdata    <= '0;
    end else if (start) begin
      active   <= col_count != 0;
      loaded   <= 1'b0;
      skip_q   <= skip;
      g        <= G_W'(col_start >> 4);
      g_first  <= G_W'(col_start >> 4);
      g_last   <= G_W'(end_col >> 4);
      lo_first <= col_start[3:0];
      hi_last  <= end_col[3:0];
    end else if (active) begin
      if (!has || (room && rest == 16'd0)) begin
        // Group done (nothing left to send): on to the next one.
        loaded <= 1'b0;
        if (g == g_last) active <= 1'b0;
        else             g <= g + 1'b1;
      end else begin
        loaded <= 1'b1;
        gdata  <= cur_data;
        gmask  <= room ? rest : cur_mask;
      end
    end
  end
endmodule

// Complementary sparsity engine: k-WTA activations times packed complementary sparse
// kernels (Hunter, Spracklen and Ahmad, "Two sparsities are better than one",
// Neuromorphic Computing and Engineering 2022). Twins: cosim.accel.complementary_sparsity
// .engine (numpy) and tlm/accel/complementary_sparsity/complementary_sparsity.cpp.
//
// A pack is KERNELS sparse kernels with disjoint nonzero positions stored as one dense
// kernel (TAPS x CHANNELS int8 weights) plus a routing id per position (which kernel the
// weight belongs to). The weight buffer holds PACKS packs, row p*TAPS + t = tap t of pack
// p. For every output pixel the engine takes TAPS activation vectors (one beat each, the
// pixel's receptive field), passes each through the k-WTA unit (kwta.sv: the WINNERS
// largest values win, ties to the lower channel), selects the winners' channels, and for
// every pack multiplies LANES selected activations per cycle with the pack's weights at
// those channels and routes each product by its id to accumulator p*KERNELS + id. After
// the last tap the PACKS*KERNELS int32 sums leave as result beats. DENSE mode selects
// every channel (the losers' zeros included): the same lanes as a dense MAC array, the
// baseline (PACKS = output channels, KERNELS = 1).
//
// Timing: a vector is taken at the first edge its beat is offered in the take state; then
// PACKS * ceil(selected / LANES) multiply cycles; then the next vector, or after the last
// tap ceil(PACKS*KERNELS / (CHANNELS/4)) result beats, one per edge they are read. A load
// job takes one beat per edge.
//
// Interfaces (synchronous to clk; rst_n active-low synchronous reset):
//  register port req/ack (cosim.accel.stream_engine): hold csr_req with csr_we, csr_addr,
//      csr_wdata until csr_ack (one cycle, with csr_rdata for a read).
//  in  (valid/ready, 8*CHANNELS bits): an activation vector (channel c: signed byte c), a
//      weight row (channel c: signed byte c) or an id row (channel c: byte c, low bits).
//  out (valid/ready, 8*CHANNELS bits): CHANNELS/4 little-endian int32 sums, outputs
//      b*CHANNELS/4 .. of beat b (zeros past PACKS*KERNELS).
//  busy: a job is running; done: the last job finished (cleared by the next start).
//
// Registers (32 bit, byte addresses; others read 0 and ignore writes):
//  0x00 CTRL        W  bit 0 start (ignored while busy), bit 1 LOAD weights, bit 2 IDS (a
//                      load's rows come with an id beat each; else ids are 0), bit 3 DENSE
//  0x04 STATUS      R  bit 0 busy, bit 1 done, bit 2 the last start was refused
//  0x08 CYCLES      R  clock cycles of the last job, from the start write to done
//  0x0C INFO        R  CHANNELS [7:0], LANES [15:8], MAX_KERNELS [23:16], version [31:24]
//  0x10 PIXELS      RW output pixels of a compute job, >= 1
//  0x14 TAPS        RW vectors per output pixel, 1..MAX_TAPS
//  0x18 PACKS       RW packs, PACKS*TAPS <= WEIGHT_ROWS, PACKS*KERNELS <= MAX_OUTPUTS
//  0x1C KERNELS     RW kernels per pack (N), 1..MAX_KERNELS
//  0x20 WINNERS     RW k of the k-WTA, 1..CHANNELS
//  0x40 KWTA_VECTORS R vectors through the k-WTA unit (cumulative, as the counters below)
//  0x44 MACS        R  products accumulated (selected lanes)
//  0x48 ROW_READS   R  weight-buffer rows read (one per tap and pack)
//  0x4C ACC_UPDATES R  accumulator read-modify-writes (KERNELS per multiply cycle)
//  0x50 ROW_WRITES  R  weight-buffer rows written by loads
// A start is refused (STATUS bit 2) unless every configuration register is in range.
module complementary_sparsity #(
  parameter int CHANNELS    = 64,
  parameter int LANES       = 16,
  parameter int MAX_KERNELS = 16,
  parameter int MAX_OUTPUTS = 64,
  parameter int MAX_TAPS    = 9,
  parameter int WEIGHT_ROWS = 576
) (
  input  logic                  clk,
  input  logic                  rst_n,
  input  logic                  csr_req,
  input  logic                  csr_we,
  input  logic [7:0]            csr_addr,
  input  logic [31:0]           csr_wdata,
  output logic                  csr_ack,
  output logic [31:0]           csr_rdata,
  input  logic                  in_valid,
  output logic                  in_ready,
  input  logic [8*CHANNELS-1:0] in_data,
  output logic                  out_valid,
  input  logic                  out_ready,
  output logic [8*CHANNELS-1:0] out_data,
  output logic                  busy,
  output logic                  done
);
  localparam int CW = $clog2(CHANNELS);          // channel index
  localparam int NW = $clog2(CHANNELS + 1);      // channel count
  localparam int KW = $clog2(MAX_KERNELS);       // routing id
  localparam int OW = $clog2(MAX_OUTPUTS);       // accumulator index
  localparam int RW = $clog2(WEIGHT_ROWS);       // weight row
  localparam int OUT_WORDS = CHANNELS / 4;       // int32 sums per result beat
  localparam logic [7:0] VERSION = 8'd1;

  if (CHANNELS < 8 || CHANNELS > 128 || CHANNELS % 4 != 0) begin : g_bad_channels
    $fatal(1, "complementary_sparsity: CHANNELS must be 8..128, a multiple of 4");
  end
  if (LANES < 1 || LANES > CHANNELS) begin : g_bad_lanes
    $fatal(1, "complementary_sparsity: LANES must be 1..CHANNELS");
  end
  if (MAX_KERNELS < 2 || MAX_KERNELS > 32 || MAX_OUTPUTS < 2 || MAX_OUTPUTS > 256
      || MAX_TAPS < 1 || MAX_TAPS > 64 || WEIGHT_ROWS < 2 || WEIGHT_ROWS > 16384)
  begin : g_bad_sizes
    $fatal(1, "complementary_sparsity: MAX_KERNELS 2..32, MAX_OUTPUTS 2..256, MAX_TAPS 1..64, WEIGHT_ROWS 2..16384");
  end

  typedef enum logic [2:0] {S_IDLE, S_LOAD, S_TAKE, S_MAC, S_GIVE} state_t;
  state_t state;

  // ------------------------------------------------------------------ registers
  logic [31:0] pixels_q, taps_q, packs_q, kernels_q, winners_q, cycles_q;
  logic [31:0] kwta_cnt, macs_cnt, reads_cnt, updates_cnt, writes_cnt;
  logic        error_q, ids_q, dense_q;
  logic        csr_access, start_req, start, cfg_ok;
  logic [63:0] rows_needed, outputs_needed;

  assign rows_needed    = 64'(packs_q) * 64'(taps_q);
  assign outputs_needed = 64'(packs_q) * 64'(kernels_q);
  assign cfg_ok = pixels_q >= 32'd1 && taps_q >= 32'd1 && taps_q <= 32'(MAX_TAPS)
               && packs_q >= 32'd1 && rows_needed <= 64'(WEIGHT_ROWS)
               && kernels_q >= 32'd1 && kernels_q <= 32'(MAX_KERNELS)
               && outputs_needed <= 64'(MAX_OUTPUTS)
               && winners_q >= 32'd1 && winners_q <= 32'(CHANNELS);

  assign csr_access = csr_req && !csr_ack;
  assign start_req  = csr_access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && state == S_IDLE;
  assign start      = start_req && cfg_ok;
  assign busy       = state != S_IDLE;

  // ------------------------------------------------------------------ memories and datapath state
  logic [8*CHANNELS-1:0]  w_mem  [WEIGHT_ROWS];
  logic [KW*CHANNELS-1:0] id_mem [WEIGHT_ROWS];
  logic signed [7:0]      act  [CHANNELS];     // the k-WTA'd vector
  logic [CW-1:0]          sel  [CHANNELS];     // selected channels, ascending
  logic [NW-1:0]          nsel;                // how many are selected
  logic signed [31:0]     acc    [MAX_OUTPUTS];
  logic [31:0] pixel_q, tap_q, pack_q, chunk_q, beat_q, row_q;
  logic [31:0] chunks, out_beats;
  logic [RW-1:0] row_addr;

  assign chunks    = (32'(nsel) + 32'(LANES) - 32'd1) / 32'(LANES);
  assign out_beats = (32'(outputs_needed) + 32'(OUT_WORDS) - 32'd1) / 32'(OUT_WORDS);
  assign row_addr  = RW'(pack_q * taps_q + tap_q);
  assign in_ready  = state == S_LOAD || state == S_TAKE;
  assign out_valid = state == S_GIVE;

  // k-WTA of the vector taken (registered with it), and its selected channels (the
  // winners, or every channel in DENSE mode) in ascending order
  logic [CHANNELS-1:0] win;
  logic [8*CHANNELS-1:0] x_q;
  logic take;
  assign take = state == S_TAKE && in_valid;
  kwta #(.CHANNELS(CHANNELS)) u_kwta (
    .clk(clk), .en(take), .x(in_data), .k(NW'(winners_q)), .mask(win)
  );

  always_comb begin
    nsel = '0;
    for (int c = 0; c < CHANNELS; c++) sel[c] = '0;
    for (int c = 0; c < CHANNELS; c++)
      if (win[c] || dense_q) begin
        sel[nsel[CW-1:0]] = CW'(c);
        nsel = nsel + NW'(1);
      end
    for (int c = 0; c < CHANNELS; c++) act[c] = win[c] ? $signed(x_q[8*c +: 8]) : 8'sd0;
  end

  // one multiply cycle: LANES products of selected channels, summed per routing id
  logic [8*CHANNELS-1:0]  w_row;
  logic [KW*CHANNELS-1:0] id_row;
  logic signed [31:0]     routed [MAX_KERNELS];
  logic [31:0]            lanes_used;
  assign w_row  = w_mem[row_addr];
  assign id_row = id_mem[row_addr];

  always_comb begin
    lanes_used = '0;
    for (int n = 0; n < MAX_KERNELS; n++) routed[n] = '0;
    for (int l = 0; l < LANES; l++) begin
      automatic int j = int'(chunk_q) * LANES + l;
      if (j < CHANNELS && j < int'(nsel)) begin
        automatic logic [CW-1:0] c = sel[j];
        automatic logic signed [15:0] p = act[c] * $signed(w_row[8*c +: 8]);
        automatic logic [KW-1:0] id = id_row[KW*c +: KW];
        routed[id] = routed[id] + 32'(p);
        lanes_used = lanes_used + 32'd1;
      end
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      csr_ack   <= 1'b0;
      csr_rdata <= '0;
      {pixels_q, taps_q, packs_q, kernels_q, winners_q, cycles_q} <= '0;
      {kwta_cnt, macs_cnt, reads_cnt, updates_cnt, writes_cnt} <= '0;
      {error_q, ids_q, dense_q, done} <= '0;
      {pixel_q, tap_q, pack_q, chunk_q, beat_q, row_q} <= '0;
      state  <= S_IDLE;
    end else begin
      csr_ack <= csr_access;
      if (start_req) error_q <= !cfg_ok;
      if (csr_access && csr_we) begin
        case (csr_addr)
          8'h10: pixels_q  <= csr_wdata;
          8'h14: taps_q    <= csr_wdata;
          8'h18: packs_q   <= csr_wdata;
          8'h1C: kernels_q <= csr_wdata;
          8'h20: winners_q <= csr_wdata;
          default: ;
        endcase
      end
      if (csr_access && !csr_we) begin
        case (csr_addr)
          8'h04:   csr_rdata <= {29'd0, error_q, done, busy};
          8'h08:   csr_rdata <= cycles_q;
          8'h0C:   csr_rdata <= {VERSION, 8'(MAX_KERNELS), 8'(LANES), 8'(CHANNELS)};
          8'h10:   csr_rdata <= pixels_q;
          8'h14:   csr_rdata <= taps_q;
          8'h18:   csr_rdata <= packs_q;
          8'h1C:   csr_rdata <= kernels_q;
          8'h20:   csr_rdata <= winners_q;
          8'h40:   csr_rdata <= kwta_cnt;
          8'h44:   csr_rdata <= macs_cnt;
          8'h48:   csr_rdata <= reads_cnt;
          8'h4C:   csr_rdata <= updates_cnt;
          8'h50:   csr_rdata <= writes_cnt;
          default: csr_rdata <= '0;
        endcase
      end
      if (state != S_IDLE) cycles_q <= cycles_q + 32'd1;

      case (state)
        S_IDLE:
          if (start) begin
            cycles_q <= '0;
            done     <= 1'b0;
            ids_q    <= csr_wdata[2];
            dense_q  <= csr_wdata[3];
            {pixel_q, tap_q, pack_q, chunk_q, beat_q, row_q} <= '0;
            state    <= csr_wdata[1] ? S_LOAD : S_TAKE;
          end
        S_LOAD:
          if (in_valid) begin
            if (ids_q && beat_q[0]) begin
              for (int c = 0; c < CHANNELS; c++)
                id_mem[row_q[RW-1:0]][KW*c +: KW] <= in_data[8*c +: KW];
            end else begin
              w_mem[row_q[RW-1:0]] <= in_data;
              if (!ids_q) id_mem[row_q[RW-1:0]] <= '0;
            end
            if (!ids_q || beat_q[0]) begin
              row_q      <= row_q + 32'd1;
              writes_cnt <= writes_cnt + 32'd1;
            end
            beat_q <= beat_q + 32'd1;
            if ((!ids_q || beat_q[0]) && 64'(row_q) + 64'd1 == rows_needed) begin
              state <= S_IDLE;
              done  <= 1'b1;
            end
          end
        S_TAKE:
          if (in_valid) begin
            x_q      <= in_data;
            kwta_cnt <= kwta_cnt + 32'd1;
            if (tap_q == 32'd0)
              for (int o = 0; o < MAX_OUTPUTS; o++) acc[o] <= '0;
            {pack_q, chunk_q} <= '0;
            state <= S_MAC;
          end
        S_MAC: begin
          for (int n = 0; n < MAX_KERNELS; n++)
            if (32'(n) < kernels_q)
              acc[OW'(pack_q * kernels_q + 32'(n))] <= acc[OW'(pack_q * kernels_q + 32'(n))] + routed[n];
          macs_cnt    <= macs_cnt + lanes_used;
          updates_cnt <= updates_cnt + kernels_q;
          if (chunk_q == 32'd0) reads_cnt <= reads_cnt + 32'd1;
          if (chunk_q + 32'd1 < chunks) chunk_q <= chunk_q + 32'd1;
          else begin
            chunk_q <= '0;
            if (pack_q + 32'd1 < packs_q) pack_q <= pack_q + 32'd1;
            else if (tap_q + 32'd1 < taps_q) begin
              tap_q <= tap_q + 32'd1;
              state <= S_TAKE;
            end else begin
              tap_q  <= '0;
              beat_q <= '0;
              state  <= S_GIVE;
            end
          end
        end
        S_GIVE:
          if (out_ready) begin
            if (beat_q + 32'd1 < out_beats) beat_q <= beat_q + 32'd1;
            else if (pixel_q + 32'd1 < pixels_q) begin
              pixel_q <= pixel_q + 32'd1;
              state   <= S_TAKE;
            end else begin
              state <= S_IDLE;
              done  <= 1'b1;
            end
          end
        default: state <= S_IDLE;
      endcase
    end
  end

  always_comb
    for (int w = 0; w < OUT_WORDS; w++) begin
      automatic int o = int'(beat_q) * OUT_WORDS + w;
      out_data[32*w +: 32] = o < MAX_OUTPUTS ? acc[o] : 32'd0;
    end
endmodule

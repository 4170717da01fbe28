// butterfly_engine: FABNet's butterfly engine. UNITS butterfly units, each with four 17x16
// multipliers, run one butterfly a cycle in FFT or butterfly-linear mode on a permutation
// buffer of two banks of MAX_N complex int16 words (re [15:0], im [31:16]). Stage s reads
// x[j] and x[j+N/2] from one bank and writes its outputs to 2j and 2j+1 of the other (the
// stride permutation); FFT mode reads the last bank out in bit-reversed order. Arithmetic
// (cosim/accel/fabnet/butterfly.py): weights Q2.14, outputs rounded half up after a shift
// of 14 + SHIFT, saturated to int16. Twins: cosim/accel/fabnet/engine.py,
// tlm/accel/fabnet/butterfly_engine.cpp.
// Registers: 0x00 CTRL (W bit 0 start), 0x04 STATUS (busy, done, refused), 0x08 CYCLES,
// 0x0C INFO (UNITS [7:0], log2 MAX_N [15:8], version [31:24]), 0x10 LOG_N, 0x14 MODE
// (0 linear, 1 fft), 0x18 SHIFT (0..15), 0x1C COUNT (vectors, 1..65535), 0x20 LOAD (bit 0:
// weight beats first), counters 0x40 BUTTERFLIES, 0x44 VECTORS, 0x48 WEIGHT_BEATS.
// Job: [L*G weight beats], then COUNT x (G beats in, L*G cycles, G beats out), G = N/(2 UNITS).
module butterfly_engine #(
  parameter int UNITS = 16,
  parameter int MAX_N = 256
) (
  input  logic clk, rst_n, csr_req, csr_we,
  input  logic [7:0] csr_addr,
  input  logic [31:0] csr_wdata,
  output logic csr_ack,
  output logic [31:0] csr_rdata,
  input  logic in_valid,
  output logic in_ready,
  input  logic [64*UNITS-1:0] in_data,
  output logic out_valid,
  input  logic out_ready,
  output logic [64*UNITS-1:0] out_data,
  output logic busy, done
);
  localparam int LMAX = $clog2(MAX_N);
  localparam int LMIN = $clog2(2 * UNITS);
  localparam int WDEPTH = LMAX * (MAX_N / 2);
  localparam int AW = $clog2(MAX_N);
  localparam int WAW = $clog2(WDEPTH);
  typedef enum logic [2:0] {IDLE, LOADW, VIN, COMP, VOUT} phase_t;

  phase_t phase;
  logic [31:0] log_n_q, mode_q, shift_q, count_q, load_q, cycles_q;
  logic [31:0] n_butterflies, n_vectors, n_wbeats;
  logic [31:0] cnt, stage, vec;
  logic [31:0] bank [2][MAX_N];
  logic [63:0] wmem [WDEPTH];
  logic running, error_q, access, start, cfg_ok, fft;
  logic [31:0] n, half, g, wbeats;
  logic [4:0] sh;
  logic [31:0] y0 [UNITS], y1 [UNITS];

  assign access = csr_req && !csr_ack;
  assign cfg_ok = log_n_q >= 32'(LMIN) && log_n_q <= 32'(LMAX) && mode_q <= 32'd1 &&
                  shift_q <= 32'd15 && count_q >= 32'd1 && count_q <= 32'd65535;
  assign start = access && csr_we && csr_addr == 8'h00 && csr_wdata[0] && !running;
  assign busy = running;
  assign fft = mode_q[0];
  assign n = 32'd1 << log_n_q[4:0];
  assign half = n >> 1;
  assign g = half / 32'(UNITS);
  assign wbeats = log_n_q * g;
  assign sh = 5'd14 + {1'b0, shift_q[3:0]};
  assign in_ready = running && (phase == LOADW || phase == VIN);
  assign out_valid = running && phase == VOUT;

  function automatic logic [15:0] round_sat(input logic signed [39:0] v, input logic [4:0] s);
    logic signed [39:0] r;
    r = (v + (40'sd1 <<< (s - 5'd1))) >>> s;
    if (r > 40'sd32767) return 16'h7fff;
    if (r < -40'sd32768) return 16'h8000;
    return r[15:0];
  endfunction

  // The butterfly units: unit u of group cnt in stage `stage`.
  always_comb
    for (int u = 0; u < UNITS; u++) begin
      logic [31:0] a, b, j;
      logic [63:0] w;
      logic signed [39:0] ar, ai, br, bi, dr, di, w0, w1, w2, w3, p0r, p0i, p1r, p1i;
      j = cnt * 32'(UNITS) + 32'(u);
      a = bank[stage[0]][j[AW-1:0]];
      b = bank[stage[0]][AW'(j + half)];
      w = wmem[WAW'(stage * half + j)];
      ar = 40'(signed'(a[15:0]));
      ai = 40'(signed'(a[31:16]));
      br = 40'(signed'(b[15:0]));
      bi = 40'(signed'(b[31:16]));
      w0 = 40'(signed'(w[15:0]));
      w1 = 40'(signed'(w[31:16]));
      w2 = 40'(signed'(w[47:32]));
      w3 = 40'(signed'(w[63:48]));
      dr = ar - br;
      di = ai - bi;
      if (fft) begin
        p0r = (ar + br) <<< 14;
        p0i = (ai + bi) <<< 14;
        p1r = dr * w0 - di * w1;
        p1i = dr * w1 + di * w0;
      end else begin
        p0r = w0 * ar + w1 * br;
        p1r = w2 * ar + w3 * br;
        p0i = '0;
        p1i = '0;
      end
      y0[u] = {round_sat(p0i, sh), round_sat(p0r, sh)};
      y1[u] = {round_sat(p1i, sh), round_sat(p1r, sh)};
    end

  // Read-out: FFT mode reverses the L address bits of the last bank.
  always_comb
    for (int i = 0; i < 2 * UNITS; i++) begin
      logic [31:0] k, r;
      k = cnt * 32'(2 * UNITS) + 32'(i);
      r = '0;
      for (int t = 0; t < LMAX; t++) r[LMAX-1-t] = k[t];
      r = r >> (32'(LMAX) - log_n_q);
      out_data[32*i +: 32] = bank[log_n_q[0]][fft ? r[AW-1:0] : k[AW-1:0]];
    end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {csr_ack, csr_rdata, log_n_q, mode_q, shift_q, count_q, load_q, error_q} <= '0;
      {running, done, cycles_q, cnt, stage, vec} <= '0;
      {n_butterflies, n_vectors, n_wbeats} <= '0;
      phase <= IDLE;
    end else begin
      csr_ack <= access;
      if (access && csr_we)
        case (csr_addr)
          8'h10: log_n_q <= csr_wdata;
          8'h14: mode_q <= csr_wdata;
          8'h18: shift_q <= csr_wdata;
          8'h1C: count_q <= csr_wdata;
          8'h20: load_q <= csr_wdata;
          default: ;
        endcase
      if (access && !csr_we)
        case (csr_addr)
          8'h04: csr_rdata <= {29'd0, error_q, done, busy};
          8'h08: csr_rdata <= cycles_q;
          8'h0C: csr_rdata <= {8'd1, 8'd0, 8'(LMAX), 8'(UNITS)};
          8'h10: csr_rdata <= log_n_q;
          8'h14: csr_rdata <= mode_q;
          8'h18: csr_rdata <= shift_q;
          8'h1C: csr_rdata <= count_q;
          8'h20: csr_rdata <= load_q;
          8'h40: csr_rdata <= n_butterflies;
          8'h44: csr_rdata <= n_vectors;
          8'h48: csr_rdata <= n_wbeats;
          default: csr_rdata <= '0;
        endcase
      if (start) error_q <= !cfg_ok;
      if (running) cycles_q <= cycles_q + 32'd1;
      if (start && cfg_ok) begin
        {running, done, cycles_q, cnt, stage, vec} <= {1'b1, 1'b0, 128'd0};
        phase <= load_q[0] ? LOADW : VIN;
      end
      case (phase)
        LOADW:
          if (in_valid && in_ready) begin
            for (int u = 0; u < UNITS; u++)
              wmem[WAW'(cnt * 32'(UNITS) + 32'(u))] <= in_data[64*u +: 64];
            n_wbeats <= n_wbeats + 32'd1;
            cnt <= cnt + 32'd1;
            if (cnt + 32'd1 == wbeats) begin
              cnt <= '0;
              phase <= VIN;
            end
          end
        VIN:
          if (in_valid && in_ready) begin
            for (int i = 0; i < 2 * UNITS; i++)
              bank[0][AW'(cnt * 32'(2 * UNITS) + 32'(i))] <= in_data[32*i +: 32];
            cnt <= cnt + 32'd1;
            if (cnt + 32'd1 == g) begin
              cnt <= '0;
              stage <= '0;
              phase <= COMP;
            end
          end
        COMP: begin
          for (int u = 0; u < UNITS; u++) begin
            bank[~stage[0]][AW'(2 * (cnt * 32'(UNITS) + 32'(u)))] <= y0[u];
            bank[~stage[0]][AW'(2 * (cnt * 32'(UNITS) + 32'(u)) + 1)] <= y1[u];
          end
          n_butterflies <= n_butterflies + 32'(UNITS);
          cnt <= cnt + 32'd1;
          if (cnt + 32'd1 == g) begin
            cnt <= '0;
            stage <= stage + 32'd1;
            if (stage + 32'd1 == log_n_q) phase <= VOUT;
          end
        end
        VOUT:
          if (out_valid && out_ready) begin
            cnt <= cnt + 32'd1;
            if (cnt + 32'd1 == g) begin
              cnt <= '0;
              vec <= vec + 32'd1;
              n_vectors <= n_vectors + 32'd1;
              phase <= VIN;
              if (vec + 32'd1 == count_q) begin
                {running, done} <= 2'b01;
                phase <= IDLE;
              end
            end
          end
        default: ;
      endcase
    end
  end
endmodule

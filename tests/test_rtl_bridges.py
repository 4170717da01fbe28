"""RTL blocks in TLM systems: stream, register, memory-master and interrupt bridges, the
slow Python per-cycle path, waveforms. Every simulation runs in a worker process."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import cosim
from cosim import rtl

NS = 1000
RESET = 4  # cycles in reset at time 0 (rtl.block default)


def u32(v: int) -> np.ndarray:
    return np.frombuffer(struct.pack("<I", v), dtype=np.uint8).copy()


def beats_of(width: int, n: int, seed: int) -> np.ndarray:
    """n random beats of `width` bits as payload bytes (bits above width zero)."""
    nb = (width + 7) // 8
    data = np.random.default_rng(seed).integers(0, 256, (n, nb), dtype=np.uint8)
    if width % 8:
        data[:, -1] &= (1 << (width % 8)) - 1
    return data.reshape(-1)


def as_ints(data: np.ndarray, width: int) -> list[int]:
    nb = (width + 7) // 8
    return [int.from_bytes(bytes(data[i : i + nb]), "little") for i in range(0, len(data), nb)]


# --------------------------------------------------------------------- streams
def stream_through(sim, lib, data):
    """Write `data` into stream_add's input and read as much from its output, from two
    processes; returns what came out, the completion times and the block's stats."""
    blk = rtl.block(sim, "dut", lib, busy="busy")
    w, r = sim.initiator("writer"), sim.initiator("reader")
    sim.bind(w, blk.stream_in("in"))
    sim.bind(r, blk.stream_out("out"))
    out = {}

    @sim.process
    async def writer():
        await w.write(0, data)
        out["t_write"] = cosim.now()

    @sim.process
    async def reader():
        out["data"] = await r.read(0, len(data))
        out["t_read"] = cosim.now()

    sim.run()
    return out["data"], out["t_write"], out["t_read"], sim.stats.flat()


@pytest.mark.parametrize("width", [1, 1024])
def test_stream_round_trip_at_full_rate(width):
    lib = rtl.build("stream_add", {"WIDTH": width, "INC": 1})
    n = 40
    data = beats_of(width, n, seed=width)
    got, t_write, t_read, stats = cosim.simulate(stream_through, lib, data).value
    assert as_ints(got, width) == [(v + 1) % (1 << width) for v in as_ints(data, width)]
    # One beat per cycle from the first edge after reset; the output lags one cycle.
    assert t_write == (RESET + n) * NS
    assert t_read == (RESET + n + 1) * NS
    assert stats["dut.in.beats"] == n and stats["dut.in.stall_cycles"] == 0
    assert stats["dut.late_transactions"] == 0


def test_stream_with_back_pressure_and_odd_width():
    """100-bit beats (13 bytes, not a whole number of words) through a block that drops
    in_ready in pseudo-random cycles."""
    lib = rtl.build("stream_add", {"WIDTH": 100, "INC": 3, "STALL_MASK": 5})
    n = 60
    data = beats_of(100, n, seed=7)
    got, t_write, _, stats = cosim.simulate(stream_through, lib, data).value
    assert as_ints(got, 100) == [(v + 3) % (1 << 100) for v in as_ints(data, 100)]
    stalls = stats["dut.in.stall_cycles"]
    assert stalls > 0
    assert t_write == (RESET + n + stalls) * NS, "every cycle is a beat or a stall"
    assert stats["dut.in.bytes"] == n * 13 == stats["dut.out.bytes"]


def stream_in_pieces(sim, lib, chunks, gap_ns):
    """One process writes chunks with idle gaps between them (the block parks), another
    reads everything."""
    blk = rtl.block(sim, "dut", lib, busy="busy")
    w, r = sim.initiator("writer"), sim.initiator("reader")
    sim.bind(w, blk.stream_in("in"))
    sim.bind(r, blk.stream_out("out"))
    out = {"times": []}

    @sim.process
    async def writer():
        for c in chunks:
            await w.write(0, c)
            out["times"].append(cosim.now())
            await cosim.delay(gap_ns * NS)

    @sim.process
    async def reader():
        out["data"] = await r.read(0, sum(len(c) for c in chunks))

    sim.run()
    return out["data"], out["times"], blk.cycle, sim.stats.flat()


def test_idle_gaps_are_exact_and_cheap():
    lib = rtl.build("stream_add", {"WIDTH": 8, "INC": 1})
    chunks = [np.arange(10, dtype=np.uint8) + 10 * i for i in range(3)]
    got, times, _, stats = cosim.simulate(stream_in_pieces, lib, chunks, 500).value
    assert list(got) == list(np.concatenate(chunks) + 1)
    # Chunk i is written at (RESET + 10) + i * (10 + 500) cycles: idle time is exact.
    assert times == [(RESET + 10 + i * 510) * NS for i in range(3)]
    assert stats["dut.parks"] >= 3, "the block parks while idle"
    assert stats["dut.idle_cycles"] >= 2 * 490, "idle cycles are caught up without kernel waits"
    assert stats["dut.kernel_syncs"] < 40


def test_gated_idle_skips_cycles():
    lib = rtl.build("stream_add", {"WIDTH": 8, "INC": 1})
    chunks = [np.arange(10, dtype=np.uint8) + 10 * i for i in range(3)]
    got, times, _, stats = cosim.simulate(stream_in_gated, lib, chunks, 500).value
    assert list(got) == list(np.concatenate(chunks) + 1)
    assert times == [(RESET + 10 + i * 510) * NS for i in range(3)], "gating keeps time exact"
    assert stats["dut.gated_cycles"] >= 2 * 490 and stats["dut.idle_cycles"] == 0
    assert stats["dut.cycles"] < 200, "skipped cycles are not evaluated"


def stream_in_gated(sim, lib, chunks, gap_ns):
    """As stream_in_pieces with idle='gate' and reads per chunk (so the block is idle
    between chunks)."""
    blk = rtl.block(sim, "dut", lib, busy="busy", idle="gate")
    w, r = sim.initiator("writer"), sim.initiator("reader")
    sim.bind(w, blk.stream_in("in"))
    sim.bind(r, blk.stream_out("out"))
    out = {"times": []}

    @sim.process
    async def writer():
        for c in chunks:
            await w.write(0, c)
            out["times"].append(cosim.now())
            await cosim.delay(gap_ns * NS)

    @sim.process
    async def reader():
        for c in chunks:
            out.setdefault("data", []).append(await r.read(0, len(c)))

    sim.run()
    return np.concatenate(out["data"]), out["times"], blk.cycle, sim.stats.flat()


# ----------------------------------------------- register, memory master, interrupt
A, B, D = 0x1000, 0x4000, 0x8000


def vadd_system(sim, lib, latency_ns, a, b):
    """mem_vadd programmed through its register bridge by a host, reading and writing a
    memory model through its memory-master bridge, signalling done by interrupt."""
    blk = rtl.block(sim, "vadd", lib, busy="busy")
    csr = blk.register_port("csr")
    done = blk.interrupt("done")
    ram = sim.model(
        "memory", "ram", size=1 << 16, read_latency=latency_ns * NS, write_latency=latency_ns * NS
    )
    sim.bind(blk.memory_master("mem"), ram)
    host = sim.initiator("host")
    sim.bind(host, csr)
    mem = ram.array()
    mem[A : A + a.nbytes] = a.view(np.uint8)
    mem[B : B + b.nbytes] = b.view(np.uint8)
    words = a.nbytes // (lib.port("mem_req_wdata").width // 8)
    out = {}

    @sim.process
    async def host_program():
        for reg, value in ((0x08, A), (0x0C, B), (0x10, D), (0x14, words)):
            await host.write(reg, u32(value))
        await host.write(0x00, u32(1))
        out["t_started"] = cosim.now()
        await done
        out["t_done"] = cosim.now()
        out["cycles"] = struct.unpack("<I", (await host.read(0x18, 4)).tobytes())[0]
        out["status"] = struct.unpack("<I", (await host.read(0x04, 4)).tobytes())[0]
        out["src_a"] = struct.unpack("<I", (await host.read(0x08, 4)).tobytes())[0]

    sim.run()
    out["result"] = mem[D : D + a.nbytes].copy().view(np.int32)
    return out, sim.stats.flat()


@pytest.fixture(scope="module")
def vadd_lib():
    return rtl.build("mem_vadd", {"DATA_W": 64})


def test_register_memory_and_interrupt_bridges(vadd_lib):
    rng = np.random.default_rng(5)
    a = rng.integers(-(2**31), 2**31, 16, dtype=np.int64).astype(np.int32)
    b = rng.integers(-(2**31), 2**31, 16, dtype=np.int64).astype(np.int32)
    fast, st_fast = cosim.simulate(vadd_system, vadd_lib, 10, a, b).value
    slow, st_slow = cosim.simulate(vadd_system, vadd_lib, 20, a, b).value
    want = (a.astype(np.int64) + b).astype(np.int32)
    assert np.array_equal(fast["result"], want) and np.array_equal(slow["result"], want)
    assert fast["status"] == slow["status"] == 0b10 and fast["src_a"] == A
    words = 8  # 16 int32 in 64-bit words
    # Each of the 3 requests per word waits for the annotated latency: +10 ns of
    # latency is +10 cycles per request at 1 GHz.
    assert slow["cycles"] - fast["cycles"] == 3 * words * 10
    assert st_fast["vadd.mem.reads"] == 2 * words and st_fast["vadd.mem.writes"] == words
    assert (
        st_fast["vadd.mem.latency_cycles.mean"] == 10
        and st_slow["vadd.mem.latency_cycles.mean"] == 20
    )
    assert st_fast["ram.reads"] == 2 * words and st_fast["ram.writes"] == words
    # The done event fires at the edge where done rose: CYCLES counts from the start
    # write's edge, which is one cycle before the host saw its completion.
    assert fast["t_done"] - fast["t_started"] == (fast["cycles"] - 1) * NS
    assert st_fast["vadd.done.rises"] == 1 and st_fast["vadd.late_transactions"] == 0


# --------------------------------------------------------------- slow path
def slow_path_stream(sim, lib, values):
    """stream_add driven entirely from a Python per-cycle callback (no bridges)."""
    blk = rtl.block(sim, "dut", lib, busy="busy")
    st = {"sent": 0, "out": []}

    def every_cycle(cycle, pins):
        if pins["in_valid"] and pins["in_ready"]:
            st["sent"] += 1
        if pins["out_valid"] and pins["out_ready"]:
            st["out"].append(pins["out_data"])
        more = st["sent"] < len(values)
        pins["in_valid"] = int(more)
        if more:
            pins["in_data"] = values[st["sent"]]
        pins["out_ready"] = 1
        return len(st["out"]) < len(values)

    blk.on_cycle_slow(every_cycle)
    sim.run()
    return st["out"], sim.stats.flat()


def test_slow_python_cycle_callback():
    lib = rtl.build("stream_add", {"WIDTH": 100, "INC": 3, "STALL_MASK": 5})
    values = [int(v) for v in as_ints(beats_of(100, 30, seed=3), 100)]
    out, stats = cosim.simulate(slow_path_stream, lib, values).value
    assert out == [(v + 3) % (1 << 100) for v in values]
    assert stats["dut.slow_callback_calls"] >= 30


# ---------------------------------------------------------------- waveforms
def waves_run(sim, lib, path, window):
    blk = rtl.block(sim, "dut", lib, busy="busy", waves=path, waves_window=window)
    w, r = sim.initiator("writer"), sim.initiator("reader")
    sim.bind(w, blk.stream_in("in"))
    sim.bind(r, blk.stream_out("out"))

    @sim.process
    async def writer():
        await w.write(0, np.arange(1, 21, dtype=np.uint8))

    @sim.process
    async def reader():
        await r.read(0, 20)

    sim.run()
    return blk.build.trace, str(blk.build.library)


@pytest.mark.parametrize("fmt", ["fst", "vcd"])
def test_waveform_window_is_readable(tmp_path, fmt):
    pywellen = pytest.importorskip("pywellen")
    lib = rtl.build("stream_add", {"WIDTH": 8, "INC": 1})
    path = tmp_path / f"dut.{fmt}"
    trace, library = cosim.simulate(waves_run, lib, str(path), ("6 ns", "15 ns")).value
    assert trace == fmt and library != str(lib.library), "a traced build is used only when asked"
    wave = pywellen.Waveform(str(path))
    sig = {v.full_name: v.signal for v in wave.all_vars()}
    assert sig["top.in_data"].value_at(5_000) is None, "nothing before the window"
    # Beat k (value k+1) is offered from the falling edge before edge RESET+1+k and
    # taken there; the reader takes the block's output (value + 1) one cycle later.
    assert sig["top.in_data"].value_at(9_200) == 5  # beat 4, taken at edge 9
    assert sig["top.in_data"].value_at(9_700) == 6  # beat 5, offered for edge 10
    assert sig["top.out_data"].value_at(12_200) == 8 + 1  # beat 7 after edge 12
    clk = sig["top.clk"]
    assert {clk.value_at(t) for t in (13_250, 13_750)} == {0, 1}, "the clock toggles in the window"
    assert clk.value_at(16_000) == clk.value_at(18_500), "nothing after the window"


def no_waves_run(sim, lib):
    blk = rtl.block(sim, "dut", lib, busy="busy")
    return blk.build.trace, str(blk.build.library)


def test_waveforms_are_off_by_default(tmp_path):
    lib = rtl.build("stream_add", {"WIDTH": 8, "INC": 1})
    trace, library = cosim.simulate(no_waves_run, lib).value
    assert trace is None and library == str(lib.library)


# ------------------------------------------------------------------ misc
def peek_after_run(sim, lib):
    blk = rtl.block(sim, "dut", lib, busy="busy")
    w, r = sim.initiator("w"), sim.initiator("r")
    sim.bind(w, blk.stream_in("in"))
    sim.bind(r, blk.stream_out("out"))

    @sim.process
    async def go():
        await w.write(0, np.array([41], dtype=np.uint8))

    sim.run()
    return blk.peek("out_valid"), blk.peek("out_data"), blk.cycle, [p.name for p in blk.model.ports]


def test_peek_and_ports():
    lib = rtl.build("stream_add", {"WIDTH": 8, "INC": 1})
    valid, data, cycle, ports = cosim.simulate(peek_after_run, lib).value
    assert (valid, data) == (1, 42), "the beat waits in the block with nobody reading"
    assert cycle >= RESET + 1
    assert ports == ["in", "out"]


# --------------------------------------------------------- clocks per block
def two_clocks(sim, lib, data):
    """Two instances of one block, each with its own clock and reset sequence."""
    out = {}
    for name, clock, reset_cycles in (("fast", "1 ns", 4), ("slow", "2.5 ns", 2)):
        blk = rtl.block(sim, name, lib, busy="busy", clock=clock, reset_cycles=reset_cycles)
        w, r = sim.initiator(f"{name}_w"), sim.initiator(f"{name}_r")
        sim.bind(w, blk.stream_in("in"))
        sim.bind(r, blk.stream_out("out"))

        async def writer(w=w, name=name):
            await w.write(0, data)
            out[name] = cosim.now()

        async def reader(r=r, name=name):
            out[f"{name}_data"] = await r.read(0, len(data))

        sim.process(writer, name=f"{name}_writer")
        sim.process(reader, name=f"{name}_reader")
    sim.run()
    return out


def test_each_block_has_its_own_clock_and_reset():
    lib = rtl.build("stream_add", {"WIDTH": 8, "INC": 1})
    data = np.arange(30, dtype=np.uint8)
    out = cosim.simulate(two_clocks, lib, data).value
    assert out["fast"] == (4 + 30) * 1000
    assert out["slow"] == (2 + 30) * 2500
    assert list(out["fast_data"]) == list(out["slow_data"]) == list(data + 1)


# ---------------------------------------------- pipelined memory requests
BURST_SV = """\
// Test block: reads N words from address 0 with up to 4 requests in flight, sums them.
module burst_sum (
  input  logic        clk,
  input  logic        rst_n,
  input  logic        go,
  output logic        mem_req_valid,
  input  logic        mem_req_ready,
  output logic        mem_req_we,
  output logic [15:0] mem_req_addr,
  output logic [31:0] mem_req_wdata,
  input  logic        mem_rsp_valid,
  input  logic [31:0] mem_rsp_rdata,
  output logic [31:0] sum,
  output logic [7:0]  received,
  output logic        busy
);
  logic [7:0] issued;
  assign mem_req_valid = busy && issued < 8'd16;
  assign mem_req_we    = 1'b0;
  assign mem_req_addr  = {6'd0, issued, 2'd0};
  assign mem_req_wdata = '0;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      issued <= '0; received <= '0; sum <= '0; busy <= 1'b0;
    end else begin
      if (go && !busy && received == 8'd0) busy <= 1'b1;
      if (mem_req_valid && mem_req_ready) issued <= issued + 8'd1;
      if (mem_rsp_valid) begin
        sum <= sum + mem_rsp_rdata;
        received <= received + 8'd1;
        if (received == 8'd15) busy <= 1'b0;
      end
    end
  end
endmodule
"""


def burst_system(sim, lib, outstanding, latency_ns):
    blk = rtl.block(sim, "burst", lib, busy="busy")
    ram = sim.model("memory", "ram", size=4096, read_latency=latency_ns * NS)
    sim.bind(blk.memory_master("mem", max_outstanding=outstanding), ram)
    ram.array()[:64] = np.arange(1, 17, dtype=np.uint32).view(np.uint8)
    out = {}

    def start(cycle, pins):  # the slow path raises `go` once
        pins["go"] = int(cycle < 8)
        return cycle < 8

    blk.on_cycle_slow(start)
    sim.run()
    out["sum"], out["received"], out["cycle"] = blk.peek("sum"), blk.peek("received"), blk.cycle
    return out, sim.stats.flat()


def test_memory_master_with_requests_in_flight(tmp_path):
    (tmp_path / "burst_sum.sv").write_text(BURST_SV)
    lib = rtl.build("burst_sum", search_path=[tmp_path])
    one, st_one = cosim.simulate(burst_system, lib, 1, 10).value
    four, st_four = cosim.simulate(burst_system, lib, 4, 10).value
    assert (
        one["sum"] == four["sum"] == sum(range(1, 17)) and one["received"] == four["received"] == 16
    )
    assert st_one["burst.mem.reads"] == st_four["burst.mem.reads"] == 16
    assert st_four["burst.mem.latency_cycles.min"] == 10, "each request still waits its latency"
    # In flight, four requests share the latency: the burst takes about a quarter as long.
    assert 3 * (four["cycle"] - 8) < one["cycle"] - 8

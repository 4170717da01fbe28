"""Near-data units (the 'ndp' model) against closed-form JEDEC timing, numpy, and bad input.

Expected cycle counts are written out from the HBM2 preset's JEDEC numbers (JESD235 at
2 Gb/s/pin, tCK 1 ns; see tlm/dram/presets.cpp), not read back from the model: CL 14,
CWL 4, tRCD 14, tRP 14, tRAS 34, tRC 48, tRTP 4, tWR 16, tRRD_S 4, tRRD_L 6, tFAW 30,
tCCD_L 4, tRFC 260, one 32-byte burst = 2 clocks on the data bus, 1 KiB rows (32 bursts),
16 banks in 4 bank groups. The units' defaults: one column access per tCCD_L, results
8 clocks (unit_latency) after the last operand.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import cosim
from cosim import ParameterError, SimulationError, TlmError, ns
from cosim.system.ndp import CMD, DTYPE, GEMV, KIND, LAYOUT, STATUS, A, B, D, M, N
from cosim.system.ndp_layout import Layout, reference_elementwise, reference_gemv, reference_sum
from cosim.system.ndp_system import build_ndp_system

CL, CWL, RCD, RP, RAS, RC, RTP, WR = 14, 4, 14, 14, 34, 48, 4, 16
RRD_S, RRD_L, FAW, CCD_L, RFC, BURST = 4, 6, 30, 4, 260, 2
ROW_BURSTS = 32
LAT = 8  # unit_latency default (cycles)
TCK = 1000


def one_channel(sim: cosim.Simulation, units: int, dram: dict[str, Any] | None = None, **ndp: Any):
    return build_ndp_system(
        sim,
        memory="hbm2",
        units_per_channel=units,
        dram={"channels": 1, "refresh": False, **(dram or {})},
        ndp=ndp,
    )


# --------------------------------------------------------------- simulations (workers)


def stream_sum(
    sim: cosim.Simulation,
    length: int,
    units: int = 1,
    dram: dict[str, Any] | None = None,
    start_ns: int = 0,
    **ndp: Any,
) -> dict[str, Any]:
    """SUM over an int8 vector preloaded (untimed) into the banks; the command is issued
    at `start_ns` (or as soon as the region is registered)."""
    system = one_channel(sim, units, dram, **ndp)
    drv = system.driver
    v = (np.arange(length) % 200 - 100).astype(np.int8)
    out: dict[str, Any] = {}

    @sim.process
    async def main() -> None:
        lay = drv.preload(drv.vector(length, "int8"), v)
        await drv.register(lay)
        if start_ns:
            await cosim.delay(ns(start_ns) - cosim.now())
        out["sum"] = await drv.sum(lay)
        out["cmd"] = drv.last_command

    sim.run()
    out["expected"] = int(v.astype(np.int64).sum())
    return out


def one_row_gemv(sim: cosim.Simulation, n: int) -> dict[str, Any]:
    """GEMV of one matrix row (so one unit works) of n int8 values, two banks per unit."""
    system = one_channel(sim, 8, buffer_bytes=n)
    drv = system.driver
    rng = np.random.default_rng(3)
    a = rng.integers(-128, 128, (1, n), dtype=np.int8)
    x = rng.integers(-128, 128, n, dtype=np.int8)
    out: dict[str, Any] = {}

    @sim.process
    async def main() -> None:
        lay = drv.preload(drv.matrix(1, n, "int8"), a)
        await drv.register(lay)
        y = await drv.gemv(lay, x)
        out["cmd"] = drv.last_command
        out["y"] = await drv.load(y)

    sim.run()
    out["golden"] = a.astype(np.int64) @ x.astype(np.int64)
    return out


def negative(a: np.ndarray) -> np.ndarray:
    """-(|a| + 1), clipped to the dtype: every element < 0."""
    v = -(np.abs(a.astype(np.float64)) + 1)
    if a.dtype.kind == "i":
        v = np.maximum(v, np.iinfo(a.dtype).min)
    return v.astype(a.dtype)


def all_ops(sim: cosim.Simulation, length: int, seed: int) -> dict[str, Any]:
    """Element-wise ops and reductions for every dtype on the default HBM2 stack (16
    pseudo channels x 8 units); data stored and results loaded through the host path."""
    system = build_ndp_system(sim, memory="hbm2")
    drv = system.driver
    rng = np.random.default_rng(seed)
    data = {
        "int8": (
            rng.integers(-128, 128, length, dtype=np.int8),
            rng.integers(-128, 128, length, dtype=np.int8),
        ),
        "int32": (
            rng.integers(-(2**31), 2**31, length, dtype=np.int32),
            rng.integers(-(2**31), 2**31, length, dtype=np.int32),
        ),
        "fp16": (
            (rng.standard_normal(length) * 10).astype(np.float16),
            (rng.standard_normal(length) * 10).astype(np.float16),
        ),
        "fp32": (
            rng.standard_normal(length).astype(np.float32),
            rng.standard_normal(length).astype(np.float32),
        ),
    }
    alpha = {"int8": 3, "int32": -7, "fp16": -1.5, "fp32": 0.375}
    out: dict[str, Any] = {"inputs": data, "alpha": alpha, "lanes": {}, "units": drv.geometry.units}

    @sim.process
    async def main() -> None:
        for dt, (a, b) in data.items():
            out["lanes"][dt] = drv.geometry.lanes(dt)
            la = await drv.store(drv.vector(length, dt), a)
            lb = await drv.store(drv.vector(length, dt), b)
            res = {}
            res["add"] = await drv.load(await drv.add(la, lb))
            res["mul"] = await drv.load(await drv.mul(la, lb))
            res["axpy"] = await drv.load(await drv.axpy(alpha[dt], la, lb))
            res["sum"] = await drv.sum(la)
            res["max"] = await drv.max(la)
            neg = await drv.store(drv.vector(length, dt), negative(a))
            res["max_negative"] = await drv.max(neg)
            out[dt] = res
            await drv.release(neg)
            out.setdefault("released", []).append(
                neg.address not in [r["address"] for r in system.ndp.regions]
            )

    sim.run()
    return out


def layout_round_trip(sim: cosim.Simulation, mapping: str, bank_xor: bool) -> dict[str, Any]:
    """Store a matrix through the host path under a given address mapping; report where
    the layout says rows are, what the model says, and what the dram holds there."""
    system = build_ndp_system(
        sim, memory="hbm2", dram={"channels": 4, "mapping": mapping, "bank_xor": bank_xor}
    )
    drv, ndp = system.driver, system.ndp
    rng = np.random.default_rng(5)
    a = rng.integers(-128, 128, (100, 1500), dtype=np.int8)
    lay = drv.matrix(100, 1500, "int8")
    out: dict[str, Any] = {}

    @sim.process
    async def main() -> None:
        await drv.store(lay, a)
        out["loaded"] = await drv.load(lay)

    sim.run()
    g = lay.geometry
    addrs = lay.burst_addresses()
    model = np.array(
        [
            [
                ndp.locate(t, b * g.burst_bytes, lay.base_row)["address"]
                for b in range(addrs.shape[1])
            ]
            for t in range(g.units)
        ]
    )
    mem = system.soc.dram.array()
    rows_ok = []
    for i in (0, 1, 17, 99):
        loc = lay.row_location(i)
        seg = mem[loc["address"] : loc["address"] + 32]
        rows_ok.append(bool(np.array_equal(seg.view(np.int8), a[i, :32])))
    dec = [system.soc.dram.decode(lay.row_location(i)["address"]) for i in (0, 1, 17, 99)]
    locs = [lay.row_location(i) for i in (0, 1, 17, 99)]
    out.update(
        a=a,
        same_addresses=bool(np.array_equal(addrs, model)),
        rows_ok=rows_ok,
        decoded=dec,
        locations=locs,
        units=g.units,
        unpacked=lay.unpack(lay.pack(a)),
    )
    return out


def bad_commands(sim: cosim.Simulation) -> dict[str, str]:
    """Each bad input once; returns the error message of each case."""
    system = build_ndp_system(sim, memory="hbm2")
    drv, host, ndp = system.driver, system.host, system.ndp
    regs = system.driver.regs
    cap = system.soc.dram.capacity
    out: dict[str, str] = {}

    async def raw(op: int, **values: int) -> str:
        offs = {"DTYPE": DTYPE, "KIND": KIND, "M": M, "N": N}
        for k, v in values.items():
            if k in offs:
                await host.write32(regs + offs[k], v)
            else:
                await host.write64(regs + {"A": A, "B": B, "D": D}[k], v)
        await host.write32(regs + CMD, op)
        while await host.read32(regs + STATUS) == 1:
            await host.compute(10)
        return ndp.last_error

    async def expect(case: str, coro: Any, exc: type[BaseException]) -> None:
        try:
            await coro
        except exc as e:
            out[case] = str(e)
        else:
            out[case] = "no error"

    @sim.process
    async def main() -> None:
        vec = drv.vector(64, "int8")
        await drv.register(vec)
        mat = drv.matrix(64, 64, "int8")
        await drv.register(mat)
        free = drv.vector(64, "int8")  # allocated, never registered
        out["unaligned"] = await raw(LAYOUT, KIND=2, DTYPE=1, M=64, D=free.address + 1)
        out["outside"] = await raw(LAYOUT, KIND=2, DTYPE=1, M=64, D=cap + 0x40)
        top = Layout(ndp, "vector", "int8", 64, 1, drv.geometry.rows - 1)
        out["rows"] = await raw(LAYOUT, KIND=1, DTYPE=3, M=4096, N=2048, D=top.address)
        # 64 rows of 4096 B: two rows of every bank, the second one the matrix's
        out["overlap"] = await raw(LAYOUT, KIND=1, DTYPE=1, M=64, N=4096, D=free.address)
        out["not_laid_out"] = await raw(GEMV, DTYPE=1, M=64, N=64, A=free.address, D=vec.address)
        out["shape"] = await raw(GEMV, DTYPE=1, M=64, N=128, A=mat.address, D=vec.address)
        out["vector_as_matrix"] = await raw(GEMV, DTYPE=1, M=64, N=64, A=vec.address, D=vec.address)
        out["unknown_op"] = await raw(9)
        out["dtype"] = await raw(GEMV, DTYPE=7, M=64, N=64, A=mat.address, D=vec.address)
        out["gemv_dtype"] = await raw(GEMV, DTYPE=2, M=64, N=64, A=mat.address, D=vec.address)
        out["n_range"] = await raw(GEMV, DTYPE=1, M=64, N=4096, A=mat.address, D=vec.address)
        out["m_range"] = await raw(LAYOUT, KIND=2, DTYPE=1, M=0, D=free.address)
        out["kind"] = await raw(LAYOUT, KIND=3, DTYPE=1, M=64, D=free.address)
        out["release"] = await raw(2, D=free.address)
        other = drv.vector(65, "int8")
        await drv.register(other)
        out["length"] = await raw(4, DTYPE=1, M=64, A=vec.address, B=other.address, D=vec.address)
        await expect("driver_error", drv.sum(free), SimulationError)
        # Python side: the driver and the layout check before anything is sent.
        await expect("x_shape", drv.gemv(mat, np.zeros(63, np.int8), vec), ParameterError)
        await expect(
            "data_dtype", drv.store(drv.vector(64, "int32"), np.zeros(64, np.int8)), ParameterError
        )
        for case, make in (
            ("layout_dtype", lambda: Layout(ndp, "vector", "int4", 64)),
            ("layout_rows", lambda: Layout(ndp, "vector", "int8", 64, 1, drv.geometry.rows)),
            ("no_room", lambda: drv.matrix(2**21, 2048, "fp16")),
        ):
            try:
                make()
                out[case] = "no error"
            except ParameterError as e:
                out[case] = str(e)
        # A command while another runs, and the host touching the memory meanwhile.
        big = drv.preload(drv.matrix(1024, 1024, "int8"), np.ones((1024, 1024), np.int8))
        await drv.register(big)
        y = drv.vector(1024, "int32")
        await drv.register(y)
        await host.write(regs + 0x1000, np.ones(1024, np.int8))
        await host.write32(regs + DTYPE, 1)
        await host.write32(regs + M, 1024)
        await host.write32(regs + N, 1024)
        await host.write64(regs + A, big.address)
        await host.write64(regs + D, y.address)
        await host.write32(regs + CMD, GEMV)
        await expect("busy", host.write32(regs + CMD, GEMV), TlmError)
        await cosim.delay(ns(100))
        await host.read(system.soc.DATA, 64)  # the host touches the memory: not arbitrated
        while await host.read32(regs + STATUS) == 1:
            await host.compute(10)
        out["overlap_count"] = str(int(sim.stats["ndp.host_overlap"]))
        out["warnings"] = str(sim.summary()["warnings"])

    sim.run()
    return out


def bad_model(sim: cosim.Simulation, dram: dict[str, Any], **ndp: Any) -> None:
    mem = sim.model("dram", "mem", preset="hbm2", **dram)
    sim.model("ndp", "ndp", memory=ndp.pop("memory", mem.name), **ndp)


# --------------------------------------------------------------------------- tests


def test_one_unit_streams_one_dram_row_at_tccd_l() -> None:
    r = cosim.simulate(stream_sum, 1024).value
    c = r["cmd"]
    act = c["start_cycle"] + RP  # entering near-data mode precharges every bank
    last_rd = act + RCD + (ROW_BURSTS - 1) * CCD_L
    assert c["first_act_cycles"] == [act]
    assert c["unit_done_cycles"] == [last_rd + CL + LAT]
    # The partial leaves over the channel's data bus (CL + one burst per unit).
    assert c["done_cycle"] == last_rd + CL + LAT + CL + BURST
    assert c["done_ps"] == c["done_cycle"] * TCK
    assert (c["act"], c["rd"], c["wr"], c["refreshes"]) == (1, ROW_BURSTS, 0, 0)
    assert c["internal_read_bytes"] == 1024 and c["external_bytes"] == 32
    assert r["sum"] == r["expected"]


def test_unit_interval_sets_the_column_rate() -> None:
    c = cosim.simulate(stream_sum, 1024, unit_interval=8).value["cmd"]
    act = c["start_cycle"] + RP
    assert c["unit_done_cycles"] == [act + RCD + (ROW_BURSTS - 1) * 8 + CL + LAT]


def test_refresh_stalls_the_units_for_trfc() -> None:
    base = cosim.simulate(stream_sum, 1024, start_ns=3000).value["cmd"]
    s = base["start_cycle"]
    due = s + 50  # a refresh falls due while the row streams
    r = cosim.simulate(stream_sum, 1024, dram={"refresh": True, "tREFI": due}, start_ns=3000).value
    c = r["cmd"]
    assert c["start_cycle"] == s
    act1 = s + RP
    rds = [act1 + RCD + i * CCD_L for i in range(ROW_BURSTS)]
    served = sum(t < due for t in rds)
    pre = max(due, act1 + RAS, rds[served - 1] + RTP)  # PREA once tRAS and tRTP allow
    ref = max(pre + RP, act1 + RC)
    act2 = ref + RFC
    last_rd = act2 + RCD + (ROW_BURSTS - served - 1) * CCD_L
    assert 0 < served < ROW_BURSTS
    assert c["refreshes"] == 1 and c["act"] == 2
    assert c["done_cycle"] == last_rd + CL + LAT + CL + BURST
    # The stall: from the read the refresh displaced to the first read after it.
    assert c["done_cycle"] - base["done_cycle"] == act2 + RCD - rds[served]
    assert r["sum"] == r["expected"]


@pytest.mark.parametrize(
    ("dram", "expected"),
    [
        # four ACTs tRRD_S apart (alternating bank groups, so tRRD_L is met), then the
        # next four when the tFAW window of the first has passed
        ({}, lambda k: (k // 4) * FAW + (k % 4) * RRD_S),
        # a 16-cycle window admits four ACTs every 4 x tRRD_S: only tRRD limits
        ({"tFAW": 16}, lambda k: k * RRD_S),
    ],
)
def test_tfaw_limits_how_fast_all_units_activate(dram: dict[str, int], expected: Any) -> None:
    # 16 units (one per bank), one burst each: every unit activates once.
    r = cosim.simulate(stream_sum, 16 * 32, units=16, dram=dram).value
    c = r["cmd"]
    first = c["units_from_cycle"]
    acts = c["first_act_cycles"]
    assert sorted(acts) == [first + expected(k) for k in range(16)]
    for g in range(4):  # units 4g .. 4g+3 own the banks of bank group g
        times = sorted(acts[4 * g : 4 * g + 4])
        assert all(b - a >= RRD_L for a, b in itertools.pairwise(times))
    assert r["sum"] == r["expected"]


def test_two_banks_per_unit_hide_activates_and_y_waits_for_its_data() -> None:
    n = 4096  # four DRAM rows, alternating between the unit's two banks
    r = cosim.simulate(one_row_gemv, n).value
    c = r["cmd"]
    s = c["start_cycle"]
    x_bursts = n // 32
    floor = s + CWL + x_bursts * BURST  # x broadcast into the channel's buffer
    assert c["read_floor_cycle"] == floor
    assert c["first_act_cycles"][0] == s + RP
    assert c["first_act_cycles"][1:] == [None] * 7  # one matrix row: one unit works
    last_rd = floor + (n // 32 - 1) * CCD_L  # no activate bubble between rows
    wr = last_rd + CL + LAT  # y waits for its last operand and the pipeline
    assert c["done_cycle"] == wr + CWL + BURST + WR + RP  # write recovery, then banks closed
    assert (c["act"], c["rd"], c["wr"]) == (5, n // 32, 1)
    assert np.array_equal(r["y"], r["golden"].astype(np.int32))


@pytest.fixture(scope="module")
def ops() -> dict[str, Any]:
    return cosim.simulate(all_ops, 1000, 11).value


@pytest.mark.parametrize("dtype", ["int8", "int32", "fp16", "fp32"])
def test_elementwise_and_reductions_equal_numpy(ops: dict[str, Any], dtype: str) -> None:
    a, b = ops["inputs"][dtype]
    res = ops[dtype]
    alpha = ops["alpha"][dtype]
    for op in ("add", "mul", "axpy"):
        assert np.array_equal(res[op], reference_elementwise(op, a, b, alpha)), op
    if dtype in ("int8", "int32"):
        with np.errstate(over="ignore"):
            assert np.array_equal(res["add"], a + b) and np.array_equal(res["mul"], a * b)
        assert res["sum"] == int(a.astype(np.int64).sum())
    else:
        assert np.array_equal(res["add"], a + b) and np.array_equal(res["mul"], a * b)
        lanes, units = ops["lanes"][dtype], ops["units"]
        assert res["sum"] == reference_sum(a, units, lanes)
        # fp32 summation: at most len/units/lanes + log2(lanes) + log2(units) roundings
        k = -(-a.size // units // lanes) + int(np.log2(lanes)) + int(np.log2(units)) + 1
        bound = k * 2.0**-24 * float(np.abs(a.astype(np.float64)).sum())
        assert abs(res["sum"] - float(a.astype(np.float64).sum())) <= bound
    assert res["max"] == a.max()
    assert res["max_negative"] == negative(a).max() < 0  # the zero padding never wins
    assert all(ops["released"])


@pytest.mark.parametrize(
    ("mapping", "bank_xor"), [("ro-ra-ba-co-bg-ch", False), ("ch-ra-bg-ro-ba-co", True)]
)
def test_layout_helper_matches_the_units_and_the_host_path(mapping: str, bank_xor: bool) -> None:
    r = cosim.simulate(layout_round_trip, mapping, bank_xor).value
    assert r["same_addresses"]  # Python's layout == the model's, burst by burst
    assert all(r["rows_ok"])  # the host path put row i where row_location(i) says
    assert np.array_equal(r["loaded"], r["a"]) and np.array_equal(r["unpacked"], r["a"])
    for loc, dec in zip(r["locations"], r["decoded"], strict=True):
        assert (dec["channel"], dec["bankgroup"], dec["bank"], dec["row"]) == (
            loc["channel"],
            loc["bankgroup"],
            loc["bank"],
            loc["row"],
        )
        assert loc["unit"] // 8 == loc["channel"]  # 8 units per channel


@pytest.fixture(scope="module")
def bad() -> dict[str, str]:
    return cosim.simulate(bad_commands).value


@pytest.mark.parametrize(
    ("case", "words"),
    [
        (
            "unaligned",
            ["D = 0x", "not aligned to a row band", "byte 1 of column 0 of channel 0", "starts at"],
        ),
        ("outside", ["outside the dram", "0x0.."]),
        ("rows", ["4096x2048 fp16 matrix needs rows 32767..32830", "banks have rows 0..32767"]),
        ("overlap", ["rows 32765..32766 overlap the 64x64 int8 matrix"]),
        ("not_laid_out", ["A = 0x", "no matrix is laid out for the units", "registered:"]),
        ("shape", ["A = 0x", "laid out as a 64x64 int8 matrix", "needs a 64x128 int8 matrix"]),
        ("vector_as_matrix", ["laid out as a length-64 int8 vector", "needs a 64x64 int8 matrix"]),
        ("unknown_op", ["CMD = 9 is not a command", "3 GEMV"]),
        ("dtype", ["DTYPE = 7 is not a data type", "1 int8"]),
        ("gemv_dtype", ["GEMV supports DTYPE int8", "got int32"]),
        ("n_range", ["N = 4096 is out of range", "buffer_bytes", "1..2048"]),
        ("m_range", ["M (vector length) = 0 is out of range 1.."]),
        ("kind", ["KIND = 3 is not a region kind"]),
        ("release", ["no region is registered there to release"]),
        ("length", ["B = 0x", "length-65 int8 vector", "needs a length-64 int8 vector"]),
        ("driver_error", ["ndp 'ndp'", "sum: A = 0x", "no vector is laid out"]),
        ("x_shape", ["x must be 64 int8 values", "shape (63,)"]),
        ("data_dtype", ["dtype int8 does not fit the length-64 int32 vector"]),
        ("layout_dtype", ["dtype 'int4' is not supported", "int8, int32, fp16, fp32"]),
        ("layout_rows", ["base_row = 32768 is out of range 0 .. 32767"]),
        ("no_room", ["no room for a 2097152x2048 fp16 matrix", "needs 32768 rows"]),
        ("busy", ["gemv command is still running"]),
        ("overlap_count", ["1"]),
        ("warnings", ["accessed 'dram' while the units held its banks"]),
    ],
)
def test_bad_input_is_a_clear_error_naming_the_thing_at_fault(
    bad: dict[str, str], case: str, words: list[str]
) -> None:
    for w in words:
        assert w in bad[case], f"{case}: {w!r} not in {bad[case]!r}"


@pytest.mark.parametrize(
    ("dram", "ndp", "words"),
    [
        (
            {},
            {"units_per_channel": 3},
            ["units_per_channel = 3 is out of range", "16 banks", "1, 2, 4, 8, 16"],
        ),
        ({}, {"units_per_channel": 32}, ["units_per_channel = 32 is out of range"]),
        ({}, {"memory": "nowhere"}, ["parameter 'memory'", "no dram model named 'nowhere'"]),
        ({"ranks": 2}, {}, ["single-rank channel", "ranks = 2"]),
        ({}, {"unit_latency": -1}, ["unit_latency", "0 .. 65536"]),
    ],
)
def test_bad_parameters_name_the_parameter(
    dram: dict[str, Any], ndp: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(ParameterError) as e:
        cosim.simulate(bad_model, dram, **ndp)
    for w in words:
        assert w in str(e.value), str(e.value)


def test_reference_gemv_matches_numpy_for_int8() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (7, 45), dtype=np.int8)
    x = rng.integers(-128, 128, 45, dtype=np.int8)
    assert np.array_equal(reference_gemv(a, x, 32), (a.astype(np.int64) @ x).astype(np.int32))

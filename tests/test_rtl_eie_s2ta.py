"""The RTL blocks of EIE and S2TA (rtl/eie*.sv, rtl/s2ta*.sv): lint-clean under
`verilator --lint-only -Wall` at their parameter corners, their cocotb unit benches
(tests/cocotb/tb_eie*.py, tb_s2ta*.py) pass against numpy, and the bridge behaviour
their always-ready load ports rely on (sinks, register access beside a ready stream)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cosim import rtl
from cosim.rtl import verilator as vl

REPO = Path(__file__).resolve().parents[1]
BENCHES = Path(__file__).with_name("cocotb")

EIE_SMALL = {"PES": 4, "FIFO_DEPTH": 4, "ACT_DEPTH": 64, "MAT_WORDS": 256, "ROWS_MAX": 64}

LINT = [
    ("eie", {}),
    ("eie", {"PES": 1, "FIFO_DEPTH": 1, "ACT_DEPTH": 16, "ROWS_MAX": 16, "MAT_WORDS": 2}),
    ("eie", {"PES": 32, "FIFO_DEPTH": 64, "ACT_DEPTH": 4096, "ROWS_MAX": 4096}),
    ("eie", {"PES": 3, "FIFO_DEPTH": 5, "ACT_DEPTH": 64, "MAT_WORDS": 100}),
    ("eie_pe", {"FIFO_DEPTH": 1}),
    ("eie_lnzd", {"ACT_DEPTH": 16}),
    ("s2ta", {}),
    ("s2ta", {"ROWS": 1, "COLS": 1, "W_NNZ": 1}),
    ("s2ta", {"ROWS": 16, "COLS": 14, "W_NNZ": 8}),
    ("s2ta", {"ROWS": 3, "COLS": 5, "W_NNZ": 2}),
    ("s2ta_array", {"ROWS": 1, "COLS": 1, "W_NNZ": 8}),
    ("s2ta_pruner", {}),
]

BENCH = [
    ("eie", EIE_SMALL, "tb_eie.py"),
    (
        "eie",
        {**EIE_SMALL, "PES": 1, "FIFO_DEPTH": 1, "MAT_WORDS": 512, "ROWS_MAX": 512},
        "tb_eie.py",
    ),
    ("eie_pe", {"FIFO_DEPTH": 4, "ACT_DEPTH": 64, "MAT_WORDS": 64, "ROWS_MAX": 64}, "tb_eie_pe.py"),
    ("eie_lnzd", {"ACT_DEPTH": 128}, "tb_eie_lnzd.py"),
    ("s2ta", {"ROWS": 4, "COLS": 3, "W_NNZ": 4}, "tb_s2ta.py"),
    ("s2ta", {"ROWS": 2, "COLS": 5, "W_NNZ": 1}, "tb_s2ta.py"),
    ("s2ta_array", {"ROWS": 3, "COLS": 4, "W_NNZ": 3}, "tb_s2ta_array.py"),
    ("s2ta_pruner", {}, "tb_s2ta_pruner.py"),
]


def _id(top: str, params: dict) -> str:
    return top + "".join(f"-{k.lower()}{v}" for k, v in params.items())


@pytest.mark.parametrize(("top", "params"), LINT, ids=[_id(t, p) for t, p in LINT])
def test_accelerator_rtl_is_lint_clean(top, params):
    args = [f"-G{k}={v}" for k, v in params.items()]
    cmd = [str(vl.executable()), "--lint-only", "-Wall", "-y", str(REPO / "rtl"), *args]
    r = subprocess.run(
        [*cmd, str(REPO / "rtl" / f"{top}.sv")],
        env=vl.environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("top", "params", "bench"), BENCH, ids=[_id(t, p) for t, p, _ in BENCH])
def test_accelerator_cocotb_bench(tmp_path, top, params, bench):
    build = rtl.cocotb_build(top, params)
    result = rtl.run_cocotb(
        build,
        BENCHES / bench,
        test_dir=tmp_path,
        env={"COSIM_TB_PARAMS": params},
        log_file=tmp_path / "cocotb.log",
    )
    assert result.tests >= 2 and not result.failures


# ------------------------------------------- bridges: sinks and idle register access


def sink_block(sim, blocking: bool):
    """EIE's RTL with its load and activation ports as streams: a register read while the
    block is idle, then a job (no drain) whose done must come at the RTL's own edge."""
    import numpy as np

    import cosim
    from cosim.accel.eie import format as fmt

    geo = fmt.EieGeometry(pes=4, fifo_depth=4, act_depth=64, mat_words=256, rows_max=64)
    lib = rtl.build("eie", geo.rtl_parameters())
    blk = rtl.block(sim, "eie", lib, clock="1 ns", busy="busy", idle="gate")
    csr = blk.register_port("csr")
    ld, act = blk.stream_in("ld", blocking=blocking), blk.stream_in("act", blocking=blocking)
    sim.bind(sim.initiator("out_reader"), blk.stream_out("out"))
    done = cosim.InterruptLine(sim, blk.interrupt("done"), "done")
    host = sim.initiator("host")
    bus = sim.model("router", "bus")
    sim.bind(host, bus.port("target"))
    for i, port in enumerate((csr, ld, act)):
        bus.map(port, i << 16, 1 << 16)
    rng = np.random.default_rng(1)
    idx = ((rng.random((32, 40)) < 0.3) * rng.integers(1, 16, (32, 40))).astype(np.uint8)
    cb = np.arange(16, dtype=np.int16)
    layer = fmt.encode(idx, cb, 4)
    out = {}

    def word(v):
        return np.frombuffer(int(v).to_bytes(4, "little"), np.uint8).copy()

    @sim.process
    async def driver():
        out["info"] = int.from_bytes(bytes(await host.read(0x24, 4)), "little")
        await host.write(1 << 16, fmt.model_image(layer, geo))
        await host.write(2 << 16, fmt.activation_image(np.ones(40, np.int16)))
        for reg, v in ((0x08, 1), (0x0C, 0), (0x10, 40), (0x14, 8)):  # skip, no drain
            await host.write(reg, word(v))
        await host.write(0x00, word(1))
        t0 = cosim.now()
        await done.wait()
        out["done_ps"] = cosim.now() - t0
        out["cycles"] = int.from_bytes(bytes(await host.read(0x20, 4)), "little")

    sim.run()
    out["idle_cycles"] = sim.stats["eie.idle_cycles"]
    out["blocked_waits"] = sim.stats["eie.blocked_waits"]
    return out


def test_idle_block_serves_a_register_access_while_a_sink_is_ready():
    """Fixed in the bridges: an idle block whose stream is ready (waiting on the outside)
    used to park with a register access pending, forever."""
    import cosim

    r = cosim.simulate(sink_block, False, timeout=120).value
    assert r["info"] & 0xFF == 4 and (r["info"] >> 8) & 0xFF == 4


def test_a_busy_block_with_sinks_is_clocked_and_its_done_comes_on_time():
    """Declared sinks do not make a computing block look as if it waited for input: its
    done interrupt comes when the RTL raises it, not after a park and a catch-up."""
    import cosim

    r = cosim.simulate(sink_block, False, timeout=120).value
    assert r["idle_cycles"] == 0
    # The start write completes one cycle after the edge that starts the job.
    assert r["done_ps"] == (r["cycles"] - 1) * 1000
    # Undeclared sinks look like inputs the RTL waits for. The block used to park on them
    # and raise done only when its watchdog woke it; with the host awaiting done it now
    # keeps running (in step with the kernel, slower but exact): same done time.
    blocking = cosim.simulate(sink_block, True, timeout=120).value
    assert blocking["done_ps"] == r["done_ps"]
    assert blocking["blocked_waits"] > r["blocked_waits"]

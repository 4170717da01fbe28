"""cocotb bench of rtl/phantom/phantom_core.sv (build parameters in COSIM_TB_PARAMS) against
numpy: random sparse and dense jobs (results, the four counters and CYCLES against the
dispatcher's promise of max(1, ceil(pairs / THREADS)) cycles per window), empty and full
windows, random gaps and back-pressure, refused configurations and the counter clear."""

from __future__ import annotations

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start

from cosim.accel.phantom import engine as E
from cosim.accel.phantom import format as fmt

CTRL, STATUS, CYCLES, INFO = 0x00, 0x04, 0x08, 0x0C


def shape() -> E.CoreShape:
    p = params()
    return E.CoreShape(p["WINDOW"], p["THREADS"], p["MAX_OUTS"])


def rows(gen, outputs: int, k: int, dw: float, da: float) -> tuple[np.ndarray, np.ndarray]:
    w = np.where(gen.random((outputs, k)) < dw, gen.integers(-128, 128, (outputs, k)), 0)
    a = np.where(gen.random((outputs, k)) < da, gen.integers(-128, 128, (outputs, k)), 0)
    return w.astype(np.int8), a.astype(np.int8)


def promised_cycles(sh: E.CoreShape, w: np.ndarray, a: np.ndarray, dense: bool) -> int:
    """CYCLES of a job fed and drained without gaps: windows back to back at their
    dispatcher cycles, a result one edge after its last window, one result per edge."""
    n = len(w)
    valid = ((w != 0) & (a != 0)).reshape(n, -1, sh.window).sum(-1)
    pairs = np.full_like(valid, sh.window) if dense else valid
    hold = sh.hold_cycles(pairs)
    edge, out = 1, 0  # the first window is taken one edge after the start
    for o in range(n):
        edge += int(hold[o].sum())
        out = max(out + 1, edge + 1)
    return out


async def job(dut, w, a, dense=False, valid_prob=1.0, ready_prob=1.0):
    sh, gen = shape(), rng()
    n, k = w.shape
    await csr(dut, True, E.OUTPUTS, n)
    await csr(dut, True, E.GROUP, k // sh.window)
    await csr(dut, True, E.MODE, E.MODE_DENSE if dense else 0)
    beats = [int.from_bytes(b.tobytes(), "little") for b in fmt.window_beats(w, a, sh.window)]
    # Offered from before the start, so the first window can be taken one edge after it.
    sender = cocotb.start_soon(send(dut, beats, gen, valid_prob))
    receiver = cocotb.start_soon(receive(dut, n, gen, ready_prob))
    await csr(dut, True, CTRL, 1 | E.CTRL_CLEAR)
    got = await receiver
    await sender
    assert await csr(dut, False, STATUS) == 0b010
    res = np.array(got, np.uint32).view(np.int32)
    valid = (w != 0) & (a != 0)
    want = (w.astype(np.int64) * a.astype(np.int64) * (1 if dense else valid)).sum(axis=1)
    assert np.array_equal(res, want.astype(np.int32)), f"results differ\n{res}\n{want}"
    counters = {c: await csr(dut, False, addr) for c, addr in E.COUNTERS.items()}
    windows = n * k // sh.window
    pairs = valid.reshape(windows, sh.window).sum(-1)
    issue = np.full(windows, sh.window) if dense else pairs
    assert counters == {
        "issued": int(issue.sum()),
        "valid": int(valid.sum()),
        "windows": windows,
        "issue_cycles": int(sh.hold_cycles(issue).sum()),
    }, counters
    return await csr(dut, False, CYCLES)


@cocotb.test()
async def random_sparse_and_dense_jobs(dut):
    await start(dut)
    sh, gen = shape(), rng()
    for dense in (False, True):
        for dw, da, n, g in ((0.3, 0.5, sh.max_outs, 3), (0.8, 0.9, 5, 1), (0.05, 0.4, 3, 7)):
            w, a = rows(gen, n, g * sh.window, dw, da)
            cycles = await job(dut, w, a, dense)
            assert cycles == promised_cycles(sh, w, a, dense), (cycles, dense, dw, da)


@cocotb.test()
async def empty_and_full_windows(dut):
    await start(dut)
    sh = shape()
    zero = np.zeros((2, 2 * sh.window), np.int8)
    full = np.full((2, 2 * sh.window), -128, np.int8)
    assert await job(dut, zero, zero) == promised_cycles(sh, zero, zero, False) == 6
    assert await job(dut, full, full) == promised_cycles(sh, full, full, False)
    assert await job(dut, zero, zero, dense=True) == promised_cycles(sh, full, full, False)


@cocotb.test()
async def gaps_and_back_pressure(dut):
    await start(dut)
    sh, gen = shape(), rng()
    for dense in (False, True):
        w, a = rows(gen, 6, 2 * sh.window, 0.4, 0.6)
        await job(dut, w, a, dense, valid_prob=0.5, ready_prob=0.3)


@cocotb.test()
async def refused_configurations_and_info(dut):
    await start(dut)
    sh = shape()
    info = await csr(dut, False, INFO)
    assert info == sh.info()
    for outputs, group in ((0, 1), (sh.max_outs + 1, 1), (1, 0), (1, E.MAX_GROUP + 1)):
        await csr(dut, True, E.OUTPUTS, outputs)
        await csr(dut, True, E.GROUP, group)
        await csr(dut, True, CTRL, 1)
        assert await csr(dut, False, STATUS) == 0b100, (outputs, group)
    assert await csr(dut, False, E.OUTPUTS) == 1 and await csr(dut, False, E.GROUP) == group
    w, a = rows(rng(), 2, sh.window, 1.0, 1.0)
    await job(dut, w, a)  # a good job after refused ones clears the error

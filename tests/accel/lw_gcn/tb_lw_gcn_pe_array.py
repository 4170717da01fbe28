"""cocotb bench of rtl/lw_gcn/lw_gcn_pe_array.sv (build parameters in COSIM_TB_PARAMS)
against numpy: a graph's sparse product in PCOO (no stalls) and CSR (hazard stalls) and a
dense product, results, counters and CYCLES against the promise of engine.job_cycles;
random gaps and back-pressure; refused configurations, INFO and the counter clear."""

from __future__ import annotations

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start

from cosim.accel.lw_gcn import engine as E
from cosim.accel.lw_gcn import format as fmt
from cosim.accel.lw_gcn.graph import citation_graph, normalised_adjacency

CTRL, STATUS, CYCLES, INFO = 0x00, 0x04, 0x08, 0x0C


def shape() -> E.ArrayShape:
    p = params()
    return E.ArrayShape(p["PES"], p["LANES"], p["ACC_LAT"], p["MAX_ROWS"], p["MAX_FEAT"])


def ints(beats: np.ndarray) -> list[int]:
    if not len(beats):
        return []
    raw = np.ascontiguousarray(beats).view(np.uint8).reshape(len(beats), -1)
    return [int.from_bytes(b.tobytes(), "little") for b in raw]


async def job(dut, feats, slots, rows, cfg, valid_prob=1.0, ready_prob=1.0):
    """Run one job; returns (result rows (rows*pes, lanes) int16, counters, CYCLES)."""
    sh, gen = shape(), rng()
    load = (
        fmt.feature_beats(feats, sh.pes)
        if feats is not None
        else np.zeros((0, sh.in_beat_bytes), np.uint8)
    )
    await csr(dut, True, E.LOAD, len(load))
    await csr(dut, True, E.SLOTS, len(slots))
    await csr(dut, True, E.ROWS, rows)
    await csr(dut, True, E.OUT_CFG, cfg)
    beats = ints(load) + ints(slots)
    sender = cocotb.start_soon(send(dut, beats, gen, valid_prob))
    receiver = cocotb.start_soon(receive(dut, rows * sh.pes, gen, ready_prob))
    await csr(dut, True, CTRL, 1 | E.CTRL_CLEAR)
    got = await receiver
    await sender
    assert await csr(dut, False, STATUS) == 0b010
    res = np.array([[(w >> (16 * k)) & 0xFFFF for k in range(sh.lanes)] for w in got], np.uint16)
    counters = {c: await csr(dut, False, a) for c, a in E.COUNTERS.items()}
    return res.view(np.int16), counters, await csr(dut, False, CYCLES)


def expected(feats, image: fmt.SlotImage, cfg: int) -> np.ndarray:
    """Numpy: per (PE, local row) the sum of val * feature row, requantised, beat order."""
    sh = shape()
    acc = np.zeros((image.rows, image.pes, sh.lanes), np.int64)
    b = image.beats
    for p in range(image.pes):
        ok = (b["flags"][:, p] & 1).astype(bool)
        np.add.at(
            acc[:, p],
            b["row"][ok, p],
            b["val"][ok, p, None].astype(np.int64) * feats[b["col"][ok, p]],
        )
    return E.requantise(acc.reshape(-1, sh.lanes), cfg)


@cocotb.test()
async def sparse_product_pcoo_and_csr(dut):
    await start(dut)
    sh, gen = shape(), rng()
    g = citation_graph(gen, 96)
    rows, cols, vals = normalised_adjacency(g)
    feats = gen.integers(-2000, 2000, (g.nodes, sh.lanes)).astype(np.int64)
    cfg = E.out_cfg(8, True)
    stalls = {}
    for f in fmt.FORMATS:
        img = fmt.encode(rows, cols, vals, g.nodes, sh.pes, f, sh.acc_lat)
        res, c, cycles = await job(dut, feats, img.beats, img.rows, cfg)
        assert np.array_equal(res, expected(feats, img, cfg)), f
        load = len(fmt.feature_beats(feats, sh.pes))
        promise, stall = E.job_cycles(sh, load, img.beats, img.rows)
        assert (cycles, c["stalls"]) == (promise, stall), (f, cycles, promise)
        assert c == {"nnz": len(rows), "beats": len(img.beats), "stalls": stall, "loaded": load}
        stalls[f] = stall
    assert stalls["pcoo"] == 0 < stalls["csr"]


@cocotb.test()
async def dense_product_and_gaps(dut):
    await start(dut)
    sh, gen = shape(), rng()
    x = gen.integers(-64, 64, (37, 8))
    w = gen.integers(-32, 32, (8, sh.lanes))
    slots, rows = fmt.dense_slots(x, sh.pes)
    want = E.requantise((x @ w), E.out_cfg(3, False))
    for vp, rp in ((1.0, 1.0), (0.4, 0.3)):
        res, c, cycles = await job(dut, w, slots, rows, E.out_cfg(3, False), vp, rp)
        assert np.array_equal(res[: len(x)], want)
        assert c["nnz"] == x.size
        if vp == 1.0:
            assert cycles == E.job_cycles(sh, len(fmt.feature_beats(w, sh.pes)), slots, rows)[0]


@cocotb.test()
async def back_to_back_row_stalls_and_empty_job(dut):
    """Every slot on one row: each waits acc_lat cycles; no slots: rows of zeros."""
    await start(dut)
    sh = shape()
    feats = np.arange(4 * sh.lanes).reshape(4, sh.lanes) - 7
    slots = np.zeros((5, sh.pes), fmt.SLOT)
    slots["row"], slots["col"], slots["val"], slots["flags"] = 1, 2, -3, 1
    res, c, _ = await job(dut, feats, slots, 2, 0)
    assert np.array_equal(res[sh.pes : 2 * sh.pes], np.tile(-15 * feats[2], (sh.pes, 1)))
    assert c["stalls"] == 4 * (sh.acc_lat - 1)
    res, c, cycles = await job(dut, None, slots[:0], 1, 0)
    assert not res.any() and cycles == E.job_cycles(sh, 0, slots[:0], 1)[0] == sh.pes


@cocotb.test()
async def refused_configurations_and_info(dut):
    await start(dut)
    sh = shape()
    assert await csr(dut, False, INFO) == sh.info()
    for load, rows, cfg in (
        (sh.load_max + 1, 1, 0),
        (0, 0, 0),
        (0, sh.max_rows + 1, 0),
        (0, 1, 0x20),
    ):
        await csr(dut, True, E.LOAD, load)
        await csr(dut, True, E.SLOTS, 0)
        await csr(dut, True, E.ROWS, rows)
        await csr(dut, True, E.OUT_CFG, cfg)
        await csr(dut, True, CTRL, 1)
        assert await csr(dut, False, STATUS) == 0b100, (load, rows, cfg)
    await csr(dut, True, CTRL, E.CTRL_CLEAR)
    assert all([await csr(dut, False, a) == 0 for a in E.COUNTERS.values()])

"""cocotb unit test of rtl/eie/eie.sv (PES, FIFO_DEPTH, ... per COSIM_TB_PARAMS): compressed
layers loaded through the load stream, activations through the activation stream, jobs
programmed by registers; every result is compared with a dense numpy product W @ a
(int32, wrapping) and the event counters with counts taken from the layer directly.

Cases: random layers at EIE's densities, gaps that need padding entries, extreme values
that wrap, empty and zero ranges, no zero-skipping, dense mode by column blocks that
accumulate, ReLU, queue limit 1, random gaps on the input streams and random
back-pressure on the result stream, and refused jobs and bad load packets.
"""

from __future__ import annotations

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start

from cosim.accel.eie import format as fmt
from cosim.accel.eie.engine import DECLARATION

R = DECLARATION.register_map()
CTRL, STATUS, CONFIG, COL_START, COL_COUNT, ROWS = (
    R[n] for n in ("CTRL", "STATUS", "CONFIG", "COL_START", "COL_COUNT", "ROWS")
)
DENSE_BASE, ACT_WPTR, CYCLES, INFO = (R[n] for n in ("DENSE_BASE", "ACT_WPTR", "CYCLES", "INFO"))
C_ACTS, C_ENTRIES, C_ZERO_W, C_PTR, C_LOAD, C_OUT = (
    R[n]
    for n in (
        "activations",
        "entries",
        "zero_weights",
        "pointer_reads",
        "load_beats",
        "result_beats",
    )
)
SKIP, DENSE, RELU, CLEAR, DRAIN = 1, 2, 4, 8, 16


def geometry() -> fmt.EieGeometry:
    p = params()
    return fmt.EieGeometry(p["PES"], p["FIFO_DEPTH"], p["ACT_DEPTH"], p["MAT_WORDS"], p["ROWS_MAX"])


def beats(img: np.ndarray, width_bytes: int) -> list[int]:
    raw = np.ascontiguousarray(img).tobytes()
    return [
        int.from_bytes(raw[i : i + width_bytes], "little") for i in range(0, len(raw), width_bytes)
    ]


def random_layer(gen, rows, cols, w_density, a_density):
    idx = ((gen.random((rows, cols)) < w_density) * gen.integers(1, 16, (rows, cols))).astype(
        np.uint8
    )
    cb = np.concatenate([[0], gen.integers(-4000, 4000, 15)]).astype(np.int16)
    cb[1:][cb[1:] == 0] = 1
    a = ((gen.random(cols) < a_density) * gen.integers(-3000, 3000, cols)).astype(np.int16)
    return idx, cb, a


def golden(idx, cb, a, relu=False, cols=None):
    w = cb[idx].astype(np.int64)
    sel = np.zeros(len(a), dtype=bool)
    sel[cols if cols is not None else slice(None)] = True
    out = (w[:, sel] @ a[sel].astype(np.int64)).astype(np.int32)
    return np.maximum(out, 0) if relu else out


async def load_layer(dut, layer, gen=None, prob=1.0):
    await send(dut, beats(fmt.model_image(layer, geometry()), 8), gen, prob, prefix="ld")


async def load_acts(dut, a, gen=None, prob=1.0, group=0):
    await csr(dut, True, ACT_WPTR, group)
    await send(dut, beats(fmt.activation_image(a), 32), gen, prob, prefix="act")


async def run_job(dut, cfg, col_start, col_count, rows, drain_gen=None, ready_prob=1.0):
    """Program and start a job; return the drained outputs (all local rows x PES)."""
    pes = params()["PES"]
    await csr(dut, True, CONFIG, cfg)
    await csr(dut, True, COL_START, col_start)
    await csr(dut, True, COL_COUNT, col_count)
    await csr(dut, True, ROWS, rows)
    await csr(dut, True, CTRL, 1)
    out = []
    if cfg & DRAIN and rows:
        words = await receive(dut, rows, drain_gen, ready_prob, prefix="out", limit=400_000)
        for w in words:
            out += [((w >> (32 * k)) & 0xFFFF_FFFF) for k in range(pes)]
    for _ in range(100_000):
        status = await csr(dut, False, STATUS)
        if not status & 1:
            break
    assert status & 0b11 == 0b10, f"STATUS should be done, got {status:#b}"
    return np.array(out, dtype=np.uint32).view(np.int32)


def expected_work(layer, cols):
    """Per-PE work: max(1, entries) per broadcast column."""
    work = []
    for s in layer.slices:
        n = np.diff(s.pointers)[cols]
        work.append(int(np.maximum(n, 1).sum()))
    return work


async def fresh(dut):
    await start(dut)
    dut.ld_valid.value = 0
    dut.act_valid.value = 0


async def check_layer(dut, idx, cb, a, cfg=SKIP | CLEAR | DRAIN, gen=None, **kw):
    geo = geometry()
    layer = fmt.encode(idx, cb, geo.pes)
    await load_layer(dut, layer, gen, kw.pop("load_prob", 1.0))
    await load_acts(dut, a, gen, kw.pop("act_prob", 1.0))
    await csr(dut, True, CTRL, 2)  # clear counters
    rows = layer.local_rows
    got = await run_job(dut, cfg, 0, len(a), rows, gen, kw.pop("ready_prob", 1.0))
    want = golden(idx, cb, a, relu=bool(cfg & RELU))
    got = got.reshape(rows, geo.pes).ravel()[: idx.shape[0]]
    assert np.array_equal(got, want), f"outputs differ from numpy:\n{got}\nexpected\n{want}"
    cols = np.nonzero(a)[0] if cfg & SKIP else np.arange(len(a))
    entries = sum(int(np.diff(s.pointers)[cols].sum()) for s in layer.slices)
    assert await csr(dut, False, C_ACTS) == len(cols)
    assert await csr(dut, False, C_ENTRIES) == entries
    assert await csr(dut, False, C_PTR) == 2 * len(cols) * geo.pes
    for k, w in enumerate(expected_work(layer, cols)):
        assert await csr(dut, False, DECLARATION.arrays["WORK"] + 4 * k) == w, f"work of PE {k}"
    assert await csr(dut, False, C_OUT) == rows


@cocotb.test()
async def random_layers(dut):
    """EIE's densities (9% weights, 35% activations) and denser ones."""
    await fresh(dut)
    gen = rng()
    for rows, cols, dw, da in ((40, 48, 0.09, 0.35), (33, 20, 0.5, 0.8), (16, 64, 0.2, 0.35)):
        await check_layer(dut, *random_layer(gen, rows, cols, dw, da))


@cocotb.test()
async def back_pressure_and_gaps(dut):
    await fresh(dut)
    gen = rng()
    idx, cb, a = random_layer(gen, 50, 40, 0.15, 0.5)
    await check_layer(dut, idx, cb, a, gen=gen, load_prob=0.5, act_prob=0.4, ready_prob=0.3)


@cocotb.test()
async def padding_extremes_and_relu(dut):
    """Gaps longer than 15 rows (padding entries), -32768 products that wrap, ReLU."""
    await fresh(dut)
    pes = params()["PES"]
    rows, cols = 40 * pes, 6
    idx = np.zeros((rows, cols), np.uint8)
    idx[rows - 1, 0] = 1  # one entry after a long gap: padding in its PE
    idx[::7, 1] = 2
    idx[:, 2] = 15  # a full column
    idx[pes * 17, 3] = 3
    cb = np.zeros(16, np.int16)
    cb[1], cb[2], cb[3], cb[15] = -32768, 32767, -1, -32768
    a = np.array([-32768, 32767, -32768, 5, 0, -32768], np.int16)
    await check_layer(dut, idx, cb, a)
    await check_layer(dut, idx, cb, a, cfg=SKIP | CLEAR | DRAIN | RELU)
    layer = fmt.encode(idx, cb, pes)
    assert layer.padding_entries > 0


@cocotb.test()
async def no_skip_and_queue_limit(dut):
    """Zero activations broadcast too (skip off), and a queue limit of 1."""
    await fresh(dut)
    gen = rng()
    idx, cb, a = random_layer(gen, 30, 36, 0.2, 0.3)
    await check_layer(dut, idx, cb, a, cfg=CLEAR | DRAIN)
    await check_layer(dut, idx, cb, a, cfg=SKIP | CLEAR | DRAIN | (1 << 8))


@cocotb.test()
async def zero_work(dut):
    """All-zero activations, an empty range, and an all-zero layer."""
    await fresh(dut)
    gen = rng()
    idx, cb, a = random_layer(gen, 24, 20, 0.3, 0.5)
    await check_layer(dut, idx, cb, np.zeros_like(a))
    await check_layer(dut, np.zeros_like(idx), cb, a)
    got = await run_job(dut, SKIP | CLEAR | DRAIN, 0, 0, 3)
    assert not got.any(), "a job over no columns leaves the cleared accumulators at 0"


@cocotb.test()
async def dense_blocks_accumulate(dut):
    """Dense mode: two column blocks loaded at different word bases, the second job adds
    to the first (no clear), every activation broadcast."""
    await fresh(dut)
    gen = rng()
    pes = params()["PES"]
    idx, cb, a = random_layer(gen, 6 * pes, 40, 0.6, 0.5)
    local = 6
    await send(dut, beats(np.concatenate(fmt.codebook_packet(cb)).view(np.uint8), 8), prefix="ld")
    await load_acts(dut, a)
    half = fmt.dense_block_words(idx.shape[0], pes, 20)
    await send(dut, beats(fmt.dense_block_image(idx, pes, 0, 20, 0), 8), prefix="ld")
    await send(dut, beats(fmt.dense_block_image(idx, pes, 20, 20, half), 8), prefix="ld")
    await csr(dut, True, CTRL, 2)
    await csr(dut, True, DENSE_BASE, 0)
    await run_job(dut, DENSE | CLEAR, 0, 20, local)
    await csr(dut, True, DENSE_BASE, 16 * half)
    got = await run_job(dut, DENSE | DRAIN, 20, 20, local)
    want = golden(idx, cb, a)
    assert np.array_equal(got.reshape(local, pes).ravel(), want), "dense blocks differ from numpy"
    assert await csr(dut, False, C_ENTRIES) == 40 * local * pes
    assert await csr(dut, False, C_PTR) == 0, "dense mode reads no pointers"
    assert await csr(dut, False, C_ACTS) == 40


@cocotb.test()
async def registers_and_errors(dut):
    await fresh(dut)
    p = params()
    info = await csr(dut, False, INFO)
    assert info & 0xFF == p["PES"] and (info >> 8) & 0xFF == p["FIFO_DEPTH"] and info >> 24 == 1
    assert await csr(dut, False, R["MAT_WORDS"]) == p["MAT_WORDS"]
    assert await csr(dut, False, R["ACT_DEPTH"]) == p["ACT_DEPTH"]
    assert await csr(dut, False, R["ROWS_MAX"]) == p["ROWS_MAX"]
    assert await csr(dut, False, STATUS) == 0
    # A job whose column range leaves the buffer is refused.
    await csr(dut, True, COL_START, p["ACT_DEPTH"] - 1)
    await csr(dut, True, COL_COUNT, 2)
    await csr(dut, True, CTRL, 1)
    assert await csr(dut, False, STATUS) == 0b100, "refused job: error, not busy"
    await csr(dut, True, CTRL, 4)
    assert await csr(dut, False, STATUS) == 0
    # A packet for a PE that does not exist, then one past the matrix memory.
    bad_pe = fmt.header(fmt.TARGET_MATRIX, p["PES"], 0, 1) if p["PES"] < 255 else 0
    await send(dut, [bad_pe, 0x1234], prefix="ld")
    assert await csr(dut, False, STATUS) == 0b100
    await csr(dut, True, CTRL, 4)
    await send(dut, [fmt.header(fmt.TARGET_MATRIX, 0, p["MAT_WORDS"], 1), 7], prefix="ld")
    assert await csr(dut, False, STATUS) == 0b100
    await csr(dut, True, CTRL, 4)
    await csr(dut, True, CTRL, 2)
    # The load counter counts only the words written.
    await send(dut, [fmt.header(fmt.TARGET_MATRIX, 0, 0, 2), 1, 2], prefix="ld")
    assert await csr(dut, False, C_LOAD) == 2
    assert await csr(dut, False, STATUS) == 0

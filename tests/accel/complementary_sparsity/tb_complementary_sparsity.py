"""cocotb unit test of rtl/complementary_sparsity/complementary_sparsity.sv (build
parameters in COSIM_TB_PARAMS) against numpy: a packed layer with random back-pressure,
the same layer dense, a tie-heavy map, the counters, and a refused configuration."""

from __future__ import annotations

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start

from cosim.accel.complementary_sparsity import engine as E
from cosim.accel.complementary_sparsity import format as fmt
from cosim.accel.complementary_sparsity.workload import make_conv_layer

CTRL, STATUS, CYCLES = 0x00, 0x04, 0x08


def word(row: np.ndarray) -> int:
    return int.from_bytes(np.ascontiguousarray(row, np.uint8).tobytes(), "little")


def windows(x: np.ndarray) -> list[np.ndarray]:
    """The 9 vectors of every output pixel of a valid 3x3 conv, pixel by pixel."""
    h, w, _ = x.shape
    out = []
    for y in range(h - 2):
        for xx in range(w - 2):
            out += [x[y + dy, xx + dx] for dy in range(3) for dx in range(3)]
    return out


async def configure(dut, pixels, packs, kernels, winners):
    for reg, v in ((E.PIXELS, pixels), (E.TAPS, 9), (E.PACKS, packs), (E.KERNELS, kernels),
                   (E.WINNERS, winners)):  # fmt: skip
        await csr(dut, True, reg, v)


async def load(dut, beats: np.ndarray, packs: int, kernels: int, ids: bool, gen, valid_prob=1.0):
    await configure(dut, 1, packs, kernels, 1)
    await csr(dut, True, CTRL, 1 | E.CTRL_LOAD | (E.CTRL_IDS if ids else 0))
    await send(dut, [word(b) for b in beats], gen, valid_prob)
    for _ in range(10):
        if await csr(dut, False, STATUS) == 0b010:
            return
    raise AssertionError("the load never finished")


async def conv(dut, layer, packs, kernels, dense, gen, valid_prob=1.0, ready_prob=1.0):
    c = layer.channels
    vecs = windows(layer.x)
    oh, ow = layer.out_hw
    nbeats = -(-packs * kernels // (c // 4))
    await configure(dut, oh * ow, packs, kernels, layer.k)
    await csr(dut, True, CTRL, 1 | (E.CTRL_DENSE if dense else 0))
    words = []
    for p in range(oh * ow):
        await send(dut, [word(v.view(np.uint8)) for v in vecs[9 * p : 9 * p + 9]], gen, valid_prob)
        words += await receive(dut, nbeats, gen, ready_prob)
    raw = b"".join(w.to_bytes(c, "little") for w in words)
    got = fmt.results(np.frombuffer(raw, np.uint8), oh * ow, layer.outputs, c)
    assert await csr(dut, False, STATUS) == 0b010
    return got


def small_layer(gen, n, k, hw=(4, 5)):
    p = params()
    outputs = p["MAX_OUTPUTS"]
    return make_conv_layer(
        gen, height=hw[0], width=hw[1], channels=p["CHANNELS"], outputs=outputs, n=n, k=k
    )


async def counters(dut) -> dict[str, int]:
    return {name: await csr(dut, False, a) for name, a in E.COUNTERS.items()}


@cocotb.test()
async def packed_layer_with_backpressure(dut):
    await start(dut)
    gen = rng()
    layer = small_layer(gen, n=params()["MAX_KERNELS"], k=5)
    packs = layer.outputs // layer.n
    await load(dut, fmt.packed_image(layer.packed, layer.ids), packs, layer.n, True, gen, 0.7)
    before = await counters(dut)
    got = await conv(dut, layer, packs, layer.n, False, gen, 0.6, 0.5)
    want = layer.golden().reshape(-1, layer.outputs)
    assert np.array_equal(got, want), f"packed conv differs\n{got}\n{want}"
    after = await counters(dut)
    d = {k: after[k] - before[k] for k in after}
    pixels = want.shape[0]
    assert d["kwta_vectors"] == 9 * pixels
    assert d["macs"] == 9 * pixels * packs * layer.k
    assert d["row_reads"] == 9 * pixels * packs
    lanes = params()["LANES"]
    assert d["acc_updates"] == 9 * pixels * packs * -(-layer.k // lanes) * layer.n


@cocotb.test()
async def dense_mode_gives_the_same_sums_and_its_cycles(dut):
    await start(dut)
    gen = rng()
    layer = small_layer(gen, n=2, k=7)
    c, lanes, outs = layer.channels, params()["LANES"], layer.outputs
    await load(dut, fmt.dense_image(layer.dense_weights()), outs, 1, False, gen)
    assert (await counters(dut))["row_writes"] == 9 * outs
    got = await conv(dut, layer, outs, 1, True, gen)
    assert np.array_equal(got, layer.golden().reshape(-1, outs))
    cycles = await csr(dut, False, CYCLES)
    pixels = got.shape[0]
    per_pixel = 9 * (1 + outs * -(-c // lanes)) + -(-outs // (c // 4))
    assert cycles >= pixels * per_pixel, "never faster than its state machine allows"


@cocotb.test()
async def ties_and_winners_at_the_limits(dut):
    await start(dut)
    gen = rng()
    c = params()["CHANNELS"]
    for k in (1, c):
        layer = small_layer(gen, n=4, k=k, hw=(3, 4))
        x = (layer.x // 64).astype(np.int8)  # four distinct values: many ties
        layer = type(layer)(x, layer.packed, layer.ids, layer.n, k)
        packs = layer.outputs // layer.n
        await load(dut, fmt.packed_image(layer.packed, layer.ids), packs, layer.n, True, gen)
        got = await conv(dut, layer, packs, layer.n, False, gen)
        assert np.array_equal(got, layer.golden().reshape(-1, layer.outputs)), f"k = {k}"


@cocotb.test()
async def refused_configurations(dut):
    await start(dut)
    p = params()
    for pixels, packs, kernels, winners in (
        (1, 1, 0, 1),
        (1, 1, p["MAX_KERNELS"] + 1, 1),
        (1, 1, 1, p["CHANNELS"] + 1),
        (0, 1, 1, 1),
        (1, p["MAX_OUTPUTS"], 2, 1),
        (1, p["WEIGHT_ROWS"] // 9 + 1, 1, 1),
    ):
        await configure(dut, pixels, packs, kernels, winners)
        await csr(dut, True, CTRL, 1)
        assert await csr(dut, False, STATUS) == 0b100, (pixels, packs, kernels, winners)
    await configure(dut, 1, 1, 1, 1)
    await csr(dut, True, CTRL, 1 | E.CTRL_LOAD)
    assert await csr(dut, False, STATUS) & 0b101 == 0b001, "a good start clears the error"

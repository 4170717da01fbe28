"""cocotb unit test of rtl/complementary_sparsity/kwta.sv against the numpy rule
(cosim.accel.complementary_sparsity.engine.kwta_mask): random vectors at every k, ties
(all equal, pairs at the boundary), int8 extremes, k = 0 and k = CHANNELS; the mask is
registered at the edge with en and held without it."""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
from tb_common import CLOCK_NS, params, rng

from cosim.accel.complementary_sparsity.engine import kwta_mask


async def mask_of(dut, x: np.ndarray, k: int) -> np.ndarray:
    """Offer x with en for one edge; the mask registered at that edge."""
    await FallingEdge(dut.clk)
    dut.x.value = int.from_bytes(np.asarray(x, np.int8).tobytes(), "little")
    dut.k.value = k
    dut.en.value = 1
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.en.value = 0
    dut.x.value = 0  # the mask holds without en
    await RisingEdge(dut.clk)
    await ReadOnly()
    word = dut.mask.value.to_unsigned()
    return np.array([(word >> c) & 1 for c in range(len(x))], bool)


@cocotb.test()
async def random_vectors_every_k(dut):
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    c = params()["CHANNELS"]
    gen = rng()
    for trial in range(60):
        hi = 128 if trial % 2 else 4  # a narrow range makes ties common
        x = gen.integers(-hi, hi, c).astype(np.int8)
        k = int(gen.integers(1, c + 1))
        got = await mask_of(dut, x, k)
        assert np.array_equal(got, kwta_mask(x, k)), f"x={x} k={k}"
        assert got.sum() == k


@cocotb.test()
async def ties_extremes_and_limits(dut):
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    c = params()["CHANNELS"]
    same = np.full(c, 7, np.int8)
    got = await mask_of(dut, same, 3)
    assert np.flatnonzero(got).tolist() == [0, 1, 2], "ties go to the lower channels"
    x = np.zeros(c, np.int8)
    x[[1, c - 1]] = 127
    x[[0, c - 2]] = -128
    got = await mask_of(dut, x, 2)
    assert np.flatnonzero(got).tolist() == [1, c - 1]
    assert not (await mask_of(dut, x, 0)).any()
    assert (await mask_of(dut, x, c)).all()
    got = await mask_of(dut, x, c - 1)
    assert np.flatnonzero(~got).tolist() == [c - 2], "the last -128 loses the tie"

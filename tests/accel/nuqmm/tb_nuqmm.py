"""cocotb unit test of rtl/nuqmm/nuqmm.sv (build parameters in COSIM_TB_PARAMS) against
numpy: a BCQ layer with random gaps and back-pressure, its counters, a batch of columns,
cycle counts at q = 1 and the largest q, and refused configurations."""

from __future__ import annotations

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start

from cosim.accel.nuqmm import engine as E
from cosim.accel.nuqmm import format as fmt
from cosim.accel.nuqmm.workload import make_layer

CTRL, STATUS, CYCLES = 0x00, 0x04, 0x08


def beats(raw: np.ndarray, lanes: int) -> list[int]:
    rows = np.ascontiguousarray(raw, np.uint8).reshape(-1, lanes)
    return [int.from_bytes(r.tobytes(), "little") for r in rows]


async def job(dut, layer, gen, valid_prob=1.0, ready_prob=1.0) -> np.ndarray:
    p = params()
    lanes = p["LANES"]
    for reg, v in ((E.GROUPS, layer.groups), (E.ROWS, layer.rows), (E.Q, layer.q),
                   (E.SHIFT, layer.shift), (E.BATCH, layer.batch)):  # fmt: skip
        await csr(dut, True, reg, v)
    await csr(dut, True, CTRL, 1)
    stream = np.concatenate(
        [
            layer.x.view(np.uint8).reshape(-1),
            fmt.weight_image(layer.patterns(), p["MAX_ROWS"]),
            fmt.scale_image(layer.alphas_fx, p["MAX_ROWS"]),
        ]
    )
    await send(dut, beats(stream, lanes), gen, valid_prob)
    words = await receive(dut, layer.batch * 4 * layer.rows // lanes, gen, ready_prob)
    raw = b"".join(w.to_bytes(lanes, "little") for w in words)
    assert await csr(dut, False, STATUS) == 0b010
    got = fmt.results(np.frombuffer(raw, np.uint8), layer.batch * layer.rows)
    return got.reshape(layer.batch, layer.rows)


async def counters(dut) -> dict[str, int]:
    return {name: await csr(dut, False, a) for name, a in E.COUNTERS.items()}


@cocotb.test()
async def bcq_layer_with_gaps_and_backpressure(dut):
    await start(dut)
    gen = rng()
    p = params()
    layer = make_layer(gen, rows=2 * p["LANES"], n=16 * p["MU"], q=3, mu=p["MU"])
    before = await counters(dut)
    got = (await job(dut, layer, gen, 0.6, 0.5))[0]
    assert np.array_equal(got, layer.golden(0)), f"results differ\n{got}\n{layer.golden(0)}"
    d = {k: v - before[k] for k, v in (await counters(dut)).items()}
    assert d["lut_entries"] == layer.groups * (1 << p["MU"])
    assert d["lookups"] == layer.groups * layer.rows * layer.q
    assert d["scale_macs"] == layer.rows * layer.q


@cocotb.test()
async def batch_of_columns_q1_and_max_q_with_their_cycles(dut):
    await start(dut)
    gen = rng()
    p = params()
    lanes, mu = p["LANES"], p["MU"]
    for q, rows, groups, batch in (
        (1, lanes, lanes // mu or 1, 1),
        (p["MAX_Q"], 4 * lanes, 12, p["MAX_BATCH"]),
        (2, 2 * lanes, 4, 2),
    ):
        layer = make_layer(gen, rows=rows, n=groups * mu, q=q, mu=mu, batch=batch)
        got = await job(dut, layer, gen)
        for c in range(batch):
            assert np.array_equal(got[c], layer.golden(c)), f"q = {q}, column {c}"
        build = -(-(1 << mu) // lanes)
        shape = E.EngineShape(mu=mu, lanes=lanes, max_q=p["MAX_Q"], max_rows=p["MAX_ROWS"],
                              max_groups=p["MAX_GROUPS"], max_batch=p["MAX_BATCH"])  # fmt: skip
        na, nw, ns, no = shape.job_beats(groups, rows, q, batch)
        # never faster than the state machine: weight and scale beats held a cycle per
        # column, the build cycles of every group and column
        least = na + batch * (nw + ns) + no + groups * build * batch
        assert await csr(dut, False, CYCLES) >= least


@cocotb.test()
async def refused_configurations(dut):
    await start(dut)
    p = params()
    lanes = p["LANES"]
    good = {E.GROUPS: lanes // p["MU"] or 1, E.ROWS: lanes, E.Q: 1, E.SHIFT: 0, E.BATCH: 1}
    for reg, bad in (
        (E.GROUPS, 0),
        (E.GROUPS, p["MAX_GROUPS"] + 1),
        (E.ROWS, lanes + 1),
        (E.ROWS, p["MAX_ROWS"] + lanes),
        (E.Q, 0),
        (E.Q, p["MAX_Q"] + 1),
        (E.SHIFT, 64),
        (E.BATCH, 0),
        (E.BATCH, p["MAX_BATCH"] + 1),
    ):
        for r, v in {**good, reg: bad}.items():
            await csr(dut, True, r, v)
        await csr(dut, True, CTRL, 1)
        assert await csr(dut, False, STATUS) == 0b100, (hex(reg), bad)

"""SmartDeal (cosim.accel.smartdeal): the storage format and the integer rebuild, the
decomposition fit, both engines' three twins against numpy (TLM cycles = RTL cycles), the
layer in a small system (and a corrupted weight image failing the golden), the scenario
across abstractions with its traffic bound, and the C driver on the RISC-V host."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cosim
from cosim.accel.smartdeal import format as fmt
from cosim.accel.smartdeal import workload as wl
from cosim.accel.smartdeal.engine import MAC, REBUILD, mac_engine, rebuild_engine
from cosim.accel.smartdeal.system import ConvArgs, SmartdealAccelerator, im2col_rows, weight_tiles
from cosim.accel.stream_engine import CYCLES, STATUS, STATUS_ERROR, EngineDriver
from cosim.scenario import load_script

REPO = Path(__file__).resolve().parents[3]
SMALL = {"height": 4, "width": 4, "cin": 16, "cout": 16}

# ---------------------------------------------------------------------------- format


def test_rebuild_is_shift_add_of_the_basis():
    basis = np.array([[10, -20, 3], [1, 2, 3], [-128, 127, 0]], np.int8)
    # row 0: +B0 << 2 (code m=3); row 1: -B1 << 0 and +B2 << 6; row 2: nothing
    codes = np.array([[3, 0, 0], [0, 8 | 1, 7], [0, 8, 0]], np.uint8)
    raw = fmt.rebuild(codes, basis, 0)
    assert raw.tolist() == [[40, -80, 12], [-128, 127, -3], [0, 0, 0]]  # row 1 saturates
    assert fmt.rebuild(codes, basis, 6).tolist() == [[1, -1, 0], [-128, 127, 0], [0, 0, 0]]
    assert fmt.code_values(np.array([0, 8, 1, 9, 7]), 6).tolist() == [0, 0, 2**-6, -(2**-6), 1]
    with pytest.raises(cosim.ParameterError, match=r"rebuild shift = 8 must be 0\.\.7"):
        fmt.rebuild(codes, basis, 8)


def test_filter_images_round_trip_and_their_size_is_the_format():
    gen = np.random.default_rng(4)
    for rows, kept in ((48, 24), (50, 0), (192, 192), (3, 1)):
        mask = np.zeros(rows, bool)
        mask[gen.choice(rows, kept, replace=False)] = True
        codes = gen.integers(0, 16, (rows, 3)).astype(np.uint8)
        codes[~mask] = 0
        basis = gen.integers(-128, 128, (3, 3)).astype(np.int8)
        img = fmt.filter_image(codes, mask, basis)
        assert len(img) == fmt.filter_bytes(rows, kept) == 6 * fmt.filter_beats(rows, kept)
        c, m, b, used = fmt.parse_filter(np.concatenate([img, [1, 2, 3]]), rows)
        assert used == len(img)
        assert np.array_equal(c, codes) and np.array_equal(m, mask) and np.array_equal(b, basis)
    with pytest.raises(ValueError, match="zero in rows the mask leaves out"):
        fmt.filter_image(np.ones((3, 3), np.uint8), np.array([1, 0, 1], bool), basis)


def test_traffic_bound_is_dense_over_the_format():
    # 16 channels, 24 of 48 rows stored: 2 basis + 1 mask + 6 code beats = 54 B a filter
    assert fmt.filter_bytes(48, 24) == 54
    assert fmt.traffic_ratio_bound(16, 16, 24) == pytest.approx(144 / 54)
    assert fmt.traffic_ratio_bound(64, 8, 0) == pytest.approx(576 / (6 * 6))


# ---------------------------------------------------------------------------- workload


def test_decomposition_is_in_the_format_and_seeded():
    a = wl.make_layer(np.random.default_rng(7), 4, 4, 16, 8, 0.5)
    b = wl.make_layer(np.random.default_rng(7), 4, 4, 16, 8, 0.5)
    d = a.dec
    assert np.array_equal(d.codes, b.dec.codes) and np.array_equal(a.x, b.x)
    assert (d.mask.sum(axis=1) == 24).all(), "every filter stores as many Ce rows"
    assert not np.any(d.codes[~d.mask]) and d.codes.max() <= 15
    # the kept rows are the largest-norm kernel rows of each filter
    norms = np.linalg.norm(a.w_float.reshape(8, 48, 3), axis=2)
    for o in range(8):
        assert norms[o][d.mask[o]].min() >= norms[o][~d.mask[o]].max()
    assert np.array_equal(a.w8, np.clip(np.round(a.w_float), -127, 127))


def test_fit_error_grows_with_sparsity_and_beats_plain_rounding():
    errs = []
    for sparsity in (0.0, 0.5, 0.75):
        layer = wl.make_layer(np.random.default_rng(3), 2, 2, 16, 8, sparsity)
        errs.append(wl.rel_error(layer.dec.weights(), layer.w_float))
    assert errs[0] < errs[1] < errs[2]
    assert errs[0] < 0.25, "without pruning only the power-of-two rounding is lost"
    with pytest.raises(cosim.ParameterError, match=r"coefficient sparsity = 1\.0"):
        wl.make_layer(np.random.default_rng(3), 2, 2, 16, 8, 1.0)


def test_golden_conv_is_a_direct_convolution():
    gen = np.random.default_rng(5)
    x = gen.integers(-128, 128, (3, 4, 5)).astype(np.int8)
    w = gen.integers(-128, 128, (2, 5, 3, 3)).astype(np.int8)
    acc = wl.conv_acc(x, w)
    xp = np.pad(x.astype(np.int64), ((1, 1), (1, 1), (0, 0)))
    for y, xx, o in ((0, 0, 0), (2, 3, 1), (1, 2, 0)):
        assert acc[y, xx, o] == (xp[y : y + 3, xx : xx + 3, :] * w[o].transpose(1, 2, 0)).sum()
    # the sequencer's im2col and weight layout give the same products
    a = im2col_rows(x, 0, 12).astype(np.int64)
    wt = weight_tiles(w, 2).view(np.int8).reshape(45, 2).astype(np.int64)
    assert np.array_equal((a @ wt).reshape(3, 4, 2), acc)


# ---------------------------------------------------------------------------- twins


def rebuild_jobs(sim: cosim.Simulation, impl: str) -> dict:
    eng = rebuild_engine(sim, "rb", impl)
    drv = EngineDriver.attach(sim, eng, "d")
    gen = np.random.default_rng(8)
    layer = wl.make_layer(gen, 2, 2, 16, 8, 0.5)
    d = layer.dec
    out: dict = {"ok": [], "cycles": []}
    regs = REBUILD.registers

    @sim.process
    async def run() -> None:
        for first, n in ((0, 8), (3, 2)):
            for reg, v in ((regs["ROWS"], 48), (regs["FILTERS"], n), (regs["SHIFT"], d.shift)):
                await drv.write_reg(reg, v)
            await drv.start()
            fb = fmt.filter_bytes(48, d.kept)
            img = d.image()[first * fb : (first + n) * fb]
            await drv.send(img.reshape(-1, 6))
            rows = (await drv.receive(48 * n)).view(np.int8).reshape(n, 16, 3, 3)
            out["ok"].append(np.array_equal(rows, d.weights()[first : first + n]))
            await drv.wait_done()
            out["cycles"].append(await drv.read_reg(CYCLES))
        out["counters"] = [
            await drv.read_reg(REBUILD.counter_base + 4 * i) for i in range(len(REBUILD.counters))
        ]
        await drv.write_reg(regs["SHIFT"], 8)
        await drv.start()
        out["refused"] = bool(await drv.read_reg(STATUS) & STATUS_ERROR)

    sim.run()
    return out


def mac_jobs(sim: cosim.Simulation, impl: str) -> dict:
    eng = mac_engine(sim, "mac", impl)
    drv = EngineDriver.attach(sim, eng, "d")
    gen = np.random.default_rng(9)
    out: dict = {"ok": [], "cycles": []}

    @sim.process
    async def run() -> None:
        for k, q in ((144, 9), (5, 0)):
            a = (gen.integers(0, 128, (8, k)) * (gen.random((8, k)) < 0.5)).astype(np.int8)
            w = gen.integers(-127, 128, (k, 8)).astype(np.int8)
            await drv.write_reg(MAC.registers["DEPTH"], k)
            await drv.write_reg(MAC.registers["OSHIFT"], q)
            await drv.start()
            await drv.send(np.concatenate([a.T, w], axis=1).view(np.uint8))
            y = (await drv.receive(8)).view(np.int8)
            want = wl.requantise((a.astype(np.int64) @ w).astype(np.int32), q)
            out["ok"].append(np.array_equal(y, want))
            await drv.wait_done()
            out["cycles"].append(await drv.read_reg(CYCLES))
        out["counters"] = [
            await drv.read_reg(MAC.counter_base + 4 * i) for i in range(len(MAC.counters))
        ]
        await drv.write_reg(MAC.registers["DEPTH"], 0)
        await drv.start()
        out["refused"] = bool(await drv.read_reg(STATUS) & STATUS_ERROR)

    sim.run()
    return out


@pytest.mark.parametrize("jobs", [rebuild_jobs, mac_jobs], ids=["rebuild", "mac"])
def test_three_twins_match_numpy_and_tlm_cycles_equal_rtl(jobs):
    r = {i: cosim.simulate(jobs, i, timeout=300).value for i in ("functional", "tlm", "rtl")}
    for impl, v in r.items():
        assert all(v["ok"]) and v["refused"], impl
        assert v["counters"] == r["rtl"]["counters"], impl
    assert r["tlm"]["cycles"] == r["rtl"]["cycles"] and min(r["rtl"]["cycles"]) > 0


# ---------------------------------------------------------------------------- system


def layer_system(sim: cosim.Simulation, impl: str, flip: int | None) -> dict:
    """The SmartDeal command on a small layer with its weight image in DRAM (one bit of
    it flipped when `flip` is a byte offset); the output and the golden."""
    layer = wl.make_layer(np.random.default_rng(11), 3, 5, 16, 10, 0.5)
    soc = cosim.build_soc(sim, memory="lpddr4_3200")
    acc = SmartdealAccelerator(sim, soc, rebuild_impl=impl, mac_impl=impl)
    img = layer.dec.image()
    if flip is not None:
        img = img.copy()
        img[flip] ^= 0x04
    mem = soc.dram.array()
    mem[soc.DATA - soc.DRAM : soc.DATA - soc.DRAM + len(img)] = img
    x = layer.x.reshape(-1).view(np.uint8)
    soc.scratchpad.array()[: len(x)] = x
    h, w, cin, cout = layer.shape
    args = ConvArgs(
        h, w, cin, cout, soc.SPAD, soc.DATA, soc.SPAD + 4096, soc.SPAD + 32768,
        layer.out_shift, layer.dec.shift, layer.dec.kept,
    )  # fmt: skip

    @sim.process
    async def host() -> None:
        await acc.conv_smartdeal(args)

    sim.run()
    nt, mt = 2, 2
    raw = soc.scratchpad.array()[32768 : 32768 + nt * mt * 64].view(np.int8)
    y = raw.reshape(nt, mt * 8, 8).transpose(1, 0, 2).reshape(16, 16)[: h * w, :cout]
    golden = wl.golden(layer.x, layer.dec.weights(), layer.out_shift)
    return {"ok": bool(np.array_equal(y.reshape(h, w, cout), golden))}


@pytest.mark.parametrize("impl", ["functional", "tlm"])
def test_layer_in_a_system_and_a_corrupted_image_fails_the_golden(impl):
    assert cosim.simulate(layer_system, impl, None).value["ok"]
    # a code bit of the first filter's first stored row (after 2 basis + 1 mask beats)
    assert not cosim.simulate(layer_system, impl, 18).value["ok"]


def bad_command(sim: cosim.Simulation, cin: int) -> str:
    soc = cosim.build_soc(sim)
    acc = SmartdealAccelerator(sim, soc, rebuild_impl="functional", mac_impl="functional")
    try:
        acc.check(ConvArgs(2, 2, cin, 8, soc.SPAD, soc.DATA, soc.SPAD, soc.SPAD, 0, 6, 1))
    except cosim.ParameterError as e:
        return str(e)
    return ""


def test_a_layer_the_engines_cannot_run_is_refused_before_the_command():
    assert "cin = 65 must be 1..64" in cosim.simulate(bad_command, 65).value
    assert cosim.simulate(bad_command, 64).value == ""


# ---------------------------------------------------------------------------- scenario


@pytest.fixture(scope="module")
def scenario():
    return load_script(REPO / "scenarios" / "smartdeal.py")


def test_mixed_abstraction_same_outputs_tlm_cycles_equal_rtl(scenario, capsys):
    runs = {}
    for impl in ("functional", "tlm", "rtl"):
        o = scenario.simulate(scenario.configure(SMALL, {"rebuild": impl, "mac": impl}))
        assert o.metrics["golden_ok"], impl
        runs[impl] = o
    digests = {o.extras["output_digest"] for o in runs.values()}
    assert len(digests) == 1
    for impl in ("functional", "tlm"):
        assert runs[impl].extras["counters"] == runs["rtl"].extras["counters"], impl
    with capsys.disabled():
        print(
            f"\nsmartdeal cycles: tlm {runs['tlm'].metrics['cycles']}, rtl "
            f"{runs['rtl'].metrics['cycles']}; baseline tlm "
            f"{runs['tlm'].metrics['baseline_cycles']}, rtl "
            f"{runs['rtl'].metrics['baseline_cycles']}"
        )
    for key in ("cycles", "baseline_cycles", "command_cycles", "baseline_command_cycles"):
        assert runs["tlm"].metrics[key] == runs["rtl"].metrics[key], key
    m = runs["rtl"].metrics
    assert m["weight_traffic_ratio"] <= m["weight_traffic_ratio_bound"] + 1e-9
    assert m["weight_traffic_ratio"] >= 0.99 * m["weight_traffic_ratio_bound"]
    assert m["baseline_weight_dram_bytes"] == 16 * 16 * 9


def test_default_workload_tlm_cycles_equal_rtl(scenario):
    """The scenario's own workload (8x8x16 -> 16), TLM and RTL engines: 0.0% apart."""
    o = {
        impl: scenario.simulate(scenario.configure({}, {"rebuild": impl, "mac": impl}))
        for impl in ("tlm", "rtl")
    }
    for key in ("cycles", "baseline_cycles", "command_cycles", "baseline_command_cycles"):
        assert o["tlm"].metrics[key] == o["rtl"].metrics[key], key
    m = o["rtl"].metrics
    assert m["golden_ok"] and o["tlm"].extras["output_digest"] == o["rtl"].extras["output_digest"]
    assert m["weight_traffic_ratio"] == pytest.approx(m["weight_traffic_ratio_bound"])
    assert m["energy_ratio"] > 1.0 and m["dram_energy_pj"] > m["mac_energy_pj"]


@pytest.mark.parametrize("sparsity", [0.0, 0.75])
def test_weight_traffic_bound_holds(scenario, sparsity):
    cfg = {**SMALL, "cin": 32, "cout": 24, "cols": 16, "coef_sparsity": sparsity}
    m = scenario.simulate(scenario.configure(cfg, {"rebuild": "tlm", "mac": "tlm"})).metrics
    assert m["golden_ok"]
    kept = wl.kept_rows(32, sparsity)
    assert m["weight_dram_bytes"] == 24 * fmt.filter_bytes(96, kept)
    assert m["weight_traffic_ratio"] <= m["weight_traffic_ratio_bound"] + 1e-9
    assert m["weight_traffic_ratio"] == pytest.approx(m["weight_traffic_ratio_bound"])
    assert m["energy_ratio"] > 1.0 and m["dram_energy_ratio"] > 1.0


def test_scenario_rejects_bad_parameters_before_running(scenario):
    with pytest.raises(cosim.ParameterError, match="coef_sparsity"):
        scenario.configure({"coef_sparsity": 1.5})
    with pytest.raises(cosim.ParameterError, match="cin"):
        scenario.configure({"cin": 65})
    with pytest.raises(cosim.ParameterError, match="scratchpad"):
        scenario.configure({"height": 32, "width": 32, "cin": 64, "cout": 128})


def test_c_driver_on_the_riscv_host_gives_the_same_outputs(scenario):
    engines = {"rebuild": "tlm", "mac": "tlm"}
    py = scenario.simulate(scenario.configure(SMALL, engines))
    rv = scenario.simulate(scenario.configure({**SMALL, "host": "riscv"}, engines))
    assert rv.metrics["golden_ok"] and py.metrics["golden_ok"]
    assert rv.extras["output_digest"] == py.extras["output_digest"]
    assert rv.extras["host"] == "riscv" and "sw/drivers/accel.c" in rv.report

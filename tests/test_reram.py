"""ReRAM crossbars: exactness when ideal, monotone error under ADC and noise limits,
faults, programming cost and endurance, thresholding, the ISAAC cost structure, bad
inputs, and the reram_tile model driven over TLM from a Python process."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import cosim
from cosim import ParameterError, SimulationError, ns
from cosim.system.reram import Crossbar, TileDriver, quantize


def workload(
    n_out: int, n_in: int, seed: int = 0, wbits: int = 8, ibits: int = 8, signed_in: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    wmax = (1 << (wbits - 1)) - 1
    w = rng.integers(-wmax, wmax + 1, size=(n_out, n_in))
    if signed_in:
        xmax = (1 << (ibits - 1)) - 1
        x = rng.integers(-xmax, xmax + 1, size=n_in)
    else:
        x = rng.integers(0, 1 << ibits, size=n_in)
    return w, x


def exact_adc_bits(rows: int, bpc: int, dac: int) -> int:
    return int(np.ceil(np.log2(rows * ((1 << bpc) - 1) * ((1 << dac) - 1) + 1)))


@pytest.mark.parametrize(
    ("bpc", "dac", "wbits", "shape", "signed_in"),
    [
        (2, 1, 8, (16, 100), False),
        (1, 1, 4, (8, 40), False),
        (4, 2, 8, (70, 300), False),
        (2, 4, 8, (33, 257), True),
        (3, 1, 6, (5, 128), True),
    ],
)
def test_ideal_devices_with_enough_adc_bits_equal_numpy_exactly(
    bpc: int, dac: int, wbits: int, shape: tuple[int, int], signed_in: bool
) -> None:
    xb = Crossbar(
        bits_per_cell=bpc,
        dac_bits=dac,
        weight_bits=wbits,
        input_signed=signed_in,
        adc_bits=exact_adc_bits(128, bpc, dac),
    )
    w, x = workload(*shape, wbits=wbits, signed_in=signed_in)
    xb.program(w)
    assert np.array_equal(xb.mvm(x), w @ x)
    slices = -(-(wbits - 1) // bpc)
    assert xb.arrays_for(*shape) == -(-shape[1] // 128) * -(-(shape[0] * slices * 2) // 128)


def mean_error(xb: Crossbar, w: np.ndarray, xs: list[np.ndarray]) -> float:
    xb.program(w)
    return float(np.mean([np.abs(xb.mvm(x) - w @ x).mean() for x in xs]))


def test_error_grows_monotonically_as_adc_bits_fall() -> None:
    w, _ = workload(32, 128, seed=1)
    xs = [workload(32, 128, seed=s)[1] for s in range(20)]
    errors = [mean_error(Crossbar(adc_bits=b), w, xs) for b in (9, 8, 7, 6, 5, 4)]
    assert errors[0] == 0.0
    assert all(a < b for a, b in itertools.pairwise(errors)), errors


def test_error_grows_monotonically_as_read_noise_rises() -> None:
    w, _ = workload(32, 128, seed=2)
    xs = [workload(32, 128, seed=s)[1] for s in range(20)]
    errors = [
        mean_error(Crossbar(adc_bits=9, sigma_read=s), w, xs) for s in (0, 0.03, 0.06, 0.1, 0.3)
    ]
    assert errors[0] == 0.0
    assert all(a < b for a, b in itertools.pairwise(errors)), errors


def test_error_grows_with_device_variation_and_ir_drop() -> None:
    w, _ = workload(32, 128, seed=3)
    xs = [workload(32, 128, seed=s)[1] for s in range(10)]
    d2d = [mean_error(Crossbar(adc_bits=9, sigma_d2d=s), w, xs) for s in (0, 0.02, 0.1)]
    ir = [mean_error(Crossbar(adc_bits=9, ir_drop=d), w, xs) for d in (0, 0.05, 0.2)]
    assert d2d[0] == 0 < d2d[1] < d2d[2]
    assert ir[0] == 0 < ir[1] < ir[2]


def test_finite_on_off_ratio_and_fewer_device_states_cost_accuracy() -> None:
    w, x = workload(16, 128, seed=4)
    exact = Crossbar(adc_bits=9)
    exact.program(w)
    assert np.array_equal(exact.mvm(x), w @ x)
    # The off-state current of both columns of a differential pair cancels, but it uses up
    # ADC range: at 9 bits a ratio of 20 still fits, a ratio of 3 does not.
    fits = Crossbar(adc_bits=9, on_off_ratio=20)
    fits.program(w)
    assert np.array_equal(fits.mvm(x), w @ x)
    leaky = Crossbar(adc_bits=9, on_off_ratio=3)
    leaky.program(w)
    assert np.abs(leaky.mvm(x) - w @ x).max() > 0
    coarse = Crossbar(adc_bits=16, conductance_levels=3)
    coarse.program(w)
    assert np.abs(coarse.mvm(x) - w @ x).max() > 0


def test_faults_at_rate_zero_change_nothing_and_stuck_cells_are_counted() -> None:
    w, x = workload(20, 150, seed=5)
    base = Crossbar(adc_bits=9)
    base.program(w)
    zero = Crossbar(adc_bits=9, p_stuck_on=0.0, p_stuck_off=0.0, seed=99)
    zero.program(w)
    assert np.array_equal(base.mvm(x), zero.mvm(x)) and zero.stuck_cells == 0
    faulty = Crossbar(adc_bits=9, p_stuck_on=0.01, p_stuck_off=0.02, seed=3)
    faulty.program(w)
    cells = 150 * 20 * 4 * 2
    assert abs(faulty.stuck_cells - 0.03 * cells) < 0.01 * cells
    assert not np.array_equal(faulty.mvm(x), w @ x)


def test_noise_is_deterministic_for_a_seed() -> None:
    w, x = workload(8, 64, seed=6)

    def run(seed: int) -> np.ndarray:
        xb = Crossbar(adc_bits=9, sigma_read=0.05, sigma_d2d=0.05, seed=seed)
        xb.program(w)
        return xb.mvm(x)

    assert np.array_equal(run(7), run(7))
    assert not np.array_equal(run(7), run(8))


def test_energy_is_adc_dominated_under_defaults() -> None:
    w, x = workload(64, 128, seed=7)
    xb = Crossbar()
    xb.program(w)
    xb.mvm(x)
    cost = xb.last_cost
    parts = cost["energy_breakdown_pj"]
    assert max(parts, key=parts.get) == "adc"
    assert parts["adc"] > 0.5 * cost["energy_pj"]
    # 8 input cycles x 64 outputs x 4 slices x 2 polarities columns, one array row block
    assert cost["counts"]["adc_conversions"] == 8 * 64 * 4 * 2
    # ISAAC's 32 nm figure, scaled to the energy table's target node (45 nm by default)
    adc8 = cosim.energy.entry("reram.adc_8bit")
    assert adc8.reference_pj == 1.5625 and adc8.node_nm == 32
    assert parts["adc"] == pytest.approx(8 * 512 * adc8.pj)
    # 4 arrays read in parallel, 8 cycles of max(100 ns read, 128 / 1.28 GS/s), plus a drain
    assert cost["latency_ps"] == 8 * 100_000 + 100_000
    assert xb.adc_energy_pj == pytest.approx(adc8.pj)
    assert Crossbar(adc_bits=6).adc_energy_pj == pytest.approx(adc8.pj / 4)


def test_programming_cost_only_changed_cells_and_endurance() -> None:
    w, _ = workload(4, 16, seed=8)
    xb = Crossbar(endurance=2)
    first = xb.program(w)
    cells = 16 * 4 * 4 * 2
    assert first["counts"]["cell_writes"] == cells
    assert first["latency_ps"] == 16 * 1_000_000  # 16 rows, one array
    assert first["energy_pj"] == pytest.approx(cells * 10.0)
    assert xb.program(w)["counts"]["cell_writes"] == 0  # nothing changed
    w2 = w.copy()
    w2[0, 0] = -w2[0, 0] if w2[0, 0] != 0 else 5
    second = xb.program(w2)
    assert 0 < second["counts"]["cell_writes"] <= 8
    assert second["latency_ps"] == 1_000_000  # one row rewritten
    for _ in range(3):
        xb.program(w)
        xb.program(w2)
    assert xb.max_cell_writes > 2 and xb.worn_cells > 0
    assert xb.total_cell_writes == cells + 7 * second["counts"]["cell_writes"]


def test_thresholding_matches_exact_scores_and_costs_comparisons() -> None:
    w, x = workload(100, 128, seed=9)
    xb = Crossbar(adc_bits=9)
    xb.program(w)
    scores = w @ x
    t = float(np.percentile(scores, 80))
    mask = xb.threshold(x, t)
    assert mask.dtype == bool and np.array_equal(mask, scores >= t)
    cost = xb.last_cost
    assert cost["counts"]["comparisons"] == 100 and cost["counts"]["adc_conversions"] == 0
    xb.mvm(x)
    assert cost["energy_pj"] < xb.last_cost["energy_pj"] / 5
    noisy = Crossbar(adc_bits=9, sigma_cmp=2000.0, seed=4)
    noisy.program(w)
    assert not np.array_equal(noisy.threshold(x, t), scores >= t)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda: Crossbar(adc_bits=0),
            ParameterError,
            "'adc_bits' = 0 is out of range; allowed 1 .. 24",
        ),
        (lambda: Crossbar(rows=-1), ParameterError, "'rows' = -1 is out of range"),
        (lambda: Crossbar(arrays=4), ParameterError, "'arrays' is a parameter of the tile"),
        (
            lambda: Crossbar(adc_bit=8),
            ParameterError,
            "unknown parameter 'adc_bit'; did you mean 'adc_bits'",
        ),
        (
            lambda: Crossbar(dac_bits=9),
            ParameterError,
            "'dac_bits' = 9 is out of range; allowed 1 .. 8",
        ),
        (
            lambda: Crossbar(p_stuck_on=0.7, p_stuck_off=0.7),
            ParameterError,
            "p_stuck_on + p_stuck_off",
        ),
        (
            lambda: Crossbar().program(np.array([[128, 0]])),
            ParameterError,
            "weight 128 at [0, 0] is beyond the representable range -127 .. 127 of weight_bits=8",
        ),
        (lambda: Crossbar().mvm(np.array([1, 2])), SimulationError, "program them first"),
        (lambda: Crossbar().program(np.array([[0.5]])), ParameterError, "must hold integers"),
        (lambda: Crossbar().program(np.zeros(3, int)), ParameterError, "must be a 2-D array"),
    ],
)
def test_bad_inputs_are_clear_errors(make: object, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        make()  # type: ignore[operator]
    assert message in str(info.value)


def test_bad_vectors_and_reprogramming_shape() -> None:
    xb = Crossbar()
    xb.program(np.ones((3, 4), int))
    with pytest.raises(
        ParameterError, match="input vector has 5 elements; the programmed matrix takes 4"
    ):
        xb.mvm(np.ones(5, int))
    with pytest.raises(ParameterError, match=r"input 256 at \[2\] is outside 0 .. 255"):
        xb.mvm(np.array([0, 1, 256, 3]))
    with pytest.raises(ParameterError, match="reprogram them with the same shape"):
        xb.program(np.ones((4, 4), int))


def test_quantize() -> None:
    q, s = quantize(np.array([-1.0, 0.5, 0.25]), 8)
    assert q.tolist() == [-127, 64, 32] and s == pytest.approx(1 / 127)
    with pytest.raises(ParameterError):
        quantize([1.0], 1)


# ------------------------------------------------------------- the tile in a system


def tile_system(sim: cosim.Simulation, n_out: int, n_in: int, arrays: int) -> dict[str, object]:
    tile = sim.model("reram_tile", "reram", adc_bits=9, arrays=arrays)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, tile)
    drv = TileDriver(cpu, 0, tile)
    w, x = workload(n_out, n_in, seed=11)
    out: dict[str, object] = {}

    @sim.process
    async def host() -> None:
        t0 = cosim.now()
        await drv.program(0, w)
        out["t_program"] = cosim.now() - t0
        t0 = cosim.now()
        y = await drv.mvm(0, x, n_out)
        out["t_mvm"] = cosim.now() - t0
        out["mvm_ok"] = bool(np.array_equal(y, w @ x))
        t = int(np.median(w @ x))
        mask = await drv.threshold(0, x, t, n_out)
        out["mask_ok"] = bool(np.array_equal(mask, (w @ x) >= t))
        try:
            await drv.mvm(5, x, n_out)
        except SimulationError as e:
            out["empty_slot"] = str(e)
        try:
            await cpu.read(0x9000, 4)
        except cosim.TlmError as e:
            out["bad_address"] = str(e)

    sim.run()
    out["stats"] = sim.stats.flat()
    out["energy"] = sim.energy.breakdown()
    out["adc9_pj"] = sim.energy["reram.adc_9bit"]
    return out


def tile_too_small(sim: cosim.Simulation) -> None:
    tile = sim.model("reram_tile", "reram", arrays=2)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, tile)
    drv = TileDriver(cpu, 0, tile)

    @sim.process
    async def host() -> None:
        await drv.program(0, np.ones((40, 200), int))

    sim.run()


def test_tile_programs_computes_and_thresholds_over_tlm() -> None:
    out = cosim.simulate(tile_system, 24, 150, 16).value
    assert out["mvm_ok"] and out["mask_ok"]
    s = out["stats"]
    assert s["reram.programs"] == 1 and s["reram.mvms"] == 2 - 1 and s["reram.thresholds"] == 1
    assert s["reram.errors"] == 1
    assert "slot 5 holds no weights: PROGRAM it before an MVM" in out["empty_slot"]
    assert "no register or buffer at offset 0x9000" in out["bad_address"]
    # 150 inputs: two row blocks; 24 outputs x 4 slices x 2 = 192 columns: two column blocks
    assert s["reram.adc_conversions"] == 8 * 192 * 2
    energy = out["energy"]["reram"]
    compute = sum(v for k, v in energy.items() if k != "write")
    assert energy["adc"] > 0.5 * compute
    adc9 = out["adc9_pj"]
    assert adc9 == pytest.approx(2 * cosim.energy.entry("reram.adc_8bit").pj)  # 9-bit ADC
    assert energy["adc"] == pytest.approx(s["reram.adc_conversions"] * adc9)
    # programming: 128 rows of the first row block at 1 us, plus register/buffer accesses
    assert ns(128_000) < out["t_program"] < ns(128_000) + ns(100)
    assert ns(900) <= out["t_mvm"] < ns(900) + ns(100)


def test_tile_capacity_error_names_the_arrays() -> None:
    with pytest.raises(
        SimulationError, match="a 40x200 matrix needs 6 crossbar arrays; the tile has 2 free of 2"
    ):
        cosim.simulate(tile_too_small)

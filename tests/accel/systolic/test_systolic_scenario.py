"""scenarios/systolic.py: a GEMM or every layer of a SCALE-Sim topology on the array in the
full system, golden-checked, deterministic for a seed, the array's cycles within 5% of the
analytical model (derived here), and malformed topology rows refused in one line naming
the file, row and column (exit 2) before anything is simulated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cosim import ParameterError
from cosim.accel.systolic import Mapping
from cosim.accel.systolic.topology import ConvLayer, read_topology
from cosim.scenario import load_script

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scenarios" / "systolic.py"
TINY = ROOT / "scenarios" / "topologies" / "tiny_cnn.csv"
HEADER = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
    "Num Filter, Strides,\n"
)


def scenario():
    return load_script(SCRIPT)


def test_gemm_run_is_golden_checked_deterministic_and_near_the_model():
    s = scenario()
    cfg = s.configure({"m": 30, "n": 20, "k": 40, "dataflow": "ws"}, {"array": "tlm"})
    one, two = s.simulate(cfg), s.simulate(cfg)
    m = one.metrics
    assert m["golden_ok"] and m == two.metrics
    assert one.extras["output_digest"] == two.extras["output_digest"]
    # WS: folds ceil(K/R) x ceil(N/C), each 2R + C + M - 2 cycles, minus 1
    model = -(-40 // 8) * -(-20 // 8) * (16 + 8 + 30 - 2) - 1
    assert m["model_cycles"] == model and abs(m["cycles"] - model) <= 0.05 * model
    assert m["total_cycles"] > m["cycles"], "end to end includes the DMA transfers"
    assert m["speedup"] == pytest.approx(m["baseline_cycles"] / m["cycles"])
    assert m["dram_bytes"] >= 30 * 40 + 40 * 20 + 4 * 30 * 20
    # the area follows from the array's parts (cosim.area): 64 PEs, WS, the scratchpad
    parts = one.extras["area_mm2_by_part"]
    assert m["area_mm2"] == pytest.approx(sum(parts.values()))
    assert {"int8_mult", "int32_add", "registers", "sram.scratchpad"} <= set(parts)


def test_topology_runs_every_layer_with_a_compute_report():
    s = scenario()
    out = s.simulate(s.configure({"topology": str(TINY), "dataflow": "is"}, {"array": "tlm"}))
    layers = read_topology(TINY)
    table = out.extras["layers"]
    assert [t["layer"] for t in table] == [x.name for x in layers]
    for t, layer in zip(table, layers, strict=True):
        m, n, k = layer.gemm
        mp = Mapping("IS", 8, 8, m, n, k)
        assert t["golden_ok"] and t["gemm"] == f"{m}x{k}x{n}"
        assert t["model_cycles"] == -(-k // 8) * -(-m // 8) * (16 + 8 + n - 2) - 1
        assert t["overall_util"] == pytest.approx(m * n * k / (t["total_cycles"] * 64))
        assert t["mapping_efficiency"] == pytest.approx(mp.mapping_efficiency)
        assert 0 <= t["stall_cycles"] < t["total_cycles"]
    assert out.metrics["golden_ok"] and out.metrics["layers"] == len(layers)
    for column in ("total cyc", "stall", "overall", "mapping", "model cyc", "DRAM B", "energy"):
        assert column in out.report


@pytest.mark.slow
def test_rtl_and_tlm_agree_on_the_topology():
    s = scenario()
    runs = {
        impl: s.simulate(s.configure({"topology": str(TINY)}, {"array": impl})).metrics
        for impl in ("rtl", "tlm")
    }
    assert runs["rtl"]["golden_ok"] and runs["rtl"]["cycles"] == runs["tlm"]["cycles"]
    assert abs(runs["rtl"]["model_error"]) < 0.05


def test_conv_lowering_matches_the_direct_convolution():
    layer = ConvLayer("c", 7, 6, 3, 2, 5, 4, 2)
    assert layer.ofmap == (3, 3) and layer.gemm == (9, 4, 30)
    x, w = layer.operands(np.random.default_rng(1))
    a, b = layer.lower(x, w)
    assert np.array_equal((a.astype(np.int64) @ b).astype(np.int32), layer.golden(x, w))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("conv2, 10, x10, 3, 3, 16, 24, 2,", "row 3, column 3 (IFMAP Width): expected an integer"),
        ("conv2, 10, 10, 3, 3, 0, 24, 2,", "row 3, column 6 (Channels): must be >= 1, got 0"),
        ("conv2, 10, 10, 3, 3, 16, 24,", "row 3: 7 columns, expected 8"),
        ("conv2, 10, 10, 3, 12, 16, 24, 1,", "row 3, column 5 (Filter Width): 12 is larger"),
        (", 10, 10, 3, 3, 16, 24, 1,", "row 3, column 1 (Layer name): the layer has no name"),
    ],
)
def test_a_malformed_row_is_one_line_naming_file_row_and_column(tmp_path, row, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "conv1, 12, 12, 3, 3, 3, 16, 1,\n" + row + "\n")
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "--set", f"topology={bad}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"topology file {bad}, {message}" in lines[0], r.stderr
    assert r.stdout == "", "nothing is simulated"


def test_a_missing_topology_file_is_named():
    s = scenario()
    with pytest.raises(ParameterError, match=r"topology file /nonexistent\.csv: cannot be read"):
        s.configure({"topology": "/nonexistent.csv"})

"""Every RTL top under rtl/ is lint clean under `verilator --lint-only -Wall` at its
defaults and at the corners its accelerator declares, and every declared cocotb bench
passes against its numpy model (the table: tests/rtl_table.py)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from rtl_table import Bench, Declared, Lint, declared, rtl_dirs, rtl_tops

from cosim import rtl
from cosim.rtl import verilator as vl

DECLARED = declared()
TOPS = rtl_tops()
LINTS = [d for d in DECLARED if isinstance(d.corner, Lint)]
# every top at its defaults, unless its accelerator already declares that corner
LINTS += [
    Declared("defaults", path.parent, Lint(top))
    for top, path in sorted(TOPS.items())
    if not any(d.corner.top == top and not d.corner.params for d in LINTS)
]
BENCHES = [d for d in DECLARED if isinstance(d.corner, Bench)]


def test_the_table_names_existing_tops_and_benches():
    assert BENCHES and LINTS
    for d in DECLARED:
        assert d.corner.top in TOPS, f"{d.folder}/rtl_corners.py: no RTL top '{d.corner.top}'"
        if isinstance(d.corner, Bench):
            assert d.bench_path().is_file()
    ids = [d.id for d in BENCHES]
    assert len(ids) == len(set(ids)), "two benches of one accelerator share an id"


@pytest.mark.parametrize("case", LINTS, ids=[d.id for d in LINTS])
def test_rtl_is_lint_clean(case: Declared):
    c = case.corner
    search = [a for d in rtl_dirs() for a in ("-y", str(d))]
    args = [f'-G{k}="{v}"' if isinstance(v, str) else f"-G{k}={v}" for k, v in c.params.items()]
    r = subprocess.run(
        [str(vl.executable()), "--lint-only", "-Wall", *search, *args, str(TOPS[c.top])],
        env=vl.environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("case", BENCHES, ids=[d.id for d in BENCHES])
def test_cocotb_bench(tmp_path, case: Declared):
    c = case.corner
    assert isinstance(c, Bench)
    env: dict[str, object] = {"COSIM_TB_PARAMS": dict(c.params)}
    if c.vectors is not None:
        vectors = tmp_path / "vectors.npz"
        np.savez(vectors, **c.vectors(np.random.default_rng(c.seed), c.params))
        env["COSIM_TB_VECTORS"] = str(vectors)
    build = rtl.cocotb_build(c.top, dict(c.params))
    result = rtl.run_cocotb(
        build, case.bench_path(), test_dir=tmp_path, env=env, log_file=tmp_path / "cocotb.log"
    )
    assert result.tests >= c.min_tests and not result.failures

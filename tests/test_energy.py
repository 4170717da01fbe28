"""The energy table and breakdown: defaults with sources, DRAM energies derived from
device currents, overrides, technology scaling, breakdowns that sum, and errors."""

from __future__ import annotations

import pytest

import cosim
from cosim import energy

# Stillmaker & Baas 2017, energy fits E(V) = a V^2 + b V + c, at nominal supplies.
FIT_45 = (1.103, -0.362, 0.2767, 1.0)
FIT_7 = (0.1776, -0.09097, 0.02447, 0.7)


def fit(a, b, c, v):
    return a * v * v + b * v + c


def dram_stream(
    sim: cosim.Simulation,
    preset: str,
    count: int,
    override: tuple[str, float] | None = None,
    after: tuple[str, float] | None = None,
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]], str]:
    mem = sim.model("dram", "mem", preset=preset, channels=1)
    gen = sim.model("at_traffic_gen", "gen", count=count, read_fraction=0.7, span=1 << 22)
    sim.bind(gen, mem)
    if override:
        sim.energy.set(*override)
    sim.run()
    before = sim.energy.breakdown()
    if after:
        sim.energy.set(*after)
    return before, sim.energy.breakdown(), sim.energy.report()


def scaling(
    sim: cosim.Simulation, node: float, key: str = "fp32_mult"
) -> tuple[float, float, float]:
    ev = sim.energy.event("pe", "mult", key, "multiplies")
    ev.add(1000)
    at45 = ev.energy_pj
    sim.energy.set_node(node)
    return at45, ev.energy_pj, sim.energy.entry(key).scale_factor


def python_events(sim: cosim.Simulation) -> tuple[dict[str, dict[str, float]], float]:
    sim.energy.define("toy_op", 2.5, "op", source="test figure", node_nm=45, scaling="logic")
    ev = sim.energy.event("toy", "op", "toy_op")
    ev.add(4)
    sim.energy.event("toy", "read", "sram_read_32b_8kb").add(2)
    return sim.energy.breakdown(), sim.energy.total_pj()


def conflicting_event(sim: cosim.Simulation) -> None:
    sim.energy.event("x", "op", "int8_add")
    sim.energy.event("x", "op", "int8_mult")


def test_defaults_are_the_documented_figures_with_sources() -> None:
    t = energy.table()
    horowitz = {
        "int8_add": 0.03,
        "int32_add": 0.1,
        "int8_mult": 0.2,
        "int32_mult": 3.1,
        "fp16_add": 0.4,
        "fp16_mult": 1.1,
        "fp32_add": 0.9,
        "fp32_mult": 3.7,
        "sram_read_32b_8kb": 5.0,
        "dram_read_32b": 640.0,
    }
    for key, pj in horowitz.items():
        assert t[key].default_pj == pj
        assert "Horowitz" in t[key].source
    assert t["fp32_mult"].scaling == "logic" and t["fp32_mult"].node_nm == 45
    assert t["dram_read_32b"].scaling == "fixed"
    assert t["hbm2_interface_bit"].default_pj == 3.9
    assert t["ddr4_interface_bit"].default_pj == 15.0
    assert "O'Connor" in t["hbm2_interface_bit"].source
    for preset in cosim.system.dram.presets():
        for what in ("act", "rd", "wr", "ref", "io"):
            e = t[f"dram.{preset}.{what}"]
            assert e.source and e.default_pj > 0 and e.scaling == "fixed"


def test_ddr4_command_energies_follow_the_micron_method() -> None:
    t = energy.table()
    tck = 0.833  # ns
    trc, tras, burst, trfc = 55 * tck, 39 * tck, 4 * tck, 420 * tck
    # MT40A1G8-083E: IDD0 48, IDD2N 34, IDD3N 43, IDD4R 135, IDD4W 123, IDD5B 250 mA, 1.2 V,
    # eight x8 devices per rank (TN-40-07 equations).
    act = 8 * 1.2 * (48 * trc - (43 * tras + 34 * (trc - tras)))
    rd = 8 * 1.2 * (135 - 43) * burst
    assert t["dram.ddr4_2400.act"].default_pj == pytest.approx(act)
    assert t["dram.ddr4_2400.rd"].default_pj == pytest.approx(rd)
    assert t["dram.ddr4_2400.wr"].default_pj == pytest.approx(8 * 1.2 * (123 - 43) * burst)
    assert t["dram.ddr4_2400.ref"].default_pj == pytest.approx(8 * 1.2 * (250 - 43) * trfc)
    # A row-hit read costs the quoted DDR4 interface energy: core + I/O = 15 pJ/bit.
    assert rd / 512 + t["dram.ddr4_2400.io"].default_pj == pytest.approx(15.0)


@pytest.mark.parametrize("preset", ["ddr4_2400", "hbm2"])
def test_dram_energy_is_command_counts_times_table(preset) -> None:
    r = cosim.simulate(dram_stream, preset, 4000)
    b = energy.breakdown(r)
    s = r.flat_stats()
    t = energy.table()
    bits = 8 * (s["mem.bytes_read"] + s["mem.bytes_written"])
    expect = {
        "act": s["mem.cmd.act"] * t[f"dram.{preset}.act"].pj,
        "rd": s["mem.cmd.rd"] * t[f"dram.{preset}.rd"].pj,
        "wr": s["mem.cmd.wr"] * t[f"dram.{preset}.wr"].pj,
        "ref": s["mem.cmd.ref"] * t[f"dram.{preset}.ref"].pj,
        "io": bits * t[f"dram.{preset}.io"].pj,
    }
    assert b["mem"] == pytest.approx(expect)
    assert energy.total_pj(r) == pytest.approx(sum(expect.values()))
    assert energy.by_component(r) == pytest.approx({"mem": sum(expect.values())})
    # The worker's own view agrees with the stats that crossed the process boundary.
    assert r.value[1]["mem"] == pytest.approx(b["mem"])
    assert "total" in r.value[2] and "mem" in r.value[2]


def test_overrides_apply_before_and_after_a_run() -> None:
    base = cosim.simulate(dram_stream, "ddr4_2400", 2000).value[1]["mem"]
    r = cosim.simulate(
        dram_stream,
        "ddr4_2400",
        2000,
        override=("dram.ddr4_2400.io", 1.0),
        after=("dram.ddr4_2400.rd", 0.0),
    )
    before, after, _ = r.value
    io_default = energy.entry("dram.ddr4_2400.io").pj
    assert before["mem"]["io"] == pytest.approx(base["io"] / io_default)
    assert before["mem"]["rd"] == pytest.approx(base["rd"])
    assert after["mem"]["rd"] == 0.0  # recomputed from the counts after the run
    assert after["mem"]["act"] == pytest.approx(base["act"])


def test_technology_scaling_follows_stillmaker_baas() -> None:
    at45, at7, factor = cosim.simulate(scaling, 7).value
    expected = fit(*FIT_7[:3], FIT_7[3]) / fit(*FIT_45[:3], FIT_45[3])
    assert factor == pytest.approx(expected)
    assert at45 == pytest.approx(3700.0)
    assert at7 == pytest.approx(3700.0 * expected)
    # Off-chip DRAM energy does not depend on the accelerator's node.
    assert cosim.simulate(scaling, 7, "dram_read_32b").value[1] == pytest.approx(640_000.0)
    with pytest.raises(ValueError, match=r"28.* nm is not covered .*7 nm"):
        cosim.simulate(scaling, 28)


def test_python_side_events_join_the_breakdown() -> None:
    b, total = cosim.simulate(python_events).value
    assert b == {"toy": pytest.approx({"op": 10.0, "read": 10.0})}
    assert total == pytest.approx(20.0)


def test_errors_name_the_entry() -> None:
    with pytest.raises(ValueError, match=r"unknown energy entry 'fp32_mul'.*fp32_mult"):
        energy.entry("fp32_mul")
    with pytest.raises(ValueError, match="charges 'int8_add', not 'int8_mult'"):
        cosim.simulate(conflicting_event)
    with pytest.raises(ValueError, match="give the source"):
        cosim.Energy().define("x", 1.0, "op", source="")


def test_format_breakdown_lists_components_with_shares() -> None:
    text = energy.format_breakdown(
        {"dram": {"io": 750.0, "act": 250.0}, "spad": {"access": 1000.0}}
    )
    lines = text.splitlines()
    assert lines[-1].split()[:3] == ["total", "2", "nJ"]
    assert any("io" in ln and "37.5%" in ln for ln in lines)
    assert energy.format_breakdown({}) == "(no energy charged)"

"""The dram model's parameters, presets and configuration files.

Every part can be described by parameters (organisation and timing), an inconsistent
one is refused naming the parameter and the JEDEC rule, and DRAMsim3 / DRAMSys files
load into the same parameters. Expected latencies are written out from the preset's
timings (JESD79-4 DDR4, JESD235 HBM2, JESD209-4 LPDDR4): tRCD + CL + burst for a read
to a closed bank.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import cosim
from cosim.system.dram import CONFIG_DIR, load_config, read_config

# --------------------------------------------------------------- simulations (workers)


def idle_read(sim: cosim.Simulation, size: int, **params: Any) -> dict[str, Any]:
    """One read of `size` bytes at address 0 of an idle memory: latency, config, stats."""
    mem = sim.model("dram", "mem", **params)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)
    out: dict[str, Any] = {}

    @sim.process
    async def driver() -> None:
        t0 = cosim.now()
        await cpu.read(0, size)
        out["latency"] = cosim.now() - t0

    sim.run()
    out["config"] = mem.config()
    out["burst_bytes"] = mem.burst_bytes
    return out


def config_of(sim: cosim.Simulation, **params: Any) -> dict[str, Any]:
    return sim.model("dram", "mem", **params).config()


def bad_config(sim: cosim.Simulation, **params: Any) -> None:
    sim.model("dram", "mem", **params)


def idle_cycles(preset: str) -> int:
    """tRCD + CL + burst: a read of one burst from a closed bank, in clock cycles."""
    t = cosim.system.dram.preset_info(preset)["timing"]
    return t["tRCD"] + t["tCL"] + t["burst_cycles"]


# ------------------------------------------------------------------ parameters


TIMING = ["tCL", "tCWL", "tRCD", "tRP", "tRAS", "tRC", "tRTP", "tWR", "tRRD_S", "tRRD_L"]
TIMING += ["tFAW", "tCCD_S", "tCCD_L", "tWTR_S", "tWTR_L", "tRTRS", "tRFC", "tREFI"]


@pytest.mark.parametrize("name", TIMING)
def test_every_timing_parameter_is_settable(name: str) -> None:
    t = cosim.system.dram.preset_info("ddr4_2400")["timing"]
    over = {name: t[name] + 1}
    if name in ("tRAS", "tRP"):  # keep tRC >= tRAS + tRP
        over["tRC"] = t["tRC"] + 1
    if name.endswith("_S"):  # keep the same-bank-group spacing >= the other one
        long = name[:-2] + "_L"
        over[long] = max(t[long], t[name] + 1)
    got = cosim.simulate(config_of, preset="ddr4_2400", **over).value["timing"]
    assert {k: got[k] for k in over} == over


def test_organisation_parameters_describe_another_part() -> None:
    c = cosim.simulate(
        config_of,
        preset="ddr4_2400",
        channels=2,
        ranks=2,
        bankgroups=2,
        banks_per_group=8,
        rows=32768,
        page_size=4096,
        bus_width=128,
        burst_length=16,
        beats_per_clock=4,
        tCK=625,
    ).value
    o, t = c["org"], c["timing"]
    assert (o["channels"], o["ranks"], o["bankgroups"], o["banks_per_group"]) == (2, 2, 2, 8)
    assert (o["rows"], o["page_size"], o["bus_width"], o["burst_length"]) == (32768, 4096, 128, 16)
    assert o["burst_bytes"] == 128 // 8 * 16
    assert o["capacity"] == 2 * 2 * 2 * 8 * 32768 * 4096
    assert t["tCK_ps"] == 625 and t["burst_cycles"] == 16 // 4
    assert c["peak_bytes_per_s_per_channel"] == pytest.approx(256 / (4 * 625e-12))


def test_clock_and_burst_overrides_move_the_idle_latency_by_jedec_arithmetic() -> None:
    t = cosim.system.dram.preset_info("ddr4_2400")["timing"]
    # BL4 at two beats per clock: a 32-byte burst takes 2 clocks; the clock is 1 ns.
    r = cosim.simulate(
        idle_read, 32, preset="ddr4_2400", channels=1, burst_length=4, tCK=1000, tCL=20
    ).value
    assert r["burst_bytes"] == 8 * 4
    assert r["latency"] == (t["tRCD"] + 20 + 4 // 2) * 1000


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"tRP": 20}, r"tRC = 55 cycles must be >= tRAS \+ tRP = 39 \+ 20 = 59"),
        ({"tRAS": 10}, "tRAS = 10 cycles must be >= tRCD = 16"),
        ({"tRRD_L": 3}, "tRRD_L = 3 cycles must be >= tRRD_S = 4"),
        ({"tCCD_S": 7}, "tCCD_L = 6 cycles must be >= tCCD_S = 7"),
        ({"tRFC": 9400}, "0 < tRFC < tREFI"),
        ({"page_size": 3072}, "page_size = 3072 B must be a power of two"),
        ({"page_size": 32}, "page_size = 32 B must hold at least one burst"),
        ({"bus_width": 12}, "bus_width = 12 bit must be a whole number of bytes"),
        ({"bus_width": 24}, "bus_width = 24 bit must be a power of two"),
        ({"burst_length": 3}, "burst_length = 3 must be a multiple of beats_per_clock = 2"),
        ({"rows": 1000}, "rows = 1000 must be a power of two"),
        ({"write_queue": 8, "write_high": 16}, "write_low <= write_high <= write_queue"),
        ({"channel_mode": "legacy"}, "channel_mode 'legacy' needs an HBM2 preset"),
        ({"mapping": "ro-ba-co-ch"}, "mapping"),
        ({"ranks": 32}, "ranks"),
        ({"channels": 1024, "rows": 1 << 24}, "must be at most 64 TiB"),
    ],
)
def test_inconsistent_part_is_refused_naming_parameter_and_rule(params: Any, words: str) -> None:
    with pytest.raises(cosim.ParameterError, match=words):
        cosim.simulate(bad_config, preset="ddr4_2400", **params)


def test_refresh_policy_none_and_simultaneous() -> None:
    c = cosim.simulate(config_of, refresh_policy="none").value
    assert c["refresh"] is False and c["refresh_policy"] == "none"
    c = cosim.simulate(config_of, refresh_policy="simultaneous", ranks=2).value
    assert c["refresh_policy"] == "simultaneous"


# ------------------------------------------------------------------ HBM2 modes


def test_hbm2_legacy_preset_is_eight_128_bit_channels_with_64_byte_bursts() -> None:
    legacy = cosim.system.dram.preset_info("hbm2_legacy")
    pseudo = cosim.system.dram.preset_info("hbm2")
    o = legacy["org"]
    assert (o["channels"], o["bus_width"], o["burst_bytes"], o["page_size"]) == (8, 128, 64, 2048)
    # Same stack: same capacity and peak bandwidth in either mode (JESD235).
    assert o["capacity"] == pseudo["org"]["capacity"]
    assert cosim.system.dram.peak_bandwidth("hbm2_legacy") == pytest.approx(
        cosim.system.dram.peak_bandwidth("hbm2")
    )
    # One 64-byte read is one burst: tRCD + CL + BL4/2 at 1 ns.
    r = cosim.simulate(idle_read, 64, preset="hbm2_legacy", channels=1).value
    assert r["latency"] == idle_cycles("hbm2_legacy") * 1000
    # The channel_mode parameter selects the sibling preset.
    c = cosim.simulate(config_of, preset="hbm2", channel_mode="legacy").value
    assert c["name"] == "hbm2_legacy" and c["org"]["bus_width"] == 128


# ------------------------------------------------------------------ configuration files


@pytest.mark.parametrize("name", ["DDR4_8Gb_x8_2400.ini", "DDR4_8Gb_x8_2400.json"])
def test_ddr4_files_describe_the_ddr4_preset(name: str) -> None:
    p = load_config(name)
    preset = cosim.system.dram.preset_info("ddr4_2400")
    assert p["preset"] == "ddr4_2400"
    for k in TIMING:
        assert p[k] == preset["timing"][k], k
    # Energies from the file's currents (TN-40-07), the preset's figures.
    for k in ("act_pj", "rd_pj", "wr_pj", "ref_pj"):
        assert p[k] == pytest.approx(preset["energy"][k]), k
    r = cosim.simulate(idle_read, 64, **p).value
    assert r["latency"] == idle_cycles("ddr4_2400") * preset["timing"]["tCK_ps"]
    assert r["config"]["org"] == {**preset["org"]}


def test_file_energies_charge_the_commands() -> None:
    p = load_config("DDR4_8Gb_x8_2400.ini")
    r = cosim.simulate(idle_read, 64, **{**p, "act_pj": 1000.0, "rd_pj": 10.0})
    assert r.stat("mem.energy_pj.act") == pytest.approx(1000.0)
    assert r.stat("mem.energy_pj.rd") == pytest.approx(10.0)


def test_other_parts_load() -> None:
    legacy = load_config("HBM2_8Gb_x128_legacy.ini")
    assert legacy["preset"] == "hbm2_legacy" and legacy["channels"] == 8
    r = cosim.simulate(idle_read, 64, **legacy).value
    assert r["latency"] == idle_cycles("hbm2_legacy") * 1000
    lp = load_config("LPDDR4_8Gb_x16_3200.json")
    r = cosim.simulate(idle_read, 32, **lp).value
    assert r["latency"] == idle_cycles("lpddr4_3200") * 625
    # Fields read but without anything to act on are listed with the reason.
    assert "tCKE" in read_config("DDR4_8Gb_x8_2400.ini").ignored


def write(tmp_path: Path, name: str, text: str) -> str:
    f = tmp_path / name
    f.write_text(text)
    return str(f)


def ini_with(tmp_path: Path, old: str, new: str) -> str:
    text = (CONFIG_DIR / "DDR4_8Gb_x8_2400.ini").read_text()
    assert old in text
    return write(tmp_path, "part.ini", text.replace(old, new))


def line_of(path: str, needle: str) -> int:
    return next(i for i, t in enumerate(Path(path).read_text().splitlines(), 1) if needle in t)


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("tRTRS = 2", "tRTRS = 2\ntFOO = 3", "unknown field 'tFOO' in \\[timing\\]"),
        ("protocol = DDR4", "protocol = GDDR5", "protocol 'GDDR5' is not supported"),
        ("AL = 0", "AL = 2", "AL = 2: additive latency is not supported"),
        ("CL = 16", "CL = sixteen", "expected a whole number of cycles for 'CL'"),
        ("CL = 16", "CL 16", "expected 'key = value' or '\\[section\\]'"),
        ("[other]", "[extras]", "unknown section \\[extras\\]"),
        ("refresh_policy = RANK_LEVEL_STAGGERED", "refresh_policy = BANK_LEVEL_STAGGERED", "not"),
        ("channel_size = 8192", "channel_size = 3000", "whole number of ranks"),
    ],
)
def test_bad_dramsim3_file_names_file_line_and_expectation(
    tmp_path: Path, old: str, new: str, words: str
) -> None:
    path = ini_with(tmp_path, old, new)
    with pytest.raises(cosim.ParameterError, match=words) as e:
        load_config(path)
    msg = str(e.value)
    assert "\n" not in msg
    needle = new.splitlines()[-1]
    assert msg.startswith(f"{path}:{line_of(path, needle)}:")


def test_missing_field_and_missing_file(tmp_path: Path) -> None:
    path = ini_with(tmp_path, "tRCD = 16\n", "")
    with pytest.raises(cosim.ParameterError, match="expected a timing field for tRCD"):
        load_config(path)
    with pytest.raises(cosim.ParameterError, match="cannot read the configuration"):
        load_config(tmp_path / "nowhere.ini")
    with pytest.raises(cosim.ParameterError, match=r"expected a DRAMsim3 '\.ini' or a DRAMSys"):
        load_config(write(tmp_path, "part.yaml", "x: 1"))


def test_bad_dramsys_file_names_file_line_and_expectation(tmp_path: Path) -> None:
    doc = json.loads((CONFIG_DIR / "DDR4_8Gb_x8_2400.json").read_text())
    doc["memspec"]["memtimingspec"]["tBOGUS"] = 3
    path = write(tmp_path, "part.json", json.dumps(doc, indent=2))
    with pytest.raises(cosim.ParameterError, match=r"unknown field 'memtimingspec\.tBOGUS'") as e:
        load_config(path)
    assert str(e.value).startswith(f"{path}:{line_of(path, 'tBOGUS')}:")
    doc["memspec"]["memtimingspec"].pop("tBOGUS")
    doc["memspec"]["memoryType"] = "GDDR6"
    path = write(tmp_path, "part.json", json.dumps(doc, indent=2))
    with pytest.raises(cosim.ParameterError, match="memoryType 'GDDR6' is not supported"):
        load_config(path)
    path = write(tmp_path, "broken.json", '{\n  "memspec": {\n    "memoryType": "DDR4",\n  }\n}\n')
    with pytest.raises(cosim.ParameterError, match=r"broken.json:4: expected JSON"):
        load_config(path)

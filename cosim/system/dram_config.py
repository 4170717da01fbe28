"""DRAM configuration files of other simulators as `dram` model parameters: DRAMsim3
`.ini` files and DRAMSys JSON memspecs (docs/dram.md lists every field, how it maps and
which ones are refused or ignored, and why). `load_config(path)` gives the parameters of
`sim.model("dram", ...)`; a missing, unreadable or malformed file is one ParameterError
naming the file, the line and what was expected."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.errors import ParameterError

# ----------------------------------------------------------- configuration files


@dataclass
class DramConfig:
    """A configuration file read into 'dram' model parameters.

    `params` go to sim.model("dram", ...); `ignored` names each field that was read but
    has nothing to act on in the model (power-down timings, output settings), with why."""

    path: str
    format: str
    params: dict[str, Any]
    ignored: dict[str, str] = field(default_factory=dict)


CONFIG_DIR = Path(__file__).resolve().parents[2] / "tlm" / "dram" / "configs"

_NOT_MODELLED_PD = "power-down and self-refresh are not modelled"
_NOT_MODELLED_BG = "background (standby) energy is not modelled"
_NOT_MODELLED_FGR = "fine-granularity refresh modes are not modelled (1x refresh is)"
_NOT_MODELLED_PRE = "read/write preambles are not modelled"
_NOT_MODELLED_OUT = "simulator output setting"


def _fail(path: str, line: int | None, what: str) -> ParameterError:
    where = f"{path}:{line}" if line else path
    return ParameterError(f"{where}: {what}")


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as e:
        raise _fail(path, None, f"cannot read the configuration: {e.strerror}") from None
    except UnicodeDecodeError:
        raise _fail(path, None, "expected a text file (it is not UTF-8)") from None


def _energies(
    vdd: float, idd: dict[str, float], devices: float, t: dict[str, int], tck_ns: float, burst: int
) -> dict[str, float]:
    """Per-command energies (pJ) of a rank from device currents (mA), Micron TN-40-07."""
    trc, tras = t["tRC"] * tck_ns, t["tRAS"] * tck_ns
    t_burst = burst * tck_ns
    return {
        "act_pj": devices
        * vdd
        * (idd["IDD0"] * trc - (idd["IDD3N"] * tras + idd["IDD2N"] * (trc - tras))),
        "rd_pj": devices * vdd * (idd["IDD4R"] - idd["IDD3N"]) * t_burst,
        "wr_pj": devices * vdd * (idd["IDD4W"] - idd["IDD3N"]) * t_burst,
        "ref_pj": devices * vdd * (idd["IDD5"] - idd["IDD3N"]) * t["tRFC"] * tck_ns,
    }


# DRAMsim3 .ini: section -> field -> (model parameter or None, kind). Kinds: 'int', 'ns'
# (tCK), 'idd', or a reason string for a field read but not acted on.
_D3_TIMING = {
    "CL": "tCL",
    "CWL": "tCWL",
    "tRCD": "tRCD",
    "tRCDRD": "tRCD",
    "tRP": "tRP",
    "tRAS": "tRAS",
    "tRC": "tRC",
    "tRTP": "tRTP",
    "tWR": "tWR",
    "tRRD_S": "tRRD_S",
    "tRRD_L": "tRRD_L",
    "tRRD": ("tRRD_S", "tRRD_L"),
    "tFAW": "tFAW",
    "tCCD_S": "tCCD_S",
    "tCCD_L": "tCCD_L",
    "tCCD": ("tCCD_S", "tCCD_L"),
    "tWTR_S": "tWTR_S",
    "tWTR_L": "tWTR_L",
    "tWTR": ("tWTR_S", "tWTR_L"),
    "tRTRS": "tRTRS",
    "tRFC": "tRFC",
    "tREFI": "tREFI",
}
_D3_IGNORED = {
    "tCKE": _NOT_MODELLED_PD,
    "tCKESR": _NOT_MODELLED_PD,
    "tXS": _NOT_MODELLED_PD,
    "tXP": _NOT_MODELLED_PD,
    "tRFC2": _NOT_MODELLED_FGR,
    "tRFC4": _NOT_MODELLED_FGR,
    "tREFI2": _NOT_MODELLED_FGR,
    "tREFI4": _NOT_MODELLED_FGR,
    "tRPRE": _NOT_MODELLED_PRE,
    "tWPRE": _NOT_MODELLED_PRE,
    "IDD2P": _NOT_MODELLED_BG,
    "IDD3P": _NOT_MODELLED_BG,
    "IDD6x": _NOT_MODELLED_BG,
    "epoch_period": _NOT_MODELLED_OUT,
    "output_level": _NOT_MODELLED_OUT,
    "output_prefix": _NOT_MODELLED_OUT,
    "cmd_queue_size": "per-bank command queues are not modelled "
    "(FR-FCFS picks among all queued requests)",
}
_D3_FIELDS = {
    "dram_structure": {
        "protocol",
        "bankgroups",
        "banks_per_group",
        "rows",
        "columns",
        "device_width",
        "BL",
    },
    "timing": {
        "tCK",
        "AL",
        *_D3_TIMING,
        "tCKE",
        "tCKESR",
        "tXS",
        "tXP",
        "tRFC2",
        "tRFC4",
        "tREFI2",
        "tREFI4",
        "tRPRE",
        "tWPRE",
        "tRCDWR",
    },
    "power": {
        "VDD",
        "IDD0",
        "IDD2P",
        "IDD2N",
        "IDD3P",
        "IDD3N",
        "IDD4W",
        "IDD4R",
        "IDD5AB",
        "IDD6x",
    },
    "system": {
        "channel_size",
        "channels",
        "bus_width",
        "address_mapping",
        "queue_structure",
        "refresh_policy",
        "row_buf_policy",
        "cmd_queue_size",
        "trans_queue_size",
    },
    "other": {"epoch_period", "output_level", "output_prefix"},
}
_PROTOCOL_PRESET = {"DDR4": "ddr4_2400", "LPDDR4": "lpddr4_3200", "HBM": "hbm2", "HBM2": "hbm2"}


def _names(target: str | tuple[str, ...]) -> tuple[str, ...]:
    return (target,) if isinstance(target, str) else target


def _parse_ini(path: str, text: str) -> dict[str, dict[str, tuple[str, int]]]:
    """Sections of an .ini file: {section: {key: (value, line)}}; errors name the line."""
    out: dict[str, dict[str, tuple[str, int]]] = {}
    section: str | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split(";", 1)[0].split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"\[([A-Za-z_][A-Za-z0-9_]*)\]", line)
        if m:
            section = m.group(1)
            if section not in _D3_FIELDS:
                raise _fail(
                    path,
                    n,
                    f"unknown section [{section}] (expected one of "
                    f"{', '.join(f'[{s}]' for s in _D3_FIELDS)})",
                )
            out.setdefault(section, {})
            continue
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S.*?)", line)
        if not m:
            raise _fail(path, n, f"expected 'key = value' or '[section]', got '{raw.strip()[:60]}'")
        if section is None:
            raise _fail(path, n, f"expected a [section] before '{m.group(1)}'")
        key = m.group(1)
        if key not in _D3_FIELDS[section]:
            raise _fail(
                path,
                n,
                f"unknown field '{key}' in [{section}] (not a DRAMsim3 field this loader knows)",
            )
        if key in out[section]:
            raise _fail(
                path, n, f"field '{key}' given twice (first on line {out[section][key][1]})"
            )
        out[section][key] = (m.group(2).strip(), n)
    return out


def _load_dramsim3(path: str) -> DramConfig:
    ini = _parse_ini(path, _read_text(path))
    ignored: dict[str, str] = {}

    def get(section: str, key: str, kind: type = int, required: bool = True) -> Any:
        entry = ini.get(section, {}).get(key)
        if entry is None:
            if required:
                raise _fail(path, None, f"expected field '{key}' in [{section}]")
            return None
        value, line = entry
        try:
            return kind(value)
        except ValueError:
            raise _fail(
                path, line, f"expected {kind.__name__} for '{key}', got '{value}'"
            ) from None

    def line_of(section: str, key: str) -> int | None:
        entry = ini.get(section, {}).get(key)
        return entry[1] if entry else None

    protocol = get("dram_structure", "protocol", str)
    if protocol not in _PROTOCOL_PRESET:
        raise _fail(
            path,
            line_of("dram_structure", "protocol"),
            f"protocol '{protocol}' is not supported (expected one of "
            f"{', '.join(_PROTOCOL_PRESET)})",
        )
    bus_width = get("system", "bus_width")
    preset = _PROTOCOL_PRESET[protocol]
    if preset == "hbm2" and bus_width == 128:
        preset = "hbm2_legacy"
    device_width = get("dram_structure", "device_width")
    columns = get("dram_structure", "columns")
    rows = get("dram_structure", "rows")
    bankgroups = get("dram_structure", "bankgroups")
    banks_per_group = get("dram_structure", "banks_per_group")
    bl = get("dram_structure", "BL")
    tck_ns = get("timing", "tCK", float)
    p: dict[str, Any] = {
        "preset": preset,
        "bus_width": bus_width,
        "bankgroups": bankgroups,
        "banks_per_group": banks_per_group,
        "rows": rows,
        "page_size": columns * bus_width // 8,
        "burst_length": bl,
        "tCK": round(tck_ns * 1000),
        "channels": get("system", "channels"),
    }
    al = get("timing", "AL", required=False)
    if al:
        raise _fail(
            path,
            line_of("timing", "AL"),
            f"AL = {al}: additive latency is not supported (expected 0)",
        )
    timing: dict[str, int] = {}
    for key, (value, line) in ini.get("timing", {}).items():
        if key in ("tCK", "AL"):
            continue
        if key in _D3_IGNORED:
            ignored[key] = _D3_IGNORED[key]
            continue
        try:
            v = int(value)
        except ValueError:
            raise _fail(
                path, line, f"expected a whole number of cycles for '{key}', got '{value}'"
            ) from None
        if key == "tRCDWR":
            continue  # checked against tRCD below
        for name in _names(_D3_TIMING[key]):
            if name in timing and timing[name] != v:
                raise _fail(
                    path,
                    line,
                    f"{key} = {v} disagrees with another field for {name} ({timing[name]})",
                )
            timing[name] = v
    rcdwr = get("timing", "tRCDWR", required=False)
    if rcdwr is not None and rcdwr != timing.get("tRCD"):
        raise _fail(
            path,
            line_of("timing", "tRCDWR"),
            f"tRCDWR = {rcdwr} differs from tRCDRD = {timing.get('tRCD')}: separate read and "
            "write activate delays are not supported (expected them equal)",
        )
    for name in ("tCL", "tCWL", "tRCD", "tRP", "tRAS", "tRFC", "tREFI"):
        if name not in timing:
            raise _fail(path, None, f"expected a timing field for {name} in [timing]")
    timing.setdefault("tRC", timing["tRAS"] + timing["tRP"])
    p.update(timing)
    # Ranks from the channel size: channel_size MB / (banks x rows x page).
    channel_mb = get("system", "channel_size")
    rank_bytes = bankgroups * banks_per_group * rows * p["page_size"]
    ranks = channel_mb * (1 << 20) // rank_bytes if rank_bytes else 0
    if ranks < 1 or ranks * rank_bytes != channel_mb * (1 << 20):
        raise _fail(
            path,
            line_of("system", "channel_size"),
            f"channel_size = {channel_mb} MB is not a whole number of ranks of {rank_bytes} B",
        )
    p["ranks"] = ranks
    mapping = get("system", "address_mapping", str, required=False)
    if mapping is not None:
        fields = [mapping[i : i + 2] for i in range(0, len(mapping), 2)]
        if len(mapping) % 2 or sorted(fields) != sorted(["ro", "ch", "ra", "ba", "bg", "co"]):
            raise _fail(
                path,
                line_of("system", "address_mapping"),
                f"expected address_mapping of the six fields ro ch ra ba bg co, got '{mapping}'",
            )
        p["mapping"] = "-".join(fields)
    choices = {
        ("system", "queue_structure"): {"PER_BANK": None},
        ("system", "refresh_policy"): {
            "RANK_LEVEL_STAGGERED": "staggered",
            "RANK_LEVEL_SIMULTANEOUS": "simultaneous",
        },
        ("system", "row_buf_policy"): {"OPEN_PAGE": "open", "CLOSE_PAGE": "closed"},
    }
    targets = {"refresh_policy": "refresh_policy", "row_buf_policy": "page_policy"}
    for (section, key), allowed in choices.items():
        value = get(section, key, str, required=False)
        if value is None:
            continue
        if value not in allowed:
            raise _fail(
                path,
                line_of(section, key),
                f"{key} = {value} is not supported (expected one of {', '.join(allowed)})",
            )
        if key in targets:
            p[targets[key]] = allowed[value]
    queue = get("system", "trans_queue_size", required=False)
    if queue is not None:
        p["read_queue"] = p["write_queue"] = queue
    for key in ini.get("system", {}):
        if key in _D3_IGNORED:
            ignored[key] = _D3_IGNORED[key]
    for key in ini.get("other", {}):
        ignored[key] = _D3_IGNORED[key]
    if "power" in ini:
        pw = {k: get("power", k, float) for k in ini["power"]}
        for k in ("IDD2P", "IDD3P", "IDD6x"):
            if k in pw:
                ignored[k] = _D3_IGNORED[k]
        needed = ("VDD", "IDD0", "IDD2N", "IDD3N", "IDD4R", "IDD4W", "IDD5AB")
        missing = [k for k in needed if k not in pw]
        if missing:
            raise _fail(path, None, f"expected [power] fields {', '.join(missing)}")
        idd = {**{k: pw[k] for k in needed}, "IDD5": pw["IDD5AB"]}
        from cosim.system.dram import presets  # the presets' figures (no import cycle)

        beats = (
            presets()[preset]["org"]["burst_length"] // presets()[preset]["timing"]["burst_cycles"]
        )
        tm = {"tRC": timing["tRC"], "tRAS": timing["tRAS"], "tRFC": timing["tRFC"]}
        p.update(
            _energies(pw["VDD"], idd, bus_width / device_width, tm, p["tCK"] / 1000, bl // beats)
        )
    return DramConfig(path, "dramsim3", p, ignored)


# DRAMSys memspec JSON: memtimingspec field -> model parameter.
_DS_TIMING = {
    "CL": "tCL",
    "RL": "tCL",
    "WL": "tCWL",
    "CWL": "tCWL",
    "RCD": "tRCD",
    "RP": "tRP",
    "RAS": "tRAS",
    "RC": "tRC",
    "RTP": "tRTP",
    "WR": "tWR",
    "RRD_S": "tRRD_S",
    "RRD_L": "tRRD_L",
    "RRD": ("tRRD_S", "tRRD_L"),
    "FAW": "tFAW",
    "CCD_S": "tCCD_S",
    "CCD_L": "tCCD_L",
    "CCD": ("tCCD_S", "tCCD_L"),
    "WTR_S": "tWTR_S",
    "WTR_L": "tWTR_L",
    "WTR": ("tWTR_S", "tWTR_L"),
    "RTRS": "tRTRS",
    "RFC1": "tRFC",
    "RFC": "tRFC",
    "RFCab": "tRFC",
    "REFI": "tREFI",
}
_DS_IGNORED = {
    "CKE": _NOT_MODELLED_PD,
    "CKESR": _NOT_MODELLED_PD,
    "XP": _NOT_MODELLED_PD,
    "XPDLL": _NOT_MODELLED_PD,
    "XS": _NOT_MODELLED_PD,
    "XSDLL": _NOT_MODELLED_PD,
    "ACTPDEN": _NOT_MODELLED_PD,
    "PRPDEN": _NOT_MODELLED_PD,
    "REFPDEN": _NOT_MODELLED_PD,
    "RFC2": _NOT_MODELLED_FGR,
    "RFC4": _NOT_MODELLED_FGR,
    "REFM": _NOT_MODELLED_FGR,
    "RPRE": _NOT_MODELLED_PRE,
    "WPRE": _NOT_MODELLED_PRE,
    "DQSCK": "DQS clock skew is not modelled",
}
_DS_ARCH = {
    "burstLength",
    "dataRate",
    "nbrOfBankGroups",
    "nbrOfBanks",
    "nbrOfColumns",
    "nbrOfRanks",
    "nbrOfRows",
    "width",
    "nbrOfDevices",
    "nbrOfChannels",
}
_DS_POWER = {"vdd", "idd0", "idd2n", "idd3n", "idd4r", "idd4w", "idd5"}
_DS_POWER_IGNORED = {
    "idd2p0",
    "idd2p1",
    "idd3p0",
    "idd3p1",
    "idd6",
    "vpp",
    "idd02",
    "idd2p",
    "idd3p",
    "ipp0",
    "ipp2n",
    "ipp3n",
    "ipp4r",
    "ipp4w",
    "ipp5",
}
_DS_TYPE_PRESET = {"DDR4": "ddr4_2400", "LPDDR4": "lpddr4_3200", "HBM2": "hbm2"}


def _json_line(text: str, *keys: str) -> int | None:
    """Line of the last of `keys`, each searched after the previous one (nested fields)."""
    pos = 0
    for k in keys:
        i = text.find(f'"{k}"', pos)
        if i < 0:
            return None
        pos = i + 1
    return text.count("\n", 0, pos) + 1


def _load_dramsys(path: str) -> DramConfig:
    text = _read_text(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise _fail(path, e.lineno, f"expected JSON ({e.msg}, column {e.colno})") from None
    if not isinstance(doc, dict) or set(doc) != {"memspec"} or not isinstance(doc["memspec"], dict):
        raise _fail(path, 1, 'expected one top-level object {"memspec": {...}} (a DRAMSys memspec)')
    spec = doc["memspec"]
    ignored: dict[str, str] = {}
    known = {"memoryId", "memoryType", "memarchitecturespec", "memtimingspec", "mempowerspec"}
    for k in spec:
        if k not in known:
            raise _fail(
                path,
                _json_line(text, "memspec", k),
                f"unknown field 'memspec.{k}' (expected {', '.join(sorted(known))})",
            )
    for k in ("memoryType", "memarchitecturespec", "memtimingspec"):
        if k not in spec:
            raise _fail(path, None, f"expected field 'memspec.{k}'")
    mtype = spec["memoryType"]
    if mtype not in _DS_TYPE_PRESET:
        raise _fail(
            path,
            _json_line(text, "memspec", "memoryType"),
            f"memoryType '{mtype}' is not supported (expected one of {', '.join(_DS_TYPE_PRESET)})",
        )

    def number(section: str, key: str, value: Any, integer: bool = True) -> Any:
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if not ok or isinstance(value, bool):
            kind = "a whole number" if integer else "a number"
            raise _fail(
                path,
                _json_line(text, section, key),
                f"expected {kind} for '{section}.{key}', got {value!r}",
            )
        return value

    arch = spec["memarchitecturespec"]
    for k in arch:
        if k not in _DS_ARCH:
            raise _fail(
                path,
                _json_line(text, "memarchitecturespec", k),
                f"unknown field 'memarchitecturespec.{k}'",
            )
    a = {k: number("memarchitecturespec", k, v) for k, v in arch.items()}
    for k in (
        "burstLength",
        "dataRate",
        "nbrOfBanks",
        "nbrOfColumns",
        "nbrOfRanks",
        "nbrOfRows",
        "width",
    ):
        if k not in a:
            raise _fail(path, None, f"expected field 'memarchitecturespec.{k}'")
    devices = a.get("nbrOfDevices", 1)
    bankgroups = a.get("nbrOfBankGroups", 1)
    bus_width = a["width"] * devices
    preset = _DS_TYPE_PRESET[mtype]
    if preset == "hbm2" and bus_width == 128:
        preset = "hbm2_legacy"
    if a["nbrOfBanks"] % bankgroups:
        raise _fail(
            path,
            _json_line(text, "memarchitecturespec", "nbrOfBanks"),
            "expected nbrOfBanks to be a multiple of nbrOfBankGroups",
        )
    p: dict[str, Any] = {
        "preset": preset,
        "channels": a.get("nbrOfChannels", 1),
        "ranks": a["nbrOfRanks"],
        "bankgroups": bankgroups,
        "banks_per_group": a["nbrOfBanks"] // bankgroups,
        "rows": a["nbrOfRows"],
        "page_size": a["nbrOfColumns"] * bus_width // 8,
        "bus_width": bus_width,
        "burst_length": a["burstLength"],
        "beats_per_clock": a["dataRate"],
    }
    timing: dict[str, int] = {}
    clk_mhz = None
    for k, v in spec["memtimingspec"].items():
        if k == "clkMhz":
            clk_mhz = number("memtimingspec", k, v, integer=False)
            continue
        if k == "AL":
            if number("memtimingspec", k, v):
                raise _fail(
                    path,
                    _json_line(text, "memtimingspec", k),
                    f"AL = {v}: additive latency is not supported (expected 0)",
                )
            continue
        if k in _DS_IGNORED:
            ignored[k] = _DS_IGNORED[k]
            continue
        if k not in _DS_TIMING:
            raise _fail(
                path, _json_line(text, "memtimingspec", k), f"unknown field 'memtimingspec.{k}'"
            )
        v = number("memtimingspec", k, v)
        for name in _names(_DS_TIMING[k]):
            if name in timing and timing[name] != v:
                raise _fail(
                    path,
                    _json_line(text, "memtimingspec", k),
                    f"{k} = {v} disagrees with another field for {name} ({timing[name]})",
                )
            timing[name] = v
    if clk_mhz is None or clk_mhz <= 0:
        raise _fail(path, None, "expected a positive 'memtimingspec.clkMhz'")
    tck_ns = 1000.0 / clk_mhz
    p["tCK"] = round(tck_ns * 1000)
    for name in ("tCL", "tCWL", "tRCD", "tRP", "tRAS", "tRFC", "tREFI"):
        if name not in timing:
            raise _fail(path, None, f"expected a memtimingspec field for {name}")
    timing.setdefault("tRC", timing["tRAS"] + timing["tRP"])
    p.update(timing)
    power = spec.get("mempowerspec")
    if power is not None:
        for k in power:
            if k in _DS_POWER_IGNORED:
                ignored[k] = _NOT_MODELLED_BG if k != "vpp" else "the VPP domain is not modelled"
            elif k not in _DS_POWER:
                raise _fail(
                    path, _json_line(text, "mempowerspec", k), f"unknown field 'mempowerspec.{k}'"
                )
        missing = sorted(_DS_POWER - set(power))
        if missing:
            raise _fail(path, None, f"expected mempowerspec fields {', '.join(missing)}")
        pw = {k: number("mempowerspec", k, power[k], integer=False) for k in _DS_POWER}
        idd = {
            "IDD0": pw["idd0"],
            "IDD2N": pw["idd2n"],
            "IDD3N": pw["idd3n"],
            "IDD4R": pw["idd4r"],
            "IDD4W": pw["idd4w"],
            "IDD5": pw["idd5"],
        }
        burst = a["burstLength"] // a["dataRate"]
        p.update(_energies(pw["vdd"], idd, devices, timing, p["tCK"] / 1000, burst))
    return DramConfig(path, "dramsys", p, ignored)


def read_config(path: str | Path) -> DramConfig:
    """Read a DRAMsim3 .ini or DRAMSys JSON memspec (by extension) into 'dram' parameters.

    A file name without a folder is looked up in tlm/dram/configs/ when it is not in the
    working directory. Unknown fields and values the model cannot honour are refused:
    ParameterError with one line naming the file, the line and what was expected."""
    p = Path(path)
    if not p.exists() and p.parent == Path(".") and (CONFIG_DIR / p).exists():
        p = CONFIG_DIR / p
    name = str(p)
    if p.suffix == ".ini":
        return _load_dramsim3(name)
    if p.suffix == ".json":
        return _load_dramsys(name)
    raise _fail(name, None, "expected a DRAMsim3 '.ini' or a DRAMSys memspec '.json' file")


def load_config(path: str | Path) -> dict[str, Any]:
    """The 'dram' model parameters of a DRAMsim3 .ini or DRAMSys JSON memspec file:
    sim.model("dram", name, **cosim.system.dram.load_config(path)). See read_config()."""
    return dict(read_config(path).params)

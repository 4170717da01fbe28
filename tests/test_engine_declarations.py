"""Every engine's parameters and register map are declared once, in Python
(cosim.accel.declared.EngineDeclaration in its accelerator's package); this test parses
the engine's SystemVerilog and its C++ twin and fails on any difference from it."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import cosim.accel
from cosim.accel import stream_engine
from cosim.accel.declared import ENGINE_BASE, HEADER, EngineDeclaration
from cosim.models import model_info

ROOT = Path(__file__).resolve().parents[1]
#: Parameters every TLM twin has besides the engine's own (the clock grid).
GRID_PARAMS = {"clock", "reset_cycles"}


def declarations() -> list[EngineDeclaration]:
    """Every EngineDeclaration a module of cosim.accel defines at its top level."""
    found: dict[str, EngineDeclaration] = {}
    for mod in pkgutil.walk_packages(cosim.accel.__path__, "cosim.accel."):
        module = importlib.import_module(mod.name)
        for value in vars(module).values():
            if isinstance(value, EngineDeclaration):
                found[value.kind] = value
    return sorted(found.values(), key=lambda d: d.kind)


DECLARATIONS = declarations()


def sv_facts(path: Path) -> dict[str, object]:
    """The parameters, decoded register addresses and documented register names of an
    engine's SystemVerilog."""
    src = path.read_text()
    params = {m[1]: int(m[2]) for m in re.finditer(r"\bparameter\s+int\s+(\w+)\s*=\s*(\d+)", src)}
    code = "\n".join(line.split("//")[0] for line in src.splitlines())
    decoded = {int(h, 16) for h in re.findall(r"^\s*8'h([0-9A-Fa-f]{2})\s*:", code, re.M)}
    decoded |= {int(h, 16) for h in re.findall(r"csr_addr\s*==\s*8'h([0-9A-Fa-f]{2})", code)}
    ranges = {int(h, 16) for h in re.findall(r"csr_addr\s*>=\s*8'h([0-9A-Fa-f]{2})", code)}
    comments = "\n".join(line for line in src.splitlines() if line.lstrip().startswith("//"))
    named = {
        (n, int(h, 16))
        for h, n in re.findall(r"\b0x([0-9A-Fa-f]{2})\s+([A-Z][A-Z0-9_]*)\b", comments)
    }
    return {"params": params, "decoded": decoded, "ranges": ranges, "named": named}


def cpp_constants(path: Path) -> dict[str, int]:
    """Register constants kFooBar = 0x.. of a C++ file, by their Python name FOO_BAR."""
    out = {}
    for name, value in re.findall(r"\bk([A-Z]\w*)\s*=\s*0x([0-9A-Fa-f]+)", path.read_text()):
        out[re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()] = int(value, 16)
    return out


def test_every_engine_is_declared() -> None:
    kinds = {d.kind for d in DECLARATIONS}
    assert {
        "eie",
        "s2ta",
        "softmax_unit",
        "nm_sparse_engine",
        "fp16_dot_tile",
        "vector_unit",
        "sprint_fetch_filter",
        "sprint_recompute",
        "ndp_mac_unit",
    } <= kinds


def test_the_header_is_one() -> None:
    """The Python, C++ and numpy-twin views of the standard register header agree."""
    assert {n: getattr(stream_engine, n) for n in HEADER} == HEADER
    assert stream_engine.CONFIG_BASE == ENGINE_BASE
    cpp = cpp_constants(ROOT / "tlm/accel/engine_tlm.h")
    assert {n: cpp[n] for n in HEADER} == HEADER
    assert cpp["ENGINE_REGS"] == ENGINE_BASE


@pytest.mark.parametrize("decl", DECLARATIONS, ids=lambda d: d.kind)
def test_systemverilog_matches(decl: EngineDeclaration) -> None:
    facts = sv_facts(ROOT / decl.rtl)
    assert facts["params"] == {p.rtl_name: p.default for p in decl.params}, (
        f"{decl.rtl}: parameters differ from {decl.kind}'s declaration"
    )
    regs = decl.register_map()
    assert facts["decoded"] | {HEADER["CTRL"]} == set(regs.values()), (
        f"{decl.rtl}: decoded register addresses differ from the declaration"
    )
    assert facts["ranges"] == set(decl.arrays.values())
    documented = facts["named"]
    for name, addr in documented:  # type: ignore[union-attr]
        assert regs.get(name) == addr, f"{decl.rtl} documents {name} at {addr:#x}"
    names = {n for n, _ in documented}  # type: ignore[union-attr]
    missing = (set(HEADER) | set(decl.registers)) - names
    assert not missing, f"{decl.rtl}'s header comment does not document {sorted(missing)}"


@pytest.mark.parametrize("decl", DECLARATIONS, ids=lambda d: d.kind)
def test_cpp_twin_matches(decl: EngineDeclaration) -> None:
    src = ROOT / decl.tlm
    assert re.search(r"public\s+(accel::)?(Stream)?EngineTlm\b", src.read_text()), (
        f"{decl.tlm} does not derive from EngineTlm (tlm/accel/engine_tlm.h)"
    )
    consts = cpp_constants(src)
    regs = decl.register_map()
    for name, value in consts.items():
        if name == "COUNTER_BASE":
            assert value == decl.counter_base, f"{decl.tlm}: kCounterBase"
        elif name.endswith("_BASE") and name[:-5] in decl.arrays:
            assert value == decl.arrays[name[:-5]], f"{decl.tlm}: k{name}"
        elif name in regs or name in HEADER:
            assert value == regs[name], (
                f"{decl.tlm}: {name} at {value:#x}, declared {regs[name]:#x}"
            )
    assert set(decl.registers) <= set(consts), (
        f"{decl.tlm} has no constant for {sorted(set(decl.registers) - set(consts))}"
    )
    spec = model_info(decl.tlm_model)
    engine_params = {
        p.name: (p.default, p.min, p.max) for p in spec.params if p.name not in GRID_PARAMS
    }
    assert engine_params == {p.name: (p.default, p.min, p.max) for p in decl.params}, (
        f"{decl.tlm_model}'s ModelSpec parameters differ from {decl.kind}'s declaration"
    )


def test_a_mismatch_is_caught(tmp_path: Path) -> None:
    """The parsers see a moved register and a renamed parameter."""
    decl = next(d for d in DECLARATIONS if d.kind == "softmax_unit")
    sv = (ROOT / decl.rtl).read_text()
    bad = tmp_path / "bad.sv"
    bad.write_text(sv.replace("8'h20:", "8'h24:").replace("MAX_LEN = 256", "MAXLEN = 256"))
    facts = sv_facts(bad)
    assert facts["params"] != {p.rtl_name: p.default for p in decl.params}
    assert facts["decoded"] | {0} != set(decl.register_map().values())

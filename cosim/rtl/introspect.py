"""What an RTL top looks like, as Verilator elaborates it: ports, parameters, source files.

Read from Verilator's own `--json-only` output (the elaborated netlist as JSON and its
meta file), after parameters are applied, so widths are those of this configuration;
nothing here parses Verilog.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosim.rtl.errors import RtlBuildError


@dataclass(frozen=True)
class RtlPort:
    """A port of an RTL top: name, direction ('input', 'output', 'inout') and width in
    bits (any width; ports wider than 64 bits are held as 32-bit words)."""

    name: str
    direction: str
    width: int

    @property
    def storage_bytes(self) -> int:
        """Bytes of the Verilated model's storage for this port."""
        w = self.width
        if w <= 8:
            return 1
        if w <= 16:
            return 2
        if w <= 32:
            return 4
        if w <= 64:
            return 8
        return 4 * ((w + 31) // 32)

    @property
    def data_bytes(self) -> int:
        """Bytes a value of this port takes in a TLM payload: ceil(width / 8)."""
        return (self.width + 7) // 8


@dataclass(frozen=True)
class RtlParameter:
    """A parameter of the top module that can be set at build time, with the value this
    elaboration used (int or str; None when Verilator does not print it)."""

    name: str
    type: str  # "int", "string", "logic", ... as Verilator names the data type
    value: int | str | None


@dataclass(frozen=True)
class Elaboration:
    ports: tuple[RtlPort, ...]
    parameters: tuple[RtlParameter, ...]
    files: tuple[str, ...]  # real paths of the source files the design was read from


def _index(tree: Any) -> dict[str, dict[str, Any]]:
    """Every node with an address, by address."""
    out: dict[str, dict[str, Any]] = {}
    stack = [tree]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            if "addr" in n:
                out[n["addr"]] = n
            stack.extend(v for v in n.values() if isinstance(v, dict | list))
        elif isinstance(n, list):
            stack.extend(n)
    return out


_RANGE = re.compile(r"^\[?\s*(-?\d+)\s*:\s*(-?\d+)\s*\]?$")
_KEYWORD_WIDTH = {
    "logic": 1,
    "bit": 1,
    "reg": 1,
    "wire": 1,
    "byte": 8,
    "shortint": 16,
    "int": 32,
    "integer": 32,
    "longint": 64,
    "time": 64,
}


def _range_width(text: str) -> int:
    m = _RANGE.match(text.strip())
    if not m:
        raise ValueError(f"range {text!r}")
    return abs(int(m[1]) - int(m[2])) + 1


def _width(nodes: dict[str, dict[str, Any]], addr: str, depth: int = 0) -> int:
    """Packed width in bits of the data type at `addr`; ValueError if it is not a
    packed type (an unpacked array, a string, a class ...)."""
    if depth > 64 or addr not in nodes:
        raise ValueError(f"data type {addr} not found")
    n = nodes[addr]
    kind = n.get("type")
    if kind == "BASICDTYPE":
        if "range" in n:
            return _range_width(n["range"])
        kw = n.get("keyword", "")
        if kw in _KEYWORD_WIDTH:
            return _KEYWORD_WIDTH[kw]
        raise ValueError(f"a {kw or n.get('name')} value")
    if kind in ("REFDTYPE", "ENUMDTYPE", "MEMBERDTYPE"):
        ref = n.get("refDTypep") or n.get("subDTypep") or n.get("childDTypep")
        if ref in (None, "UNLINKED") or ref == addr:
            ref = n.get("dtypep")
        if ref in (None, "UNLINKED") or ref == addr:
            raise ValueError(f"unresolved type {n.get('name')!r}")
        return _width(nodes, ref, depth + 1)
    if kind == "PACKARRAYDTYPE":
        elem = n.get("refDTypep") or n.get("subDTypep")
        return _range_width(n["declRange"]) * _width(nodes, elem, depth + 1)
    if kind in ("STRUCTDTYPE", "UNIONDTYPE"):
        if not n.get("packed"):
            raise ValueError("an unpacked struct")
        widths = [_width(nodes, m["addr"], depth + 1) for m in n.get("membersp", [])]
        return sum(widths) if kind == "STRUCTDTYPE" else max(widths, default=0)
    if kind == "UNPACKARRAYDTYPE":
        raise ValueError("an unpacked array (declare the port packed, e.g. logic [N-1:0][7:0])")
    raise ValueError(f"a {kind} value")


def _param_value(nodes: dict[str, dict[str, Any]], var: dict[str, Any]) -> int | str | None:
    """The elaborated value of a parameter, from its CONST initializer when present."""
    for key in ("valuep", "initp"):
        for c in var.get(key, []) or []:
            if isinstance(c, dict) and c.get("type") == "CONST":
                text = str(c.get("name", "")).replace('\\"', '"')
                m = re.match(r"^(?:\d+)?'s?([hdbo])([0-9a-fA-F_xzXZ]+)$", text)
                if m:
                    base = {"h": 16, "d": 10, "b": 2, "o": 8}[m[1]]
                    try:
                        return int(m[2].replace("_", ""), base)
                    except ValueError:
                        return None
                if text.startswith('"') and text.endswith('"'):
                    return text[1:-1]
                try:
                    return int(text)
                except ValueError:
                    return text or None
    return None


def parse(tree_json: Path, meta_json: Path, top: str, verilator_root: Path) -> Elaboration:
    """Ports, parameters and source files of `top` from a --json-only run."""
    try:
        tree = json.loads(tree_json.read_text())
        meta = json.loads(meta_json.read_text())
    except (OSError, ValueError) as e:
        raise RtlBuildError(f"cannot read Verilator's JSON output for '{top}': {e}") from None
    nodes = _index(tree)
    module = None
    for m in tree.get("modulesp", []):
        if (
            m.get("type") == "MODULE"
            and m.get("origName", m.get("name")) == top
            and m.get("level") == 1
        ):
            module = m
            break
    if module is None:
        raise RtlBuildError(f"Verilator's netlist has no top module '{top}'")
    ports: list[RtlPort] = []
    params: list[RtlParameter] = []
    for v in module.get("stmtsp", []):
        if v.get("type") != "VAR":
            continue
        if v.get("isGParam"):
            params.append(
                RtlParameter(
                    v.get("origName", v["name"]), v.get("dtypeName", "?"), _param_value(nodes, v)
                )
            )
        elif v.get("isPrimaryIO") or v.get("varType") == "PORT":
            direction = str(v.get("direction", "")).lower()
            if direction not in ("input", "output", "inout"):
                raise RtlBuildError(f"top '{top}': port '{v['name']}' has direction {direction!r}")
            try:
                width = _width(nodes, v["dtypep"])
            except ValueError as e:
                raise RtlBuildError(
                    f"top '{top}': port '{v['name']}' is {e}; cosim bridges connect packed "
                    "ports only"
                ) from None
            ports.append(RtlPort(v["name"], direction, width))
    root = str(verilator_root.resolve())
    files = sorted(
        {
            f["realpath"]
            for f in meta.get("files", {}).values()
            if f.get("realpath", "").startswith("/") and not f["realpath"].startswith(root)
        }
    )
    return Elaboration(tuple(ports), tuple(params), tuple(files))

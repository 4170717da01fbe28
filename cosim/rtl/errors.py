"""Errors of the RTL flow: a failed Verilator run or C++ compile of a block."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cosim.errors import CosimError

# "%Error: rtl/x.sv:3:69: syntax error, ..." / "%Warning-WIDTH: rtl/x.sv:12:5: ..." /
# "%Error-UNSUPPORTED: ...". Verilator prints the location as file:line:column.
_DIAG = re.compile(
    r"^%(?P<severity>Error|Warning)(?:-(?P<code>[A-Z0-9_]+))?:\s*"
    r"(?:(?P<file>[^:\s][^:]*):(?P<line>\d+):(?:(?P<column>\d+):)?\s*)?(?P<message>.*)$"
)


@dataclass(frozen=True)
class Diagnostic:
    """One error or warning from Verilator (or the C++ compiler), with its location."""

    severity: str  # "error" or "warning"
    code: str  # Verilator's warning code (WIDTH, UNUSEDSIGNAL, ...) or ""
    file: str  # "" when the message has no location
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}: " if self.file else ""
        code = f"-{self.code}" if self.code else ""
        return f"{where}{self.severity}{code}: {self.message}"


def parse_verilator_output(text: str) -> list[Diagnostic]:
    """The %Error/%Warning lines of Verilator's output, in order. Lines such as
    "%Error: Exiting due to 3 error(s)" carry no location and are skipped when located
    diagnostics exist."""
    out: list[Diagnostic] = []
    for raw in text.splitlines():
        m = _DIAG.match(raw.strip())
        if not m:
            continue
        msg = m["message"].strip()
        if msg.startswith("Exiting due to"):
            continue
        out.append(
            Diagnostic(
                severity=m["severity"].lower(),
                code=m["code"] or "",
                file=m["file"] or "",
                line=int(m["line"] or 0),
                column=int(m["column"] or 0),
                message=msg,
            )
        )
    return out


class RtlBuildError(CosimError):
    """Verilating or compiling an RTL block failed.

    `diagnostics` holds Verilator's messages with file, line and column; `file` and
    `line` are those of the first located one (the first thing to fix); `log` is the
    tool's whole output."""

    def __init__(
        self, message: str, diagnostics: tuple[Diagnostic, ...] = (), log: str = ""
    ) -> None:
        super().__init__(message)
        self.diagnostics = tuple(diagnostics)
        self.log = log

    @property
    def file(self) -> str | None:
        for d in self.diagnostics:
            if d.file:
                return d.file
        return None

    @property
    def line(self) -> int | None:
        for d in self.diagnostics:
            if d.file:
                return d.line
        return None

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.diagnostics, self.log))

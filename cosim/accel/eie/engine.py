"""The EIE engine (PE array + activation broadcast) with three interchangeable
implementations behind the same ports (docs/accelerators.md):

- "functional": EieFunctional below, numpy, untimed;
- "tlm": tlm/accel/eie/eie.cpp (model 'eie_tlm'), approximately timed;
- "rtl": rtl/eie/eie.sv (eie_pe.sv, eie_lnzd.sv), Verilated behind bridges.

Ports: `csr` (32-bit registers, REGISTERS), `ld` (load-stream beats of 8 bytes: codebook,
pointers, matrix words; see format.py), `act` (activation beats of 16 int16), `out`
(result beats of `pes` int32) and the `done` event. The register map, the load protocol
and the job semantics are documented in rtl/eie/eie.sv; the three twins follow it, counters
included (the functional twin reports 0 for the timing counters: busy and stall cycles).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cosim import _core
from cosim.accel.declared import HEADER, EngineDeclaration, EngineParam
from cosim.accel.eie import format as fmt
from cosim.accel.engine import (
    EnginePorts,
    RtlTop,
    build_engine,
    reg_access_ok,
    reg_word,
    reply_word,
    whole_beats,
)
from cosim.accel.stream_engine import EngineHeader
from cosim.units import parse_time

PORTS = ("csr", "ld", "act", "out")
#: How far (in cycles) the RTL twin may run ahead of the rest of the system.
RTL_QUANTUM_CYCLES = 64
#: Parameters and registers of rtl/eie/eie.sv and its TLM twin (checked against both):
#: the standard header, EIE's registers from 0x10, event counters (cumulative, cleared by
#: CTRL bit 1) from 0x40 and each PE's work from 0x80.
DECLARATION = EngineDeclaration(
    "eie",
    rtl="rtl/eie/eie.sv",
    tlm="tlm/accel/eie/eie.cpp",
    params=(
        EngineParam("pes", 8, 1, 32, "processing elements"),
        EngineParam("fifo_depth", 8, 1, 64, "activation queue entries per PE"),
        EngineParam("act_depth", 2048, 16, 1 << 16, "activations the broadcast buffer holds"),
        EngineParam("mat_words", 8192, 2, 1 << 20, "64-bit words of each PE's matrix memory"),
        EngineParam("rows_max", 1024, 16, 1 << 16, "accumulators per PE"),
    ),
    registers={
        "CONFIG": 0x10,
        "COL_START": 0x14,
        "COL_COUNT": 0x18,
        "ROWS": 0x1C,
        "DENSE_BASE": 0x20,
        "ACT_WPTR": 0x24,
        "MAT_WORDS": 0x28,
        "ACT_DEPTH": 0x2C,
        "ROWS_MAX": 0x30,
    },
    counters=(
        "busy_cycles",
        "activations",
        "entries",
        "zero_weights",
        "matrix_words",
        "pointer_reads",
        "act_group_reads",
        "stall_cycles",
        "load_beats",
        "result_beats",
        "act_beats",
    ),
    counter_base=0x40,
    arrays={"WORK": 0x80},
)
REGISTERS = HEADER | DECLARATION.registers
COUNTERS = DECLARATION.counters
COUNTER_BASE = DECLARATION.counter_base
WORK_BASE = DECLARATION.arrays["WORK"]
#: Counters that depend on timing (the functional twin leaves them at 0).
TIMING_COUNTERS = ("busy_cycles", "stall_cycles")

CTRL_START, CTRL_CLEAR_COUNTERS, CTRL_CLEAR_ERROR = 1, 2, 4
CFG_SKIP, CFG_DENSE, CFG_RELU, CFG_CLEAR, CFG_DRAIN = 1, 2, 4, 8, 16


def config_word(
    *,
    skip: bool = True,
    dense: bool = False,
    relu: bool = False,
    clear: bool = True,
    drain: bool = True,
    fifo_limit: int = 0,
) -> int:
    """The CONFIG register value (fifo_limit 0: the whole queue)."""
    if not 0 <= fifo_limit <= 255:
        raise ValueError(f"eie: fifo_limit must be 0..255, got {fifo_limit}")
    return (
        (CFG_SKIP if skip else 0)
        | (CFG_DENSE if dense else 0)
        | (CFG_RELU if relu else 0)
        | (CFG_CLEAR if clear else 0)
        | (CFG_DRAIN if drain else 0)
        | fifo_limit << 8
    )


class EieFunctional(EngineHeader):
    """The numpy twin: the register map, load protocol and jobs of rtl/eie/eie.sv, untimed.
    STATUS.error is sticky (a refused start, a bad load packet, an activation beat past the
    buffer) until CTRL bit 2."""

    def __init__(self, geometry: fmt.EieGeometry, done: Any) -> None:
        super().__init__()
        g = self.geo = geometry
        self.done = done
        self.ptr = np.zeros((g.pes, g.act_depth + 2), dtype=np.int64)
        self.mat = np.zeros((g.pes, g.mat_words), dtype=np.uint64)
        self.codebook = np.zeros((g.pes, fmt.CODEBOOK_SIZE), dtype=np.int64)
        self.acc = np.zeros((g.pes, g.rows_max), dtype=np.int64)
        self.acts = np.zeros(g.act_depth, dtype=np.int64)
        self.regs = {"CONFIG": CFG_SKIP, "COL_START": 0, "COL_COUNT": 0, "ROWS": 0}
        self.regs.update(DENSE_BASE=0, ACT_WPTR=0)
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.work = np.zeros(g.pes, dtype=np.int64)
        self._ld_left = 0
        self._ld = (0, 0, 0, False)  # target, pe, address, bad
        self._drain: tuple[np.ndarray, int] | None = None  # (rows x pes values, next row)

    # ------------------------------------------------------------------ registers
    def csr(self, p: Any) -> None:
        if not reg_access_ok(p, "eie"):
            return
        a = p.address
        if p.is_write:
            v = reg_word(p)
            names = {off: name for name, off in REGISTERS.items()}
            if a == REGISTERS["CTRL"]:
                if v & CTRL_CLEAR_COUNTERS:
                    self.counters = dict.fromkeys(COUNTERS, 0)
                    self.work[:] = 0
                if v & CTRL_CLEAR_ERROR:
                    self.error = False
                if v & CTRL_START and not self.busy:
                    self._start()
            elif names.get(a) in self.regs:
                self.regs[names[a]] = v & 0xFFFF if names[a] == "CONFIG" else v
            p.set_ok()
            return
        reply_word(p, self._read(a))

    def info(self) -> int:
        return self.geo.pes | self.geo.fifo_depth << 8 | 1 << 24

    def _read(self, a: int) -> int:
        g = self.geo
        header = self.read_header(a)
        if header is not None:
            return header
        if WORK_BASE <= a < WORK_BASE + 4 * 32:
            k = (a - WORK_BASE) // 4
            return int(self.work[k]) & 0xFFFF_FFFF if k < g.pes else 0
        if COUNTER_BASE <= a < COUNTER_BASE + 4 * len(COUNTERS) and a % 4 == 0:
            return self.counters[COUNTERS[(a - COUNTER_BASE) // 4]] & 0xFFFF_FFFF
        fixed = {
            REGISTERS["MAT_WORDS"]: g.mat_words,
            REGISTERS["ACT_DEPTH"]: g.act_depth,
            REGISTERS["ROWS_MAX"]: g.rows_max,
        }
        if a in fixed:
            return fixed[a]
        names = {off: name for name, off in REGISTERS.items()}
        return self.regs.get(names.get(a, ""), 0)

    # ------------------------------------------------------------------ streams in
    def ld(self, p: Any) -> None:
        if not whole_beats(p, fmt.BEAT_BYTES, True, "eie", "load-stream"):
            return
        for beat in p.data.view("<u8"):
            self._load_beat(int(beat))
        p.set_ok()

    def _load_beat(self, beat: int) -> None:
        g = self.geo
        if self._ld_left == 0:
            target, pe = beat & 3, (beat >> 8) & 0xFF
            bad = target == 3 or (pe != fmt.ALL_PES and pe >= g.pes)
            self.error |= bad
            self._ld = (target, pe, (beat >> 16) & 0xFF_FFFF, bad)
            self._ld_left = beat >> 40
            return
        self._ld_left -= 1
        target, pe, a, bad = self._ld
        self._ld = (target, pe, a + {0: 2, 1: 1, 2: 4}.get(target, 1), bad)
        if bad:
            return
        sel = slice(None) if pe == fmt.ALL_PES else slice(pe, pe + 1)
        if target == fmt.TARGET_POINTERS and a <= g.act_depth:
            self.ptr[sel, a] = beat & 0xFFFF_FFFF
            if a + 1 <= g.act_depth:
                self.ptr[sel, a + 1] = beat >> 32
        elif target == fmt.TARGET_MATRIX and a < g.mat_words:
            self.mat[sel, a] = beat
        elif target == fmt.TARGET_CODEBOOK and a < fmt.CODEBOOK_SIZE and a % 4 == 0:
            for i in range(4):
                self.codebook[sel, a + i] = np.int16(np.uint16((beat >> (16 * i)) & 0xFFFF))
        else:
            self.error = True
            return
        self.counters["load_beats"] += 1

    def act(self, p: Any) -> None:
        if not whole_beats(p, fmt.ACT_BEAT_BYTES, True, "eie", "activation-stream"):
            return
        groups = p.data.view("<i2").reshape(-1, fmt.ACT_GROUP)
        for row in groups:
            w = self.regs["ACT_WPTR"]
            self.counters["act_beats"] += 1
            if w >= self.geo.act_depth // fmt.ACT_GROUP:
                self.error = True
            else:
                self.acts[fmt.ACT_GROUP * w : fmt.ACT_GROUP * (w + 1)] = row
            self.regs["ACT_WPTR"] = (w + 1) & 0xFFFF_FFFF
        p.set_ok()

    # ------------------------------------------------------------------ a job
    def _start(self) -> None:
        g = self.geo
        r = self.regs
        cfg, c0, n, rows, base = (
            r[k] for k in ("CONFIG", "COL_START", "COL_COUNT", "ROWS", "DENSE_BASE")
        )
        dense = bool(cfg & CFG_DENSE)
        if (
            c0 + n > g.act_depth
            or rows > g.rows_max
            or (dense and base + n * rows > 16 * g.mat_words)
        ):
            self.refuse()
            return
        self.jobs += 1
        self.busy, self.finished = True, False
        if cfg & CFG_CLEAR:
            self.acc[:] = 0
        cols = np.arange(c0, c0 + n, dtype=np.int64)
        if cfg & CFG_SKIP:
            cols = cols[self.acts[cols] != 0]
        c = self.counters
        c["activations"] += len(cols)
        c["act_group_reads"] += (
            ((c0 + n - 1) // fmt.ACT_GROUP - c0 // fmt.ACT_GROUP + 1) if n else 0
        )
        for k in range(g.pes):
            self._run_pe(k, cols, dense, rows, c0, base)
        self.acc = ((self.acc + (1 << 31)) % (1 << 32)) - (1 << 31)  # int32 wrap
        if cfg & CFG_DRAIN and rows:
            out = self.acc[:, :rows].T.copy()
            if cfg & CFG_RELU:
                out = np.maximum(out, 0)
            self._drain = (out.astype(np.int32), 0)
        else:
            self._finish()

    def _run_pe(self, k: int, cols: np.ndarray, dense: bool, rows: int, c0: int, base: int) -> None:
        c = self.counters
        if dense:
            begin = base + (cols - c0) * rows
            counts = np.full(len(cols), rows, dtype=np.int64)
        else:
            begin = self.ptr[k, cols]
            counts = np.maximum(self.ptr[k, cols + 1] - begin, 0)
            c["pointer_reads"] += 2 * len(cols)
        self.work[k] += int(np.maximum(counts, 1).sum())
        total = int(counts.sum())
        c["entries"] += total
        if total == 0:
            return
        seg = np.repeat(np.arange(len(cols)), counts)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        x = begin[seg] + (np.arange(total) - first[seg])  # entry addresses, in issue order
        raw = self.mat[k].astype("<u8").view(np.uint8)
        if dense:
            byte = raw[np.minimum(x >> 1, len(raw) - 1)].astype(np.int64)
            idx = (byte >> (4 * (x & 1))) & 0xF
            row = x - begin[seg]
            words = x >> 4
        else:
            byte = raw[np.minimum(x, len(raw) - 1)].astype(np.int64)
            idx = byte & 0xF
            step = (byte >> 4) + 1
            run = np.cumsum(step)
            before = np.concatenate([[0], run])[first][seg]
            row = run - before - 1
            words = x >> 3
        c["matrix_words"] += 1 + int(np.count_nonzero(words[1:] != words[:-1]))
        c["zero_weights"] += int(np.count_nonzero(idx == 0))
        prod = self.codebook[k, idx] * self.acts[cols][seg]
        np.add.at(self.acc[k], row & (self.geo.rows_max - 1), prod)

    def _finish(self) -> None:
        self._drain = None
        self.busy, self.finished = False, True
        self.done.notify()

    # ------------------------------------------------------------------ results
    def out(self, p: Any) -> None:
        g = self.geo
        if not whole_beats(p, 4 * g.pes, False, "eie", "result-stream"):
            return
        beats = p.length // (4 * g.pes)
        if self._drain is None or self._drain[1] + beats > len(self._drain[0]):
            left = 0 if self._drain is None else len(self._drain[0]) - self._drain[1]
            p.set_error(
                _core.Response.COMMAND_ERROR,
                f"eie: asked for {beats} result beats but {left} are left (start a job with "
                "CONFIG.drain first)",
            )
            return
        values, at = self._drain
        p.data[:] = values[at : at + beats].astype("<i4").view(np.uint8).reshape(-1)
        self.counters["result_beats"] += beats
        self._drain = (values, at + beats)
        if at + beats == len(values):
            self._finish()
        p.set_ok()


def _ps(clock: int | str) -> int:
    return parse_time(clock) if isinstance(clock, str) else int(clock)


def eie_engine(
    sim: Any,
    name: str,
    *,
    impl: str,
    geometry: fmt.EieGeometry,
    clock: int | str = "1 ns",
    **rtl_options: Any,
) -> EnginePorts:
    """An EIE engine with implementation `impl` ('functional', 'tlm' or 'rtl')."""
    g = geometry
    shape = {p.name: getattr(g, p.name) for p in DECLARATION.params}
    return build_engine(
        sim,
        name,
        impl,
        ports=PORTS,
        functional=lambda done: EieFunctional(g, done),
        tlm=(DECLARATION.tlm_model, DECLARATION.tlm_params(**shape)),
        # The load and activation streams are never back-pressured: sinks. Writes into
        # them during a job (the dense baseline's weight stream) may find the RTL up to
        # one quantum ahead; 64 cycles bounds that (late) delay.
        rtl=RtlTop(
            DECLARATION.kind,
            DECLARATION.rtl_params(**shape),
            stream_in=("ld", "act"),
            stream_out=("out",),
            sinks=("ld", "act"),
            options={"quantum": RTL_QUANTUM_CYCLES * _ps(clock)},
        ),
        clock=clock,
        **rtl_options,
    )

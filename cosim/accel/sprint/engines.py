"""SPRINT's two digital engines (Yazdanbakhsh et al., MICRO 2022), each with functional,
TLM and RTL twins behind one interface (the register-port + two-stream shape of
cosim.accel.stream_engine):

- the recompute engine (rtl/sprint/sprint_recompute.sv): for one query at a time, the exact
  int8 scores of the keys that survived the in-memory thresholding, folded into the
  fixed-point online softmax and weighted sum of their V rows
  (cosim.accel.online_softmax); one output of d Q8.8 values per query;
- the fetch filter (rtl/sprint/sprint_fetch_filter.sv): which key sits in which slot of the
  on-chip K/V buffer; for a query's survivor mask it lists each survivor with its slot
  and whether it must be fetched (keys already on chip are not), in batches that never
  overwrite a slot still in use.

`FetchFilterModel` is the filter's algorithm in Python: the numpy twin uses it and the
golden checks compare every twin's entries with it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from cosim.accel.declared import EngineDeclaration, EngineParam
from cosim.accel.online_softmax import MAX_PAIRS, OnlineSoftmax
from cosim.accel.stream_engine import (
    CYCLES,
    INFO,
    VERSION,
    EngineDriver,
    EngineProtocolError,
    FunctionalEngine,
    StreamEngine,
    make_engine,
)
from cosim.errors import ParameterError

# ------------------------------------------------------------------ recompute engine
RECOMPUTE = "sprint_recompute"
#: Parameters and registers of rtl/sprint/sprint_recompute.sv and its TLM twin (checked
#: against both).
RECOMPUTE_DECLARATION = EngineDeclaration(
    RECOMPUTE,
    rtl="rtl/sprint/sprint_recompute.sv",
    tlm="tlm/accel/sprint/recompute.cpp",
    params=(
        EngineParam("d", 64, 8, 64, "head dimension: int8 elements of a q, k or v row"),
        EngineParam("lanes", 16, 1, 64, "multiply-accumulate lanes"),
    ),
    registers={
        "MULT": 0x10,
        "SHIFT": 0x14,
        "NQ": 0x18,
        "PAIRS": 0x1C,
        "RESCALES": 0x20,
        "EMPTY": 0x24,
    },
)
MULT, SHIFT, NQ, PAIRS, RESCALES, EMPTY = (
    RECOMPUTE_DECLARATION.registers[r]
    for r in ("MULT", "SHIFT", "NQ", "PAIRS", "RESCALES", "EMPTY")
)
TAG_QUERY, TAG_KEY, TAG_VALUE, TAG_END = 1, 2, 3, 4
#: Cycles the RTL spends (see its header): per KEY after the dot product, per END.
KEY_EXTRA_CYCLES, VALUE_EXTRA_CYCLES, DIV_CYCLES = 3, 1, 30


def check_recompute_shape(d: int, lanes: int) -> None:
    if d not in (8, 16, 32, 64):
        raise ParameterError(f"recompute engine d = {d}: must be 8, 16, 32 or 64")
    if lanes < 1 or lanes > d or d % lanes or lanes & (lanes - 1):
        raise ParameterError(
            f"recompute engine lanes = {lanes}: must be a power of two dividing d = {d}"
        )


def beat(row: np.ndarray | None, tag: int, d: int) -> np.ndarray:
    """One input beat: d bytes of an int8 row (zeros for END) and the tag byte."""
    out = np.zeros(d + 1, np.uint8)
    if row is not None:
        out[:d] = np.asarray(row, dtype=np.int8).view(np.uint8)
    out[d] = tag
    return out


def pair_beats(k_rows: np.ndarray, v_rows: np.ndarray, d: int) -> np.ndarray:
    """KEY, VALUE beats of pairs (n x d int8 each), interleaved: (2n, d+1) uint8."""
    n = len(k_rows)
    out = np.zeros((2 * n, d + 1), np.uint8)
    out[0::2, :d] = np.asarray(k_rows, np.int8).view(np.uint8)
    out[1::2, :d] = np.asarray(v_rows, np.int8).view(np.uint8)
    out[0::2, d] = TAG_KEY
    out[1::2, d] = TAG_VALUE
    return out


class FunctionalRecompute(FunctionalEngine):
    """The numpy twin of the recompute engine."""

    config_registers: ClassVar[dict[int, str]] = {MULT: "mult", SHIFT: "shift", NQ: "nq"}

    def __init__(self, name: str, d: int, lanes: int, done: Any) -> None:
        super().__init__(name, d + 1, 2 * d, done)
        self.d, self.lanes = d, lanes
        self.regs.update(mult=1, shift=1)
        self.counters = {"pairs": 0, "rescales": 0, "empty": 0}
        self._reset_query_state()

    def _reset_query_state(self) -> None:
        self.in_query = self.expect_v = self.output_pending = False
        self.q = np.zeros(self.d, np.int64)
        self.state: OnlineSoftmax | None = None
        self.queries_done = 0

    def info(self) -> int:
        return self.d | self.lanes << 8 | VERSION << 24

    def csr_access(self, payload: Any) -> None:
        if payload.is_read and payload.address in (PAIRS, RESCALES, EMPTY) and payload.length == 4:
            name = {PAIRS: "pairs", RESCALES: "rescales", EMPTY: "empty"}[payload.address]
            payload.data[:] = np.frombuffer(struct.pack("<I", self.counters[name]), np.uint8)
            return
        super().csr_access(payload)

    def start(self, ctrl: int) -> None:
        self.counters = dict.fromkeys(self.counters, 0)
        self._reset_query_state()
        self.job_nq = self.regs["nq"]
        if self.job_nq == 0:
            self.end_job()

    def wanted(self) -> int:
        return 1 << 30  # any number of beats; consume() refuses them while an output waits

    def _ordered(self, tag: int) -> bool:
        pairs = self.state.pairs if self.state is not None else 0
        return {
            TAG_QUERY: not self.in_query,
            TAG_KEY: self.in_query and not self.expect_v and pairs < MAX_PAIRS,
            TAG_VALUE: self.in_query and self.expect_v,
            TAG_END: self.in_query and not self.expect_v,
        }.get(tag, False)

    def consume(self, beats: np.ndarray) -> None:
        d = self.d
        for b in beats:
            tag = int(b[d])
            row = b[:d].view(np.int8).astype(np.int64)
            if self.output_pending:
                raise EngineProtocolError(
                    "read the output of the last query before sending more beats"
                )
            if not self._ordered(tag):
                self.error = True  # STATUS bit 2 until the next start, as in the RTL
                continue
            if tag == TAG_QUERY:
                self.q = row
                self.state = OnlineSoftmax(self.regs["mult"] & 0xFFFF, self.regs["shift"] & 0x3F, d)
                self.in_query = True
            elif tag == TAG_KEY:
                assert self.state is not None
                self.score = int(self.q @ row)
                self.expect_v = True
            elif tag == TAG_VALUE:
                assert self.state is not None
                before = self.state.rescales
                self.state.add(self.score, row)
                self.counters["rescales"] += self.state.rescales - before
                self.counters["pairs"] += 1
                self.expect_v = False
            else:
                assert self.state is not None
                self.in_query = False
                if self.state.pairs == 0:
                    self.counters["empty"] += 1
                self.emit(np.ascontiguousarray(self.state.finish().astype("<i2")).view(np.uint8))
                self.output_pending = True

    def outputs(self, payload: Any) -> None:
        super().outputs(payload)
        self.output_pending = False
        self.queries_done += 1
        if self.queries_done == self.job_nq:
            self.end_job()


def recompute_engine(
    sim: Any,
    name: str,
    impl: str,
    *,
    d: int = 64,
    lanes: int = 16,
    clock: int | str = "1 ns",
    **rtl_options: Any,
) -> StreamEngine:
    """A recompute engine named `name` (functional/tlm/rtl)."""
    check_recompute_shape(d, lanes)
    return make_engine(
        sim,
        name,
        impl,
        kind=RECOMPUTE,
        in_beat_bytes=d + 1,
        out_beat_bytes=2 * d,
        functional=lambda done: FunctionalRecompute(name, d, lanes, done),
        tlm_params=RECOMPUTE_DECLARATION.tlm_params(d=d, lanes=lanes),
        rtl_params=RECOMPUTE_DECLARATION.rtl_params(d=d, lanes=lanes),
        clock=clock,
        **rtl_options,
    )


class RecomputeDriver(EngineDriver):
    """Programs the recompute engine: a job of NQ queries, then per query its QUERY beat,
    its pairs (in any number of writes) and END, whose output it reads."""

    @property
    def d(self) -> int:
        return self.in_beat_bytes - 1

    async def job(self, mult: int, shift: int, queries: int) -> None:
        await self.write_reg(MULT, mult)
        await self.write_reg(SHIFT, shift)
        await self.write_reg(NQ, queries)
        await self.start()

    async def query(self, q: np.ndarray) -> None:
        await self.send(beat(q, TAG_QUERY, self.d))

    async def pairs(self, k_rows: np.ndarray, v_rows: np.ndarray) -> None:
        if len(k_rows):
            await self.send(pair_beats(k_rows, v_rows, self.d))

    async def end(self) -> np.ndarray:
        """END the query and read its output: d int16 (Q8.8)."""
        await self.send(beat(None, TAG_END, self.d))
        raw = await self.receive(1)
        return raw.reshape(-1).view("<i2").astype(np.int16)

    async def counters(self) -> dict[str, int]:
        return {
            "pairs": await self.read_reg(PAIRS),
            "rescales": await self.read_reg(RESCALES),
            "empty": await self.read_reg(EMPTY),
            "cycles": await self.read_reg(CYCLES),
        }


# ---------------------------------------------------------------------- fetch filter
FILTER = "sprint_fetch_filter"
#: Parameters and registers of rtl/sprint/sprint_fetch_filter.sv and its TLM twin
#: (checked against both).
FILTER_DECLARATION = EngineDeclaration(
    FILTER,
    rtl="rtl/sprint/sprint_fetch_filter.sv",
    tlm="tlm/accel/sprint/fetch_filter.cpp",
    params=(
        EngineParam("max_keys", 1024, 64, 65536, "largest sequence"),
        EngineParam("slots", 128, 4, 256, "K/V records the on-chip buffer holds"),
    ),
    registers={"KEYS": 0x10, "HITS": 0x14, "MISSES": 0x18, "ENTRIES": 0x1C, "SEARCH": 0x20},
)
KEYS, HITS, MISSES, ENTRIES, SEARCH = (
    FILTER_DECLARATION.registers[r] for r in ("KEYS", "HITS", "MISSES", "ENTRIES", "SEARCH")
)
CTRL_RESET = 2  # with CTRL bit 0: the job forgets every key instead of filtering


@dataclass(frozen=True)
class Entry:
    """One survivor: its key, the buffer slot it is (or will be) in, whether it must be
    fetched, whether it starts a batch, whether fetching it evicts another key."""

    key: int
    slot: int
    miss: bool
    batch_start: bool
    evicted: bool

    @staticmethod
    def decode(word: int) -> Entry:
        return Entry(
            key=word & 0xFFFF,
            slot=word >> 16 & 0xFF,
            miss=bool(word >> 24 & 1),
            batch_start=bool(word >> 25 & 1),
            evicted=bool(word >> 26 & 1),
        )

    def encode(self) -> int:
        return (
            self.key
            | self.slot << 16
            | int(self.miss) << 24
            | int(self.batch_start) << 25
            | int(self.evicted) << 26
        )


def check_filter_shape(max_keys: int, slots: int) -> None:
    words = max_keys // 64
    if max_keys < 64 or max_keys > 65536 or max_keys % 64 or words & (words - 1):
        raise ParameterError(
            f"fetch filter max_keys = {max_keys}: must be 64 times a power of two, at most 65536"
        )
    if slots < 4 or slots > 256 or slots & (slots - 1):
        raise ParameterError(f"fetch filter slots = {slots}: must be a power of two in 4 .. 256")


class FetchFilterModel:
    """The filter's algorithm (the RTL's, step for step): residency tables, round-robin
    replacement over slots not pinned by the current or previous batch, batches of at
    most slots/2 entries that never span queries."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.reset()

    def reset(self) -> None:
        self.key_slot: dict[int, int] = {}
        self.slot_key: list[int | None] = [None] * self.slots
        self.pin_cur = [False] * self.slots
        self.pin_prev = [False] * self.slots
        self.ptr = 0
        self.hits = self.misses = self.search = 0

    def query(self, survivors: list[int] | np.ndarray) -> list[Entry]:
        """Entries for a query's surviving keys (in key order)."""
        cap = self.slots // 2
        self.pin_prev, self.pin_cur = self.pin_cur, [False] * self.slots
        count, new = 0, True
        out = []
        for key in sorted(int(k) for k in survivors):
            full = count == cap
            first = full or new
            if full:
                self.pin_prev, self.pin_cur = self.pin_cur, [False] * self.slots
                count = 0
            if key in self.key_slot:
                s = self.key_slot[key]
                self.pin_cur[s] = True
                out.append(Entry(key, s, False, first, False))
                self.hits += 1
            else:
                while self.slot_key[self.ptr] is not None and (
                    self.pin_cur[self.ptr] or self.pin_prev[self.ptr]
                ):
                    self.ptr = (self.ptr + 1) % self.slots
                    self.search += 1
                old = self.slot_key[self.ptr]
                if old is not None:
                    del self.key_slot[old]
                self.slot_key[self.ptr] = key
                self.key_slot[key] = self.ptr
                self.pin_cur[self.ptr] = True
                out.append(Entry(key, self.ptr, True, first, old is not None))
                self.ptr = (self.ptr + 1) % self.slots
                self.misses += 1
            new = False
            count += 1
        return out


def mask_beats(mask: np.ndarray) -> np.ndarray:
    """A boolean survivor mask as 64-key beats (little-endian bits), zero-padded."""
    bits = np.zeros(-(-len(mask) // 64) * 64, np.uint8)
    bits[: len(mask)] = np.asarray(mask, bool)
    return np.packbits(bits, bitorder="little")


class FunctionalFetchFilter(FunctionalEngine):
    """The numpy twin of the fetch filter."""

    config_registers: ClassVar[dict[int, str]] = {KEYS: "keys"}

    def __init__(self, name: str, max_keys: int, slots: int, done: Any) -> None:
        super().__init__(name, 8, 4, done)
        self.max_keys, self.slots = max_keys, slots
        self.regs["keys"] = max_keys
        self.model = FetchFilterModel(slots)
        self.entries = 0
        self.mask = bytearray()

    def info(self) -> int:
        return (self.slots - 1) | (self.max_keys // 64) << 8 | VERSION << 24

    def csr_access(self, payload: Any) -> None:
        regs = {HITS: "hits", MISSES: "misses", SEARCH: "search"}
        if payload.is_read and payload.length == 4 and payload.address in (*regs, ENTRIES):
            m = self.model
            value = (
                self.entries if payload.address == ENTRIES else getattr(m, regs[payload.address])
            )
            payload.data[:] = np.frombuffer(struct.pack("<I", value), np.uint8)
            return
        super().csr_access(payload)

    def start(self, ctrl: int) -> None:
        self.job_keys = self.regs["keys"]
        self.mask = bytearray()
        if ctrl & CTRL_RESET:
            self.model.reset()
            self.end_job()
            return
        self.entries = 0
        if self.job_keys == 0:
            self.model.query([])
            self.end_job()

    def words(self) -> int:
        return -(-self.job_keys // 64)

    def wanted(self) -> int:
        return self.words() - len(self.mask) // 8

    def consume(self, beats: np.ndarray) -> None:
        self.mask += beats.tobytes()
        if len(self.mask) // 8 < self.words():
            return
        bits = np.unpackbits(np.frombuffer(bytes(self.mask), np.uint8), bitorder="little")
        entries = self.model.query(np.flatnonzero(bits[: self.job_keys]))
        self.entries = len(entries)
        for e in entries:
            self.emit(np.frombuffer(struct.pack("<I", e.encode()), np.uint8))
        self.end_job()


def fetch_filter(
    sim: Any,
    name: str,
    impl: str,
    *,
    max_keys: int = 1024,
    slots: int = 128,
    clock: int | str = "1 ns",
    **rtl_options: Any,
) -> StreamEngine:
    """A fetch filter named `name` (functional/tlm/rtl)."""
    check_filter_shape(max_keys, slots)
    return make_engine(
        sim,
        name,
        impl,
        kind=FILTER,
        in_beat_bytes=8,
        out_beat_bytes=4,
        functional=lambda done: FunctionalFetchFilter(name, max_keys, slots, done),
        tlm_params=FILTER_DECLARATION.tlm_params(max_keys=max_keys, slots=slots),
        rtl_params=FILTER_DECLARATION.rtl_params(max_keys=max_keys, slots=slots),
        clock=clock,
        **rtl_options,
    )


class FilterDriver(EngineDriver):
    """Programs the fetch filter: reset the residency, filter a query's mask."""

    async def reset(self) -> None:
        await self.start(CTRL_RESET)
        await self.wait_done(what="reset")

    async def query(self, mask: np.ndarray) -> list[Entry]:
        """The entries of a query whose survivors are `mask` (one bool per key)."""
        mask = np.asarray(mask, bool)
        await self.write_reg(KEYS, len(mask))
        await self.start()
        await self.send(mask_beats(mask))
        count = int(mask.sum())
        words = await self.receive(count) if count else np.zeros((0, 4), np.uint8)
        await self.wait_done(what="query")
        return [Entry.decode(int(w)) for w in np.ascontiguousarray(words).view("<u4").reshape(-1)]

    async def counters(self) -> dict[str, int]:
        return {
            "hits": await self.read_reg(HITS),
            "misses": await self.read_reg(MISSES),
            "search": await self.read_reg(SEARCH),
        }

    async def info(self) -> dict[str, int]:
        v = await self.read_reg(INFO)
        return {"slots": (v & 0xFF) + 1, "max_keys": (v >> 8 & 0xFF) * 64, "version": v >> 24}

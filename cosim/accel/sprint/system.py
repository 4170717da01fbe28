"""SPRINT as a full system (Yazdanbakhsh et al., MICRO 2022), and dense attention on the
same hardware as its baseline.

    system = build_sprint_system(sim, memory="ddr4_2400", engines={...})
    result = await system.driver.attend(att, threshold, mode="sprint")   # host side

The system: build_soc() (host, fabric, DMA, scratchpad, DRAM) plus
- `keys`: a reram_tile holding the analog (MSB) copy of K in its crossbars; a query's
  MSBs drive the arrays and the in-array comparators return the mask of surviving keys;
- `kv_buffer`: the 16 KB on-chip K/V buffer (a scratchpad of slots of one K row and one
  V row: d int8 each);
- the fetch filter and the recompute engine (cosim.accel.sprint.engines), each as its
  functional, TLM or RTL twin;
- the accelerator's controller: a hardware sequencer modelled at transaction granularity
  (Python processes, no per-cycle work) in three pipelined stages joined by queues:
    T  read q from DRAM, drive the ReRAM with its MSBs, read the survivor mask;
    F  run the fetch filter, fetch the missing records (K and V row of a key, adjacent in
       DRAM) into their slots with `fetch_streams` reads in flight, read the batch's
       records out of the buffer;
    C  stream the query, the batch's pairs and END to the recompute engine, write the
       output (d Q8.8 values) to DRAM.
  The filter pins the slots of the batch being computed and the one being filled, so F
  runs one batch ahead of C without overwriting anything C still needs.

Dense attention (mode "dense") runs the same controller with every key surviving and no
ReRAM access, query-tiled: `dense_tile` queries share one filter query, so each K/V
batch is fetched once for the tile and streamed to `dense_tile` recompute engines of
lanes / dense_tile lanes (the same multipliers as SPRINT's one engine; one online-softmax
state per query of the tile). The same filter (keys already on chip are not fetched
again) and buffer. The host starts a run through the controller's command window (one command per
mode, MODES; the arguments below) and waits for its interrupt.

Energy: DRAM, fabric, buffer, ReRAM and host charge their own events; the controller
charges the engines' work from their counters (the same counts whichever twin runs),
with the entries below (sources given).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import cosim
from cosim import energy
from cosim.accel.control import CommandWindow, Fifo
from cosim.accel.costs import define_sram, sram_access_pj
from cosim.accel.device import AcceleratorDriver
from cosim.accel.phase import Phase
from cosim.accel.sprint.engines import (
    Entry,
    FilterDriver,
    RecomputeDriver,
    fetch_filter,
    recompute_engine,
)
from cosim.accel.sprint.workload import Attention, analog
from cosim.errors import ParameterError, SimulationError
from cosim.system.ndp_system import FABRIC_BIT_KEY
from cosim.system.reram import TileDriver
from cosim.system.soc import Soc, build_soc

TILE_BASE = 0x5000_0000
TILE_WINDOW = 0x14_0000
CTRL_BASE = 0x7800_0000
# The controller's commands (one per mode) and their arguments (command window ARG[i]):
# LENGTH, THRESHOLD (int32), MULT, SHIFT, then Q, KV and OUT addresses (64-bit, two each).
MODES = {"sprint": 1, "dense": 2}
LENGTH, THRESHOLD, MULT, SHIFT, Q_ADDR, KV_ADDR, OUT_ADDR = 0, 1, 2, 3, 4, 6, 8
COMPONENT = "sprint"

#: Energy entries of the engines' operations beyond Horowitz's table. Memories are
#: priced with the SRAM fit all accelerators use (cosim.accel.costs.sram_access_pj).
EXP_TABLE_BYTES = 256 * 2  # 256 entries of 16 bits
FILTER_TABLE_BYTES = 1024  # key -> slot, 1024 keys of 8 bits
ENERGY = {
    "sprint.mult_16x8": (
        0.4,
        "op",
        "derived from Horowitz ISSCC 2014 (8-bit multiply 0.2 pJ) as cosim.accel.costs "
        "derives int16_mult: an array multiplier's energy grows with its partial products, "
        "0.2 x (16 x 8) / (8 x 8) = 0.4 pJ (assumption)",
    ),
    "sprint.exp_lut": (
        sram_access_pj(16, EXP_TABLE_BYTES),
        "read",
        "cosim.accel.costs.sram_access_pj: Horowitz's 64-bit cache figures, square-root fit "
        "in capacity, for a 16-bit read of the 512-byte exp2 table (assumption)",
    ),
    "sprint.filter_lookup": (
        sram_access_pj(8, FILTER_TABLE_BYTES),
        "read",
        "cosim.accel.costs.sram_access_pj for an 8-bit read of the fetch filter's 1 KB "
        "key->slot table (the slot->key table is smaller; assumption)",
    ),
}


@dataclass
class RunRecord:
    """What one run (sprint or dense) produced, per query, for the golden checks."""

    mode: str
    masks: np.ndarray
    entries: list[list[Entry]]
    outputs: np.ndarray
    batches: int = 0
    fetched_records: int = 0
    engine: dict[str, int] = field(default_factory=dict)
    filter: dict[str, int] = field(default_factory=dict)
    start_ps: int = 0
    end_ps: int = 0
    tile: int = 1  # queries sharing one filter query and its fetches (dense: the tile)


class SprintSystem:
    """Handles to the parts of a system built by build_sprint_system()."""

    def __init__(
        self,
        sim: Any,
        soc: Soc,
        *,
        d: int,
        max_keys: int,
        slots: int,
        engines: dict[str, str],
        clock: int,
        reram: dict[str, Any],
        fetch_streams: int,
        lanes: int = 16,
        waves: dict[str, str] | None = None,
        dense_tile: int = 4,
    ) -> None:
        self.sim, self.soc = sim, soc
        self.d, self.max_keys, self.slots = d, max_keys, slots
        self.record = 2 * d
        self.analog_bits = int(reram.get("weight_bits", 8))
        self.clock = clock
        self.tile = sim.model("reram_tile", "keys", **reram)
        soc.fabric.map(self.tile.port("target"), TILE_BASE, TILE_WINDOW)
        soc.address_map["reram_keys"] = (TILE_BASE, TILE_WINDOW)
        self.kv_buffer = sim.model(
            "scratchpad",
            "kv_buffer",
            size=slots * self.record,
            banks=8,
            bank_width=16,
            ports=2,
            clock_hz=1e12 / clock,
            energy=define_sram(sim, "kv_buffer", width_bits=32, capacity_bytes=slots * self.record),
        )
        waves = waves or {}
        self.recompute = recompute_engine(
            sim,
            "recompute",
            engines["recompute"],
            d=d,
            lanes=lanes,
            clock=clock,
            **({"waves": waves["recompute"]} if "recompute" in waves else {}),
        )
        self.filter = fetch_filter(
            sim,
            "fetch_filter",
            engines["filter"],
            max_keys=max_keys,
            slots=slots,
            clock=clock,
            **({"waves": waves["filter"]} if "filter" in waves else {}),
        )
        self.rc = RecomputeDriver.attach(sim, self.recompute, "sprint_rc")
        # Dense attention's query tile: `dense_tile` recompute engines of lanes/dense_tile
        # lanes each (the same multipliers as SPRINT's engine, one softmax state per query
        # of the tile), fed the same K/V batches, so a record fetched once serves every
        # query of the tile.
        self.dense_tile = max(1, min(dense_tile, lanes))
        self.rc_dense = [self.rc]
        if self.dense_tile > 1:
            self.rc_dense = [
                RecomputeDriver.attach(
                    sim,
                    recompute_engine(
                        sim,
                        f"recompute_dense{t}",
                        engines["recompute"],
                        d=d,
                        lanes=lanes // self.dense_tile,
                        clock=clock,
                    ),
                    f"sprint_rc_dense{t}",
                )
                for t in range(self.dense_tile)
            ]
        self.ff = FilterDriver.attach(sim, self.filter, "sprint_ff")

        def fabric_socket(name: str) -> Any:
            s = sim.initiator(name)
            sim.bind(s, soc.fabric.port("target"))
            return s

        self.s_query = fabric_socket("sprint_query")
        self.s_out = fabric_socket("sprint_out")
        self.fetchers = [fabric_socket(f"sprint_fetch{i}") for i in range(fetch_streams)]
        self.tile_driver = TileDriver(fabric_socket("sprint_reram"), TILE_BASE, self.tile)
        self.s_fill = sim.initiator("sprint_fill")
        self.s_read = sim.initiator("sprint_buf_read")
        sim.bind(self.s_fill, self.kv_buffer.port("port"))
        sim.bind(self.s_read, self.kv_buffer.port("port"))
        self.window = CommandWindow(sim, "sprint", clock=clock)
        self.window.map(soc.fabric, CTRL_BASE)
        soc.address_map["sprint"] = (CTRL_BASE, self.window.size)
        for mode, code in MODES.items():
            self.window.command(code, mode)(functools.partial(self._run, mode))
        self._energy: dict[str, Any] = {}
        self.records: list[RunRecord] = []
        self.driver = SprintDriver(self)

    # ------------------------------------------------------------------- energy
    def charge(self, kind: str, key: str, count: int) -> None:
        energy.charge(self.sim, COMPONENT, kind, key, max(0, count), kind)

    def charge_engines(self, engine: dict[str, int], flt: dict[str, int], queries: int) -> None:
        """The recompute engine's and the filter's work, from their counters: per pair d
        int8 MACs, the exponent (a 32-bit multiply and a table read) and d weight x value
        multiply-adds; per rescale d + 1 wide multiplies; per query with pairs the 30-step
        division and d normalising multiplies; per filter entry or searched slot a table
        read."""
        d, pairs = self.d, engine["pairs"]
        finished = queries - engine["empty"]
        self.charge("score_mult", "int8_mult", pairs * d)
        self.charge("score_add", "int32_add", pairs * d)
        self.charge("exponent_mult", "int32_mult", pairs)
        self.charge("exp_table", "sprint.exp_lut", pairs)
        self.charge("value_mult", "sprint.mult_16x8", pairs * d)
        self.charge("value_add", "int64_add", pairs * d)
        self.charge("rescale_mult", "int32_mult", engine["rescales"] * (d + 1))
        self.charge("divide_step", "int32_add", finished * 30)
        self.charge("normalise_mult", "int32_mult", finished * d)
        lookups = flt["hits"] + flt["misses"] + flt["search"]
        self.charge("filter_lookup", "sprint.filter_lookup", lookups)

    # --------------------------------------------------------------- controller
    async def _run(self, mode: str, window: CommandWindow) -> None:
        """One run in `mode` (the command: MODES), with the window's arguments."""
        args = window.args
        length, mult, shift = args[LENGTH], args[MULT], args[SHIFT]
        threshold = args[THRESHOLD] - (1 << 32) if args[THRESHOLD] >> 31 else args[THRESHOLD]
        q_addr, kv_addr, out_addr = (window.arg64(i) for i in (Q_ADDR, KV_ADDR, OUT_ADDR))
        if not 1 <= length <= self.max_keys:
            raise SimulationError(f"sprint: LENGTH = {length} is out of range 1 .. {self.max_keys}")
        d, rec = self.d, self.record
        record = RunRecord(
            mode,
            np.zeros((length, length), bool),
            [[] for _ in range(length)],
            np.zeros((length, d), np.int16),
            start_ps=cosim.now(),
        )
        masks_ch = Fifo(self.sim, "sprint.masks", 2)
        batch_ch = Fifo(self.sim, "sprint.batches", 1)

        trace = self.sim.trace if self.sim.trace.enabled else None

        def span(stage: str, i: int, t0: int) -> None:
            if trace is not None:
                trace.span(f"sprint.{stage}", f"{mode} q{i}", t0, cosim.now())

        async def stage_threshold() -> None:
            for i in range(length):
                t0 = cosim.now()
                q = (await self.s_query.read(q_addr + i * d, d)).view(np.int8)
                if mode == "sprint":
                    qa = analog(q, self.analog_bits)
                    mask = await self.tile_driver.threshold(0, qa, threshold, length)
                else:
                    mask = np.ones(length, bool)
                record.masks[i] = mask
                span("threshold", i, t0)
                await masks_ch.put((i, q.copy(), mask))

        async def fetch(misses: list[Entry]) -> int:
            """Misses into their slots: runs of consecutive keys in consecutive slots are
            one read; `fetch_streams` reads in flight; the buffer fills in order."""
            runs: list[list[Entry]] = []
            for e in misses:
                if runs and e.key == runs[-1][-1].key + 1 and e.slot == runs[-1][-1].slot + 1:
                    runs[-1].append(e)
                else:
                    runs.append([e])
            data: list[Any] = [None] * len(runs)
            work = iter(range(len(runs)))

            async def reader(sock: Any) -> None:
                for k in work:
                    run = runs[k]
                    data[k] = await sock.read(kv_addr + run[0].key * rec, len(run) * rec)

            for p in [cosim.spawn(reader(s)) for s in self.fetchers]:
                await p
            for run, raw in zip(runs, data, strict=True):
                await self.s_fill.write(run[0].slot * rec, raw)
            return len(runs)

        async def read_slots(batch: list[Entry]) -> np.ndarray:
            out = np.zeros((len(batch), rec), np.uint8)
            k = 0
            while k < len(batch):
                j = k + 1
                while j < len(batch) and batch[j].slot == batch[j - 1].slot + 1:
                    j += 1
                raw = await self.s_read.read(batch[k].slot * rec, (j - k) * rec)
                out[k:j] = np.asarray(raw, np.uint8).reshape(j - k, rec)
                k = j
            return out.view(np.int8)

        # Dense attention works on tiles of queries (their masks are all the same: every
        # key), one per engine; SPRINT on one query at a time.
        engines = self.rc_dense if mode == "dense" else [self.rc]
        tile = len(engines)

        async def each(calls: list[Any]) -> list[Any]:
            """Run one call per engine of the tile side by side; their results in order."""
            if len(calls) == 1:
                return [await calls[0]]
            out: list[Any] = [None] * len(calls)

            async def one(j: int) -> None:
                out[j] = await calls[j]

            procs = [cosim.spawn(one(j)) for j in range(len(calls))]
            for p in procs:
                await p
            return out

        async def stage_fetch() -> None:
            await self.ff.reset()
            done = 0
            while done < length:
                group = [await masks_ch.get() for _ in range(min(tile, length - done))]
                done += len(group)
                i, _, mask = group[0]
                t0 = cosim.now()
                entries = await self.ff.query(mask)
                queries = [(j, q) for j, q, _ in group]
                for j, _ in queries:
                    record.entries[j] = entries
                starts = [k for k, e in enumerate(entries) if e.batch_start] + [len(entries)]
                if not entries:
                    await batch_ch.put((queries, np.zeros((0, rec), np.int8), True, True))
                for b in range(len(starts) - 1):
                    batch = entries[starts[b] : starts[b + 1]]
                    misses = [e for e in batch if e.miss]
                    record.fetched_records += len(misses)
                    await fetch(misses)
                    records = await read_slots(batch)
                    record.batches += 1
                    if b == len(starts) - 2:
                        span("fetch", i, t0)
                    await batch_ch.put((queries, records, b == 0, b == len(starts) - 2))

        async def stage_compute() -> None:
            for t, rc in enumerate(engines):
                await rc.job(mult, shift, len(range(t, length, tile)))
            done_queries = 0
            while done_queries < length:
                queries, records, first, last = await batch_ch.get()
                use = engines[: len(queries)]
                if first:
                    t_query = cosim.now()
                    await each([rc.query(q) for rc, (_, q) in zip(use, queries, strict=True)])
                await each([rc.pairs(records[:, :d], records[:, d:]) for rc in use])
                if last:
                    ys = await each([rc.end() for rc in use])
                    for (i, _), y in zip(queries, ys, strict=True):
                        record.outputs[i] = y
                        raw = y.astype("<i2").view(np.uint8)
                        await self.s_out.write(out_addr + i * rec, raw)
                        span("compute", i, t_query)
                        done_queries += 1
            for rc in engines:
                await rc.wait_done()

        stages = [cosim.spawn(s()) for s in (stage_threshold, stage_fetch, stage_compute)]
        for s in stages:
            await s
        counts = [await rc.counters() for rc in engines]
        record.engine = {k: sum(c[k] for c in counts) for k in counts[0]}
        record.engine["cycles"] = max(c["cycles"] for c in counts)
        record.tile = tile
        record.filter = await self.ff.counters()
        record.end_ps = cosim.now()
        self.charge_engines(record.engine, record.filter, length)
        self.records.append(record)


class SprintDriver:
    """The host's driver: program the key arrays (set-up), then start runs through the
    controller's command window and sleep until its completion interrupt (the host does
    not spin while the accelerator works)."""

    def __init__(self, system: SprintSystem) -> None:
        self.system = system
        self.host = system.soc.host
        self.window = AcceleratorDriver(self.host, system.window)

    async def program_keys(self, att: Attention) -> None:
        """The analog copy of K into the tile's crossbars (slot 0), as the keys are written."""
        if att.analog_bits != self.system.analog_bits:
            raise ParameterError(
                f"the workload has {att.analog_bits}-bit analog keys; the arrays were built "
                f"for weight_bits = {self.system.analog_bits}"
            )
        await self.system.tile_driver.program(0, att.ka)

    async def attend(
        self, att: Attention, threshold: int, mode: str, addresses: tuple[int, int, int]
    ) -> RunRecord:
        """One attention head, SPRINT ('sprint') or dense ('dense'); Q and the K/V records
        are in DRAM at addresses (q, kv, out) of the dram (offsets from its base)."""
        if mode not in MODES:
            raise ParameterError(f"sprint mode '{mode}': use 'sprint' or 'dense'")
        base = self.system.soc.DRAM
        q, kv, out = (base + a for a in addresses)
        mult, shift = att.softmax_constants()
        words = [att.length, threshold, mult, shift]
        for a in (q, kv, out):
            words += [a & 0xFFFF_FFFF, a >> 32]
        await self.window.run(MODES[mode], *words)
        return self.system.records[-1]


def build_sprint_system(
    sim: Any,
    *,
    memory: str = "ddr4_2400",
    d: int = 64,
    max_keys: int = 1024,
    buffer_bytes: int = 16384,
    engines: dict[str, str] | None = None,
    clock: int = 1000,
    reram: dict[str, Any] | None = None,
    fetch_streams: int = 4,
    lanes: int = 16,
    waves: dict[str, str] | None = None,
    dense_tile: int = 4,
) -> SprintSystem:
    """build_soc() with SPRINT's parts (see the module doc). buffer_bytes / (2 d) slots
    (a power of two); engines: {"recompute": impl, "filter": impl}; reram: reram_tile
    parameters of the key arrays (cosim.accel.sprint.workload.crossbar_params); waves: engine
    ("recompute" / "filter", running as rtl) -> waveform file."""
    slots = buffer_bytes // (2 * d)
    if slots < 4 or slots > 256 or slots & (slots - 1) or buffer_bytes % (2 * d):
        raise ParameterError(
            f"buffer_bytes = {buffer_bytes} with d = {d}: the buffer must hold a power of two "
            f"in 4 .. 256 of records of 2d = {2 * d} bytes"
        )
    for key, (pj, unit, source) in ENERGY.items():
        sim.energy.define(key, pj, unit, source=source, node_nm=45, scaling="logic")
    soc = build_soc(sim, memory=memory, fabric={"width": 64, "bit_energy": FABRIC_BIT_KEY})
    return SprintSystem(
        sim,
        soc,
        d=d,
        max_keys=max_keys,
        slots=slots,
        engines={"recompute": "tlm", "filter": "tlm", **(engines or {})},
        clock=clock,
        reram=reram or {},
        fetch_streams=fetch_streams,
        lanes=lanes,
        waves=waves,
        dense_tile=dense_tile,
    )


def run_figures(system: SprintSystem, phase: Phase) -> dict[str, Any]:
    """Time, DRAM traffic and energy of one run, from the Phase measured over it
    (cosim.accel.phase). Energy excludes DRAM refresh (background that grows with time,
    reported as refresh_pj), as cosim.system.ndp_system.path_figures does."""
    dram = system.soc.dram.name
    return {
        "time_ps": phase.time_ps,
        "dram_bytes": int(phase.stats((f"{dram}.bytes_read", f"{dram}.bytes_written"))),
        "energy_pj": phase.energy_pj,
        "energy": phase.energy,
        "energy_by_component": phase.by_component(),
        "refresh_pj": phase.background_pj,
    }

"""Phantom-2D on the standard SoC: a command window (cosim.accel.device.Accelerator) over
a 2-D mesh of Phantom cores, the scratchpad as global buffer, DRAM behind the fabric.
Command 1 runs one layer: images DRAM -> global buffer, lowering, the mesh level of the
load balancing (`assign`), every core fed by its own initiator, outputs back to DRAM;
energy from the cores' counters. docs/accelerators/phantom.md describes the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import cosim
from cosim import energy
from cosim.accel.control import ControllerPort
from cosim.accel.costs import define_entries, define_sram
from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer
from cosim.accel.stream_engine import CTRL, CTRL_START, CYCLES, RegisterWindow
from cosim.errors import ParameterError

from . import format as fmt
from .engine import COUNTERS, CTRL_CLEAR, GROUP, MODE, MODE_DENSE, OUTPUTS, CoreShape, phantom_core
from .workload import Layer

ACCEL_BASE, RUN_LAYER = 0x5000_0000, 1
BALANCE = ("balanced", "static")
#: Capacity of a core's operand buffer (the windows waiting for the dispatcher; assumption).
OPERAND_BUFFER_BYTES = 4096


@dataclass
class LayerRecord:
    """What one RUN_LAYER command did: per-core cycles and counters, the assignment."""

    layer: str
    dense: bool
    core_cycles: list[int]
    counters: list[dict[str, int]]
    outputs_per_core: list[int]
    image_bytes: int
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def cycles(self) -> int:
        """Mesh compute cycles: the slowest core's engine cycles."""
        return max(self.core_cycles)


def assign(costs: np.ndarray, cores: int, balance: str) -> list[np.ndarray]:
    """Outputs (indices) per core. 'balanced': longest processing time first, each output
    to the least loaded core (ties: lower core); 'static': equal contiguous blocks."""
    n = len(costs)
    if balance == "static":
        return [np.arange(n)[i * n // cores : (i + 1) * n // cores] for i in range(cores)]
    if balance != "balanced":
        raise ParameterError(f"phantom: balance = {balance!r} must be one of {BALANCE}")
    load = np.zeros(cores, np.int64)
    owner = np.empty(n, np.int64)
    for o in np.argsort(-costs, kind="stable"):  # per output, at command granularity
        c = int(np.argmin(load))
        owner[o] = c
        load[c] += costs[o]
    return [np.flatnonzero(owner == c) for c in range(cores)]


class PhantomAccelerator:
    def __init__(
        self,
        sim: Any,
        soc: Any,
        impl: str,
        *,
        shape: CoreShape,
        mesh: tuple[int, int] = (2, 2),
        clock: str = "2 ns",
        balance: str = "balanced",
    ) -> None:
        if balance not in BALANCE:
            raise ParameterError(f"phantom: balance = {balance!r} must be one of {BALANCE}")
        self.sim, self.soc, self.shape, self.mesh, self.balance = sim, soc, shape, mesh, balance
        self.device = dev = Accelerator(sim, soc, "phantom", base=ACCEL_BASE, clock=clock)
        self.cores, self.done, self.ports, self.hops = [], [], [], []
        for r in range(mesh[0]):
            for c in range(mesh[1]):
                core = phantom_core(sim, f"core{r}_{c}", impl, shape, clock=clock)
                dev.attach(core, streams=("in", "out"))
                sock = sim.initiator(f"phantom_feed{r}_{c}")
                sim.bind(sock, dev.bus.port("target"))
                self.cores.append(core)
                self.done.append(dev.done_line(core))
                self.ports.append(ControllerPort(sock))
                self.hops.append(r + c + 1)
        self.layers: dict[int, Layer] = {}
        self.records: list[LayerRecord] = []
        self.outputs: dict[int, np.ndarray] = {}
        define_entries(sim)
        self.buffer_key = define_sram(
            sim,
            "phantom_operands",
            width_bits=8 * shape.in_beat_bytes,
            capacity_bytes=OPERAND_BUFFER_BYTES,
        )
        dev.command(RUN_LAYER, "layer")(self._run_layer)
        self.driver: Any = AcceleratorDriver(soc.host, dev)

    # ------------------------------------------------------------------ host side
    def add_layer(self, ident: int, layer: Layer) -> None:
        """Put a layer's shape in the accelerator's layer table (loaded with the program)."""
        self.layers[ident] = layer

    async def run_layer(
        self, ident: int, w_addr: int, w_len: int, a_addr: int, a_len: int, out: int, dense: bool
    ) -> list[int]:
        args = (w_addr, w_len, a_addr, a_len, out)
        words = [v for a in args for v in (a & 0xFFFF_FFFF, a >> 32)]
        return await self.driver.run(RUN_LAYER, *words, ident, int(dense), results=2)

    # ------------------------------------------------------------------ the command
    async def _run_layer(self, seq: Sequencer) -> list[int]:
        w_addr, w_len, a_addr, a_len, out = (seq.arg64(2 * i) for i in range(5))
        ident, dense = seq.args[10], bool(seq.args[11] & 1)
        if ident not in self.layers:
            raise ParameterError(f"phantom: no layer {ident} in the layer table")
        layer, soc, shape = self.layers[ident], self.soc, self.shape
        spad_w = soc.SPAD
        spad_a = spad_w + -(-w_len // 64) * 64
        spad_o = spad_a + -(-a_len // 64) * 64
        if spad_o + 4 * layer.outputs > soc.SPAD + soc.scratchpad.size:
            raise ParameterError(
                f"phantom: layer {layer.name} needs {spad_o + 4 * layer.outputs - soc.SPAD} B "
                f"of global buffer, more than the scratchpad's {soc.scratchpad.size}"
            )
        fill = seq.background_copy(w_addr, spad_w, w_len)
        await seq.copy(a_addr, spad_a, a_len)
        await fill
        w_img = np.asarray(await seq.read(spad_w, w_len), np.uint8)
        a_img = np.asarray(await seq.read(spad_a, a_len), np.uint8)
        if dense:
            w = w_img.view(np.int8).reshape(layer.weights.shape)
            a = a_img.view(np.int8).reshape(layer.activations.shape)
        else:
            w = fmt.decode(w_img, layer.weights.shape)
            a = fmt.decode(a_img, layer.activations.shape)
        k = layer.k
        pad = -k % shape.window
        w_rows, a_rows = Layer(layer.name, layer.kind, w, a, layer.stride).rows()
        if pad:
            w_rows = np.pad(w_rows, ((0, 0), (0, pad)))
            a_rows = np.pad(a_rows, ((0, 0), (0, pad)))
        group = (k + pad) // shape.window
        beats = fmt.window_beats(w_rows, a_rows, shape.window).reshape(layer.outputs, group, -1)
        # Mesh-level balancing: each output weighed by its dispatcher cycles.
        if dense:
            costs = np.full(layer.outputs, group * -(-shape.window // shape.threads), np.int64)
        else:
            pairs = (((w_rows != 0) & (a_rows != 0)).reshape(layer.outputs, group, -1)).sum(-1)
            costs = shape.hold_cycles(pairs).sum(axis=1)
        owners = assign(costs, len(self.cores), self.balance)
        results = np.zeros(layer.outputs, np.int32)
        cycles = [0] * len(self.cores)
        counters: list[dict[str, int]] = [{} for _ in self.cores]
        feeders = [
            cosim.spawn(self._feed(i, owners[i], beats, group, dense, results, cycles, counters))
            for i in range(len(self.cores))
        ]
        for f in feeders:
            await f
        await seq.write(spad_o, results.view(np.uint8))
        await seq.copy(spad_o, out, 4 * layer.outputs)
        rec = LayerRecord(
            layer.name, dense, cycles, counters, [len(o) for o in owners], w_len + a_len
        )
        rec.totals = {c: sum(d[c] for d in counters) for c in COUNTERS}
        self.records.append(rec)
        self._charge(rec, w_len + a_len, layer.outputs)
        return [rec.cycles, rec.totals["valid"]]

    async def _feed(
        self,
        i: int,
        outs: np.ndarray,
        beats: np.ndarray,
        group: int,
        dense: bool,
        results: np.ndarray,
        cycles: list[int],
        counters: list[dict[str, int]],
    ) -> None:
        """Core i's feeder: its outputs' windows in jobs of max_outs outputs."""
        port, core, dev = self.ports[i], self.cores[i], self.device
        regs = RegisterWindow(port, dev.address(core, "csr"))
        data_in, data_out = dev.address(core, "in"), dev.address(core, "out")
        beat = self.shape.in_beat_bytes
        step = dev.chunk - dev.chunk % beat
        await regs.write_reg(CTRL, CTRL_CLEAR)
        await regs.set_reg(GROUP, group)
        await regs.set_reg(MODE, MODE_DENSE if dense else 0)
        for first in range(0, len(outs), self.shape.max_outs):
            job = outs[first : first + self.shape.max_outs]
            await regs.set_reg(OUTPUTS, len(job))
            await regs.write_reg(CTRL, CTRL_START)
            raw = beats[job].reshape(-1)
            for off in range(0, raw.size, step):
                await port.write(data_in, raw[off : off + step])
            got = await port.read(data_out, 4 * len(job))
            results[job] = np.asarray(got, np.uint8).view("<i4")
            await self.done[i].wait()
            cycles[i] += await regs.read_reg(CYCLES)
        counters[i] = {name: await regs.read_reg(addr) for name, addr in COUNTERS.items()}

    # ------------------------------------------------------------------ energy
    def events(
        self, rec: LayerRecord, image_bytes: int, outputs: int
    ) -> dict[str, tuple[str, float]]:
        """The layer's energy events (name -> (table key, count)) from the counters."""
        t, s = rec.totals, self.shape
        hop_bits = sum(
            8 * image_bytes * h for h, n in zip(self.hops, rec.outputs_per_core, strict=True) if n
        ) + 32 * sum(h * n for h, n in zip(self.hops, rec.outputs_per_core, strict=True))
        return {
            "mask_and": ("int8_add", 2 * t["windows"] * -(-s.window // 8)),
            "lookahead": ("int32_add", t["issue_cycles"]),
            "operand_buffer": (self.buffer_key, t["windows"]),
            "operand_read": ("rf_access_32b", t["issued"] / 2),
            "mult": ("int8_mult", t["valid"]),
            "add": ("int32_add", t["valid"]),
            "accumulator": ("rf_access_32b", 2 * t["issue_cycles"]),
            "mesh_hops": ("pe_hop_bit", hop_bits),
        }

    def _charge(self, rec: LayerRecord, image_bytes: int, outputs: int) -> None:
        for kind, (key, n) in self.events(rec, image_bytes, outputs).items():
            comp = "phantom_mesh" if kind == "mesh_hops" else "phantom_cores"
            energy.charge(self.sim, comp, kind, key, n)

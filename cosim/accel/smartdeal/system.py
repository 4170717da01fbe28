"""SmartDeal on the standard SoC: the rebuild engine and the MAC array behind one command
window (cosim.accel.device.Accelerator), the scratchpad as feature-map, weight and output
buffer, the weights in DRAM either as W = Ce x B images (command 1) or as int8 (command 2,
the baseline). Both commands run the same convolution on the same MAC array:

- a weight loader on the data mover fills the weight buffer one output-channel tile (COLS
  filters, K = 9 cin rows of COLS int8) at a time, as fast as DRAM gives it, so loading
  overlaps computing (every tile stays on chip: the weights are fetched once). SmartDeal's
  loader streams a tile's compressed image from DRAM into the rebuild engine and writes the
  rebuilt rows at the array's layout; the baseline's copies the int8 tile;
- the sequencer, per weight tile once it is in and per ROWS output pixels, reads the
  input rows and the weight tile from the scratchpad, forms the operand beats (im2col,
  k = (r * 3 + s) cin + ci) and runs one MAC job; its requantised rows go to the output
  buffer, tile-major: [cout / COLS][pixels][COLS] int8.

Energy per event (cosim.accel.costs, and the entry below), charged from each engine's
counters after every command:
  rebuild  shift: one 16-bit shift per nonzero code and tap; add: one 16-bit add per
           nonzero code and tap; round: rounding and saturation, one per weight; buffer:
           a write and a read of the job buffer per beat (48-bit SRAM)
  mac      mult, add: int8 multiply and int32 add per MAC with both operands nonzero
           (zero operands gated); act_hops, wgt_hops: every operand bit reaches every PE
           of its row or column (pe_hop_bit); result_read: a 32-bit read per result
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import cosim
from cosim import energy
from cosim.accel import costs
from cosim.accel.control import ControllerPort, Fifo
from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer, split64
from cosim.accel.smartdeal import format as fmt
from cosim.accel.smartdeal.engine import MAC, MAX_DEPTH, REBUILD, mac_engine, rebuild_engine
from cosim.accel.stream_engine import RegisterWindow
from cosim.errors import ParameterError

ACCEL_BASE = 0x5000_0000
CMD_SMARTDEAL, CMD_BASELINE = 1, 2
ADD16 = "smartdeal.int16_add"
ADD16_PJ = 0.03 + (0.1 - 0.03) * (16 - 8) / (32 - 8)


@dataclass(frozen=True)
class ConvArgs:
    """One layer's command: its shape and where its data are (addresses as the
    accelerator sees them)."""

    height: int
    width: int
    cin: int
    cout: int
    x: int  # feature map in the scratchpad, HWC int8
    weights: int  # weight image in DRAM
    wbuf: int  # weight buffer in the scratchpad
    out: int  # output buffer in the scratchpad
    out_shift: int
    shift: int  # rebuild shift
    kept: int  # Ce rows stored per filter

    def args(self) -> list[int]:
        return [
            self.height,
            self.width,
            self.cin,
            self.cout,
            *split64(self.x),
            *split64(self.weights),
            *split64(self.wbuf),
            *split64(self.out),
            self.out_shift | self.shift << 8,
            self.kept,
        ]

    @staticmethod
    def from_args(a: list[int]) -> ConvArgs:
        return ConvArgs(
            a[0],
            a[1],
            a[2],
            a[3],
            a[4] | a[5] << 32,
            a[6] | a[7] << 32,
            a[8] | a[9] << 32,
            a[10] | a[11] << 32,
            a[12] & 0xFF,
            a[12] >> 8 & 0xFF,
            a[13],
        )


def weight_tiles(w: np.ndarray, cols: int) -> np.ndarray:
    """The weight buffer's image: per tile of `cols` filters (the last may have fewer),
    K = 9 cin rows of its filters' int8, k = (r * 3 + s) cin + ci. w: cout x cin x 3 x 3."""
    cout = w.shape[0]
    k = np.asarray(w, np.int8).transpose(0, 2, 3, 1).reshape(cout, -1)  # [filter][k]
    tiles = [np.ascontiguousarray(k[j : j + cols].T) for j in range(0, cout, cols)]
    return np.concatenate([t.reshape(-1) for t in tiles]).view(np.uint8)


def im2col_rows(x: np.ndarray, first: int, rows: int) -> np.ndarray:
    """A (rows x 9 cin) int8: pixels first.. of x (H, W, Cin), zero padding 1."""
    h, w, cin = x.shape
    xp = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    a = np.zeros((rows, 9 * cin), np.int8)
    for n, p in enumerate(range(first, min(first + rows, h * w))):
        y, xx = divmod(p, w)
        a[n] = xp[y : y + 3, xx : xx + 3].reshape(-1)
    return a


class SmartdealAccelerator:
    """The rebuild engine ('rebuild') and the MAC array ('mac') behind device 'smartdeal'."""

    def __init__(
        self,
        sim: Any,
        soc: Any,
        *,
        rebuild_impl: str,
        mac_impl: str,
        rows: int = 8,
        cols: int = 8,
        max_rows: int = 192,
        max_beats: int = 512,
        clock: Any = "1 ns",
        waves: dict[str, str] | None = None,
    ) -> None:
        waves = waves or {}
        self.sim, self.soc, self.rows, self.cols = sim, soc, rows, cols
        self.max_rows, self.max_beats = max_rows, max_beats
        costs.define_entries(sim)
        sim.energy.define(
            ADD16,
            ADD16_PJ,
            "op",
            source="interpolated between Horowitz's 8-bit (0.03 pJ) and 32-bit (0.1 pJ) integer "
            "adds (ISSCC 2014, 45 nm), linear in width (assumption)",
            doc="a 16-bit integer add or shift of the rebuild engine",
        )
        self.buffer_key = costs.define_sram(
            sim, "smartdeal.rebuild_buffer", width_bits=48, capacity_bytes=max_beats * 6
        )
        self.device = Accelerator(sim, soc, "smartdeal", base=ACCEL_BASE, clock=clock)
        self.rebuild = rebuild_engine(
            sim,
            "rebuild",
            rebuild_impl,
            max_rows=max_rows,
            max_beats=max_beats,
            clock=clock,
            **({"waves": waves["rebuild"]} if "rebuild" in waves else {}),
        )
        self.mac = mac_engine(
            sim,
            "mac",
            mac_impl,
            rows=rows,
            cols=cols,
            clock=clock,
            **({"waves": waves["mac"]} if "mac" in waves else {}),
        )
        self.device.attach(self.rebuild, streams=("in", "out"))
        self.device.attach(self.mac, streams=("in", "out"))
        self.rebuild_done = self.device.done_line(self.rebuild)
        self.mac_done = self.device.done_line(self.mac)
        self.loader = ControllerPort(self.device.mover)
        self.ready = Fifo(sim, "smartdeal_weight_tiles", capacity=1 << 16)
        self.driver: Any = AcceleratorDriver(soc.host, self.device)
        self.counters: dict[str, list[dict[str, int]]] = {"rebuild": [], "mac": []}
        self._last = {
            "rebuild": dict.fromkeys(REBUILD.counters, 0),
            "mac": dict.fromkeys(MAC.counters, 0),
        }
        self.device.command(CMD_SMARTDEAL, "conv smartdeal")(self._cmd_smartdeal)
        self.device.command(CMD_BASELINE, "conv int8 weights")(self._cmd_baseline)

    # ------------------------------------------------------------------ energy
    def rebuild_events(self, d: dict[str, int]) -> dict[str, tuple[str, float]]:
        return {
            "shift": (ADD16, 3 * d["terms"]),
            "add": (ADD16, 3 * d["terms"]),
            "round": (ADD16, 3 * d["rows"]),
            "buffer": (self.buffer_key, 2 * d["beats"]),
        }

    def mac_events(self, d: dict[str, int]) -> dict[str, tuple[str, float]]:
        pes = self.rows * self.cols
        return {
            "mult": ("int8_mult", d["macs"]),
            "add": ("int32_add", d["macs"]),
            "act_hops": ("pe_hop_bit", 8 * d["beats"] * pes),
            "wgt_hops": ("pe_hop_bit", 8 * d["beats"] * pes),
            "result_read": ("rf_access_32b", d["results"] * self.cols),
        }

    def energy_pj(self, events: dict[str, tuple[str, float]]) -> float:
        return sum(self.sim.energy[key] * n for key, n in events.values())

    async def _charge(self, seq: Sequencer, which: str) -> None:
        eng = self.rebuild if which == "rebuild" else self.mac
        decl = REBUILD if which == "rebuild" else MAC
        base = self.device.address(eng, "csr") + decl.counter_base
        now = {c: await seq.read32(base + 4 * i) for i, c in enumerate(decl.counters)}
        d = {c: (now[c] - self._last[which][c]) % (1 << 32) for c in decl.counters}
        self._last[which] = now
        self.counters[which].append(d)
        events = self.rebuild_events(d) if which == "rebuild" else self.mac_events(d)
        for kind, (key, n) in events.items():
            energy.charge(self.sim, which, kind, key, n)

    # ------------------------------------------------------------------ weight loaders
    async def _fetch_tiles(self, a: ConvArgs) -> None:
        """The baseline: copy each int8 weight tile DRAM -> weight buffer."""
        k, c = 9 * a.cin, self.cols
        for j in range(-(-a.cout // c)):
            size = k * min(c, a.cout - j * c)
            await self.device.sequencer.copy(
                a.weights + j * k * c, a.wbuf + j * k * c, size, socket=self.device.mover
            )
            await self.ready.put(j)

    async def _rebuild_tiles(self, a: ConvArgs) -> None:
        """SmartDeal: stream each tile's filter images into the rebuild engine and write
        the rebuilt rows into the weight buffer at the array's layout."""
        rows, cols = 3 * a.cin, self.cols
        fbytes = fmt.filter_bytes(rows, a.kept)
        regs = RegisterWindow(self.loader, self.device.address(self.rebuild, "csr"))
        r_in = self.device.address(self.rebuild, "in")
        r_out = self.device.address(self.rebuild, "out")
        await regs.set_reg(REBUILD.registers["ROWS"], rows)
        await regs.set_reg(REBUILD.registers["SHIFT"], a.shift)
        for j in range(-(-a.cout // cols)):
            nf = min(cols, a.cout - j * cols)
            await regs.set_reg(REBUILD.registers["FILTERS"], nf)
            await regs.start()
            await self.device.sequencer.copy(
                a.weights + j * cols * fbytes,
                r_in,
                nf * fbytes,
                socket=self.device.mover,
                beat=fmt.BEAT_BYTES,
            )
            raw = await self.loader.read(r_out, nf * rows * 3)
            await self.rebuild_done.wait()
            w = np.asarray(raw, np.uint8).view(np.int8).reshape(nf, a.cin, 3, 3)
            await self.loader.write(a.wbuf + j * 9 * a.cin * cols, weight_tiles(w, cols))
            await self.ready.put(j)

    # ------------------------------------------------------------------ commands
    async def _cmd_smartdeal(self, seq: Sequencer) -> list[int]:
        a = ConvArgs.from_args(seq.args)
        await self._conv(seq, a, cosim.spawn(self._rebuild_tiles(a)))
        await self._charge(seq, "rebuild")
        return []

    async def _cmd_baseline(self, seq: Sequencer) -> list[int]:
        a = ConvArgs.from_args(seq.args)
        await self._conv(seq, a, cosim.spawn(self._fetch_tiles(a)))
        return []

    async def _conv(self, seq: Sequencer, a: ConvArgs, loader: Any) -> None:
        r, c = self.rows, self.cols
        k = 9 * a.cin
        pixels = a.height * a.width
        regs = RegisterWindow(seq, self.device.address(self.mac, "csr"))
        m_in = self.device.address(self.mac, "in")
        m_out = self.device.address(self.mac, "out")
        await regs.set_reg(MAC.registers["DEPTH"], k)
        await regs.set_reg(MAC.registers["OSHIFT"], a.out_shift)
        mt = -(-pixels // r)
        row_bytes = a.width * a.cin
        for j in range(-(-a.cout // c)):
            await self.ready.get()
            for i in range(mt):
                # the input rows these pixels' 3x3 windows touch
                y0 = max(0, i * r // a.width - 1)
                y1 = min(a.height, (min(pixels, (i + 1) * r) - 1) // a.width + 2)
                raw = await seq.read(a.x + y0 * row_bytes, (y1 - y0) * row_bytes)
                x = np.zeros((a.height, a.width, a.cin), np.int8)
                x[y0:y1] = np.asarray(raw, np.uint8).view(np.int8).reshape(y1 - y0, a.width, a.cin)
                acts = im2col_rows(x, i * r, r)
                cw = min(c, a.cout - j * c)  # filters of this tile (the last may have fewer)
                wt = np.zeros((k, c), np.int8)
                wraw = await seq.read(a.wbuf + j * k * c, k * cw)
                wt[:, :cw] = np.asarray(wraw).view(np.int8).reshape(k, cw)
                beats = np.concatenate([acts.T, wt], 1)
                await regs.start()
                await seq.send(m_in, beats, beat=r + c)
                out = await seq.read(m_out, r * c)
                await seq.write(a.out + (j * mt + i) * r * c, out)
                await seq.wait(self.mac_done)
        await loader
        await self._charge(seq, "mac")

    # ------------------------------------------------------------------ host side
    def check(self, a: ConvArgs) -> ConvArgs:
        """A ParameterError naming what the engines cannot run, before the command."""
        rows = fmt.TAPS * a.cin
        if not 1 <= rows <= self.max_rows:
            raise ParameterError(
                f"smartdeal: cin = {a.cin} must be 1..{self.max_rows // fmt.TAPS} (the rebuild "
                f"engine's max_rows = {self.max_rows})"
            )
        beats = self.cols * fmt.filter_beats(rows, rows)
        if beats > self.max_beats:
            raise ParameterError(
                f"smartdeal: a rebuild job of {self.cols} filters of {a.cin} channels needs "
                f"{beats} beats, more than max_beats = {self.max_beats}"
            )
        if a.cout < 1 or a.height < 1 or a.width < 1:
            raise ParameterError(f"smartdeal: empty layer {a.height}x{a.width} -> {a.cout}")
        if not 0 <= a.kept <= rows or not 0 <= a.out_shift <= 31:
            raise ParameterError(
                f"smartdeal: kept = {a.kept} must be 0..{rows}, out_shift = {a.out_shift} 0..31"
            )
        if 9 * a.cin > MAX_DEPTH:
            raise ParameterError(f"smartdeal: cin = {a.cin} exceeds the MAC array's depth")
        return a

    async def conv_smartdeal(self, a: ConvArgs) -> None:
        await self.driver.run(CMD_SMARTDEAL, *self.check(a).args())

    async def conv_baseline(self, a: ConvArgs) -> None:
        await self.driver.run(CMD_BASELINE, *self.check(a).args())

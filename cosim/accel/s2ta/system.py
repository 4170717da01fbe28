"""S2TA and its baseline on the standard SoC: the S2TA engine and the dense int8
systolic array (cosim.accel.systolic, output stationary, same number of MACs) behind one
accelerator device, tiling a GEMM from the scratchpad (the weight/activation SRAM).

    soc = build_soc(sim, memory="lpddr4_3200")
    acc = S2taAccelerator(sim, soc, impl="rtl", baseline_impl="rtl", geometry=S2taGeometry())
    await acc.gemm_s2ta(layout, a_nnz=4)     # in the host's driver process
    await acc.gemm_sa(layout)

Scratchpad layout (Layout): A row-major (M x K int8, dense); the S2TA weights tile-major
and W-DBB-compressed (per column tile, K/8 weight beats), the baseline's tile-major and
dense (per column tile, K rows of `cols` bytes); C tile-major (per tile, rows x cols
int32). S2TA's command loops over output tiles; per tile the sequencer reads the A tile
(once per row of tiles) and the weight tile from the scratchpad, formats the operand
beats (the array's operand formatter) and streams them in, then stores the result tile;
its weight beats go in on the data mover while the sequencer sends the activations. The
baseline runs the whole GEMM as one job of the dense array (one fold per output tile):
the sequencer reads A and the weights once, streams every fold's beats back to back and
the data mover stores each result tile while the next fold computes.

Energy, per event (cosim.accel.costs; sources there), for both arrays:
  mult, add       int8 multiply and int32 add per MAC done (gated MACs cost nothing:
                  zero-value clock gating, assumption: gating overhead not charged)
  act_hops        activation bits moving one PE right (S2TA: value + 3-bit position per
                  issue; baseline: 8 bits per beat), per PE
  wgt_hops        weight bits moving one PE down (S2TA: a W-DBB block once per block, it
                  stays while its activations are issued; baseline: 8 bits per beat)
  pruner          S2TA only: 7 magnitude comparisons (8-bit adds) per activation issued
  result_read     a register read per result element drained
The S2TA engine counts its events (its counters, any twin); the baseline array has no
counters, so the sequencer counts its MACs from the operands it streams (exact: they are
data-dependent only) and its beats from the jobs it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import cosim
from cosim import energy
from cosim.accel import costs
from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer, split64
from cosim.accel.engine import EnginePorts
from cosim.accel.s2ta import format as fmt
from cosim.accel.s2ta.engine import COUNTER_BASE, COUNTERS, REGISTERS, s2ta_engine
from cosim.accel.stream_engine import RegisterWindow
from cosim.accel.systolic import REGISTERS as SA_REGISTERS
from cosim.accel.systolic import SystolicLayout, systolic_array

ACCEL_BASE = 0x5000_0000
CMD_S2TA, CMD_SA = 1, 2
ACT_ENTRY_BITS = 8 + 3  # value and position in its block
COMPARES_PER_SELECTION = fmt.BLOCK - 1


@dataclass(frozen=True)
class Layout:
    """Where a GEMM's operands are in the scratchpad (addresses as the SoC sees them)."""

    m: int
    k: int
    n: int
    a: int
    w: int
    c: int

    def args(self) -> list[int]:
        return [self.m, self.k, self.n, *split64(self.a), *split64(self.w), *split64(self.c)]

    @staticmethod
    def from_args(a: list[int]) -> Layout:
        return Layout(a[0], a[1], a[2], a[3] | a[4] << 32, a[5] | a[6] << 32, a[7] | a[8] << 32)


def pad_to(x: np.ndarray, rows: int, cols: int) -> np.ndarray:
    out = np.zeros((-(-x.shape[0] // rows) * rows, -(-x.shape[1] // cols) * cols), x.dtype)
    out[: x.shape[0], : x.shape[1]] = x
    return out


def s2ta_weights(w: np.ndarray, geometry: fmt.S2taGeometry) -> np.ndarray:
    """The S2TA weight image: per column tile, its K/8 W-DBB weight beats."""
    wp = pad_to(np.asarray(w, np.int8), fmt.BLOCK, geometry.cols)
    tiles = range(0, wp.shape[1], geometry.cols)
    return np.concatenate([fmt.weight_beats(wp[:, j : j + geometry.cols], geometry) for j in tiles])


def sa_weights(w: np.ndarray, cols: int) -> np.ndarray:
    """The baseline's weight image: per column tile, K rows of `cols` int8 (dense)."""
    wp = pad_to(np.asarray(w, np.int8), 1, cols)
    tiles = [wp[:, j : j + cols] for j in range(0, wp.shape[1], cols)]
    return np.concatenate([t.reshape(-1) for t in tiles]).view(np.uint8)


def tiles_to_matrix(raw: np.ndarray, m: int, n: int, rows: int, cols: int) -> np.ndarray:
    """C from its tile-major image (tiles of rows x cols int32), cropped to m x n."""
    mt, nt = -(-m // rows), -(-n // cols)
    t = np.frombuffer(np.ascontiguousarray(raw).tobytes(), "<i4")[: mt * nt * rows * cols]
    c = t.reshape(mt, nt, rows, cols).transpose(0, 2, 1, 3).reshape(mt * rows, nt * cols)
    return c[:m, :n].astype(np.int32)


class S2taAccelerator:
    """S2TA (engine 's2ta') and the dense systolic array (engine 'sa') behind device
    'accel', with the scratchpad as their operand SRAM."""

    def __init__(
        self,
        sim: Any,
        soc: Any,
        *,
        impl: str,
        baseline_impl: str,
        geometry: fmt.S2taGeometry,
        clock: int | str = "1 ns",
        waves: dict[str, str] | None = None,
    ) -> None:
        self.sim, self.soc, self.geometry = sim, soc, geometry
        g = geometry
        waves = waves or {}
        costs.define_entries(sim)
        self.engine = s2ta_engine(
            sim,
            "s2ta",
            impl=impl,
            geometry=g,
            clock=clock,
            **({"waves": waves["s2ta"]} if "s2ta" in waves else {}),
        )
        sa = systolic_array(
            sim,
            "sa",
            impl=baseline_impl,
            rows=g.rows,
            cols=g.cols,
            dataflow="OS",
            clock=clock,
            **({"waves": waves["sa"]} if "sa" in waves else {}),
        )
        self.sa_layout = sa.layout
        self.baseline = EnginePorts(
            "sa",
            baseline_impl,
            {"csr": sa.csr, "in": sa.data_in, "out": sa.data_out},
            sa.done,
            sa.model,
        )
        self.device = Accelerator(sim, soc, "accel", base=ACCEL_BASE, clock=clock)
        self.device.attach(self.engine, streams=("act", "wgt", "out"))
        self.device.attach(self.baseline, streams=("in", "out"))
        self.done = self.device.done_line(self.engine)
        self.driver = AcceleratorDriver(soc.host, self.device)
        self.counters: list[dict[str, int]] = []  # S2TA counter increases per command
        self.sa_counts: list[dict[str, int]] = []
        self._last = dict.fromkeys(COUNTERS, 0)
        self.device.command(CMD_S2TA, "gemm s2ta")(self._cmd_s2ta)
        self.device.command(CMD_SA, "gemm sa")(self._cmd_sa)

    # ------------------------------------------------------------------ energy
    def s2ta_events(self, d: dict[str, int]) -> dict[str, tuple[str, float]]:
        g = self.geometry
        block_bits = 8 * g.weight_block_bytes
        return {
            "mult": ("int8_mult", d["macs"]),
            "add": ("int32_add", d["macs"]),
            "act_hops": ("pe_hop_bit", d["issues"] * g.rows * g.cols * ACT_ENTRY_BITS),
            "wgt_hops": ("pe_hop_bit", d["blocks"] * g.rows * g.cols * block_bits),
            "pruner": ("int8_add", d["issues"] * g.rows * COMPARES_PER_SELECTION),
            "result_read": ("rf_access_32b", d["result_beats"] * g.cols),
        }

    def sa_events(self, d: dict[str, int]) -> dict[str, tuple[str, float]]:
        g = self.geometry
        return {
            "mult": ("int8_mult", d["macs"]),
            "add": ("int32_add", d["macs"]),
            "act_hops": ("pe_hop_bit", d["beats"] * g.rows * g.cols * 8),
            "wgt_hops": ("pe_hop_bit", d["beats"] * g.rows * g.cols * 8),
            "result_read": ("rf_access_32b", d["result_rows"] * g.cols),
        }

    def energy_pj(self, events: dict[str, tuple[str, float]]) -> float:
        return sum(self.sim.energy[key] * n for key, n in events.values())

    def _charge(self, component: str, events: dict[str, tuple[str, float]]) -> None:
        for kind, (key, n) in events.items():
            energy.charge(self.sim, component, kind, key, n)

    # ------------------------------------------------------------------ commands
    def addr(self, engine: EnginePorts, port: str) -> int:
        return self.device.address(engine, port)

    async def _a_tile(self, seq: Sequencer, lay: Layout, i: int) -> np.ndarray:
        g = self.geometry
        rows = min(g.rows, lay.m - i)
        raw = await seq.read(lay.a + i * lay.k, rows * lay.k)
        a = np.zeros((g.rows, lay.k), np.int8)
        a[:rows] = raw.view(np.int8).reshape(rows, lay.k)
        return a

    async def _cmd_s2ta(self, seq: Sequencer) -> list[int]:
        g = self.geometry
        lay = Layout.from_args(seq.args)
        a_nnz = seq.args[9]
        kb = fmt.check_k(lay.k) // fmt.BLOCK
        csr = self.addr(self.engine, "csr")
        w_tile = kb * g.weight_beat_bytes
        nt = -(-lay.n // g.cols)
        regs = RegisterWindow(seq, csr)
        await regs.write_reg(REGISTERS["DEPTH"], kb)  # the same for every tile
        await regs.write_reg(REGISTERS["CONFIG"], a_nnz)
        for ti, i in enumerate(range(0, lay.m, g.rows)):
            acts = fmt.act_beats(await self._a_tile(seq, lay, i), g)
            for j in range(nt):
                await regs.start()
                weights = seq.background_copy(
                    lay.w + j * w_tile,
                    self.addr(self.engine, "wgt"),
                    w_tile,
                    beat=g.weight_beat_bytes,
                )
                await seq.send(self.addr(self.engine, "act"), acts, beat=g.act_beat_bytes)
                await weights
                out = await seq.read(self.addr(self.engine, "out"), 4 * g.rows * g.cols)
                await seq.write(lay.c + (ti * nt + j) * 4 * g.rows * g.cols, out)
                await seq.wait(self.done)
        now = {c: await seq.read32(csr + COUNTER_BASE + 4 * x) for x, c in enumerate(COUNTERS)}
        d = {c: (now[c] - self._last[c]) % (1 << 32) for c in COUNTERS}
        self._last = now
        self.counters.append(d)
        self._charge(self.engine.name, self.s2ta_events(d))
        return []

    async def _cmd_sa(self, seq: Sequencer) -> list[int]:
        """The baseline GEMM as one job of the array: every output tile is a fold, the
        operand beats stream back to back while the data mover takes the result tiles to
        the scratchpad (the array's output buffer drains while the next fold computes)."""
        g = self.geometry
        lay = Layout.from_args(seq.args)
        csr = self.addr(self.baseline, "csr")
        layout: SystolicLayout = self.sa_layout
        mt, nt = -(-lay.m // g.rows), -(-lay.n // g.cols)
        a = np.zeros((mt * g.rows, lay.k), np.int8)
        a[: lay.m] = (await seq.read(lay.a, lay.m * lay.k)).view(np.int8).reshape(lay.m, lay.k)
        w = (await seq.read(lay.w, nt * lay.k * g.cols)).view(np.int8).reshape(nt, lay.k, g.cols)
        await seq.write32(csr + SA_REGISTERS["DEPTH"], lay.k)
        await seq.write32(csr + SA_REGISTERS["FOLDS"], mt * nt)
        await seq.write32(csr + SA_REGISTERS["CTRL"], 1)
        tile_bytes = g.rows * layout.row_bytes
        results = cosim.spawn(
            seq.copy(
                self.addr(self.baseline, "out"),
                lay.c,
                mt * nt * tile_bytes,
                chunk=tile_bytes,
                socket=seq.mover,
                beat=layout.row_bytes,
            )
        )
        counts = {"macs": 0, "beats": 0, "result_rows": 0}
        for ti in range(mt):
            at = a[ti * g.rows : (ti + 1) * g.rows]
            for j in range(nt):
                await seq.send(
                    self.addr(self.baseline, "in"),
                    layout.beats(at.T, w[j], lay.k),
                    beat=layout.beat_bytes,
                )
                counts["macs"] += int(
                    ((at != 0).astype(np.int64) @ (w[j] != 0).astype(np.int64)).sum()
                )
                counts["beats"] += lay.k
                counts["result_rows"] += g.rows
        await results
        self.sa_counts.append(counts)
        self._charge(self.baseline.name, self.sa_events(counts))
        return []

    # ------------------------------------------------------------------ host side
    async def gemm_s2ta(self, lay: Layout, a_nnz: int) -> None:
        await self.driver.run(CMD_S2TA, *lay.args(), a_nnz)

    async def gemm_sa(self, lay: Layout) -> None:
        await self.driver.run(CMD_SA, *lay.args())

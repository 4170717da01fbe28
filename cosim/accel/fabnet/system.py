"""FABNet and its dense baseline on the standard SoC: the butterfly engine and the dense
int8 systolic array (cosim.accel.systolic, output stationary, as many multipliers) behind
one accelerator device, working from the scratchpad.

Commands (the host's driver runs them through the command window):
  CMD_LAYER   Fourier mixing: the FFT over hidden (one engine job of `seq` vectors, the
              twiddles loaded once), the complex result to the scratchpad, then the FFT
              over sequence (`d` column vectors: the sequencer reads the intermediate
              column-wise, the transposing read of the data mover), the real part kept;
              then the butterfly linear layer (one job of `seq` vectors, the weights once);
  CMD_DENSE   the baseline: the dense layer's seven GEMMs on the array, each one job (the
              operand formatter and output accumulator of cosim.accel.systolic.tiling),
              results requantised to int8 and the softmax taken by the sequencer (free:
              an advantage given to the baseline).

Energy, per event (cosim.accel.costs, sources there), from the engine's counters:
  mult        4 int16 multiplies per butterfly
  add         6 32-bit adds per butterfly (two sums/differences, two in the complex
              product, two output adders; linear mode uses fewer: charged all the same)
  buffer      permutation buffer: 2 reads and 2 writes of a 32-bit word per butterfly,
              N writes in and N reads out per vector (register file)
  weight_read one 64-bit read of the weight memory per butterfly, weight_write per
              entry loaded (an SRAM of the engine's weight capacity)
The array (no counters) is charged from its GEMM shapes: int8 multiply and int32 add per
MAC, 8-bit operand hops per PE per beat, a register read per result element.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import cosim
from cosim import energy
from cosim.accel import costs
from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer, split64
from cosim.accel.engine import EnginePorts
from cosim.accel.fabnet import butterfly as bf
from cosim.accel.fabnet import engine as be
from cosim.accel.fabnet import workload as wl
from cosim.accel.stream_engine import RegisterWindow
from cosim.accel.systolic import REGISTERS as SA_REGISTERS
from cosim.accel.systolic import gemm_job, gemm_result, systolic_array

ACCEL_BASE = 0x5000_0000
CMD_LAYER, CMD_DENSE = 1, 2
ADDS_PER_BUTTERFLY = 6
#: Largest single transfer of operand beats to the array (its stream window is 1 MiB).
SA_CHUNK = 1 << 18


def dense_work_layout(s: int, d: int, base: int = 0) -> dict[str, int]:
    """Where the dense layer's intermediates live in the scratchpad (int8): q, k, v, a, o
    (s x d) and the scores and probabilities (s x s); "end" is the first free byte."""
    out, at = {}, base
    for name, size in (
        ("q", s * d),
        ("k", s * d),
        ("v", s * d),
        ("s", s * s),
        ("p", s * s),
        ("a", s * d),
        ("o", s * d),
    ):
        out[name] = at
        at += -(-size // 64) * 64
    out["end"] = at
    return out


class FabnetAccelerator:
    """The butterfly engine ('bfe') and the dense array ('sa') behind device 'accel'."""

    def __init__(
        self,
        sim: Any,
        soc: Any,
        *,
        impl: str,
        baseline_impl: str,
        units: int,
        max_n: int,
        sa_rows: int,
        sa_cols: int,
        clock: int | str = "1 ns",
        waves: dict[str, str] | None = None,
    ) -> None:
        self.sim, self.soc, self.units, self.max_n = sim, soc, units, max_n
        waves = waves or {}
        costs.define_entries(sim)
        self.engine = be.butterfly_engine(
            sim,
            "bfe",
            impl,
            units=units,
            max_n=max_n,
            clock=clock,
            **({"waves": waves["bfe"]} if "bfe" in waves else {}),
        )
        sa = systolic_array(
            sim,
            "sa",
            impl=baseline_impl,
            rows=sa_rows,
            cols=sa_cols,
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
        self.device.attach(self.engine, streams=("in", "out"))
        self.device.attach(self.baseline, streams=("in", "out"))
        self.done = self.device.done_line(self.engine)
        self.driver: Any = AcceleratorDriver(soc.host, self.device)
        self.weight_key = costs.define_sram(
            sim,
            "bfe.weights",
            width_bits=64,
            capacity_bytes=8 * bf.log2_exact(max_n) * max_n // 2,
        )
        self.counters: list[dict[str, int]] = []  # engine counter increases per job
        self.engine_cycles: list[int] = []  # CYCLES of each engine job
        self.sa_counts: list[dict[str, int]] = []
        self._last = dict.fromkeys(be.COUNTERS, 0)
        self.device.command(CMD_LAYER, "fnet layer")(self._cmd_layer)
        self.device.command(CMD_DENSE, "dense layer")(self._cmd_dense)

    # ------------------------------------------------------------------ energy
    def engine_events(self, d: dict[str, int], words: int) -> dict[str, tuple[str, float]]:
        """Energy events of butterfly-engine counter increases `d` (`words`: vector words
        moved in and out of the permutation buffer)."""
        bfl = d["BUTTERFLIES"]
        return {
            "mult": ("int16_mult", 4 * bfl),
            "add": ("int32_add", ADDS_PER_BUTTERFLY * bfl),
            "buffer": ("rf_access_32b", 4 * bfl + words),
            "weight_read": (self.weight_key, bfl),
            "weight_write": (self.weight_key, d["WEIGHT_BEATS"] * self.units),
        }

    def sa_events(self, c: dict[str, int]) -> dict[str, tuple[str, float]]:
        lay = self.sa_layout
        return {
            "mult": ("int8_mult", c["macs"]),
            "add": ("int32_add", c["macs"]),
            "act_hops": ("pe_hop_bit", c["beats"] * lay.rows * lay.cols * 8),
            "wgt_hops": ("pe_hop_bit", c["beats"] * lay.rows * lay.cols * 8),
            "result_read": ("rf_access_32b", c["result_rows"] * lay.cols),
        }

    def energy_pj(self, events: dict[str, tuple[str, float]]) -> float:
        return sum(self.sim.energy[key] * n for key, n in events.values())

    def _charge(self, component: str, events: dict[str, tuple[str, float]]) -> None:
        for kind, (key, n) in events.items():
            energy.charge(self.sim, component, kind, key, n)

    # ------------------------------------------------------------------ the engine
    def addr(self, engine: Any, port: str) -> int:
        return self.device.address(engine, port)

    async def _job(
        self,
        seq: Sequencer,
        weights: np.ndarray,
        vectors: np.ndarray,
        mode: str,
        shift: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One engine job: load `weights` (uint8 image), transform the real or complex
        rows of `vectors` ((count, N, 2) int16: re, im); returns (re, im) (count, N)."""
        count, n, _ = vectors.shape
        csr = self.addr(self.engine, "csr")
        regs = RegisterWindow(seq, csr)
        beat = be.beat_bytes(self.units)
        for name, v in (
            ("LOG_N", bf.log2_exact(n)),
            ("MODE", bf.MODES[mode]),
            ("SHIFT", shift),
            ("COUNT", count),
            ("LOAD", 1),
        ):
            await regs.write_reg(be.REGISTERS[name], v)
        await regs.start()
        port_in, port_out = self.addr(self.engine, "in"), self.addr(self.engine, "out")
        await seq.send(port_in, weights, chunk=len(weights), beat=beat)
        images = np.ascontiguousarray(vectors, "<i2").reshape(count, -1).view(np.uint8)
        out = np.empty((count, 4 * n), np.uint8)
        for i in range(count):
            await seq.write(port_in, images[i])
            out[i] = await seq.read(port_out, 4 * n)
        await seq.wait(self.done)
        now = {
            c: await seq.read32(csr + be.COUNTER_BASE + 4 * x) for x, c in enumerate(be.COUNTERS)
        }
        d = {c: (now[c] - self._last[c]) % (1 << 32) for c in be.COUNTERS}
        self._last = now
        self.counters.append(d)
        self.engine_cycles.append(await seq.read32(csr + 0x08))
        self._charge(self.engine.name, self.engine_events(d, 2 * n * count))
        return be.unpack_words(out, n)

    async def _cmd_layer(self, seq: Sequencer) -> list[int]:
        """The FNet layer: Fourier mixing, then the butterfly linear layer, each pass one
        engine job; returns the mixing's and the linear layer's engine cycles."""
        x_at, tw_d, tw_s, w_at, tmp, mix, out_at = (seq.arg64(2 * i) for i in range(7))
        s, d = seq.args[14], seq.args[15]
        x = (await seq.read(x_at, 2 * s * d)).view("<i2").reshape(s, d)
        rows = np.zeros((s, d, 2), np.int16)
        rows[..., 0] = x
        tw = await seq.read(tw_d, 8 * bf.log2_exact(d) * d // 2)
        zr, zi = await self._job(seq, tw, rows, "fft", wl.FFT_SHIFT)
        await seq.write(tmp, be.pack_words(zr, zi))
        z = (await seq.read(tmp, 4 * s * d)).view("<i2").reshape(s, d, 2)
        cols = np.ascontiguousarray(z.transpose(1, 0, 2))
        tw = await seq.read(tw_s, 8 * bf.log2_exact(s) * s // 2)
        mr, _ = await self._job(seq, tw, cols, "fft", wl.FFT_SHIFT)
        await seq.write(mix, np.ascontiguousarray(mr.T, "<i2").view(np.uint8).reshape(-1))
        m = (await seq.read(mix, 2 * s * d)).view("<i2").reshape(s, d)
        rows = np.zeros((s, d, 2), np.int16)
        rows[..., 0] = m
        w = await seq.read(w_at, 8 * bf.log2_exact(d) * d // 2)
        yr, _ = await self._job(seq, w, rows, "linear", wl.LINEAR_SHIFT)
        await seq.write(out_at, np.ascontiguousarray(yr, "<i2").view(np.uint8).reshape(-1))
        return [sum(self.engine_cycles[-3:-1]), self.engine_cycles[-1]]

    # ------------------------------------------------------------------ the baseline
    async def _gemm(self, seq: Sequencer, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """A @ B on the array as one job; returns C (int32)."""
        lay = self.sa_layout
        csr = self.addr(self.baseline, "csr")
        job = gemm_job(lay, a, b)
        await seq.write32(csr + SA_REGISTERS["DEPTH"], job.depth)
        await seq.write32(csr + SA_REGISTERS["FOLDS"], job.folds)
        await seq.write32(csr + SA_REGISTERS["CTRL"], 1)
        rows: list[np.ndarray] = []
        port_out = self.addr(self.baseline, "out")

        async def take_results() -> None:
            rows.append(await seq.mover.read(port_out, job.result_rows * lay.row_bytes))

        reader = cosim.spawn(take_results())
        # the operand formatter's beats, in transfers inside the stream's address window
        chunk = min(len(job.beats), SA_CHUNK - SA_CHUNK % lay.beat_bytes)
        await seq.send(self.addr(self.baseline, "in"), job.beats, chunk=chunk, beat=lay.beat_bytes)
        await reader
        counts = {
            "macs": job.mapping.macs,
            "beats": job.folds * job.depth,
            "result_rows": job.result_rows,
        }
        self.sa_counts.append(counts)
        self._charge(self.baseline.name, self.sa_events(counts))
        return gemm_result(lay, job, lay.results(rows[0]))

    async def _cmd_dense(self, seq: Sequencer) -> list[int]:
        """The dense layer: operands from the scratchpad (x, then the five weight
        matrices, int8, at `w_at` in the order q, k, v, o, linear), every intermediate
        back to the scratchpad at `work`, the output (int8 seq x d) at `out_at`."""
        x_at, w_at, work, out_at = (seq.arg64(2 * i) for i in range(4))
        s, d = seq.args[8], seq.args[9]
        t: dict[str, np.ndarray] = {"x": (await seq.read(x_at, s * d)).view(np.int8).reshape(s, d)}
        for i, name in enumerate(("wq", "wk", "wv", "wo", "wl")):
            t[name] = (await seq.read(w_at + i * d * d, d * d)).view(np.int8).reshape(d, d)
        at = dense_work_layout(s, d, work)
        for out, a, b, _m, _k, _n in wl.dense_steps(s, d):
            bm = t["k"].T if b == "kT" else t[b]
            c = await self._gemm(seq, t[a], bm)
            made = [out, "p"] if out == "s" else [out]
            t[out] = wl.requant(c)
            if out == "s":
                t["p"] = wl.softmax_int8(t["s"], d)
            for name in made:  # to the scratchpad; the next GEMM reads its operands back
                dst = out_at if name == "y" else at[name]
                await seq.write(dst, t[name].view(np.uint8).reshape(-1))
                if name != "y":
                    raw = await seq.read(dst, t[name].size)
                    t[name] = raw.view(np.int8).reshape(t[name].shape)
        return []

    # ------------------------------------------------------------------ host side
    async def layer(self, spad: dict[str, int], s: int, d: int) -> list[int]:
        """Run CMD_LAYER on the scratchpad addresses `spad` (x16, tw_d, tw_s, w_bf, tmp,
        mix, y); returns the mixing's and the linear layer's engine cycles."""
        names = ("x16", "tw_d", "tw_s", "w_bf", "tmp", "mix", "y")
        args = [v for n in names for v in split64(spad[n])]
        return await self.driver.run(CMD_LAYER, *args, s, d, results=2)

    async def dense(self, x: int, w: int, work: int, out: int, s: int, d: int) -> None:
        await self.driver.run(CMD_DENSE, *(v for a in (x, w, work, out) for v in split64(a)), s, d)

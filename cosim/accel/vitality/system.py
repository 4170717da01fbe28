"""ViTALiTy on the standard SoC: a command window (cosim.accel.device.Accelerator) with the
attention engine on its local bus. Command 1 runs one head in DRAM (K/V pair image, Q,
output) in the mode given; the energy of each command is charged from the engine's
counters (Horowitz 45 nm operation energies; buffers as cosim.accel.costs SRAMs)."""

from __future__ import annotations

from typing import Any

from cosim import energy
from cosim.accel import costs
from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer
from cosim.accel.stream_engine import CTRL, CTRL_START

from . import engine as E

ACCEL_BASE, ATTEND_HEAD = 0x5000_0000, 1  # the command window on the fabric, command 1
COMPONENT = "vitality"
#: Restoring division, one subtract per quotient bit of a 48-bit reciprocal (assumption).
DIVIDE_STEPS = 48


class VitalityAccelerator:
    def __init__(
        self,
        sim: Any,
        soc: Any,
        impl: str,
        *,
        dim: int = 64,
        rows: int = 8,
        max_tokens: int = 512,
        clock: Any = "2 ns",
    ) -> None:
        self.sim, self.dim = sim, dim
        self.device = Accelerator(sim, soc, COMPONENT, base=ACCEL_BASE, clock=clock)
        self.engine = eng = E.taylor_attention_engine(
            sim, "engine", impl, dim=dim, rows=rows, max_tokens=max_tokens, clock=clock
        )
        self.device.attach(eng, streams=("in", "out"))
        self.done = self.device.done_line(eng)
        self.device.command(ATTEND_HEAD, "attend_head")(self._attend)
        self.driver: Any = AcceleratorDriver(soc.host, self.device)
        costs.define_entries(sim)
        self.kv_sram = costs.define_sram(
            sim, "vitality_kv_buffer", width_bits=8 * dim, capacity_bytes=2 * max_tokens * dim
        )
        self.out_sram = costs.define_sram(
            sim, "vitality_result_buffer", width_bits=16 * dim, capacity_bytes=2 * max_tokens * dim
        )
        self.counters: dict[str, int] = dict.fromkeys(E.DECLARATION.counters, 0)
        self.engine_cycles = 0

    async def _attend(self, seq: Sequencer) -> list[int]:
        kv, q, out = seq.arg64(0), seq.arg64(2), seq.arg64(4)
        tokens, mode, a_shift, g_shift, mult, shift = seq.args[6:12]
        csr = self.device.address(self.engine, "csr")
        data_in = self.device.address(self.engine, "in")
        data_out = self.device.address(self.engine, "out")
        for reg, value in (
            (E.TOKENS, tokens),
            (E.MODE, mode),
            (E.TAYLOR_SHIFT, a_shift),
            (E.G_SHIFT, g_shift),
            (E.MULT, mult),
            (E.SHIFT, shift),
        ):
            await seq.write32(csr + reg, value)
        await seq.write32(csr + CTRL, CTRL_START)
        d = self.dim
        await seq.copy(kv, data_in, 2 * tokens * d, beat=d)
        await seq.copy(q, data_in, tokens * d, beat=d)
        await seq.copy(data_out, out, 2 * tokens * d, beat=2 * d)
        await seq.wait(self.done)
        cycles = await seq.read32(csr + 0x08)
        self.engine_cycles += cycles
        now = {c: await seq.read32(csr + a) for c, a in E.COUNTERS.items()}
        delta = {c: (now[c] - self.counters[c]) & 0xFFFF_FFFF for c in now}
        self.counters = now
        self._charge(delta, tokens, mode)
        return [cycles]

    def _charge(self, d: dict[str, int], tokens: int, mode: int) -> None:
        def charge(kind: str, key: str, n: int) -> None:
            energy.charge(self.sim, COMPONENT, kind, key, n)

        charge("mac_mult", "int8_mult", d["MACS"])
        charge("mac_add", "int32_add", d["MACS"])
        charge("exp_lut", "rf_access_32b", d["EXPS"])
        charge("exp_scale", "int32_mult", d["EXPS"])
        charge("divide_step", "int32_add", d["RECIPS"] * DIVIDE_STEPS)
        charge("normalise_mult", "int32_mult", tokens * self.dim)
        charge("kv_buffer", self.kv_sram, -(-d["BUFFER_BYTES"] // self.dim))
        charge("result_buffer", self.out_sram, 2 * tokens)  # each result row written, read
        if mode == E.TAYLOR:  # the pre-processor's column sums of K and V
            charge("column_sum", "int32_add", 2 * tokens * self.dim)
        else:  # each query's running maximum: one compare per score
            charge("max_compare", "int32_add", d["EXPS"])

    async def attend_head(
        self, kv: int, q: int, out: int, tokens: int, mode: int, settings: tuple[int, ...]
    ) -> int:
        """Host side: run command 1 for one head and wait for its interrupt; settings are
        (taylor_shift, g_shift, mult, shift). Returns the engine's cycles."""
        args = [a for addr in (kv, q, out) for a in (addr & 0xFFFF_FFFF, addr >> 32)]
        (cycles,) = await self.driver.run(ATTEND_HEAD, *args, tokens, mode, *settings, results=1)
        return cycles

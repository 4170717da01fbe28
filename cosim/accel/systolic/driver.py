"""Host-side use of a systolic array through initiator sockets: programs jobs and runs a
whole GEMM as one job (cosim.accel.systolic.tiling), reading results while it streams the
operands so the array never waits for its reader."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

import cosim
from cosim.accel.systolic.engine import REGISTERS, SystolicLayout
from cosim.accel.systolic.tiling import gemm_job, gemm_result


class SystolicDriver:
    """Drives one array through one initiator socket (directly bound to the array's ports
    or through a router), or three (`sockets`: csr, data in, data out).

    csr, data_in, data_out: base addresses of the three ports as the socket sees them."""

    def __init__(
        self,
        socket: Any,
        layout: SystolicLayout,
        *,
        csr: int = 0,
        data_in: int = 0,
        data_out: int = 0,
        sockets: tuple[Any, Any, Any] | None = None,
    ) -> None:
        self.layout = layout
        self.csr_addr, self.in_addr, self.out_addr = csr, data_in, data_out
        self.s_csr, self.s_in, self.s_out = (
            sockets if sockets is not None else (socket, socket, socket)
        )
        self.jobs = 0
        self.cycles: list[int] = []  # CYCLES of each job run through run_job

    async def write_reg(self, reg: str, value: int) -> None:
        await self.s_csr.write(
            self.csr_addr + REGISTERS[reg], np.frombuffer(struct.pack("<I", value), np.uint8).copy()
        )

    async def read_reg(self, reg: str) -> int:
        data = await self.s_csr.read(self.csr_addr + REGISTERS[reg], 4)
        return struct.unpack("<I", data.tobytes())[0]

    async def _job(self, depth: int, folds: int = 1) -> None:
        await self.write_reg("DEPTH", depth)
        await self.write_reg("FOLDS", folds)
        await self.write_reg("CTRL", 1)
        self.jobs += 1

    async def run_job(self, depth: int, folds: int, beats: np.ndarray, rows: int) -> np.ndarray:
        """Start a job, send its operand beats while a second process reads its `rows`
        result rows; the results as an int32 matrix."""
        lay = self.layout
        await self._job(depth, folds)
        reader = None
        out: list[np.ndarray] = []
        if rows:

            async def read_all() -> None:
                out.append(await self.s_out.read(self.out_addr, rows * lay.row_bytes))

            reader = cosim.spawn(read_all())
        if len(beats):
            await self.s_in.write(self.in_addr, np.ascontiguousarray(beats))
        if reader is not None:
            await reader
        return lay.results(out[0]) if out else np.zeros((0, lay.cols), np.int32)

    async def tile_os(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """One OS fold: a (rows x K) @ b (K x cols)."""
        lay = self.layout
        k = a.shape[1]
        return await self.run_job(k, 1, lay.beats(a.T, b, k), lay.rows)

    async def tile_ws(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        """One stationary fold (WS or IS array): a (M x rows) @ w (rows x cols)."""
        lay = self.layout
        m = a.shape[0]
        beats = np.concatenate([lay.stationary_beats(w), lay.beats(a, None, m)])
        return await self.run_job(m, 1, beats, m)

    async def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """C = A @ B for int8 A (M x K) and B (K x N) as one job of every fold; int32 C.
        The job's CYCLES register is appended to self.cycles."""
        job = gemm_job(self.layout, a, b)
        rows = await self.run_job(job.depth, job.folds, job.beats, job.result_rows)
        self.cycles.append(await self.read_reg("CYCLES"))
        return gemm_result(self.layout, job, rows)

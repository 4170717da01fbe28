"""One DFX device (`DfxDevice`): HBM (the dram model, `hbm_channels` pseudo channels),
the FP16 matrix tile (cosim.accel.dfx.fp16_tile) and the vector unit
(cosim.accel.dfx.vector_unit) as functional/tlm/rtl engines, an on-chip receive buffer for
the ring, and a controller (DFX's scheduler) with a weight streamer that reads the next
weight blocks from HBM into an on-chip buffer while the tile works (DFX streams weights
from HBM in the generation stage, where every weight is used once per token).
docs/accelerators/dfx.md describes the parallelism and the timing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

import cosim
from cosim.accel.control import CommandWindow, EnergyCounters, EnergyEntry, Fifo
from cosim.accel.dfx import fp16_tile as ft
from cosim.accel.dfx import vector_unit as vu
from cosim.accel.dfx.numerics import chunks, pad8
from cosim.accel.dfx.workload import LN_EPS_FX, GptWeights, Shard
from cosim.errors import ParameterError
from cosim.system.link import LinkReceiver

if TYPE_CHECKING:
    from cosim.accel.dfx.cluster import DfxCluster

#: The command that generates tokens (ARG0: prompt length, ARG1: tokens to generate).
GENERATE = 1

_H = "Horowitz, ISSCC 2014, 45 nm"
ENERGY = {
    "mac": EnergyEntry(
        "dfx.mac_fp16_acc32",
        2.0,
        "op",
        f"{_H}: 16b FP mult 1.1 pJ + 32b FP add 0.9 pJ (the tree and accumulator add one FP32 "
        "add per multiply)",
        "one FP16 multiply with FP32 accumulation",
    ),
    "vpu_add": EnergyEntry(
        "dfx.vpu_add_element",
        0.16,
        "element",
        f"derived from {_H}: a 32-bit add 0.1 pJ + two fp16<->fixed conversions (shifts, "
        "about an 8-bit add each, 0.03 pJ)",
        "one element of a vector addition",
    ),
    "vpu_layernorm": EnergyEntry(
        "dfx.vpu_layernorm_element",
        12.7,
        "element",
        f"derived from {_H}: two 32b multiplies (variance square, normalise) 6.2 + gamma "
        "multiply 3.1 + one more for the variance pass 3.1 + adds 0.3",
        "one element through LayerNorm",
    ),
    "vpu_softmax": EnergyEntry(
        "sta.softmax_element",
        7.6,
        "element",
        f"derived from {_H}: scale multiply 32x16b 1.6 + three 16b multiplies of the exp2 "
        "cubic 2.4 + three adds 0.3 + max and sum adds 0.2 + normalising 32b multiply 3.1",
        "one score through the softmax core (the same core as STA's unit)",
    ),
    "vpu_gelu": EnergyEntry(
        "dfx.vpu_gelu_element",
        3.4,
        "element",
        f"derived from {_H}: table interpolation: one 32b multiply 3.1 + three 32b adds 0.3",
        "one element through the GELU table",
    ),
    "buffer": EnergyEntry(
        "sram_read_32b_8kb",
        5.0,
        "32-bit word",
        f"{_H}: 32-bit read of an 8 KB SRAM",
        "on-chip weight and receive buffers, per word written and per word read",
    ),
}


# ----------------------------------------------------------------- simulation
@dataclass
class StepTimes:
    """Where one device's time went during one decoding step (ps)."""

    total: int = 0
    hbm_bytes: int = 0  # moved by this device's HBM during the step
    hbm_wait: int = 0  # the tile waiting for weights still on their way from HBM
    link: int = 0  # sending on and waiting for the ring
    tile: int = 0
    vector: int = 0
    kv: int = 0  # KV-cache and embedding reads/writes in HBM


@dataclass
class DeviceRun:
    steps: list[StepTimes] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    logits: list[np.ndarray] = field(default_factory=list)


class DfxDevice:
    """One device of the ring: HBM, tile, vector unit, receive buffer, controller."""

    # device-local address map (the controller's bus)
    HBM = 0x0
    MPU_CSR, MPU_IN, MPU_OUT = 0x8000_0000, 0x8001_0000, 0x8002_0000
    VPU_CSR, VPU_IN, VPU_OUT = 0x8004_0000, 0x8005_0000, 0x8006_0000
    TX = 0x8010_0000
    RX = 0x8020_0000
    RX_SLOTS, RX_SLOT = 8, 8192
    # HBM layout
    IO, EMBED, WEIGHTS = 0x0, 0x1_0000, 0x10_0000

    def __init__(
        self,
        sim: Any,
        cluster: DfxCluster,
        k: int,
        *,
        engines: dict[str, str],
        hbm_channels: int,
        clock: int,
        weight_buffer: int,
        wave: str | None,
    ) -> None:
        self.sim, self.cluster, self.k = sim, cluster, k
        self.dims = cluster.dims
        self.clock = clock
        self.tile_shape = cluster.tile_shape
        self.vec_shape = cluster.vec_shape
        name = f"{cluster.name}.dev{k}"
        waves = {"waves": f"{name}.{wave}.fst"} if wave and k == 0 else {}
        with sim.scope(f"dev{k}"):
            self.hbm = sim.model("dram", "hbm", preset="hbm2", channels=hbm_channels)
            self.mpu = ft.fp16_dot_tile(
                sim,
                "mpu",
                impl=engines["mpu"],
                shape=self.tile_shape,
                clock=clock,
                **(waves if wave == "mpu" else {}),
            )
            self.vpu = vu.vector_unit(
                sim,
                "vpu",
                impl=engines["vpu"],
                shape=self.vec_shape,
                clock=clock,
                **(waves if wave == "vpu" else {}),
            )
            self.bus = sim.model("router", "bus")
            self.rx_mem = sim.model(
                "memory",
                "rxbuf",
                size=self.RX_SLOTS * self.RX_SLOT,
                read_latency="5 ns",
                write_latency="5 ns",
            )
            self.ctl = sim.initiator("controller")
            self.fetch = sim.initiator("streamer")
        self.name = name
        self.window = CommandWindow(sim, name.replace(".", "_"), clock=clock)
        self.window.command(GENERATE, "generate")(self._generate)
        self.generated = DeviceRun()
        self.hbm_at = 0  # where the host sees this device's HBM (set by the cluster)
        sim.bind(self.ctl, self.bus.port("target"))
        sim.bind(self.fetch, self.bus.port("target"))
        self.bus.map(self.hbm.port("target"), self.HBM, self.hbm.capacity)
        for port, base in (
            (self.mpu.csr, self.MPU_CSR),
            (self.mpu.data_in, self.MPU_IN),
            (self.mpu.data_out, self.MPU_OUT),
            (self.vpu.csr, self.VPU_CSR),
            (self.vpu.data_in, self.VPU_IN),
            (self.vpu.data_out, self.VPU_OUT),
        ):
            self.bus.map(port, base, 0x1_0000)
        self.bus.map(self.rx_mem.port("target"), self.RX, self.RX_SLOTS * self.RX_SLOT)
        self.tile = ft.TileDriver(
            self.ctl, self.tile_shape, csr=self.MPU_CSR, data_in=self.MPU_IN, data_out=self.MPU_OUT
        )
        self.vec = vu.VectorDriver(
            self.ctl, self.vec_shape, csr=self.VPU_CSR, data_in=self.VPU_IN, data_out=self.VPU_OUT
        )
        self.weight_buffer = weight_buffer
        self.energy = EnergyCounters(
            sim,
            name,
            {
                k2: ENERGY[k2]
                for k2 in ("mac", "vpu_add", "vpu_layernorm", "vpu_softmax", "vpu_gelu", "buffer")
            },
            {
                "mac": "FP16 multiply-accumulates",
                "vpu_add": "vector additions (elements)",
                "vpu_layernorm": "LayerNorm elements",
                "vpu_softmax": "softmax elements",
                "vpu_gelu": "GELU elements",
                "buffer": "on-chip buffer words (weights and ring)",
            },
        )
        self.tx_link: Any = None
        self.rx: LinkReceiver | None = None
        self.sent = 0
        self.received = 0
        self._alloc_next = self.WEIGHTS
        self.layout: dict[str, tuple[int, int]] = {}
        self.stream: list[tuple[str, int, int]] = []

    # -------------------------------------------------------------------- memory
    def _alloc(self, nbytes: int) -> int:
        at = self._alloc_next
        self._alloc_next += (nbytes + 63) // 64 * 64
        if self._alloc_next > self.hbm.capacity:
            raise ParameterError(f"DFX {self.name}: the model does not fit its HBM")
        return at

    def hbm_write(self, at: int, data: np.ndarray) -> None:
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
        self.hbm.array()[at : at + raw.size] = raw

    def install(self, w: GptWeights, s: Shard) -> None:
        """Model loading (before the timed run): embeddings, this device's weight blocks
        (bias first, then row blocks in the tile's beat order) and zeroed KV caches in HBM
        (keys and values of its heads, row per position); LayerNorm parameters into the
        controller's on-chip parameter memory; the weight stream of one decoding step."""
        dims = self.dims
        self.hbm_write(self.EMBED, w.wte)
        self.wpe_at = self.EMBED + w.wte.nbytes
        self.hbm_write(self.wpe_at, w.wpe)
        self.ln = [(ly.ln1, ly.ln2) for ly in w.layers]
        self.ln_f = w.ln_f
        self.shard = s
        stream: list[tuple[str, int, int]] = []

        def matrix(name: str, mat: np.ndarray, bias: np.ndarray | None) -> None:
            if bias is not None:
                at = self._alloc(bias.nbytes)
                self.hbm_write(at, bias)
                self.layout[f"{name}.bias"] = (at, bias.nbytes)
                stream.append((f"{name}.bias", at, bias.nbytes))
            blocks = ft.weight_beats(mat, self.tile_shape)
            for j, blk in enumerate(blocks):
                at = self._alloc(blk.nbytes)
                self.hbm_write(at, blk)
                stream.append((f"{name}.{j}", at, blk.nbytes))
            self.layout[name] = (len(blocks), mat.shape[0])

        for li in range(dims.layers):
            matrix(f"l{li}.qkv", s.w_qkv[li], s.b_qkv[li])
            matrix(f"l{li}.o", s.w_o[li], s.b_o[li])
            matrix(f"l{li}.fc", s.w_fc[li], s.b_fc[li])
            matrix(f"l{li}.proj", s.w_proj[li], s.b_proj[li])
        matrix("lm", s.w_lm, None)
        self.stream = stream
        dh, mp = dims.dh, dims.max_pos
        self.kcache = {}
        self.vcache = {}
        for li in range(dims.layers):
            for head in s.heads:
                for cache in (self.kcache, self.vcache):  # [position][dh], zeroed
                    cache[li, head] = self._alloc(mp * dh * 2)
                    self.hbm_write(cache[li, head], np.zeros(mp * dh, np.float16))

    # ------------------------------------------------------------------ streaming
    async def streamer(self, steps: int, fifo: Fifo) -> None:
        """DFX's weight DMA: read every weight block of every step from HBM in program
        order into the on-chip buffer (bounded by its capacity in blocks)."""
        for _ in range(steps):
            for name, at, nbytes in self.stream:
                data = np.asarray(await self.fetch.read(self.HBM + at, nbytes), np.uint8)
                self.energy.add("buffer", nbytes // 4)  # written into the buffer
                await fifo.put((name, data))

    async def _weights(self, fifo: Fifo, waited: list[int]) -> np.ndarray:
        t0 = cosim.now()
        _, data = await fifo.get()
        waited[0] += cosim.now() - t0
        self.energy.add("buffer", data.nbytes // 4)  # read out to the tile
        return data

    async def matmul(
        self, name: str, x: np.ndarray, fifo: Fifo, times: StepTimes, bias: bool = True
    ) -> np.ndarray:
        """Y = X W^T (+ b) of a streamed matrix: one tile job, its row blocks taken from
        the weight buffer as the tile asks for them. Time the weight stream waited for
        HBM counts as HBM-bound, the rest of the job as tile time."""
        blocks, rows = self.layout[name]
        lanes, beat = self.tile_shape.lanes, self.tile_shape.in_beat_bytes
        waited = [0]
        bvec = (await self._weights(fifo, waited)).view(np.float16) if bias else None

        async def block(j: int) -> tuple[np.ndarray, np.ndarray | None]:
            raw = await self._weights(fifo, waited)
            b = None
            if bvec is not None:
                b = np.zeros(lanes, np.float16)
                part = bvec[j * lanes : (j + 1) * lanes]
                b[: len(part)] = part
            return raw.reshape(-1, beat), b

        return (await self._tile_job(x, blocks, block, bias, times, waited))[:, :rows]

    async def _tile_job(
        self,
        x: np.ndarray,
        blocks: int,
        block: Callable[[int], Awaitable[tuple[np.ndarray, np.ndarray | None]]],
        bias: bool,
        times: StepTimes,
        waited: list[int],
    ) -> np.ndarray:
        """One tile job; `waited` accumulates the weight stream's waits for HBM."""
        t, n = x.shape
        w0 = waited[0]
        t0 = cosim.now()
        y = await self.tile.matmul(x, blocks, block, t, n, bias)
        elapsed = cosim.now() - t0
        times.hbm_wait += waited[0]
        times.tile += elapsed - (waited[0] - w0)
        self.energy.add("mac", t * n * self.tile_shape.lanes * blocks)
        return y

    async def mm_direct(self, x: np.ndarray, w: np.ndarray, times: StepTimes) -> np.ndarray:
        """Y = X W^T with W already on chip (the attention's keys and values)."""
        beats = ft.weight_beats(w, self.tile_shape)

        async def block(j: int) -> tuple[np.ndarray, None]:
            return beats[j], None

        y = await self._tile_job(x, len(beats), block, False, times, [0])
        return y[:, : w.shape[0]]

    async def vector(
        self, op: int, inputs: list[np.ndarray], times: StepTimes, **kw: int
    ) -> np.ndarray:
        t0 = cosim.now()
        y = await self.vec.run(op, inputs, **kw)
        times.vector += cosim.now() - t0
        kind = {
            vu.OP_ADD: "vpu_add",
            vu.OP_LAYERNORM: "vpu_layernorm",
            vu.OP_SOFTMAX: "vpu_softmax",
            vu.OP_GELU: "vpu_gelu",
        }[op]
        self.energy.add(kind, inputs[0].size)
        return y

    async def layernorm(
        self, x: np.ndarray, g: tuple[np.ndarray, np.ndarray], times: StepTimes
    ) -> np.ndarray:
        rows = len(x)
        return await self.vector(
            vu.OP_LAYERNORM,
            [x, np.tile(g[0], (rows, 1)), np.tile(g[1], (rows, 1))],
            times,
            eps=LN_EPS_FX,
        )

    # ------------------------------------------------------------------------ ring
    async def send(self, data: np.ndarray, times: StepTimes) -> None:
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
        if raw.size > self.RX_SLOT:
            raise ParameterError(f"DFX {self.name}: a ring message of {raw.size} B exceeds a slot")
        slot = self.sent % self.RX_SLOTS
        self.sent += 1
        t0 = cosim.now()
        await self.ctl.write(self.TX + slot * self.RX_SLOT, raw)
        times.link += cosim.now() - t0

    async def receive(self, shape: tuple[int, ...], times: StepTimes) -> np.ndarray:
        assert self.rx is not None
        t0 = cosim.now()
        await self.rx.message()
        slot = self.received % self.RX_SLOTS
        self.received += 1
        n = int(np.prod(shape)) * 2
        raw = np.asarray(await self.ctl.read(self.RX + slot * self.RX_SLOT, n), np.uint8)
        times.link += cosim.now() - t0
        self.energy.add("buffer", 2 * n // 4)  # written by the link, read by the controller
        return raw.view(np.float16).reshape(shape)

    async def allreduce(self, part: np.ndarray, times: StepTimes) -> np.ndarray:
        """Ring all-reduce (reduce-scatter, then all-gather) of this device's partial sums."""
        devices = self.cluster.devices
        if devices == 1:
            return part
        k = self.k
        sl = chunks(devices, part.shape[1])
        buf = part.copy()
        for s in range(devices - 1):
            await self.send(buf[:, sl[(k - s) % devices]], times)
            r = (k - s - 1) % devices
            got = await self.receive(buf[:, sl[r]].shape, times)
            buf[:, sl[r]] = await self.vector(
                vu.OP_ADD, [np.ascontiguousarray(buf[:, sl[r]]), got], times
            )
        for s in range(devices - 1):
            await self.send(buf[:, sl[(k + 1 - s) % devices]], times)
            r = (k - s) % devices
            buf[:, sl[r]] = await self.receive(buf[:, sl[r]].shape, times)
        return buf

    async def allgather(self, mine: np.ndarray, times: StepTimes) -> np.ndarray:
        """Every device's slice, in device order (D-1 ring hops)."""
        devices, k = self.cluster.devices, self.k
        out = [np.empty(0)] * devices
        out[k] = mine
        cur = mine
        for s in range(devices - 1):
            await self.send(cur, times)
            cur = await self.receive(mine.shape, times)
            out[(k - s - 1) % devices] = cur
        return np.concatenate(out, axis=1)

    # ------------------------------------------------------------------- program
    async def attention(self, li: int, qkv: np.ndarray, pos0: int, times: StepTimes) -> np.ndarray:
        dh = self.dims.dh
        t = qkv.shape[0]
        hk = len(self.shard.heads)
        num = self.cluster.numerics
        outs = []
        for j, head in enumerate(self.shard.heads):
            q = np.ascontiguousarray(qkv[:, j * dh : (j + 1) * dh])
            kk = np.ascontiguousarray(qkv[:, (hk + j) * dh : (hk + j + 1) * dh])
            vv = qkv[:, (2 * hk + j) * dh : (2 * hk + j + 1) * dh]
            t0 = cosim.now()
            kat, vat = self.kcache[li, head], self.vcache[li, head]
            await self.ctl.write(self.HBM + kat + pos0 * dh * 2, kk.view(np.uint8).reshape(-1))
            await self.ctl.write(
                self.HBM + vat + pos0 * dh * 2, np.ascontiguousarray(vv).view(np.uint8).reshape(-1)
            )
            keys = pad8(pos0 + t)
            kmat = (
                np.asarray(await self.ctl.read(self.HBM + kat, keys * dh * 2))
                .view(np.float16)
                .reshape(keys, dh)
            )
            vmat = (
                np.asarray(await self.ctl.read(self.HBM + vat, keys * dh * 2))
                .view(np.float16)
                .reshape(keys, dh)
            )
            vt = np.ascontiguousarray(vmat.T)  # the on-chip transpose buffer
            times.kv += cosim.now() - t0
            scores = await self.mm_direct(q, kmat, times)
            probs = np.zeros((t, keys), np.float16)
            for r in range(t):
                n = pos0 + r + 1
                probs[r, :n] = (
                    await self.vector(
                        vu.OP_SOFTMAX,
                        [np.ascontiguousarray(scores[r : r + 1, :n])],
                        times,
                        mult=num.softmax_mult,
                        shift=num.softmax_shift,
                    )
                )[0]
            outs.append(await self.mm_direct(probs, vt, times))
        return np.concatenate(outs, axis=1)

    async def step(self, tokens: list[int], pos0: int, fifo: Fifo) -> tuple[np.ndarray, StepTimes]:
        """One decoding step over `tokens` at positions pos0..: returns the logits of the
        last position (every device gets all of them) and where the time went."""
        times = StepTimes()
        t_start = cosim.now()
        hbm0 = self.hbm_bytes()
        dims, t = self.dims, len(tokens)
        t0 = cosim.now()
        emb = np.stack(
            [
                np.asarray(
                    await self.ctl.read(self.HBM + self.EMBED + tok * dims.d * 2, dims.d * 2)
                ).view(np.float16)
                for tok in tokens
            ]
        )
        pe = (
            np.asarray(
                await self.ctl.read(self.HBM + self.wpe_at + pos0 * dims.d * 2, t * dims.d * 2)
            )
            .view(np.float16)
            .reshape(t, dims.d)
        )
        times.kv += cosim.now() - t0
        x = await self.vector(vu.OP_ADD, [emb, pe], times)
        for li in range(dims.layers):
            ln1, ln2 = self.ln[li]
            h = await self.layernorm(x, ln1, times)
            qkv = await self.matmul(f"l{li}.qkv", h, fifo, times)
            a = await self.attention(li, qkv, pos0, times)
            o = await self.allreduce(await self.matmul(f"l{li}.o", a, fifo, times), times)
            x = await self.vector(vu.OP_ADD, [x, o], times)
            h2 = await self.layernorm(x, ln2, times)
            f = await self.vector(
                vu.OP_GELU, [await self.matmul(f"l{li}.fc", h2, fifo, times)], times
            )
            m = await self.allreduce(await self.matmul(f"l{li}.proj", f, fifo, times), times)
            x = await self.vector(vu.OP_ADD, [x, m], times)
        xf = await self.layernorm(x[-1:], self.ln_f, times)
        mine = await self.matmul("lm", xf, fifo, times, bias=False)
        logits = await self.allgather(mine, times) if self.cluster.devices > 1 else mine
        times.total = cosim.now() - t_start
        times.hbm_bytes = self.hbm_bytes() - hbm0
        return logits[0], times

    def hbm_bytes(self) -> int:
        st = self.sim.stats
        return int(st[f"{self.name}.hbm.bytes_read"] + st[f"{self.name}.hbm.bytes_written"])

    async def _generate(self, window: CommandWindow) -> None:
        """The controller's GENERATE: ARG1 tokens after the prompt of ARG0 tokens in HBM
        (IO area + 4: token ids as uint32); device 0 writes them back (IO + 0x400). What
        it did lands in `generated`."""
        n_prompt, new = window.args[0], window.args[1]
        raw = np.asarray(await self.ctl.read(self.HBM + self.IO + 4, 4 * n_prompt), np.uint8)
        prompt = [int(v) for v in raw.view("<u4")]
        fifo = Fifo(
            self.sim, f"{self.name}.wbuf", self.weight_buffer, size=lambda item: item[1].nbytes
        )
        self.sim.process(self.streamer(new, fifo), name=f"{self.name}.streamer".replace(".", "_"))
        await self.vec.load_gelu(self.cluster.numerics.lut)
        out = DeviceRun()
        step_tokens, pos0 = prompt, 0
        for s in range(new):
            t0 = cosim.now()
            logits, times = await self.step(step_tokens, pos0, fifo)
            nxt = int(np.argmax(logits))
            out.steps.append(times)
            out.tokens.append(nxt)
            out.logits.append(logits)
            if self.sim.trace.enabled:
                self.sim.trace.span(
                    self.name, f"step {s} ({len(step_tokens)} tokens)", t0, cosim.now()
                )
            pos0 += len(step_tokens)
            step_tokens = [nxt]
        if self.k == 0:
            await self.ctl.write(
                self.HBM + self.IO + 0x400, np.array(out.tokens, "<u4").view(np.uint8)
            )
        self.generated = out

"""ViTCoD on the standard SoC: a command window (cosim.accel.device.Accelerator) with the
Q/K encoder, the decoder and the split attention engine on its local bus.

Commands take a table of head descriptors in DRAM (HEAD_WORDS words each, FIELDS):
ENCODE moves each head's Q and K from where the projection left them on chip to DRAM
(keys gathered into the polarised order, run by run), through the encoder when flag
CODED is set (raw otherwise); ATTEND computes each head's
masked scores into the scratchpad, its Q, K, index pairs and decoder weights prefetched
into one of two staging slots by the data mover while the engines work on the previous
head (double buffering), Q and K restored by the decoder when CODED is set. Energy is
charged from the engines' counters after each command (sources in ENERGY)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import cosim
from cosim import energy
from cosim.accel import costs
from cosim.accel.control import Fifo
from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer
from cosim.accel.stream_engine import CTRL, CTRL_START

from . import engine as E

ACCEL_BASE = 0x5000_0000
ENCODE, ATTEND = 1, 2  # commands
CODED = 1  # command flag: Q and K go through the encoder / decoder
HEAD_WORDS = 20
CHUNK_ROWS = 32  # codec rows the sequencer sends before the data mover takes their results
FIELDS = (
    "qk_src",  # 64-bit: the head's Q rows then K rows on chip (tokens x head_dim int8 each)
    "qk_dram",  # 64-bit: where Q then K (keys in polarised order) live in DRAM, coded or raw
    "pairs",  # 64-bit: the sparse (row, col) pairs in DRAM, (head_dim / 4) a beat
    "scores",  # 64-bit: where the scores go (scratchpad)
    "encoder",  # 64-bit: encoder weights in DRAM (code x head_dim int8)
    "decoder",  # 64-bit: decoder weights in DRAM (head_dim x code int8)
    "key_runs",  # 64-bit: the polarised key order as (first row, count) u32 pairs in DRAM
    "tokens",
    "global",
    "sparse",
    "shape",  # dense_pes | encoder shift << 8 | decoder shift << 16
    "runs",  # how many key runs
)


@dataclass(frozen=True)
class Head:
    """One head's descriptor (FIELDS)."""

    qk_src: int
    qk_dram: int
    pairs: int
    scores: int
    encoder: int
    decoder: int
    key_runs: int
    tokens: int
    global_cols: int
    sparse: int
    dense_pes: int
    encoder_shift: int
    decoder_shift: int
    runs: int

    def words(self) -> np.ndarray:
        addrs = (
            self.qk_src,
            self.qk_dram,
            self.pairs,
            self.scores,
            self.encoder,
            self.decoder,
            self.key_runs,
        )
        w = [x for a in addrs for x in (a & 0xFFFF_FFFF, a >> 32)]
        w += [self.tokens, self.global_cols, self.sparse]
        w.append(self.dense_pes | self.encoder_shift << 8 | self.decoder_shift << 16)
        w.append(self.runs)
        return np.array(w + [0] * (HEAD_WORDS - len(w)), np.uint32)

    @classmethod
    def parse(cls, words: np.ndarray) -> Head:
        w = [int(x) for x in words]
        a = [w[2 * i] | w[2 * i + 1] << 32 for i in range(7)]
        shape = w[17]
        return cls(
            *a, w[14], w[15], w[16], shape & 0xFF, shape >> 8 & 0xFF, shape >> 16 & 0xFF, w[18]
        )


class VitcodEnergy:
    """Counter increases -> energy-table entries (Horowitz 45 nm; SRAMs by cosim.accel.costs).
    The codecs' weights stay in their multipliers' registers for a whole job (not charged)."""

    def __init__(self, sim: Any, d: int, pes: int, max_tokens: int, code: int) -> None:
        self.sim, self.d, self.code = sim, d, code
        costs.define_entries(sim)
        self.kq = costs.define_sram(
            sim, "vitcod.qk_buffer", width_bits=64, capacity_bytes=2 * max_tokens * d
        )

    def attention(self, dd: dict[str, int]) -> None:
        scores = dd["dense_scores"] + dd["sparse_scores"]
        words = self.d // 8  # 64-bit words of a row
        for kind, key, n in (
            ("mult", "int8_mult", scores * self.d),
            ("add", "int32_add", scores * self.d),
            ("key_read", self.kq, scores * words),
            ("query_read", self.kq, (dd["dense_cycles"] + dd["sparse_cycles"]) * words),
            ("index_read", "rf_access_32b", dd["sparse_scores"]),
        ):
            energy.charge(self.sim, "vitcod.attention", kind, key, n)

    def codec(self, name: str, rows: int, din: int, dout: int) -> None:
        macs = rows * din * dout
        for kind, key, n in (
            ("mult", "int8_mult", macs),
            ("add", "int32_add", macs),
        ):
            energy.charge(self.sim, f"vitcod.{name}", kind, key, n)


class VitcodAccelerator:
    """The accelerator: encoder, decoder and attention engine as `impl` each
    ('functional', 'tlm' or 'rtl'), head_dim `d` compressed to `code` values."""

    def __init__(
        self,
        sim: Any,
        soc: Any,
        impl: dict[str, str],
        *,
        d: int = 64,
        code: int = 32,
        pes: int = 8,
        max_tokens: int = 256,
        max_sparse: int = 8192,
        clock: str = "1 ns",
        staging: int = 0,
        slot_bytes: int = 0,
    ) -> None:
        self.sim, self.soc, self.d, self.code, self.pes = sim, soc, d, code, pes
        self.max_tokens, self.max_sparse = max_tokens, max_sparse
        self.device = dev = Accelerator(sim, soc, "vitcod", base=ACCEL_BASE, clock=clock)
        self.attn = E.attention_engine(
            sim,
            "attention",
            impl["attention"],
            clock=clock,
            d=d,
            pes=pes,
            max_tokens=max_tokens,
            max_sparse=max_sparse,
        )
        self.encoder = E.codec_engine(
            sim, "encoder", impl["codec"], clock=clock, din=d, dout=code, max_rows=max_tokens
        )
        self.decoder = E.codec_engine(
            sim, "decoder", impl["codec"], clock=clock, din=code, dout=d, max_rows=max_tokens
        )
        for eng in (self.attn, self.encoder, self.decoder):
            dev.attach(eng, streams=("in", "out"))
        self.done = {e.name: dev.done_line(e) for e in (self.attn, self.encoder, self.decoder)}
        self.staging, self.slot_bytes = staging, slot_bytes
        self.energy = VitcodEnergy(sim, d, pes, max_tokens, code)
        self.counters: dict[str, int] = {c.lower(): 0 for c in E.ATTENTION_DECLARATION.counters}
        self.chunks = Fifo(sim, "vitcod_chunks", capacity=4)  # codec rows in, not yet out
        self.buffers = Fifo(sim, "vitcod_buffers", capacity=2)  # chunks read, not yet written
        self.rows = {"encoder": 0, "decoder": 0}  # the codecs' ROWS counters, last read
        self.qk_bytes = 0  # Q and K bytes the sequencer moved to and from DRAM
        self.compute_cycles = 0  # engines busy: sum over jobs of max(dense, sparse) cycles
        dev.command(ENCODE, "encode")(self._encode)
        dev.command(ATTEND, "attend")(self._attend)
        self.driver: Any = AcceleratorDriver(soc.host, dev)

    # ------------------------------------------------------------------ helpers
    def _addr(self, eng: Any, port: str) -> int:
        return self.device.address(eng, port)

    async def _heads(self, seq: Sequencer, table: int, n: int) -> list[Head]:
        raw = await seq.read(table, 4 * HEAD_WORDS * n)
        words = np.asarray(raw, np.uint8).view("<u4").reshape(n, HEAD_WORDS)
        return [Head.parse(w) for w in words]

    async def _run_codec(
        self,
        seq: Sequencer,
        eng: Any,
        weights: int,
        shift: int,
        pieces: list[tuple[int, int]],
        dst: int,
    ) -> None:
        """Load `eng`'s weights (unless None: keep the last ones), then code the rows of
        `pieces` ((address, bytes), read in order) in one job, results to dst (a memory
        or a stream)."""
        csr, din, dout = self._addr(eng, "csr"), eng.in_beat_bytes, eng.out_beat_bytes
        rows = sum(n for _, n in pieces) // din
        if weights is not None:
            await seq.write32(csr + CTRL, CTRL_START | E.CTRL_LOAD)
            await seq.copy(weights, self._addr(eng, "in"), dout * din, beat=din)
            await seq.wait(self.done[eng.name])
        await seq.write32(csr + E.COUNT, rows)
        await seq.write32(csr + E.SHIFT, shift)
        await seq.write32(csr + CTRL, CTRL_START)
        # rows go in by the sequencer and come out by the data mover, CHUNK_ROWS at a
        # time, so the codec streams (a row leaves the cycle after it came in)
        drain = cosim.spawn(self._drain(eng, dst, rows))
        for src, n in pieces:
            for at in range(0, n, CHUNK_ROWS * din):
                step = min(CHUNK_ROWS * din, n - at)
                await seq.copy(src + at, self._addr(eng, "in"), step, beat=din)
                await self.chunks.put(step // din)
        await drain
        await seq.wait(self.done[eng.name])
        coded = await seq.read32(csr + E.ROWS)
        self.energy.codec(eng.name, (coded - self.rows[eng.name]) & 0xFFFF_FFFF, din, dout)
        self.rows[eng.name] = coded

    async def _pipe(self, seq: Sequencer, src: int, dst: int, nbytes: int, beat: int) -> None:
        """copy() with its reads and writes overlapped: the sequencer reads chunk i+1
        while the data mover writes chunk i (two chunk buffers)."""
        step = self.device.chunk - self.device.chunk % beat
        s_stream, d_stream = self.device.is_stream(src), self.device.is_stream(dst)
        writer = cosim.spawn(self._write_chunks(dst, d_stream, nbytes))
        for off in range(0, nbytes, step):
            data = await seq.read(src if s_stream else src + off, min(step, nbytes - off))
            await self.buffers.put((off, data))
        await writer

    async def _write_chunks(self, dst: int, stream: bool, nbytes: int) -> None:
        done = 0
        while done < nbytes:
            off, data = await self.buffers.get()
            await self.device.mover.write(dst if stream else dst + off, data)
            done += len(data)

    async def _drain(self, eng: Any, dst: int, rows: int) -> None:
        """The data mover's half of a codec job: each chunk's results to dst."""
        seq, dout, done = self.device.sequencer, eng.out_beat_bytes, 0
        stream = self.device.is_stream(dst)
        while done < rows:
            n = await self.chunks.get()
            at = dst if stream else dst + done * dout
            await seq.copy(
                self._addr(eng, "out"), at, n * dout, socket=self.device.mover, beat=dout
            )
            done += n

    # ------------------------------------------------------------------ commands
    async def _encode(self, seq: Sequencer) -> list[int]:
        table, n, flags = seq.arg64(0), seq.args[2], seq.args[3]
        d = self.d
        for h in await self._heads(seq, table, n):
            self.qk_bytes += self._qk_bytes(h, bool(flags & CODED))
            runs = np.asarray(await seq.read(h.key_runs, 8 * h.runs), np.uint8).view("<u4")
            q_piece = [(h.qk_src, h.tokens * d)]
            k_at = h.qk_src + h.tokens * d
            k_pieces = [(k_at + int(f) * d, int(c) * d) for f, c in runs.reshape(-1, 2)]
            if flags & CODED:
                row = self.code
                for pieces, at, weights in (
                    (q_piece, 0, h.encoder),
                    (k_pieces, h.tokens * row, None),
                ):
                    await self._run_codec(
                        seq, self.encoder, weights, h.encoder_shift, pieces, h.qk_dram + at
                    )
            else:
                at = h.qk_dram
                for src, nbytes in q_piece + k_pieces:
                    await self._pipe(seq, src, at, nbytes, 1)
                    at += nbytes
        return [n]

    def _qk_bytes(self, h: Head, coded: bool) -> int:
        return 2 * h.tokens * (self.code if coded else self.d)

    def _prefetch(self, seq: Sequencer, h: Head, slot: int, coded: bool) -> list[Any]:
        """Start moving one head's inputs into staging slot `slot` (data mover)."""
        base = self.staging + slot * self.slot_bytes
        qk = self._qk_bytes(h, coded)
        jobs = [seq.background_copy(h.qk_dram, base, qk)]
        self.qk_bytes += qk
        beat = self.d
        pair_bytes = -(-h.sparse // (beat // 4)) * beat
        if pair_bytes:
            jobs.append(seq.background_copy(h.pairs, base + qk, pair_bytes))
        if coded:
            jobs.append(seq.background_copy(h.decoder, base + qk + pair_bytes, self.d * self.code))
        return jobs

    async def _attend(self, seq: Sequencer) -> list[int]:
        table, n, flags = seq.arg64(0), seq.args[2], seq.args[3]
        coded = bool(flags & CODED)
        heads = await self._heads(seq, table, n)
        csr = self._addr(self.attn, "csr")
        attn_in, attn_out = self._addr(self.attn, "in"), self._addr(self.attn, "out")
        pending = self._prefetch(seq, heads[0], 0, coded)
        for i, h in enumerate(heads):
            for job in pending:
                await job
            pending = self._prefetch(seq, heads[i + 1], (i + 1) % 2, coded) if i + 1 < n else []
            base = self.staging + (i % 2) * self.slot_bytes
            qk = self._qk_bytes(h, coded)
            row = self.code if coded else self.d
            pair_bytes = -(-h.sparse // (self.d // 4)) * self.d
            for reg, value in (
                (E.TOKENS, h.tokens),
                (E.GLOBAL, h.global_cols),
                (E.SPARSE, h.sparse),
                (E.DENSE_PES, h.dense_pes),
            ):
                await seq.write32(csr + reg, value)
            await seq.write32(csr + CTRL, CTRL_START)
            k_at, q_at = base + h.tokens * row, base  # staged as Q rows then K rows
            if coded:
                weights, shift = base + qk + pair_bytes, h.decoder_shift
                for at, load in ((k_at, weights), (q_at, None)):
                    pieces = [(at, h.tokens * row)]
                    await self._run_codec(seq, self.decoder, load, shift, pieces, attn_in)
            else:
                await self._pipe(seq, k_at, attn_in, h.tokens * self.d, self.d)
                await self._pipe(seq, q_at, attn_in, h.tokens * self.d, self.d)
            if pair_bytes:
                await self._pipe(seq, base + qk, attn_in, pair_bytes, self.d)
            out_beats = -(-h.tokens * h.global_cols // (self.d // 4)) + pair_bytes // self.d
            await self._pipe(seq, attn_out, h.scores, out_beats * self.d, self.d)
            await seq.wait(self.done[self.attn.name])
            await self._account(seq, csr)
        return [n]

    async def _account(self, seq: Sequencer, csr: int) -> None:
        """Read the attention counters, charge their increase, add the job's compute cycles."""
        now = {
            c.lower(): await seq.read32(csr + E.ATTENTION_COUNTERS[c])
            for c in E.ATTENTION_DECLARATION.counters
        }
        dd = {k: (v - self.counters[k]) & 0xFFFF_FFFF for k, v in now.items()}
        self.counters = now
        self.compute_cycles += max(dd["dense_cycles"], dd["sparse_cycles"])
        self.energy.attention(dd)

    # ------------------------------------------------------------------ host side
    async def encode(self, table: int, heads: int, coded: bool) -> None:
        await self.driver.run(
            ENCODE, table & 0xFFFF_FFFF, table >> 32, heads, int(coded), results=1
        )

    async def attend(self, table: int, heads: int, coded: bool) -> None:
        await self.driver.run(
            ATTEND, table & 0xFFFF_FFFF, table >> 32, heads, int(coded), results=1
        )

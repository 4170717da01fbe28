"""ViTCoD on the standard SoC: a command window (cosim.accel.device.Accelerator) with the
Q/K encoder, the decoder and the split attention engine on its local bus.

Commands take a table of head descriptors in DRAM (HEAD_WORDS words each, FIELDS).
ENCODE moves each head's Q and K from where the projection left them on chip to DRAM
(keys gathered into the polarised order, run by run): raw, or through the encoder into
a staging slot that the data mover writes to DRAM while the next head is coded. ATTEND
computes each head's masked scores into the scratchpad; the data mover stages the next
head meanwhile (Q/K, index pairs, decoder weights from DRAM into the other of two slots,
then Q and K through the decoder), so memory and decoding overlap the engines' work.
Every transfer's reads and writes overlap (two chunk buffers); one initiator at a time
drives an engine. Energy is charged from the engines' counters after each job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import cosim
from cosim import energy
from cosim.accel import costs
from cosim.accel.control import ControllerPort, Fifo
from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer
from cosim.accel.stream_engine import CTRL, CTRL_START, CYCLES

from . import engine as E

ACCEL_BASE = 0x5000_0000
ENCODE, ATTEND = 1, 2  # commands
CODED = 1  # command flag: Q and K go through the encoder / decoder
HEAD_WORDS = 20
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
        self.mover_port = ControllerPort(dev.mover)  # the data mover's register access
        self.buffers = Fifo(sim, "vitcod_buffers", capacity=2)  # chunks read, not yet written
        self.rows = {"encoder": 0, "decoder": 0}  # the codecs' ROWS counters, last read
        self.job_cycles: list[int] = []  # CYCLES of every engine job, in order
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
        port: ControllerPort,
        eng: Any,
        weights: int | None,
        shift: int,
        pieces: list[tuple[int, int]],
        dst: int,
    ) -> None:
        """Through `port`: load `eng`'s weights (unless None: keep the last ones), code the
        rows of `pieces` ((address, bytes), read in order) in one job, its results to the
        memory at dst. One initiator at a time drives a codec (inputs, then results)."""
        csr, din, dout = self._addr(eng, "csr"), eng.in_beat_bytes, eng.out_beat_bytes
        copy, sock = self.device.sequencer.copy, port.socket
        rows = sum(n for _, n in pieces) // din
        if weights is not None:
            await port.write32(csr + CTRL, CTRL_START | E.CTRL_LOAD)
            await copy(weights, self._addr(eng, "in"), dout * din, socket=sock, beat=din)
            await self.done[eng.name].wait()
        await port.write32(csr + E.COUNT, rows)
        await port.write32(csr + E.SHIFT, shift)
        await port.write32(csr + CTRL, CTRL_START)
        seq = self.device.sequencer
        if port is seq:  # the sequencer reads while the data mover writes (_pipe)
            for src, n in pieces:
                await self._pipe(seq, src, self._addr(eng, "in"), n, din)
            await self._pipe(seq, self._addr(eng, "out"), dst, rows * dout, dout)
        else:
            for src, n in pieces:
                await copy(src, self._addr(eng, "in"), n, socket=sock, beat=din)
            await copy(self._addr(eng, "out"), dst, rows * dout, socket=sock, beat=dout)
        await self.done[eng.name].wait()
        self.job_cycles.append(await port.read32(csr + CYCLES))
        coded = await port.read32(csr + E.ROWS)
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

    # ------------------------------------------------------------------ commands
    async def _encode(self, seq: Sequencer) -> list[int]:
        table, n, flags = seq.arg64(0), seq.args[2], seq.args[3]
        d, coded = self.d, bool(flags & CODED)
        writers: list[Any] = []
        for i, h in enumerate(await self._heads(seq, table, n)):
            self.qk_bytes += self._qk_bytes(h, coded)
            runs = np.asarray(await seq.read(h.key_runs, 8 * h.runs), np.uint8).view("<u4")
            q_piece = [(h.qk_src, h.tokens * d)]
            k_at = h.qk_src + h.tokens * d
            k_pieces = [(k_at + int(f) * d, int(c) * d) for f, c in runs.reshape(-1, 2)]
            if not coded:
                at = h.qk_dram
                for src, nbytes in q_piece + k_pieces:
                    await self._pipe(seq, src, at, nbytes, 1)
                    at += nbytes
                continue
            # codes into staging slot i % 2 (keys gathered into the polarised order on
            # chip, run by run), then to DRAM by the data mover while the encoder codes
            # the next head
            if i >= 2:
                await writers[i - 2]
            buf, half = self.staging + (i % 2) * self.slot_bytes, h.tokens * self.code
            await self._run_codec(seq, self.encoder, h.encoder, h.encoder_shift, q_piece, buf)
            await self._run_codec(seq, self.encoder, None, h.encoder_shift, k_pieces, buf + half)
            writers.append(seq.background_copy(buf, h.qk_dram, 2 * half))
        for w in writers:
            await w
        return [n]

    def _qk_bytes(self, h: Head, coded: bool) -> int:
        return 2 * h.tokens * (self.code if coded else self.d)

    def _layout(self, h: Head, slot: int, coded: bool) -> dict[str, int]:
        """Where a head's inputs sit in staging slot `slot`: Q/K as in DRAM, the pairs,
        the decoder weights and the decoded Q/K (raw rows the engine takes)."""
        base = self.staging + slot * self.slot_bytes
        qk = self._qk_bytes(h, coded)
        pair_bytes = -(-h.sparse // (self.d // 4)) * self.d
        weights = base + qk + pair_bytes
        return {
            "qk": base,
            "pairs": base + qk,
            "pair_bytes": pair_bytes,
            "weights": weights,
            "rows": weights + self.d * self.code if coded else base,
        }

    async def _stage(self, seq: Sequencer, h: Head, slot: int, coded: bool) -> None:
        """One head's inputs into staging slot `slot` (the data mover): Q/K, pairs and
        decoder weights from DRAM, then, when coded, Q and K through the decoder."""
        at = self._layout(h, slot, coded)
        qk = self._qk_bytes(h, coded)
        self.qk_bytes += qk
        pairs = []
        if at["pair_bytes"]:
            pairs.append(seq.background_copy(h.pairs, at["pairs"], at["pair_bytes"]))
        if not coded:
            await seq.background_copy(h.qk_dram, at["qk"], qk)
        else:  # fetch Q codes; decode Q while K codes arrive; decode K
            half, raw = qk // 2, h.tokens * self.d
            first = [
                seq.background_copy(h.qk_dram, at["qk"], half),
                seq.background_copy(h.decoder, at["weights"], self.d * self.code),
            ]
            for job in first:
                await job
            k_codes = seq.background_copy(h.qk_dram + half, at["qk"] + half, half)
            for i, weights in enumerate((at["weights"], None)):  # Q, then K
                if i == 1:
                    await k_codes
                await self._run_codec(
                    self.mover_port,
                    self.decoder,
                    weights,
                    h.decoder_shift,
                    [(at["qk"] + i * half, half)],
                    at["rows"] + i * raw,
                )
        for job in pairs:
            await job

    async def _attend(self, seq: Sequencer) -> list[int]:
        table, n, flags = seq.arg64(0), seq.args[2], seq.args[3]
        coded = bool(flags & CODED)
        heads = await self._heads(seq, table, n)
        csr = self._addr(self.attn, "csr")
        attn_in, attn_out = self._addr(self.attn, "in"), self._addr(self.attn, "out")
        staged = cosim.spawn(self._stage(seq, heads[0], 0, coded))
        for i, h in enumerate(heads):
            await staged
            if i + 1 < n:  # the next head's inputs while the engines work on this one
                staged = cosim.spawn(self._stage(seq, heads[i + 1], (i + 1) % 2, coded))
            at = self._layout(h, i % 2, coded)
            for reg, value in (
                (E.TOKENS, h.tokens),
                (E.GLOBAL, h.global_cols),
                (E.SPARSE, h.sparse),
                (E.DENSE_PES, h.dense_pes),
            ):
                await seq.write32(csr + reg, value)
            await seq.write32(csr + CTRL, CTRL_START)
            rows = h.tokens * self.d  # staged as Q rows then K rows; the engine takes K first
            await self._pipe(seq, at["rows"] + rows, attn_in, rows, self.d)
            await self._pipe(seq, at["rows"], attn_in, rows, self.d)
            if at["pair_bytes"]:
                await self._pipe(seq, at["pairs"], attn_in, at["pair_bytes"], self.d)
            out_beats = -(-h.tokens * h.global_cols // (self.d // 4)) + at["pair_bytes"] // self.d
            await self._pipe(seq, attn_out, h.scores, out_beats * self.d, self.d)
            await seq.wait(self.done[self.attn.name])
            await self._account(seq, csr)
        return [n]

    async def _account(self, seq: Sequencer, csr: int) -> None:
        """Read the attention counters, charge their increase, add the job's compute cycles."""
        self.job_cycles.append(await seq.read32(csr + CYCLES))
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

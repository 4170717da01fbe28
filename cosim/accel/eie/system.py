"""The EIE accelerator on the standard SoC: the engine (any twin), the device around it
(control registers, sequencer, local bus), the control program the sequencer runs, the
engine's energy model, and the host-side calls.

    soc = build_soc(sim, memory="ddr4_2400")
    acc = EieAccelerator(sim, soc, impl="rtl", geometry=EieGeometry(pes=8))
    @sim.process
    async def driver():
        await acc.load_model(model_addr, nbytes)                 # once
        cycles = await acc.infer(act_addr, cols, out_addr, rows) # one inference
        cycles = await acc.dense(...)                            # the dense baseline

Commands (the host writes arguments and the command number; the sequencer runs it):
  LOAD  (src, nbytes)                     model image from memory into the load stream
  INFER (act, act_bytes, cols, local_rows, config, out)
                                          activations in, one job, results out
  RUN   (cols, local_rows, config, out)   one job on the activations already loaded
  DENSE (weights, block_bytes, blocks, block_cols, cols, local_rows, half_words, act,
         act_bytes, out)                  the dense baseline: block b+1's weights stream
                                          in (the DMA: read and write channels
                                          overlapped) while block b computes, block 0
                                          beside the activations; block_bytes = 0: the
                                          weights are resident (loaded with LOAD)
Every command ends by reading the engine's event counters and charging their increase
to the energy table (component = the engine's name), so the breakdown of any phase of a
run holds the engine's energy next to the DRAM's, the fabric's and the host's.

Engine energy per event (cosim.accel.costs; sources there):
  spmat_read / load_write   64-bit access of the PE's sparse-matrix SRAM (mat_words x 8 B)
  pointer_read              32-bit access of a pointer bank
  codebook_read             register-file read (16 x 16-bit codebook)
  mult, add                 int16 multiply, int32 add, per entry (padding included: EIE
                            does not gate zero weights)
  accumulator               register-file read + write per entry
  queue                     register-file write + read per activation per PE
  act_buffer_read / _write  256-bit access of the activation buffer SRAM
  result_read               register-file read per output lane drained
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import cosim
from cosim import energy
from cosim.accel import costs
from cosim.accel.control import Fifo
from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer, split64
from cosim.accel.eie import format as fmt
from cosim.accel.eie.engine import (
    CFG_DRAIN,
    COUNTER_BASE,
    COUNTERS,
    REGISTERS,
    WORK_BASE,
    config_word,
    eie_engine,
)
from cosim.accel.stream_engine import RegisterWindow

ACCEL_BASE = 0x5000_0000  # the control window on the SoC fabric
CMD_LOAD, CMD_INFER, CMD_RUN, CMD_DENSE = 1, 2, 3, 4


@dataclass
class JobRecord:
    """Counter increases of one command (what the energy model charged)."""

    command: str
    counters: dict[str, int]
    work: list[int]
    engine_cycles: int


@dataclass
class EieEnergyModel:
    """Counts -> energy-table entries for the EIE engine (see the module docstring)."""

    sim: Any
    geometry: fmt.EieGeometry
    component: str
    keys: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        g = self.geometry
        costs.define_entries(self.sim)
        self.keys = {
            "spmat": costs.define_sram(
                self.sim, "eie.spmat", width_bits=64, capacity_bytes=g.mat_bytes
            ),
            "pointer": costs.define_sram(
                self.sim, "eie.ptr", width_bits=32, capacity_bytes=4 * (g.act_depth // 2 + 1)
            ),
            "actbuf": costs.define_sram(
                self.sim, "eie.actbuf", width_bits=256, capacity_bytes=2 * g.act_depth
            ),
        }

    def events(self, d: dict[str, int], pes: int) -> dict[str, tuple[str, int]]:
        """Event kind -> (energy-table key, count) for counter increases d."""
        k = self.keys
        return {
            "spmat_read": (k["spmat"], d["matrix_words"]),
            "load_write": (k["spmat"], d["load_beats"]),
            "pointer_read": (k["pointer"], d["pointer_reads"]),
            "codebook_read": ("rf_access_32b", d["entries"]),
            "mult": ("int16_mult", d["entries"]),
            "add": ("int32_add", d["entries"]),
            "accumulator": ("rf_access_32b", 2 * d["entries"]),
            "queue": ("rf_access_32b", 2 * d["activations"] * pes),
            "act_buffer_read": (k["actbuf"], d["act_group_reads"]),
            "act_buffer_write": (k["actbuf"], d["act_beats"]),
            "result_read": ("rf_access_32b", d["result_beats"] * pes),
        }

    def charge(self, d: dict[str, int]) -> None:
        for kind, (key, n) in self.events(d, self.geometry.pes).items():
            energy.charge(self.sim, self.component, kind, key, n)

    def energy_pj(self, d: dict[str, int]) -> float:
        """What counter increases d cost, without charging them (for what-if factors)."""
        return sum(
            self.sim.energy[key] * n for key, n in self.events(d, self.geometry.pes).values()
        )


class EieAccelerator:
    """EIE on a SoC: engine `name` (impl functional/tlm/rtl) behind device 'accel'."""

    def __init__(
        self,
        sim: Any,
        soc: Any,
        *,
        impl: str,
        geometry: fmt.EieGeometry,
        clock: int | str = "1 ns",
        name: str = "eie",
        waves: str | None = None,
    ) -> None:
        self.sim = sim
        self.soc = soc
        self.geometry = geometry
        self.impl = impl
        options = {"waves": waves} if waves else {}
        self.engine = eie_engine(sim, name, impl=impl, geometry=geometry, clock=clock, **options)
        self.device = Accelerator(sim, soc, "accel", base=ACCEL_BASE, clock=clock, scratchpad=False)
        self.device.attach(self.engine, streams=("ld", "act", "out"))
        self.done = self.device.done_line(self.engine)
        # The DMA's read channel (its write channel is the device's data mover).
        self.dma_read = sim.initiator(f"{name}_dma_rd")
        sim.bind(self.dma_read, self.device.bus.port("target"))
        self.energy = EieEnergyModel(sim, geometry, name)
        self.driver = AcceleratorDriver(soc.host, self.device)
        self.records: list[JobRecord] = []
        self._last = dict.fromkeys(COUNTERS, 0)
        self._last_work = [0] * geometry.pes
        dev = self.device
        dev.command(CMD_LOAD, "load model")(self._cmd_load)
        dev.command(CMD_INFER, "infer")(self._cmd_infer)
        dev.command(CMD_RUN, "run")(self._cmd_run)
        dev.command(CMD_DENSE, "dense")(self._cmd_dense)

    # ------------------------------------------------------------ engine access
    def addr(self, port: str) -> int:
        return self.device.address(self.engine, port)

    def registers(self, seq: Sequencer) -> RegisterWindow:
        """The engine's registers as the sequencer reaches them."""
        return RegisterWindow(seq, self.addr("csr"))

    async def _reg(self, seq: Sequencer, name: str, value: int) -> None:
        await self.registers(seq).write_reg(REGISTERS[name], value)

    async def _job(
        self,
        seq: Sequencer,
        cols: tuple[int, int],
        rows: int,
        config: int,
        out: int | None,
        dense_base: int = 0,
    ) -> None:
        """Program and start one job; drain its results to `out` (with CONFIG.drain) and
        wait until it is done."""
        for reg, v in (
            ("COL_START", cols[0]),
            ("COL_COUNT", cols[1]),
            ("ROWS", rows),
            ("CONFIG", config),
            ("DENSE_BASE", dense_base),
        ):
            await self._reg(seq, reg, v)
        await self.registers(seq).start()
        if out is not None:
            beat = 4 * self.geometry.pes
            await seq.copy(self.addr("out"), out, rows * beat, beat=beat)
        await seq.wait(self.done)

    async def _account(self, seq: Sequencer, command: str) -> int:
        """Read the counters, charge their increase, return the last job's cycles."""
        base = self.addr("csr")
        now = {c: await seq.read32(base + COUNTER_BASE + 4 * i) for i, c in enumerate(COUNTERS)}
        work = [await seq.read32(base + WORK_BASE + 4 * k) for k in range(self.geometry.pes)]
        cycles = await self.registers(seq).read_cycles()
        d = {c: (now[c] - self._last[c]) % (1 << 32) for c in COUNTERS}
        dw = [(w - lw) % (1 << 32) for w, lw in zip(work, self._last_work, strict=True)]
        self._last, self._last_work = now, work
        self.energy.charge(d)
        self.records.append(JobRecord(command, d, dw, d["busy_cycles"]))
        return cycles

    # ------------------------------------------------------------ commands
    async def _cmd_load(self, seq: Sequencer) -> list[int]:
        await seq.copy(seq.arg64(0), self.addr("ld"), seq.args[2], beat=fmt.BEAT_BYTES)
        await self._account(seq, "load")
        return []

    async def _cmd_infer(self, seq: Sequencer) -> list[int]:
        act, act_bytes, cols, rows, config = seq.arg64(0), *seq.args[2:6]
        await self._reg(seq, "ACT_WPTR", 0)
        await seq.copy(act, self.addr("act"), act_bytes, beat=fmt.ACT_BEAT_BYTES)
        await self._job(seq, (0, cols), rows, config, seq.arg64(6))
        return [await self._account(seq, "infer")]

    async def _cmd_run(self, seq: Sequencer) -> list[int]:
        cols, rows, config = seq.args[0:3]
        out = seq.arg64(3) if config & CFG_DRAIN else None
        await self._job(seq, (0, cols), rows, config, out)
        return [await self._account(seq, "run")]

    async def _dma(self, src: int, nbytes: int) -> None:
        """Weights from memory into the load stream the way a DMA engine moves them: a read
        channel (its own initiator) keeps the next chunk coming from memory while the
        write channel (the data mover) pushes the current one into the stream, so the
        transfer runs at the slower of the memory and the stream port, not at their
        serialized sum."""
        if nbytes <= 0:
            return
        step = self.device.chunk - self.device.chunk % fmt.BEAT_BYTES
        chunks: Fifo = Fifo(self.sim, f"{self.engine.name}.dma", 2)

        async def reader() -> None:
            for off in range(0, nbytes, step):
                await chunks.put(await self.dma_read.read(src + off, min(step, nbytes - off)))

        feeding = cosim.spawn(reader())
        for _ in range(0, nbytes, step):
            await self.device.mover.write(self.addr("ld"), await chunks.get())
        await feeding

    async def _cmd_dense(self, seq: Sequencer) -> list[int]:
        """The dense baseline: weights resident on chip (block_bytes = 0, loaded before),
        or streamed block by block by the DMA into alternate halves of each PE's matrix
        memory while the other half computes; block 0 loads while the activations do."""
        weights, block_bytes, blocks, block_cols, cols, rows, half_words = (
            seq.arg64(0),
            *seq.args[2:8],
        )
        act, act_bytes, out = seq.arg64(8), seq.args[10], seq.arg64(11)
        loader = cosim.spawn(self._dma(weights, block_bytes))  # block 0, beside the acts
        await self._reg(seq, "ACT_WPTR", 0)
        await seq.copy(act, self.addr("act"), act_bytes, beat=fmt.ACT_BEAT_BYTES)
        for b in range(blocks):
            await loader  # block b is in; block b + 1 streams while b computes
            if b + 1 < blocks:
                loader = cosim.spawn(self._dma(weights + (b + 1) * block_bytes, block_bytes))
            last = b + 1 == blocks
            config = config_word(skip=False, dense=True, clear=b == 0, drain=last)
            start = b * block_cols
            await self._job(
                seq,
                (start, min(block_cols, cols - start)),
                rows,
                config,
                out if last else None,
                dense_base=16 * (b % 2) * half_words,
            )
        return [await self._account(seq, "dense")]

    # ------------------------------------------------------------ host side
    async def load_model(self, src: int, nbytes: int) -> None:
        await self.driver.run(CMD_LOAD, *split64(src), nbytes)

    async def infer(
        self, act: int, act_bytes: int, cols: int, rows: int, config: int, out: int
    ) -> int:
        (cycles,) = await self.driver.run(
            CMD_INFER, *split64(act), act_bytes, cols, rows, config, *split64(out), results=1
        )
        return cycles

    async def run(self, cols: int, rows: int, config: int, out: int = 0) -> int:
        (cycles,) = await self.driver.run(CMD_RUN, cols, rows, config, *split64(out), results=1)
        return cycles

    async def dense(
        self,
        weights: int,
        block_bytes: int,
        blocks: int,
        block_cols: int,
        cols: int,
        rows: int,
        half_words: int,
        act: int,
        act_bytes: int,
        out: int,
    ) -> int:
        (cycles,) = await self.driver.run(
            CMD_DENSE,
            *split64(weights),
            block_bytes,
            blocks,
            block_cols,
            cols,
            rows,
            half_words,
            *split64(act),
            act_bytes,
            *split64(out),
            results=1,
        )
        return cycles


#: The streamed dense baseline cuts its weights into at least this many blocks (when
#: columns allow), so the first block, whose load nothing hides but the activations',
#: is a small part of the stream.
DENSE_MIN_BLOCKS = 32


@dataclass(frozen=True)
class DensePlan:
    """How the dense baseline holds its weights: resident (the whole dense layer fits
    each PE's matrix memory: loaded once before the inference, like EIE's compressed
    model) or streamed in `blocks` blocks of `block_cols` columns into alternate halves
    of `half_words` words."""

    block_cols: int
    blocks: int
    half_words: int
    resident: bool


def dense_plan(rows: int, cols: int, geometry: fmt.EieGeometry) -> DensePlan:
    """The dense baseline's plan: resident when the dense layer fits the matrix memory;
    otherwise blocks that fit half of it (the other half loads the next block), at least
    DENSE_MIN_BLOCKS of them when there are that many columns."""
    if fmt.dense_block_words(rows, geometry.pes, cols) <= geometry.mat_words:
        return DensePlan(cols, 1, geometry.mat_words // 2, True)
    half_words = geometry.mat_words // 2
    local = geometry.local_rows(rows)
    fit = (half_words * fmt.DENSE_ENTRIES_PER_WORD) // local
    if fit < 1:
        raise ValueError(
            f"eie: one dense column of {local} local rows does not fit half the matrix memory "
            f"({half_words} words); raise mat_words"
        )
    block_cols = min(cols, fit, -(-cols // DENSE_MIN_BLOCKS))
    return DensePlan(block_cols, -(-cols // block_cols), half_words, False)


def dense_images(indices: np.ndarray, pes: int, plan: DensePlan) -> tuple[np.ndarray, int]:
    """The dense baseline's weight stream: one load image per block (block b into half
    b % 2; a resident layer is one block from word 0), padded with no-op beats to a
    common size. Returns (bytes, block_bytes)."""
    cols = indices.shape[1]
    images = [
        fmt.dense_block_image(
            indices, pes, s, min(plan.block_cols, cols - s), (b % 2) * plan.half_words
        )
        for b, s in enumerate(range(0, cols, plan.block_cols))
    ]
    size = max(len(i) for i in images)
    out = np.zeros((len(images), size), dtype=np.uint8)  # zero beats: empty packets
    for b, img in enumerate(images):
        out[b, : len(img)] = img
    return out.reshape(-1), size


def energy_factors(
    model: EieEnergyModel,
    eie: dict[str, int],
    noskip: dict[str, int],
    dense: dict[str, int],
    dram_pj_per_bit: float,
) -> dict[str, float]:
    """The energy factors Han et al. (ISCA 2016) attribute to EIE's mechanisms, derived
    from the counters of three runs of one layer on the same engine (the inference
    `eie`, the same without zero-skipping `noskip`, the dense baseline `dense`) and the
    energy table:

    - sparsity: engine energy of the dense layer over the pruned layer's, both without
      zero-skipping (the pruned layer pays for its padding and its relative indices);
    - zero_skipping: the pruned layer without zero-skipping over with it;
    - weight_sharing: energy to fetch the inference's weights if they were stored as
      16-bit values (CSC entries of 16 + 4 bits: 2.5x the matrix words, read from an
      SRAM 2.5x as large) over what it took with 4-bit indices (the words read plus one
      codebook read per entry); the paper's 8x compares 32-bit weights with 4-bit ones;
    - sram_vs_dram: energy per weight bit read from DRAM (`dram_pj_per_bit`, as the model
      load measured it: a pure stream from DRAM) over a bit of the PE's matrix SRAM.
    """
    sim, g = model.sim, model.geometry
    spmat = sim.energy[model.keys["spmat"]]
    wide = costs.sram_access_pj(64, round(2.5 * g.mat_bytes))
    words = eie["matrix_words"]
    shared = words * spmat + eie["entries"] * sim.energy["rf_access_32b"]
    return {
        "sparsity": model.energy_pj(dense) / max(model.energy_pj(noskip), 1e-9),
        "zero_skipping": model.energy_pj(noskip) / max(model.energy_pj(eie), 1e-9),
        "weight_sharing": 2.5 * words * wide / max(shared, 1e-9),
        "sram_vs_dram": dram_pj_per_bit / (spmat / 64),
    }

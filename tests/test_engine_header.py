"""One engine shape: every engine's TLM twin answers the standard register header through
the one generic driver (cosim.accel.stream_engine.EngineRegisters), and that driver
starts, waits for and times an EIE job the same way in the TLM twin and the RTL."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
from test_engine_declarations import DECLARATIONS

import cosim
from cosim.accel import stream_engine as se
from cosim.models import model_info
from cosim.system.host import InterruptLine


def _driver(sim: Any, csr: Any, done: Any = None) -> se.EngineDriver:
    host = sim.initiator("host")
    sim.bind(host, csr)
    line = InterruptLine(sim, done, "done") if done is not None else None
    return se.EngineDriver(
        None, in_beat_bytes=1, out_beat_bytes=1, sockets=(host,) * 3, done_line=line
    )


def idle_header(sim: Any, model: str) -> dict[str, int]:
    twin = sim.model(model, "engine")
    drv = _driver(sim, twin.port("csr"))
    for port in model_info(model).ports:  # the streams, idle
        if port.kind == "tlm_target" and port.name != "csr":
            sim.bind(sim.initiator(f"to_{port.name}"), twin.port(port.name))
    out: dict[str, int] = {}

    @sim.process
    async def main() -> None:
        out["status"] = await drv.read_status()
        out["cycles"] = await drv.read_cycles()
        out["info"] = await drv.read_info()

    sim.run()
    return out


@pytest.mark.parametrize("decl", DECLARATIONS, ids=lambda d: d.kind)
def test_every_twin_answers_the_header(decl: Any) -> None:
    r = cosim.simulate(idle_header, decl.tlm_model).value
    assert r["status"] == 0, "an engine out of reset is neither busy, done nor in error"
    assert r["cycles"] == 0
    assert r["info"] >> 24 == se.VERSION


def eie_job(sim: Any, impl: str) -> dict[str, int]:
    """A job of 40 columns without drain, started, waited for and timed by the generic
    driver on EIE's registers (activations and an empty matrix: every PE idles)."""
    from cosim.accel.eie import format as fmt
    from cosim.accel.eie.engine import REGISTERS, eie_engine

    geo = fmt.EieGeometry(pes=4, fifo_depth=4, act_depth=64, mat_words=256, rows_max=64)
    eng = eie_engine(sim, "eie", impl=impl, geometry=geo)
    drv = _driver(sim, eng.port("csr"), eng.done)
    act = sim.initiator("act")
    sim.bind(act, eng.port("act"))
    for port in ("ld", "out"):
        sim.bind(sim.initiator(port), eng.port(port))
    out: dict[str, int] = {}

    @sim.process
    async def main() -> None:
        acts = np.arange(1, 49, dtype=np.int16)  # three groups of 16, every one nonzero
        await act.write(0, fmt.activation_image(acts))
        for reg, v in (("CONFIG", 1), ("COL_START", 0), ("COL_COUNT", 40), ("ROWS", 8)):
            await drv.write_reg(REGISTERS[reg], v)
        await drv.start()
        out["status"] = await drv.wait_done()
        out["cycles"] = await drv.read_cycles()

    sim.run()
    return out


def test_one_driver_starts_waits_for_and_times_eie_in_every_twin() -> None:
    runs = {impl: cosim.simulate(eie_job, impl, timeout=600).value for impl in ("tlm", "rtl")}
    assert runs["tlm"]["status"] & se.STATUS_DONE and not runs["tlm"]["status"] & se.STATUS_ERROR
    assert runs["tlm"] == runs["rtl"]
    assert runs["rtl"]["cycles"] >= 40  # one broadcast per nonzero activation


class _Payload:
    """The fields of a TLM payload that a numpy twin's register port reads."""

    def __init__(self, address: int, value: int | None = None) -> None:
        self.address, self.length = address, 4
        self.is_write, self.is_read = value is not None, value is None
        self.data = np.frombuffer(int(value or 0).to_bytes(4, "little"), np.uint8).copy()

    def word(self) -> int:
        return int.from_bytes(self.data.tobytes(), "little")


class _CountingTwin(se.FunctionalEngine):
    config_registers: ClassVar[dict[int, str]] = {0x10: "n"}
    counter_registers: ClassVar[dict[str, int]] = {"beats": 0x40, "jobs_seen": 0x44}
    counter_clear_flag: ClassVar[int] = 2

    def info(self) -> int:
        return 0

    def start(self, flags: int) -> None:
        self.counters["jobs_seen"] += 1

    def consume(self, beats: np.ndarray) -> None:
        self.counters["beats"] += len(beats)

    def wanted(self) -> int:
        return 0


class _Done:
    def notify(self) -> None:
        pass


def test_a_twins_counters_read_wrap_and_clear_through_the_base() -> None:
    twin = _CountingTwin("t", 1, 1, _Done())
    assert twin.counters == {"beats": 0, "jobs_seen": 0}
    twin.csr_access(_Payload(se.CTRL, se.CTRL_START))
    twin.end_job()
    twin.counters["beats"] = (1 << 32) + 7  # 32-bit registers wrap
    reads = {a: _Payload(a) for a in (0x40, 0x44, 0x48)}
    for p in reads.values():
        twin.csr_access(p)
    assert [p.word() for p in reads.values()] == [7, 1, 0]  # 0x48: no register
    twin.csr_access(_Payload(se.CTRL, 2))  # the clear flag alone: no new job
    assert twin.counters == {"beats": 0, "jobs_seen": 0} and twin.jobs == 1
    twin.csr_access(_Payload(se.CTRL, 2 | se.CTRL_START))  # cleared, then counted
    assert twin.counters["jobs_seen"] == 1

"""The control shape every accelerator uses (cosim.accel.control): the command window
(registers, buffer, a command while busy, unknown commands, the interrupt and its
latching, polling) and the FIFO between controller processes (an item is not visible
before the time it was put; capacity)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import cosim
from cosim import ns, us
from cosim.accel.control import (
    ARG0,
    BUFFER,
    CMD,
    STATUS,
    STATUS_BUSY,
    STATUS_DONE,
    STATUS_ERROR,
    AcceleratorError,
    CommandWindow,
    Fifo,
)
from cosim.accel.device import AcceleratorDriver
from cosim.errors import TlmError

BASE = 0x5000_0000


def _window(sim: cosim.Simulation, **kw: Any) -> tuple[Any, CommandWindow, list[list[int]]]:
    """A SoC with a command window whose command 1 records its arguments, takes 100 ns
    and returns their sum; command 2 returns at once."""
    soc = cosim.build_soc(sim)
    w = CommandWindow(sim, "acc", clock="1 ns", **kw)
    w.map(soc.fabric, BASE)
    seen: list[list[int]] = []

    @w.command(1, "sum")
    async def add(window: CommandWindow) -> list[int]:
        seen.append(list(window.args[:3]))
        await cosim.delay(ns(100))
        return [sum(window.args[:3])]

    @w.command(2, "nothing")
    async def nothing(window: CommandWindow) -> None:
        return None

    return soc, w, seen


def run_and_latch(sim: cosim.Simulation) -> dict[str, Any]:
    soc, w, seen = _window(sim)
    drv = AcceleratorDriver(soc.host, w)
    out: dict[str, Any] = {}

    @sim.process
    async def host() -> None:
        await drv.start(1, 4, 5, 6)
        # a new argument written while the command runs does not change its arguments
        await soc.host.write32(BASE + ARG0, 100)
        out["busy"] = await soc.host.read32(BASE + STATUS)
        out["result"] = await drv.finish(1, results=1)
        out["arg_after"] = await soc.host.read32(BASE + ARG0)
        # a command that completes long before the host waits: the interrupt is latched
        await drv.start(2)
        await cosim.delay(us(1))
        await drv.finish(2)
        out["status_after"] = await soc.host.read32(BASE + STATUS)

    sim.run()
    out["seen"] = seen
    out["commands"] = w.commands_run
    return out


def test_window_runs_a_command_with_arguments_latched_at_its_start() -> None:
    out = cosim.simulate(run_and_latch).value
    assert out["seen"] == [[4, 5, 6]]
    assert out["result"] == [15]
    assert out["busy"] == STATUS_BUSY
    assert out["arg_after"] == 100
    # the second command completed before the host waited: no interrupt was lost, and
    # the driver acknowledged it (done cleared)
    assert out["commands"] == 2
    assert out["status_after"] == 0


def command_while_busy(sim: cosim.Simulation) -> dict[str, Any]:
    soc, w, seen = _window(sim)
    drv = AcceleratorDriver(soc.host, w)
    out: dict[str, Any] = {}

    @sim.process
    async def host() -> None:
        await drv.start(1, 1, 2, 3)
        await soc.host.write32(BASE + CMD, 2)  # while command 1 runs
        out["status"] = await soc.host.read32(BASE + STATUS)
        try:
            await drv.finish(2)
        except AcceleratorError as e:
            out["error"] = str(e)
        # the running command is not disturbed: it completes with its result
        out["result"] = await drv.finish(1, results=1)
        try:
            await drv.run(77)
        except AcceleratorError as e:
            out["unknown"] = str(e)

    sim.run()
    out["seen"] = seen
    out["commands"] = w.commands_run
    return out


def test_a_command_while_busy_or_unknown_sets_error_and_interrupts() -> None:
    out = cosim.simulate(command_while_busy).value
    assert out["status"] == STATUS_BUSY | STATUS_DONE | STATUS_ERROR
    assert "command 2 failed" in out["error"] and "while busy" in out["error"]
    assert out["result"] == [6]
    assert out["seen"] == [[1, 2, 3]]
    assert out["commands"] == 1
    assert "command 77 failed" in out["unknown"]


def polling(sim: cosim.Simulation) -> dict[str, Any]:
    soc, w, _ = _window(sim)
    drv = AcceleratorDriver(soc.host, w, poll_ops=10)
    out: dict[str, Any] = {}

    @sim.process
    async def host() -> None:
        t0 = cosim.now()
        out["result"] = await drv.run(1, 7, 8, 9, results=1)
        out["elapsed"] = cosim.now() - t0

    sim.run()
    out["irq_enable"] = w._irq_enable
    return out


def test_a_polling_driver_leaves_the_interrupt_disabled() -> None:
    out = cosim.simulate(polling).value
    assert out["result"] == [24]
    assert out["irq_enable"] is False
    assert out["elapsed"] >= ns(100)


def accesses(sim: cosim.Simulation) -> dict[str, Any]:
    soc, w, _ = _window(sim, buffer_bytes=64)
    out: dict[str, Any] = {}
    data = np.arange(64, dtype=np.uint8)

    @sim.process
    async def host() -> None:
        await soc.host.write(BASE + BUFFER, data)
        out["buffer"] = np.asarray(await soc.host.read(BASE + BUFFER + 8, 16)).tolist()
        for address, length in ((BASE + 2, 4), (BASE + ARG0, 8), (BASE + STATUS, 2)):
            try:
                await soc.host.write(address, np.zeros(length, np.uint8))
            except TlmError as e:
                out.setdefault("errors", []).append(str(e))

    sim.run()
    out["window"] = w.buffer.tolist()
    return out


def test_window_buffer_and_access_errors() -> None:
    out = cosim.simulate(accesses).value
    assert out["buffer"] == list(range(8, 24))
    assert out["window"] == list(range(64))
    assert len(out["errors"]) == 3
    for msg in out["errors"]:
        assert "command window 'acc'" in msg and "aligned 4-byte" in msg
        assert "buffer [0x100, 0x13f]" in msg


def odd_buffer(sim: cosim.Simulation) -> None:
    CommandWindow(sim, "w", buffer_bytes=6)


def test_window_parameters_are_checked() -> None:
    with pytest.raises(cosim.ParameterError, match="buffer_bytes = 6"):
        cosim.simulate(odd_buffer)


# ---------------------------------------------------------------------- the FIFO


def fifo_visibility(sim: cosim.Simulation) -> dict[str, int]:
    sim.quantum = us(1)
    fifo = Fifo(sim, "q", capacity=4)
    out: dict[str, int] = {}

    @sim.process
    async def producer() -> None:
        await cosim.delay(ns(300))  # runs ahead: local time 300 ns, kernel time 0
        await fifo.put("item")

    @sim.process
    async def consumer() -> None:
        await cosim.delay(ns(100))
        await cosim.sync()  # kernel time 100 ns; the item is queued, stamped 300 ns
        out["queued"] = len(fifo)
        out["asked"] = cosim.now()
        await fifo.get()
        out["got"] = cosim.now()

    sim.run()
    return out


def test_fifo_item_is_not_visible_before_the_time_it_was_put() -> None:
    out = cosim.simulate(fifo_visibility).value
    assert out == {"queued": 1, "asked": ns(100), "got": ns(300)}


def fifo_capacity(sim: cosim.Simulation) -> list[tuple[str, int, int]]:
    fifo = Fifo(sim, "q", capacity=8, size=len)
    log: list[tuple[str, int, int]] = []

    @sim.process
    async def producer() -> None:
        for item in (b"aaaa", b"bbbb", b"c" * 20):  # the last is larger than the FIFO
            await fifo.put(item)
            log.append(("put", len(item), cosim.now()))

    @sim.process
    async def consumer() -> None:
        for _ in range(3):
            await cosim.delay(ns(10))
            item = await fifo.get()
            log.append(("get", len(item), cosim.now()))

    sim.run()
    return log


def test_fifo_put_waits_for_room_and_takes_an_oversized_item_when_empty() -> None:
    log = cosim.simulate(fifo_capacity).value
    assert log == [
        ("put", 4, 0),
        ("put", 4, 0),
        ("get", 4, ns(10)),
        ("get", 4, ns(20)),
        ("put", 20, ns(20)),  # waited until the FIFO was empty
        ("get", 20, ns(30)),
    ]


def empty_fifo(sim: cosim.Simulation) -> None:
    Fifo(sim, "q", capacity=0)


def test_fifo_capacity_is_checked() -> None:
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        cosim.simulate(empty_fifo)

"""TLM-2.0 from Python: sockets, generic payloads with zero-copy numpy data, byte
enables, error responses, Python targets, DMI and address-mapped routing."""

from __future__ import annotations

import numpy as np
import pytest

import cosim
from cosim import Command, Payload, Response, TlmError, ns

# ---------------------------------------------------------------- simulation bodies


def read_write_roundtrip(sim: cosim.Simulation) -> dict[str, object]:
    mem = sim.model("memory", "mem", size=4096, read_latency=ns(7), write_latency=ns(3))
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)
    out: dict[str, object] = {}

    @sim.process
    async def p() -> None:
        data = np.arange(32, dtype=np.uint8)
        await cpu.write(0x100, data)
        out["t_write"] = cosim.now()
        got = await cpu.read(0x100, 32)
        out["t_read"] = cosim.now()
        out["read"] = got.tolist()
        out["dtype"] = str(got.dtype)
        buf = np.zeros(4, dtype=np.uint32)
        await cpu.read_into(0x100, buf)  # any writable buffer: 16 bytes as uint32
        out["words"] = buf.tolist()
        await cpu.write(0x200, b"\xef\xbe\xad\xde")
        out["bytes_write"] = (await cpu.read(0x200, 4)).view(np.uint32)[0]

    sim.run()
    out["backdoor"] = mem.array()[0x100:0x104].tolist()
    return out


def payload_transport(sim: cosim.Simulation) -> dict[str, object]:
    mem = sim.model("memory", "mem", size=256, fill=0x11)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)
    out: dict[str, object] = {}

    @sim.process
    async def p() -> None:
        w = Payload(
            Command.WRITE,
            0x10,
            data=np.arange(8, dtype=np.uint8),
            byte_enable=[1, 0, 1, 0, 1, 0, 1, 0],
        )
        await cpu.transport(w)
        out["write_ok"] = (w.ok, w.response)
        r = Payload(Command.READ, 0x10, length=8)
        view = r.data  # zero-copy: filled in place by the transport
        await cpu.transport(r)
        out["read"] = view.tolist()
        # streaming width 2: four beats over the same two addresses
        s = Payload(
            Command.WRITE,
            0x40,
            data=np.array([1, 2, 3, 4, 5, 6, 7, 8], np.uint8),
            streaming_width=2,
        )
        await cpu.transport(s)
        out["stream"] = (await cpu.read(0x40, 4)).tolist()
        bad = Payload(Command.READ, 0x1000, length=4)
        await cpu.transport(bad, check=False)
        out["unchecked"] = (bad.response, bad.ok, bad.error_target, bad.error_message)

    sim.run()
    return out


def error_response(sim: cosim.Simulation, addr: int, n: int) -> None:
    mem = sim.model("memory", "mem", size=1024)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)

    @sim.process
    async def p() -> None:
        await cpu.read(addr, n)

    sim.run()


def error_caught_in_process(sim: cosim.Simulation) -> dict[str, object]:
    mem = sim.model("memory", "mem", size=1024)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)
    out: dict[str, object] = {}

    @sim.process
    async def p() -> None:
        try:
            await cpu.write(0x3FE, b"abcd")
        except TlmError as e:
            out.update(
                address=e.address,
                length=e.length,
                command=e.command,
                status=e.status,
                target=e.target,
                initiator=e.initiator,
                t=cosim.now(),
            )
        await cpu.write(0x3FC, b"abcd")  # the process goes on after handling it
        out["after"] = (await cpu.read(0x3FC, 4)).tobytes()

    sim.run()
    out["errors"] = sim.stats["cpu.errors"]
    out["mem_errors"] = sim.stats["mem.errors"]
    return out


class Registers:
    """A Python target: four 32-bit registers, 5 ns per access, register 3 read-only."""

    def __init__(self) -> None:
        self.regs = np.zeros(4, dtype=np.uint32)
        self.log: list[tuple[str, int, int]] = []

    def b_transport(self, p: Payload, delay: int) -> int:
        idx = p.address // 4
        if p.address % 4 or p.length != 4 or idx >= 4:
            p.set_error(Response.ADDRESS_ERROR, f"no register at {p.address:#x}")
            return delay
        if p.is_write:
            if idx == 3:
                p.set_error(Response.COMMAND_ERROR, "register 3 is read-only")
                return delay
            self.regs[idx] = p.data.view(np.uint32)[0]
        else:
            p.data.view(np.uint32)[0] = self.regs[idx]
        self.log.append(("w" if p.is_write else "r", p.address, delay))
        p.set_ok()
        return delay + ns(5)


def python_target(sim: cosim.Simulation) -> dict[str, object]:
    regs = Registers()
    tgt = sim.target("regs", regs)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, tgt)
    out: dict[str, object] = {}

    @sim.process
    async def p() -> None:
        await cpu.write(0x4, np.array([0xCAFE], np.uint32))
        out["t"] = cosim.now()
        out["r1"] = int((await cpu.read(0x4, 4)).view(np.uint32)[0])
        for addr, data in ((0x3, b"abcd"), (0xC, b"abcd")):
            try:
                await cpu.write(addr, data)
            except TlmError as e:
                out.setdefault("errors", []).append(str(e))

    sim.run()
    out["log"] = regs.log
    out["regs"] = regs.regs.tolist()
    out["transactions"] = sim.stats["regs.transactions"]
    return out


class Forgetful:
    def b_transport(self, p: Payload, delay: int) -> int:
        return delay  # never sets a response status


class Raising:
    def b_transport(self, p: Payload, delay: int) -> int:
        raise RuntimeError(f"target broke on {p.address:#x}")


class BadReturn:
    def b_transport(self, p: Payload, delay: int) -> str:
        p.set_ok()
        return "10 ns"


class Keeper:
    """Keeps the payload past b_transport, which TLM forbids."""

    kept: Payload | None = None

    def b_transport(self, p: Payload, delay: int) -> int:
        Keeper.kept = p
        p.set_ok()
        return delay


def misbehaving_target(sim: cosim.Simulation, impl_name: str) -> object:
    impl = {"forgetful": Forgetful, "raising": Raising, "bad_return": BadReturn, "keeper": Keeper}[
        impl_name
    ]()
    tgt = sim.target("t", impl)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, tgt)

    @sim.process
    async def p() -> object:
        await cpu.write(0x40, b"xy")
        if impl_name == "keeper":
            assert Keeper.kept is not None
            try:
                return Keeper.kept.address
            except cosim.SimulationError as e:
                return str(e)
        return None

    sim.run()
    return p.result


def dmi_access(sim: cosim.Simulation) -> dict[str, object]:
    mem = sim.model("memory", "mem", size=1 << 16, read_latency=ns(10), write_latency=ns(10))
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)
    out: dict[str, object] = {}

    @sim.process
    async def p() -> None:
        region = cpu.dmi(0x100)
        out["region"] = (
            region.start,
            region.end,
            region.readable,
            region.writable,
            region.read_latency,
        )
        region.data[0x100:0x104] = [1, 2, 3, 4]  # direct: no time, no transaction
        out["via_bus"] = (await cpu.read(0x100, 4)).tolist()
        cpu.use_dmi = True
        t0 = cosim.now()
        for i in range(10):
            await cpu.write(0x200 + i, bytes([i]))
        out["dmi_time"] = cosim.now() - t0
        out["dmi_contents"] = region.data[0x200:0x20A].tolist()

    sim.run()
    out["cpu_dmi_accesses"] = sim.stats["cpu.dmi_accesses"]
    out["mem_writes"] = sim.stats["mem.writes"]
    return out


class DmiTarget:
    """A Python target that grants DMI over its own buffer and can revoke it."""

    def __init__(self) -> None:
        self.buf = np.zeros(64, dtype=np.uint8)

    def b_transport(self, p: Payload, delay: int) -> int:
        a = p.address
        if p.is_read:
            p.data[:] = self.buf[a : a + p.length]
        else:
            self.buf[a : a + p.length] = p.data
        p.dmi_allowed = True
        p.set_ok()
        return delay + ns(2)

    def get_dmi(self, address: int, is_write: bool) -> cosim.Dmi:
        return cosim.Dmi(self.buf, 0, 63, read_latency=ns(1), write_latency=ns(1))


def python_dmi_and_invalidate(sim: cosim.Simulation) -> dict[str, object]:
    impl = DmiTarget()
    tgt = sim.target("t", impl)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, tgt)
    cpu.use_dmi = True
    out: dict[str, object] = {}

    @sim.process
    async def p() -> None:
        await cpu.write(0, b"\x01")  # b_transport, grants DMI
        await cpu.write(1, b"\x02")  # through DMI
        out["dmi_after_grant"] = sim.stats["cpu.dmi_accesses"]
        tgt.invalidate_dmi(0, 63)
        await cpu.write(2, b"\x03")  # back through b_transport, DMI granted again
        await cpu.write(3, b"\x04")
        out["dmi_total"] = sim.stats["cpu.dmi_accesses"]
        out["t"] = cosim.now()

    sim.run()
    out["buf"] = impl.buf[:4].tolist()
    out["b_transport_calls"] = sim.stats["t.transactions"]
    return out


def routed_system(sim: cosim.Simulation) -> dict[str, object]:
    bus = sim.model("router", "bus", latency=ns(1))
    rom = sim.model("memory", "rom", size=0x1000, fill=0xAA)
    ram = sim.model("memory", "ram", size=0x1000)
    regs_impl = Registers()
    regs = sim.target("regs", regs_impl)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, bus)
    bus.map(rom.port("target"), 0x0, 0x1000)
    bus.map(ram.port("target"), 0x8000_0000, 0x1000)
    bus.map(regs.port("socket"), 0x4000_0000, 0x10)
    out: dict[str, object] = {"map": bus.address_map}

    @sim.process
    async def p() -> None:
        await cpu.write(0x8000_0010, b"hello")
        out["ram"] = (await cpu.read(0x8000_0010, 5)).tobytes()
        out["rom"] = (await cpu.read(0x20, 2)).tolist()
        await cpu.write(0x4000_0008, np.array([77], np.uint32))
        out["t"] = cosim.now()
        errors = []
        for addr, n in ((0x2000_0000, 4), (0x8000_0FFE, 4)):
            try:
                await cpu.read(addr, n)
            except TlmError as e:
                errors.append((e.status, e.target, str(e)))
        out["errors"] = errors
        region = cpu.dmi(0x8000_0000)
        out["dmi"] = (region.start, region.end, region.read_latency)
        out["dmi_bytes"] = region.data[0x10:0x15].tobytes()

    sim.run()
    out["ram_offset"] = ram.array()[0x10:0x15].tobytes()  # translated: the target saw 0x10
    out["regs"] = regs_impl.regs.tolist()
    out["routed"] = sim.stats["bus.transactions"]
    out["unmapped"] = sim.stats["bus.unmapped"]
    return out


def router_overlap(sim: cosim.Simulation) -> None:
    bus = sim.model("router", "bus")
    a = sim.model("memory", "a")
    b = sim.model("memory", "b")
    bus.map(a.port("target"), 0x1000, 0x1000)
    bus.map(b.port("target"), 0x1800, 0x1000)


def router_target_without_range(sim: cosim.Simulation) -> None:
    bus = sim.model("router", "bus")
    a = sim.model("memory", "a")
    cpu = sim.initiator("cpu")
    sim.bind(cpu, bus)
    sim.bind(bus.port("initiator"), a.port("target"))
    sim.run()


def debug_access(sim: cosim.Simulation) -> dict[str, object]:
    mem = sim.model("memory", "mem", size=64)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)
    out: dict[str, object] = {}
    try:
        cpu.debug_read(0, 4)
    except cosim.SimulationError as e:
        out["before"] = str(e)

    @sim.process
    async def p() -> None:
        t0 = cosim.now()
        out["written"] = cpu.debug_write(8, b"dbg!")
        data, n = cpu.debug_read(6, 8)
        out["read"] = (data.tobytes(), n)
        out["past_end"] = cpu.debug_read(60, 8)[1]
        out["time_passed"] = cosim.now() - t0
        await cosim.delay(1)

    sim.run()
    out["mem_reads"] = sim.stats["mem.reads"]
    return out


def socket_argument_errors(sim: cosim.Simulation) -> list[str]:
    mem = sim.model("memory", "mem")
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)
    msgs = []
    for call in (
        lambda: cpu.read(0, 0),
        lambda: cpu.write(0, b""),
        lambda: cpu.write(0, [1, 2, 3]),
        lambda: cpu.read_into(0, b"immutable"),
        lambda: cpu.transport("payload"),
        lambda: Payload(Command.READ, 0),
        lambda: Payload(Command.WRITE, 0, data=b"ab", length=3),
        lambda: Payload(Command.WRITE, 0, data=b"ab", streaming_width=0),
    ):
        try:
            call()
            msgs.append("no error")
        except (TypeError, ValueError) as e:
            msgs.append(str(e))
    return msgs


# ------------------------------------------------------------------------- the tests


def test_read_write_roundtrip_with_latency() -> None:
    out = cosim.simulate(read_write_roundtrip).value
    assert out["t_write"] == ns(3) and out["t_read"] == ns(10)
    assert out["read"] == list(range(32)) and out["dtype"] == "uint8"
    assert out["words"] == np.arange(16, dtype=np.uint8).view(np.uint32).tolist()
    assert out["bytes_write"] == 0xDEADBEEF
    assert out["backdoor"] == [0, 1, 2, 3]


def test_payload_byte_enables_streaming_and_unchecked_errors() -> None:
    out = cosim.simulate(payload_transport).value
    assert out["write_ok"] == (True, Response.OK)
    assert out["read"] == [0, 0x11, 2, 0x11, 4, 0x11, 6, 0x11]
    assert out["stream"] == [7, 8, 0x11, 0x11]  # the last beat wins
    status, ok, target, message = out["unchecked"]
    assert status == Response.ADDRESS_ERROR and not ok
    assert target == "mem" and "outside the memory [0x0, 0xff]" in message


@pytest.mark.parametrize(("addr", "n"), [(0x400, 4), (0x3FF, 2), (2**40, 1)])
def test_error_response_raises_naming_address_and_target(addr: int, n: int) -> None:
    with pytest.raises(TlmError) as info:
        cosim.simulate(error_response, addr, n)
    e = info.value
    assert e.address == addr and e.length == n and e.status == "ADDRESS_ERROR"
    assert e.target == "mem" and e.initiator == "cpu"
    assert (
        f"read of {n} B at {addr:#x} from 'cpu' failed: ADDRESS_ERROR response from 'mem'" in str(e)
    )
    assert "await cpu.read(addr, n)" in str(e.__cause__)  # the user's await line


def test_error_can_be_handled_by_the_process() -> None:
    out = cosim.simulate(error_caught_in_process).value
    assert out["address"] == 0x3FE and out["length"] == 4 and out["command"] == "write"
    assert out["target"] == "mem" and out["initiator"] == "cpu"
    assert out["after"] == b"abcd"
    assert out["errors"] == 1 and out["mem_errors"] == 1


def test_python_target_with_annotated_delay_and_error_messages() -> None:
    out = cosim.simulate(python_target).value
    assert out["t"] == ns(5)
    assert out["r1"] == 0xCAFE
    assert out["log"] == [("w", 4, 0), ("r", 4, 0)]
    assert out["regs"] == [0, 0xCAFE, 0, 0]
    assert "ADDRESS_ERROR response from 'regs': no register at 0x3" in out["errors"][0]
    assert "COMMAND_ERROR response from 'regs': register 3 is read-only" in out["errors"][1]
    assert out["transactions"] == 4


def test_target_that_leaves_response_incomplete_is_an_error() -> None:
    with pytest.raises(TlmError, match="left the response status INCOMPLETE") as info:
        cosim.simulate(misbehaving_target, "forgetful")
    assert info.value.target == "t"


def test_exception_in_python_target_aborts_with_its_traceback() -> None:
    with pytest.raises(RuntimeError, match="target broke on 0x40") as info:
        cosim.simulate(misbehaving_target, "raising")
    assert "in Python target 't' (write at 0x40" in "".join(info.value.__notes__)
    assert "raise RuntimeError" in str(info.value.__cause__)


def test_python_target_bad_return_value() -> None:
    with pytest.raises(TypeError, match="must return the new delay in ps"):
        cosim.simulate(misbehaving_target, "bad_return")


def test_payload_kept_past_b_transport_cannot_be_used() -> None:
    msg = cosim.simulate(misbehaving_target, "keeper").value
    assert "may not be used after that call returned" in msg


def test_dmi_from_cpp_memory() -> None:
    out = cosim.simulate(dmi_access).value
    assert out["region"] == (0, 0xFFFF, True, True, ns(10))
    assert out["via_bus"] == [1, 2, 3, 4]
    assert out["dmi_time"] == 10 * ns(10)  # DMI accesses still cost the granted latency
    assert out["dmi_contents"] == list(range(10))
    assert out["cpu_dmi_accesses"] == 9  # the first write went by b_transport and got DMI
    assert out["mem_writes"] == 1


def test_dmi_granted_by_python_target_and_invalidated() -> None:
    out = cosim.simulate(python_dmi_and_invalidate).value
    assert out["dmi_after_grant"] == 1
    assert out["dmi_total"] == 2
    assert out["b_transport_calls"] == 2
    assert out["buf"] == [1, 2, 3, 4]
    assert out["t"] == ns(2) + ns(1) + ns(2) + ns(1)


def test_router_routes_translates_and_reports_unmapped_addresses() -> None:
    out = cosim.simulate(routed_system).value
    assert out["ram"] == b"hello" and out["ram_offset"] == b"hello"
    assert out["rom"] == [0xAA, 0xAA]
    assert out["regs"] == [0, 0, 77, 0]
    assert out["t"] == 3 * (ns(10) + ns(1)) + ns(5) + ns(1)
    (s1, t1, m1), (s2, t2, m2) = out["errors"]
    assert s1 == "ADDRESS_ERROR" and t1 == "bus"
    assert "no target is mapped at 0x20000000" in m1 and "ram.target [0x80000000, 0x80000fff]" in m1
    assert s2 == "ADDRESS_ERROR" and t2 == "bus" and "crosses the end of 'ram.target'" in m2
    assert out["dmi"] == (0x8000_0000, 0x8000_0FFF, ns(10) + ns(1))
    assert out["dmi_bytes"] == b"hello"
    assert out["routed"] == 4 and out["unmapped"] == 2
    assert ("ram.target", 0x8000_0000, 0x1000, True) in out["map"]


def test_router_rejects_overlapping_ranges() -> None:
    with pytest.raises(cosim.BindingError) as info:
        cosim.simulate(router_overlap)
    msg = str(info.value)
    assert (
        "[0x1800, 0x27ff] for 'b.target' overlaps [0x1000, 0x1fff] already mapped to 'a.target'"
        in msg
    )


def test_router_target_bound_without_range_is_reported_before_running() -> None:
    with pytest.raises(cosim.SimulationError, match="without an address range"):
        cosim.simulate(router_target_without_range)


def test_debug_access_is_untimed_and_invisible_to_stats() -> None:
    out = cosim.simulate(debug_access).value
    assert "once the simulation has started" in out["before"]
    assert out["written"] == 4
    assert out["read"] == (b"\x00\x00dbg!\x00\x00", 8)
    assert out["past_end"] == 4
    assert out["time_passed"] == 0
    assert out["mem_reads"] == 0


def test_socket_argument_errors() -> None:
    msgs = cosim.simulate(socket_argument_errors).value
    assert "between 1 and 2**32-1" in msgs[0]
    assert "write data is empty" in msgs[1]
    assert "write data must be a contiguous bytes-like object" in msgs[2] and "list" in msgs[2]
    assert "read_into buffer must be a writable" in msgs[3]
    assert "transport() takes a cosim.Payload" in msgs[4]
    assert "Payload needs `data` or `length`" in msgs[5]
    assert "length disagrees" in msgs[6]
    assert "streaming_width must be >= 1" in msgs[7]

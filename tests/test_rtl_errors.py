"""Bad inputs to RTL blocks and bridges give errors that name the thing at fault."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import cosim
from cosim import rtl


def u32(v: int) -> np.ndarray:
    return np.frombuffer(struct.pack("<I", v), dtype=np.uint8).copy()


@pytest.fixture(scope="module")
def sa_lib():
    return rtl.build("systolic_array", {"ROWS": 4, "COLS": 4})


@pytest.fixture(scope="module")
def add_lib():
    return rtl.build("stream_add", {"WIDTH": 100, "INC": 3, "STALL_MASK": 5})


# ------------------------------------------------------- declaring bridges
def declare(sim, lib, what):
    blk = rtl.block(sim, "sa", lib, busy="busy")
    if what == "misspelled_pin":
        blk.stream_in("in", valid="in_vald")
    elif what == "default_pin_missing":
        blk.stream_in("operands")
    elif what == "width_mismatch":
        blk.stream_in("in", width=32)
    elif what == "valid_too_wide":
        blk.stream_in("in", valid="in_data")
    elif what == "wrong_direction":
        blk.stream_out("in", valid="in_valid", ready="in_ready", data="in_data")
    elif what == "rdata_width":
        blk.register_port("csr", rdata="out_data")
    elif what == "pin_driven_twice":
        blk.stream_in("in")
        blk.stream_in("again", valid="in_valid", ready="in_ready", data="in_data")
    elif what == "duplicate_bridge":
        blk.stream_in("in")
        blk.interrupt("in", pin="done")
    elif what == "after_start":
        sim.run(until=10_000)
        blk.stream_in("in")
    elif what == "bad_clock_pin":
        rtl.block(sim, "sa2", lib, clock_pin="clock")
    elif what == "waves_suffix":
        rtl.block(sim, "sa3", lib, waves="sa.png")


DECLARATION_ERRORS = [
    (
        "misspelled_pin",
        cosim.BindingError,
        r"no pin 'in_vald' for the valid; did you mean 'in_valid'",
    ),
    ("default_pin_missing", cosim.BindingError, r"bridge 'operands'.*no pin 'operands_valid'"),
    (
        "width_mismatch",
        cosim.BindingError,
        r"'in_data' \(data\) is 64 bits wide; the data must be 32",
    ),
    (
        "valid_too_wide",
        cosim.BindingError,
        r"'in_data' \(valid\) is 64 bits wide; the valid must be 1 ",
    ),
    (
        "wrong_direction",
        cosim.BindingError,
        r"'in_valid' \(valid\) is an input; the valid must be an out",
    ),
    ("rdata_width", cosim.BindingError, r"'out_data' \(rdata \(as wide as wdata\)\) is 128 bits"),
    ("pin_driven_twice", cosim.BindingError, r"pin 'in_valid' is already driven by bridge 'in'"),
    ("duplicate_bridge", cosim.BindingError, r"already has a bridge named 'in'"),
    ("after_start", cosim.BindingError, r"after the simulation has started"),
    ("bad_clock_pin", cosim.BindingError, r"no pin 'clock' for the clock; did you mean 'clk'"),
    ("waves_suffix", ValueError, r"\.fst or \.vcd"),
]


@pytest.mark.parametrize(("what", "error", "pattern"), DECLARATION_ERRORS)
def test_bridge_declaration_errors(sa_lib, what, error, pattern):
    with pytest.raises(error, match=pattern):
        cosim.simulate(declare, sa_lib, what)


def test_stream_width_must_match_the_pin(add_lib):
    """The stream's declared beat width is checked against the pin (100 bits here)."""
    with pytest.raises(
        cosim.BindingError, match=r"pin 'in_data' \(data\) is 100 bits wide; the data must be 64"
    ):
        cosim.simulate(declare_width, add_lib, 64)
    assert cosim.simulate(declare_width, add_lib, 100).value == "in"


def declare_width(sim, lib, width):
    blk = rtl.block(sim, "dut", lib, busy="busy")
    return blk.stream_in("in", width=width).name


# ------------------------------------------------------------ stuck RTL
def never_started(sim, lib):
    """Operands sent to an array that was never started: in_ready never rises."""
    blk = rtl.block(sim, "sa", lib, busy="busy", cycle_budget=300)
    host = sim.initiator("host")
    sim.bind(host, blk.stream_in("in"))

    @sim.process
    async def send():
        await host.write(0, np.zeros(8 * 3, dtype=np.uint8))

    sim.run()


def test_ready_never_asserted(sa_lib):
    with pytest.raises(cosim.SimulationError) as e:
        cosim.simulate(never_started, sa_lib)
    msg = str(e.value)
    assert "rtl block 'sa' (systolic_array)" in msg
    assert "pin 'in_ready' was not asserted for 300 cycles (cycles 5 to 305" in msg
    assert "stream bridge 'in' offered a beat (beat 1 of 3)" in msg


def starved(sim, lib):
    """A job of depth 4 that gets only 2 operand beats: done never rises."""
    blk = rtl.block(sim, "sa", lib, busy="busy")
    csr, data_in = blk.register_port("csr"), blk.stream_in("in")
    done = blk.interrupt("done", timeout_cycles=500)
    host = sim.initiator("host")
    feeder = sim.initiator("feeder")
    sim.bind(host, csr)
    sim.bind(feeder, data_in)

    @sim.process
    async def run_job():
        await host.write(0x08, u32(4))
        await host.write(0x00, u32(1))
        await feeder.write(0, np.zeros(8 * 2, dtype=np.uint8))
        await done

    sim.run()


def test_done_never_asserted(sa_lib):
    with pytest.raises(cosim.SimulationError) as e:
        cosim.simulate(starved, sa_lib)
    msg = str(e.value)
    assert "rtl block 'sa' (systolic_array)" in msg
    assert "pin 'done' (interrupt 'done') was not asserted within 500 cycles" in msg
    assert "after the busy pin rose at cycle" in msg
    assert "now cycle" in msg


def reader_waits(sim, lib):
    """A read of results from an idle array: out_valid never rises."""
    blk = rtl.block(sim, "sa", lib, busy="busy", cycle_budget=200)
    host = sim.initiator("host")
    sim.bind(host, blk.stream_out("out"))

    @sim.process
    async def read():
        await host.read(0, 16)

    sim.run()


def test_valid_never_asserted(sa_lib):
    with pytest.raises(
        cosim.SimulationError, match=r"pin 'out_valid' was not asserted for 200 cycles"
    ):
        cosim.simulate(reader_waits, sa_lib)


# ------------------------------------------------------ bad transactions
def bad_stream_length(sim, lib):
    blk = rtl.block(sim, "dut", lib, busy="busy")
    host = sim.initiator("host")
    sim.bind(host, blk.stream_in("in"))

    @sim.process
    async def send():
        await host.write(0, np.zeros(20, dtype=np.uint8))

    sim.run()


def test_stream_length_must_be_whole_beats(add_lib):
    with pytest.raises(
        cosim.TlmError, match=r"length 20 B is not a multiple of the 13-byte beat of pin 'in_data'"
    ):
        cosim.simulate(bad_stream_length, add_lib)


def bad_register_access(sim, lib, kind):
    blk = rtl.block(sim, "sa", lib, busy="busy")
    host = sim.initiator("host")
    sim.bind(host, blk.register_port("csr"))

    @sim.process
    async def access():
        if kind == "size":
            await host.write(0x08, np.zeros(8, dtype=np.uint8))
        else:
            await host.read(0x100, 4)

    sim.run()


def test_register_access_errors(sa_lib):
    with pytest.raises(
        cosim.TlmError, match=r"takes 4-byte accesses \(pin 'csr_wdata' is 32 bits\), got 8"
    ):
        cosim.simulate(bad_register_access, sa_lib, "size")
    with pytest.raises(
        cosim.TlmError, match=r"address 0x100 does not fit the 8-bit address pin 'csr_addr'"
    ):
        cosim.simulate(bad_register_access, sa_lib, "address")


def memory_error(sim, lib):
    blk = rtl.block(sim, "vadd", lib, busy="busy")
    ram = sim.model("memory", "ram", size=4096)
    sim.bind(blk.memory_master("mem"), ram)
    host = sim.initiator("host")
    sim.bind(host, blk.register_port("csr"))

    @sim.process
    async def go():
        await host.write(0x08, u32(0x10_0000))  # SRC_A outside the 4 KiB memory
        await host.write(0x14, u32(1))
        await host.write(0x00, u32(1))

    sim.run()


def test_memory_error_names_access_and_target():
    lib = rtl.build("mem_vadd", {"DATA_W": 64})
    with pytest.raises(cosim.SimulationError) as e:
        cosim.simulate(memory_error, lib)
    msg = str(e.value)
    assert "memory bridge 'mem': read of 8 B at 0x" in msg and "ADDRESS_ERROR from 'ram'" in msg


class CallbackBug(Exception):
    pass


def raising_callback(sim, lib):
    blk = rtl.block(sim, "dut", lib, busy="busy")

    def every_cycle(cycle, pins):
        if cycle == 10:
            raise CallbackBug(f"bug at cycle {cycle}")
        pins["in_valid"] = 0

    blk.on_cycle_slow(every_cycle)
    sim.run()


def test_slow_callback_exception_propagates(add_lib):
    with pytest.raises(CallbackBug, match="bug at cycle 10") as e:
        cosim.simulate(raising_callback, add_lib)
    assert any(
        "slow per-cycle Python callback before edge 10" in n
        for n in getattr(e.value, "__notes__", [])
    )


def callback_drives_bridge_pin(sim, lib):
    blk = rtl.block(sim, "dut", lib, busy="busy")
    sim.bind(sim.initiator("host"), blk.stream_in("in"))

    def every_cycle(cycle, pins):
        pins["in_valid"] = 1

    blk.on_cycle_slow(every_cycle)
    sim.run()


def test_slow_callback_may_not_drive_bridge_pins(add_lib):
    with pytest.raises(
        ValueError,
        match=r"pin 'in_valid' of rtl block 'dut' \(stream_add\) is driven by bridge 'in'",
    ):
        cosim.simulate(callback_drives_bridge_pin, add_lib)


def not_a_build(sim):
    rtl.block(sim, "x", "libfoo.so")


def test_block_needs_a_build():
    with pytest.raises(TypeError, match=r"must come from cosim.rtl.build"):
        cosim.simulate(not_a_build)

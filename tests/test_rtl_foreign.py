"""Bringing your own RTL: a block written elsewhere (tests/rtl/os_array.sv: multi-pin
operand beats, results without ready, no busy pin) goes into a system with no wrapper,
its host waits for the interrupt before reading, and its cycles equal a plain C++
harness's. Also: time is never bent silently (a parked block with an awaited interrupt
keeps running), captured outputs, the handshake check, undriven inputs and pin hints."""

from __future__ import annotations

import json
import os
import shlex
import struct
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

import cosim
from cosim import rtl
from cosim.rtl import cache
from cosim.rtl import verilator as vl
from cosim.rtl.builder import EXTRA_FLAGS_ENV

FIXTURES = Path(__file__).resolve().parent / "rtl"
NS = 1000
N = 4  # os_array is N x N
LAT = 3


def os_lib() -> rtl.RtlBuild:
    return rtl.build("os_array", {"N": N, "LAT": LAT}, search_path=[FIXTURES])


def early_lib(hold: bool = True) -> rtl.RtlBuild:
    return rtl.build("early_results", {"HOLD": hold}, search_path=[FIXTURES])


def tiles_of(n_tiles: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A (tiles, N, K) and B (tiles, K, N) int8 operands."""
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, (n_tiles, N, k), dtype=np.int8)
    b = rng.integers(-128, 128, (n_tiles, k, N), dtype=np.int8)
    return a, b


def packed_beats(a: np.ndarray, b: np.ndarray, order: tuple[str, ...]) -> np.ndarray:
    """The operand beats of one tile as one payload: pins in `order` packed least
    significant first into ceil(bits/8) bytes per beat (a_vec, b_vec: 8N bits; in_last: 1)."""
    k = a.shape[1]
    widths = {"a_vec": 8 * N, "b_vec": 8 * N, "in_last": 1}
    nbytes = (sum(widths[p] for p in order) + 7) // 8
    out = bytearray()
    for i in range(k):
        fields = {
            "a_vec": int.from_bytes(a[:, i].tobytes(), "little"),
            "b_vec": int.from_bytes(b[i, :].tobytes(), "little"),
            "in_last": int(i == k - 1),
        }
        v, shift = 0, 0
        for p in order:
            v |= fields[p] << shift
            shift += widths[p]
        out += v.to_bytes(nbytes, "little")
    return np.frombuffer(bytes(out), dtype=np.uint8).copy()


def golden(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.stack(
        [t_a.astype(np.int64) @ t_b.astype(np.int64) for t_a, t_b in zip(a, b, strict=True)]
    ).astype(np.int32)


@pytest.mark.parametrize(
    ("top", "params"),
    [
        ("os_array", {"N": 4, "LAT": 3}),
        ("os_array", {"N": 1, "LAT": 1}),
        ("early_results", {"HOLD": 1}),
        ("early_results", {"HOLD": 0}),
    ],
)
def test_fixtures_are_lint_clean(top, params):
    args = [f"-G{k}={v}" for k, v in params.items()]
    r = subprocess.run(
        [str(vl.executable()), "--lint-only", "-Wall", *args, str(FIXTURES / f"{top}.sv")],
        env=vl.environment(),
        cwd=FIXTURES,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr


# ----------------------------------------------------------- the plain harness
def plain_harness(lib: rtl.RtlBuild, a: np.ndarray, b: np.ndarray, tmp: Path) -> dict:
    """tests/rtl/os_array_harness.cpp, compiled against the build's own objects."""
    src = FIXTURES / "os_array_harness.cpp"
    key = cache.digest(["os_array_harness", cache.file_digest(src), lib.key])
    exe = cache.cache_root() / "bench" / f"os_array_harness-{key[:16]}"
    if not exe.exists():
        exe.parent.mkdir(parents=True, exist_ok=True)
        tmp_exe = exe.with_name(f"{exe.name}.tmp{id(tmp)}")
        cmd = [
            "c++",
            "-std=c++17",
            "-O1",
            *(f"-I{d}" for d in lib.include_dirs),
            str(src),
            *map(str, lib.object_paths),
            *lib.link_libs,
            # the sanitizers' run-time when the objects were built with it (make sanitize)
            *shlex.split(os.environ.get(EXTRA_FLAGS_ENV, "")),
            "-o",
            str(tmp_exe),
        ]
        subprocess.run(cmd, check=True, capture_output=True)
        tmp_exe.rename(exe)
    tiles, _, k = a.shape
    stim = bytearray(struct.pack("<3I", N, tiles, k))
    for t in range(tiles):
        for i in range(k):
            stim += a[t, :, i].tobytes() + b[t, i, :].tobytes()
    (tmp / "stim.bin").write_bytes(bytes(stim))
    r = subprocess.run(
        [str(exe), str(tmp / "stim.bin"), str(tmp / "rows.bin")],
        check=True,
        capture_output=True,
        text=True,
    )
    out = json.loads(r.stdout.strip().splitlines()[-1])
    rows = np.frombuffer((tmp / "rows.bin").read_bytes(), dtype="<i4").reshape(tiles, N, N)
    return {"done": out["done"], "results": rows}


# ------------------------------------------------- the same block, no wrapper
def foreign_system(sim, lib, a, b, order, depth):
    blk = rtl.block(sim, "ip", lib, reset="rst_n")  # no busy pin
    host = sim.initiator("host")
    reader = sim.initiator("reader")
    sim.bind(host, blk.stream_in("ops", valid="in_valid", ready="in_ready", data=list(order)))
    sim.bind(
        reader,
        blk.stream_out("res", valid="res_valid", ready=None, data="res_row", capture_depth=depth),
    )
    done = blk.interrupt("done")
    out: dict = {"done": [], "results": []}

    @sim.process
    async def program():
        for t in range(a.shape[0]):
            await host.write(0, packed_beats(a[t], b[t], order))
            await done  # wait for the interrupt, then read what the block left
            out["done"].append(cosim.now() // NS)
            rows = await reader.read(0, N * 4 * N)
            out["results"].append(rows.view("<i4").reshape(N, N).copy())

    sim.run()
    stats = sim.stats.flat()
    out["late"] = stats["ip.late_transactions"]
    out["undriven"] = blk.undriven_inputs()
    return out


def test_foreign_block_without_wrapper_runs_the_cycles_of_a_plain_harness(tmp_path):
    lib = os_lib()
    a, b = tiles_of(3, 7, seed=3)
    ref = plain_harness(lib, a, b, tmp_path)
    got = cosim.simulate(foreign_system, lib, a, b, ("a_vec", "b_vec", "in_last"), N).value
    assert np.array_equal(ref["results"], golden(a, b)), "the harness itself is right"
    assert np.array_equal(np.stack(got["results"]), golden(a, b))
    assert got["done"] == ref["done"]
    # First tile: 7 beats from edge 5, LAT cycles of work, N rows, then done.
    assert ref["done"][0] == 4 + 7 + LAT + N + 1
    assert got["late"] == 0
    assert got["undriven"] == []


@pytest.mark.parametrize("order", [("in_last", "a_vec", "b_vec"), ("b_vec", "in_last", "a_vec")])
def test_beats_pack_pins_least_significant_first_at_any_bit_offset(order):
    lib = os_lib()
    a, b = tiles_of(2, 5, seed=4)
    got = cosim.simulate(foreign_system, lib, a, b, order, N).value
    assert np.array_equal(np.stack(got["results"]), golden(a, b))


def packed_output(sim, lib, a, b):
    """The result rows read as 129-bit beats: res_valid in bit 0, res_row above it."""
    blk = rtl.block(sim, "ip", lib, reset="rst_n")
    host, reader = sim.initiator("host"), sim.initiator("reader")
    sim.bind(
        host,
        blk.stream_in(
            "ops", valid="in_valid", ready="in_ready", data=["a_vec", "b_vec", "in_last"]
        ),
    )
    port = blk.stream_out(
        "res", valid="res_valid", ready=None, data=["res_valid", "res_row"], capture_depth=N
    )
    sim.bind(reader, port)
    done = blk.interrupt("done")
    out = {}

    @sim.process
    async def program():
        await host.write(0, packed_beats(a[0], b[0], ("a_vec", "b_vec", "in_last")))
        await done
        out["raw"] = bytes(await reader.read(0, N * 17))

    sim.run()
    return out["raw"]


def test_output_beats_pack_several_pins():
    lib = os_lib()
    a, b = tiles_of(1, 3, seed=5)
    raw = cosim.simulate(packed_output, lib, a, b).value
    want = golden(a, b)[0]
    for r in range(N):
        beat = int.from_bytes(raw[17 * r : 17 * r + 17], "little")
        assert beat & 1 == 1, "res_valid in bit 0"
        row = (beat >> 1).to_bytes(16, "little")
        assert np.array_equal(np.frombuffer(row, "<i4"), want[r])


def test_capture_overflow_names_pin_and_cycle():
    lib = os_lib()
    a, b = tiles_of(1, 6, seed=6)
    with pytest.raises(cosim.SimulationError) as e:
        cosim.simulate(foreign_system, lib, a, b, ("a_vec", "b_vec", "in_last"), 2)
    # Rows are captured at edges 4+6+LAT+2 .. ; the third finds the buffer of 2 full.
    third = 4 + 6 + LAT + 2 + 2
    assert "rtl block 'ip' (os_array)" in str(e.value)
    assert f"pin 'res_valid' offered a beat at cycle {third}" in str(e.value)
    assert "capture buffer of stream bridge 'res' (2 beats) overflowed" in str(e.value)


# ------------------------------------------------ item: never bend time silently
def early_system(sim, lib, k, busy, blocking=True, timeout=None):
    """Write K, wait for done, then read the K results the block put in its FIFO while
    it worked (out_valid high long before done)."""
    blk = rtl.block(sim, "dut", lib, busy="busy" if busy else None)
    host, reader = sim.initiator("host"), sim.initiator("reader")
    sim.bind(host, blk.stream_in("in"))
    sim.bind(reader, blk.stream_out("out", blocking=blocking))
    done = blk.interrupt("done", timeout_cycles=timeout)
    out = {}

    @sim.process
    async def program():
        await host.write(0, np.array([k], dtype=np.uint8))
        await done
        out["done"] = cosim.now() // NS
        out["results"] = list((await reader.read(0, 4 * k)).view("<u4"))

    sim.run()
    stats = sim.stats.flat()
    out["late"] = stats["dut.late_transactions"]
    out["blocked_waits"] = stats["dut.blocked_waits"]
    return out


@pytest.mark.parametrize("busy", [True, False], ids=["busy_pin", "no_busy_pin"])
def test_block_with_an_awaited_interrupt_keeps_running(busy):
    """The input beat is taken at edge 5; results are pushed at edges 6..5+K while
    out_valid is high and nobody reads; done rises at edge 5+K. Parking there (the output
    'waits on the outside') would raise done only when the watchdog woke the block."""
    k = 5
    got = cosim.simulate(early_system, early_lib(), k, busy).value
    assert got["done"] == 5 + k
    assert got["results"] == [100 + i for i in range(k)]
    assert got["late"] == 0


def test_non_blocking_output_is_not_waited_on():
    k = 5
    got = cosim.simulate(early_system, early_lib(), k, True, False).value
    assert got["done"] == 5 + k and got["late"] == 0
    blocking = cosim.simulate(early_system, early_lib(), k, True, True).value
    # Blocking: edges 6..5+K are run in step with the kernel (the RTL offers results
    # nobody reads); non-blocking: they are not waits on the outside.
    assert blocking["blocked_waits"] - got["blocked_waits"] == k - 1


def test_interrupt_that_cannot_come_stops_the_run_naming_pin_and_cycle():
    """K = 20 results into a FIFO of 16 that nobody reads before done: the core stalls,
    done never rises; the run stops instead of parking or running forever."""
    with pytest.raises(cosim.SimulationError) as e:
        cosim.simulate(early_system, early_lib(), 20, True, True, 50)
    msg = str(e.value)
    assert "rtl block 'dut' (early_results)" in msg
    assert "pin 'done' (interrupt 'done') was not asserted within 50 cycles" in msg
    assert "at cycle 5" in msg


def idle_read(sim, lib):
    blk = rtl.block(sim, "dut", lib, busy="busy")
    reader = sim.initiator("reader")
    sim.bind(sim.initiator("host"), blk.stream_in("in"))
    sim.bind(reader, blk.stream_out("out"))

    @sim.process
    async def program():
        await reader.read(0, 4)  # nothing was started: the block stays idle

    sim.run()


def test_deadlock_names_the_parked_block():
    with pytest.raises(cosim.DeadlockError) as e:
        cosim.simulate(idle_read, early_lib())
    msg = str(e.value)
    assert "process 'program'" in msg
    assert "rtl block 'dut' (early_results): parked since cycle 4" in msg
    assert "busy pin 'busy' low" in msg


def test_a_beat_replaced_without_handshake_stops_the_run():
    """HOLD=0: each result is offered for one cycle whether or not out_ready is high."""
    with pytest.raises(cosim.SimulationError) as e:
        cosim.simulate(early_system, early_lib(hold=False), 3, True)
    msg = str(e.value)
    # Results are offered after edges 6, 7, 8 with nobody reading (the host waits for
    # done): the one offered at edge 7 is replaced before edge 8.
    assert "pin 'out_valid' of stream bridge 'out' stayed high but the data on" in msg
    assert "before edge 8" in msg and "without a handshake" in msg
    assert "'out_ready' was low" in msg


def pulse_unread(sim, lib):
    """One result (K = 1) offered for one cycle while the host sleeps."""
    blk = rtl.block(sim, "dut", lib, busy="busy")
    host, reader = sim.initiator("host"), sim.initiator("reader")
    sim.bind(host, blk.stream_in("in"))
    sim.bind(reader, blk.stream_out("out"))

    @sim.process
    async def program():
        await host.write(0, np.array([1], dtype=np.uint8))
        await cosim.delay(100 * NS)
        await reader.read(0, 4)

    sim.run()


def test_valid_falling_without_handshake_stops_the_run():
    with pytest.raises(cosim.SimulationError) as e:
        cosim.simulate(pulse_unread, early_lib(hold=False))
    msg = str(e.value)
    # The result is offered after edge 6 and gone before edge 8.
    assert "pin 'out_valid' of stream bridge 'out' fell before edge 8" in msg
    assert "the beat offered at edge 7 while 'out_ready' was low was lost" in msg


# ---------------------------------------------------------- undriven inputs
def partly_bound(sim, lib, mode, tie):
    blk = rtl.block(sim, "ip", lib, undriven=mode, tie=tie)
    sim.bind(
        sim.initiator("host"),
        blk.stream_in("ops", valid="in_valid", ready="in_ready", data="a_vec"),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sim.run()
    return blk.undriven_inputs(), [str(w.message) for w in caught]


def test_undriven_inputs_are_listed_when_the_simulation_starts():
    lib = os_lib()
    undriven, warned = cosim.simulate(partly_bound, lib, "warn", None).value
    assert undriven == ["b_vec", "in_last"]
    assert len(warned) == 1
    assert (
        "rtl block 'ip' (os_array): inputs 'b_vec', 'in_last' are driven by no bridge" in warned[0]
    )


def test_undriven_inputs_as_an_error_and_ties_accept_them():
    lib = os_lib()
    with pytest.raises(cosim.BindingError, match=r"inputs 'b_vec', 'in_last' are driven by no"):
        cosim.simulate(partly_bound, lib, "error", None)
    undriven, warned = cosim.simulate(
        partly_bound, lib, "error", {"b_vec": 0x01020304, "in_last": 0}
    ).value
    assert undriven == [] and warned == []


def bad_tie(sim, lib, tie):
    rtl.block(sim, "ip", lib, tie=tie)


@pytest.mark.parametrize(
    ("tie", "error", "pattern"),
    [
        ({"in_last": 2}, ValueError, r"tie value 2 for pin 'in_last' does not fit its 1 bits"),
        ({"res_valid": 0}, cosim.BindingError, r"'res_valid' \(tie\) is an output"),
        ({"clk": 0}, cosim.BindingError, r"'clk' is already driven by the block \(clock\)"),
    ],
)
def test_bad_ties(tie, error, pattern):
    with pytest.raises(error, match=pattern):
        cosim.simulate(bad_tie, os_lib(), tie)


# --------------------------------------------------------------- pin hints
def declare(sim, lib, what):
    blk = rtl.block(sim, "ip", lib)
    if what == "out_default_ready":
        blk.stream_out("res", valid="res_valid", data="res_row")
    elif what == "in_default_data":
        blk.stream_in("in")
    elif what == "ready_none_no_depth":
        blk.stream_out("res", valid="res_valid", ready=None, data="res_row")
    elif what == "depth_with_ready":
        blk.stream_out("out", valid="res_valid", ready="in_valid", data="res_row", capture_depth=4)
    elif what == "too_wide":
        blk.stream_in("in", data=["a_vec", "b_vec"], width=32)
    elif what == "twice":
        blk.stream_in("in", data=["a_vec", "a_vec"])


@pytest.mark.parametrize(
    ("what", "error", "pattern", "not_pattern"),
    [
        # The only pin close to 'res_ready' is in_ready, an output: no hint for an input role.
        (
            "out_default_ready",
            cosim.BindingError,
            r"no pin 'res_ready' for the ready \(inputs of 1 bits",
            "did you mean",
        ),
        # in_last is a 1-bit pin: not proposed for data.
        ("in_default_data", cosim.BindingError, r"no pin 'in_data' for the data", "in_last'?"),
        (
            "ready_none_no_depth",
            cosim.BindingError,
            r"output without ready \(ready=None\) is captured: give capture_depth",
            "res_ready",
        ),
        (
            "depth_with_ready",
            cosim.BindingError,
            r"capture_depth is for outputs without ready",
            None,
        ),
        (
            "too_wide",
            cosim.BindingError,
            r"data pins a_vec, b_vec are 64 bits together; the beat must be 32",
            None,
        ),
        ("twice", cosim.BindingError, r"a data pin is listed twice", None),
    ],
)
def test_pin_errors_propose_only_pins_that_fit(what, error, pattern, not_pattern):
    with pytest.raises(error, match=pattern) as e:
        cosim.simulate(declare, os_lib(), what)
    if not_pattern:
        assert not_pattern not in str(e.value)


# ------------------------------------------------------- per-cycle cost (no timing)
def worker_tunables(sim):
    import os

    return os.environ.get("GLIBC_TUNABLES", "")


def test_workers_get_static_tls_room_for_rtl_libraries(monkeypatch):
    """Verilator's run-time reads thread-local state on every eval: a worker starts with
    room in static TLS for the RTL libraries it loads (a tunable read at process start)."""
    from cosim.runner import WORKER_TLS_TUNABLE, worker_environment

    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    assert cosim.simulate(worker_tunables).value == WORKER_TLS_TUNABLE
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")
    assert (
        worker_environment()["GLIBC_TUNABLES"] == f"glibc.malloc.arena_max=2:{WORKER_TLS_TUNABLE}"
    )
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=1024")
    assert worker_environment()["GLIBC_TUNABLES"] == "glibc.rtld.optional_static_tls=1024"

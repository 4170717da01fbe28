"""Python processes as coroutines resumed by SystemC threads: delays, events, any_of /
all_of, joins, dynamic spawning, temporal decoupling, stop, run(until), deadlocks and
exceptions. Every simulation runs through cosim.simulate (one elaboration per process)."""

from __future__ import annotations

import pytest

import cosim
from cosim import DeadlockError, SimulationError, ns, us

# ---------------------------------------------------------------- simulation bodies


def delays_and_now(sim: cosim.Simulation) -> list[int]:
    seen: list[int] = []

    @sim.process
    async def p() -> None:
        seen.append(cosim.now())
        await cosim.delay(ns(10))
        seen.append(cosim.now())
        await cosim.delay(0)  # one delta cycle: time does not move
        seen.append(cosim.now())
        await cosim.delay(ns(2.5))
        seen.append(cosim.now())

    end = sim.run()
    seen.append(end)
    return seen


def event_ping_pong(sim: cosim.Simulation) -> list[tuple[str, int]]:
    ping, pong = sim.event("ping"), sim.event("pong")
    log: list[tuple[str, int]] = []

    @sim.process
    async def a() -> None:
        for _ in range(3):
            await cosim.delay(ns(5))
            ping.notify()
            await pong
            log.append(("a got pong", cosim.now()))

    @sim.process
    async def b() -> None:
        for _ in range(3):
            await ping
            log.append(("b got ping", cosim.now()))
            pong.notify(ns(1))

    sim.run()
    return log


def any_of_results(sim: cosim.Simulation) -> list[object]:
    e1, e2 = sim.event("e1"), sim.event("e2")
    out: list[object] = []

    @sim.process
    async def notifier() -> None:
        await cosim.delay(ns(3))
        e2.notify()
        await cosim.delay(ns(10))
        e1.notify()

    @sim.process
    async def waiter() -> None:
        fired = await cosim.any_of(e1, e2)
        out.append((fired.name, cosim.now()))
        timeout = cosim.delay(ns(4))
        fired = await cosim.any_of(e1, timeout)
        out.append((fired is timeout, cosim.now()))
        fired = await cosim.any_of(e1, timeout=ns(100))
        out.append((fired.name, cosim.now()))
        fired = await cosim.any_of(e1, timeout=ns(5))
        out.append((fired, cosim.now()))

    sim.run()
    return out


def all_of_results(sim: cosim.Simulation) -> list[object]:
    e1, e2 = sim.event("e1"), sim.event("e2")
    out: list[object] = []

    @sim.process
    async def notifier() -> None:
        await cosim.delay(ns(3))
        e1.notify()
        await cosim.delay(ns(4))
        e2.notify()
        await cosim.delay(ns(50))
        e1.notify()

    @sim.process
    async def waiter() -> None:
        ok = await cosim.all_of(e1, e2)
        out.append((ok, cosim.now()))
        ok = await cosim.all_of(e1, e2, timeout=ns(20))
        out.append((ok, cosim.now()))

    sim.run()
    return out


def join_and_results(sim: cosim.Simulation) -> dict[str, object]:
    async def worker(n: int) -> int:
        await cosim.delay(ns(n))
        return n * n

    w1 = sim.process(worker(5), name="w1")
    w2 = sim.process(worker(9), name="w2")
    out: dict[str, object] = {}

    @sim.process
    async def parent() -> None:
        out["w1"] = await w1
        out["t1"] = cosim.now()
        out["all"] = await cosim.all_of(w1, w2)
        out["t2"] = cosim.now()
        out["again"] = await w1  # joining a finished process returns at once
        out["t3"] = cosim.now()
        first = await cosim.any_of(w1, sim.event("never"))
        out["first"] = first.name

    sim.run()
    out["results"] = (w1.result, w2.result)
    out["states"] = (w1.state, parent.state)
    return out


def dynamic_spawn(sim: cosim.Simulation) -> list[tuple[str, int]]:
    log: list[tuple[str, int]] = []

    async def child(i: int) -> int:
        await cosim.delay(ns(i))
        log.append((f"child{i}", cosim.now()))
        return i

    @sim.process
    async def parent() -> None:
        await cosim.delay(ns(100))
        procs = [cosim.spawn(child(i)) for i in (3, 1, 2)]
        total = 0
        for p in procs:
            total += await p
        log.append(("sum", total))

    sim.run()
    return log


def run_until_and_continue(sim: cosim.Simulation) -> list[int]:
    ticks: list[int] = []

    @sim.process(daemon=True)
    async def clock() -> None:
        while True:
            await cosim.delay(ns(10))
            ticks.append(cosim.now())

    t1 = sim.run(until=ns(35))
    n1 = len(ticks)
    t2 = sim.run_for("20 ns")
    n2 = len(ticks)
    t3 = sim.run(until="100 ns")
    return [t1, n1, t2, n2, t3, len(ticks)]


def stop_from_process(sim: cosim.Simulation) -> dict[str, object]:
    @sim.process(daemon=True)
    async def forever() -> None:
        while True:
            await cosim.delay(ns(1))

    @sim.process
    async def stopper() -> None:
        await cosim.delay(ns(50))
        sim.stop()

    t = sim.run()
    out: dict[str, object] = {"t": t, "phase": sim.phase}
    try:
        sim.run()
    except SimulationError as e:
        out["rerun"] = str(e)
    return out


def decoupled_timing(sim: cosim.Simulation, quantum: int) -> dict[str, object]:
    sim.quantum = quantum
    mem = sim.model("memory", "mem", read_latency=ns(10), write_latency=ns(10))
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)
    out: dict[str, object] = {"local": []}

    @sim.process
    async def p() -> None:
        for i in range(10):
            await cpu.write(i * 8, b"abcdefgh")
            out["local"].append((cosim.now(), sim.processes()[0].local_time))
        await cosim.sync()
        out["after_sync"] = (cosim.now(), sim.processes()[0].local_time)

    out["end"] = sim.run()
    out["resumes"] = sim.summary()["delta_cycles"]
    return out


def decoupled_event_waits_for_local_time(sim: cosim.Simulation) -> dict[str, int]:
    sim.quantum = us(1)
    ev = sim.event("ev")
    out: dict[str, int] = {}

    @sim.process
    async def p() -> None:
        await cosim.delay(ns(300))  # runs ahead: local time 300 ns, kernel still 0
        out["local_before"] = cosim.now()
        ev.notify()  # notified at the local time, i.e. at 300 ns
        await cosim.delay(ns(100))

    @sim.process
    async def q() -> None:
        await ev
        out["woke"] = cosim.now()

    sim.run()
    return out


def deadlock(sim: cosim.Simulation) -> None:
    never = sim.event("never_notified")
    a, b = sim.event("a"), sim.event("b")

    @sim.process
    async def stuck() -> None:
        await cosim.delay(ns(5))
        await never

    @sim.process
    async def stuck_too() -> None:
        await cosim.all_of(a, b)

    @sim.process(daemon=True)
    async def server() -> None:
        await sim.event("requests")

    sim.run()


def raises_in_process(sim: cosim.Simulation) -> None:
    @sim.process
    async def faulty() -> None:
        await cosim.delay(ns(7))
        values = {"a": 1}
        values["missing_key"]  # the user's own line must show in the traceback

    @sim.process
    async def bystander() -> None:
        await cosim.delay(us(1))

    sim.run()


def awaits_foreign_awaitable(sim: cosim.Simulation) -> str:
    import asyncio

    @sim.process
    async def p() -> str:
        try:
            await asyncio.sleep(0)
        except TypeError as e:
            return str(e)
        return "no error"

    sim.run()
    return p.result


def catches_and_continues(sim: cosim.Simulation) -> list[object]:
    """A TypeError thrown into the coroutine at the await can be handled by the user."""
    out: list[object] = []

    class Weird:
        def __await__(self):  # type: ignore[no-untyped-def]
            yield "not a cosim request"

    @sim.process
    async def p() -> None:
        try:
            await Weird()
        except TypeError:
            out.append("caught")
        await cosim.delay(ns(1))
        out.append(cosim.now())

    sim.run()
    return out


def process_argument_errors(sim: cosim.Simulation) -> list[str]:
    msgs = []

    def plain() -> None:
        pass

    async def coro_fn() -> None:
        await cosim.delay(1)

    for bad in (plain, 42):
        try:
            sim.process(bad)
        except TypeError as e:
            msgs.append(str(e))
    sim.process(coro_fn, name="dup")
    try:
        sim.process(coro_fn, name="dup")
    except cosim.BindingError as e:
        msgs.append(str(e))
    for bad_args in ((cosim.delay, -1), (cosim.any_of,), (cosim.all_of, cosim.delay(5))):
        try:
            bad_args[0](*bad_args[1:])
        except (ValueError, TypeError) as e:
            msgs.append(str(e))
    sim.run()
    return msgs


def process_result_before_done(sim: cosim.Simulation) -> str:
    @sim.process
    async def slow() -> int:
        await cosim.delay(ns(10))
        return 1

    try:
        _ = slow.result
    except SimulationError as e:
        return str(e)
    return "no error"


def many_processes(sim: cosim.Simulation, n: int) -> int:
    done = []

    async def tick(i: int) -> None:
        await cosim.delay(ns(i % 17))
        done.append(i)

    for i in range(n):
        sim.process(tick(i), name=f"t{i}")
    sim.run()
    return len(done)


def deep_python_stack(sim: cosim.Simulation) -> int:
    def recurse(n: int) -> int:
        return 0 if n == 0 else 1 + recurse(n - 1)

    @sim.process
    async def p() -> int:
        await cosim.delay(1)
        return recurse(800)

    sim.run()
    return p.result


# ------------------------------------------------------------------------- the tests


def test_delays_advance_exact_integer_time() -> None:
    r = cosim.simulate(delays_and_now)
    assert r.value == [0, 10_000, 10_000, 12_500, 12_500]
    assert r.metadata["sim_time_ps"] == 12_500


def test_events_wake_waiting_processes_at_the_right_time() -> None:
    log = cosim.simulate(event_ping_pong).value
    assert log == [
        ("b got ping", 5_000),
        ("a got pong", 6_000),
        ("b got ping", 11_000),
        ("a got pong", 12_000),
        ("b got ping", 17_000),
        ("a got pong", 18_000),
    ]


def test_any_of_returns_what_fired_or_the_timeout() -> None:
    out = cosim.simulate(any_of_results).value
    assert out[0] == ("e2", 3_000)
    assert out[1] == (True, 7_000)  # the delay fired first
    assert out[2] == ("e1", 13_000)
    assert out[3] == (None, 18_000)  # timeout= expired: None


def test_all_of_waits_for_every_event_and_reports_timeouts() -> None:
    out = cosim.simulate(all_of_results).value
    assert out[0] == (True, 7_000)
    assert out[1] == (False, 27_000)  # only e1 fires again (at 57 ns): timed out at 7+20


def test_join_returns_the_process_result() -> None:
    out = cosim.simulate(join_and_results).value
    assert out["w1"] == 25 and out["t1"] == 5_000
    assert out["all"] is True and out["t2"] == 9_000
    assert out["again"] == 25 and out["t3"] == 9_000
    assert out["first"] == "w1"
    assert out["results"] == (25, 81)
    assert out["states"] == ("done", "done")


def test_processes_spawned_during_the_run() -> None:
    log = cosim.simulate(dynamic_spawn).value
    assert log == [("child1", 101_000), ("child2", 102_000), ("child3", 103_000), ("sum", 6)]


def test_run_until_then_continue() -> None:
    t1, n1, t2, n2, t3, n3 = cosim.simulate(run_until_and_continue).value
    assert (t1, n1) == (35_000, 3)
    assert (t2, n2) == (55_000, 5)
    # as in SystemC, what is scheduled exactly at `until` runs in the next run() call
    assert (t3, n3) == (100_000, 9)


def test_stop_ends_the_simulation_for_good() -> None:
    out = cosim.simulate(stop_from_process).value
    assert out["t"] == 50_000
    assert out["phase"] == "finished"
    assert "cannot restart" in out["rerun"]


def test_without_quantum_every_latency_is_waited_at_once() -> None:
    out = cosim.simulate(decoupled_timing, 0).value
    assert out["local"] == [((i + 1) * 10_000, 0) for i in range(10)]
    assert out["end"] == 100_000


def test_quantum_lets_a_process_run_ahead_and_sync() -> None:
    out = cosim.simulate(decoupled_timing, ns(35)).value
    # local offset grows by 10 ns per write and is synchronised once it reaches 35 ns
    locals_ = [loc for _, loc in out["local"]]
    assert locals_ == [10_000, 20_000, 30_000, 0, 10_000, 20_000, 30_000, 0, 10_000, 20_000]
    assert [t for t, _ in out["local"]] == [(i + 1) * 10_000 for i in range(10)]
    assert out["after_sync"] == (100_000, 0)
    assert out["end"] == 100_000


def test_decoupled_notification_happens_at_local_time() -> None:
    out = cosim.simulate(decoupled_event_waits_for_local_time).value
    assert out["local_before"] == 300_000
    assert out["woke"] == 300_000


def test_deadlock_lists_waiting_processes_and_what_they_await() -> None:
    with pytest.raises(DeadlockError) as info:
        cosim.simulate(deadlock)
    msg = str(info.value)
    assert "deadlock at 5 ns" in msg
    assert "process 'stuck': waiting for event 'never_notified'" in msg
    assert "process 'stuck_too': waiting for all_of(event 'a', event 'b')" in msg
    assert "server" not in msg  # daemons may wait forever


def test_exception_in_process_aborts_run_with_user_traceback() -> None:
    with pytest.raises(KeyError, match="missing_key") as info:
        cosim.simulate(raises_in_process)
    remote = str(info.value.__cause__)
    assert 'values["missing_key"]' in remote  # the user's own line
    assert "in cosim process 'faulty' at t=7 ns" in "".join(info.value.__notes__)


def test_awaiting_an_asyncio_awaitable_is_a_clear_type_error() -> None:
    msg = cosim.simulate(awaits_foreign_awaitable).value
    assert "cosim process 'p' awaited" in msg and "asyncio" in msg


def test_type_error_is_thrown_at_the_await_and_can_be_handled() -> None:
    assert cosim.simulate(catches_and_continues).value == ["caught", 1_000]


def test_bad_process_arguments_are_rejected() -> None:
    msgs = cosim.simulate(process_argument_errors).value
    assert "declare it with 'async def'" in msgs[0]
    assert "got 42" in msgs[1]
    assert "a process named 'dup' already exists" in msgs[2]
    assert "delay must be a non-negative time" in msgs[3]
    assert "any_of() needs at least one" in msgs[4]
    assert "all_of() accepts Events and Processes" in msgs[5]


def test_result_of_unfinished_process_is_an_error() -> None:
    assert "has not finished" in cosim.simulate(process_result_before_done).value


def test_thousands_of_processes() -> None:
    assert cosim.simulate(many_processes, 3000).value == 3000


def test_python_recursion_inside_a_process_has_enough_stack() -> None:
    assert cosim.simulate(deep_python_stack).value == 800


def decoupled_finish(sim: cosim.Simulation) -> dict[str, int]:
    sim.quantum = us(1)
    out: dict[str, int] = {}

    @sim.process
    async def worker() -> int:
        await cosim.delay(ns(300))  # stays local: 300 ns < quantum
        return 7

    @sim.process
    async def joiner() -> None:
        out["result"] = await worker
        out["joined_at"] = cosim.now()

    out["end"] = sim.run()
    return out


def test_decoupled_process_finishes_at_its_local_time() -> None:
    out = cosim.simulate(decoupled_finish).value
    assert out == {"result": 7, "joined_at": ns(300), "end": ns(300)}

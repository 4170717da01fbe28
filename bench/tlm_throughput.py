"""TLM transaction throughput: the same read/write traffic over a memory target issued

  (a) by a Python coroutine through cosim (await sock.read_into / sock.write),
  (b) by a C++ initiator inside cosim (the traffic_gen model),
  (c) by equivalent SimPy models,

measured side by side in one run. Traffic: 8-byte accesses, sequential addresses in a
64 KiB window, 3 reads per write, 10 ns memory latency. cosim runs are loosely timed
with a 1 us global quantum (TLM-2.0 temporal decoupling); (a) is also measured without
decoupling, where every access waits in the kernel.

SimPy has no function-call binding between components, so three SimPy models bracket it:
  - component (the reference for `simpy_tx_per_s`): the memory is a separate SimPy
    process behind a request port (simpy.Store); each access puts a request and waits for
    the response event, the way an initiator and a target are composed in SimPy;
  - process-per-access: the target's access method is a generator started as a SimPy
    process per access (`yield env.process(mem.access(...))`);
  - inline: the initiator touches the memory array itself and yields one timeout per
    access, with no target component at all (a lower bound on SimPy's cost).

Each cosim figure is the median of `--repeat` runs, each in a fresh worker process
(wall time of sim.run() only). Last line: one JSON object.

    .venv/bin/python bench/tlm_throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

import numpy as np
import simpy

import cosim
from cosim import ns, us

WINDOW = 1 << 16
SIZE = 8
LATENCY = ns(10)


def python_traffic(sim: cosim.Simulation, n: int, quantum: int) -> dict[str, Any]:
    sim.quantum = quantum
    mem = sim.model("memory", "mem", size=WINDOW, read_latency=LATENCY, write_latency=LATENCY)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)

    @sim.process
    async def traffic() -> None:
        buf = np.zeros(SIZE, dtype=np.uint8)
        read_into, write = cpu.read_into, cpu.write
        for i in range(n):
            addr = (i * SIZE) % WINDOW
            if i % 4 == 3:
                await write(addr, buf)
            else:
                await read_into(addr, buf)

    t0 = time.perf_counter()
    end = sim.run()
    wall = time.perf_counter() - t0
    return {"wall": wall, "tx": sim.stats["mem.reads"] + sim.stats["mem.writes"], "end": end}


def cpp_traffic(sim: cosim.Simulation, n: int, quantum: int) -> dict[str, Any]:
    sim.quantum = quantum
    mem = sim.model("memory", "mem", size=WINDOW, read_latency=LATENCY, write_latency=LATENCY)
    gen = sim.model(
        "traffic_gen",
        "gen",
        count=n,
        size=SIZE,
        span=WINDOW,
        read_fraction=0.75,
        pattern="sequential",
        decoupled=True,
    )
    sim.bind(gen, mem)
    t0 = time.perf_counter()
    end = sim.run()
    wall = time.perf_counter() - t0
    return {"wall": wall, "tx": sim.stats["mem.reads"] + sim.stats["mem.writes"], "end": end}


def simpy_component(n: int) -> float:
    env = simpy.Environment()
    data = bytearray(WINDOW)
    port: simpy.Store = simpy.Store(env)

    def memory() -> Any:
        while True:
            write, addr, buf, done = yield port.get()
            if write:
                data[addr : addr + SIZE] = buf
            else:
                buf[:] = data[addr : addr + SIZE]
            yield env.timeout(LATENCY)
            done.succeed()

    def initiator() -> Any:
        buf = bytearray(SIZE)
        for i in range(n):
            done = env.event()
            yield port.put((i % 4 == 3, (i * SIZE) % WINDOW, buf, done))
            yield done

    env.process(memory())
    env.process(initiator())
    t0 = time.perf_counter()
    env.run()
    wall = time.perf_counter() - t0
    assert env.now == n * LATENCY
    return n / wall


def simpy_process_per_access(n: int) -> float:
    env = simpy.Environment()
    data = bytearray(WINDOW)

    def access(write: bool, addr: int, buf: bytearray) -> Any:
        if write:
            data[addr : addr + SIZE] = buf
        else:
            buf[:] = data[addr : addr + SIZE]
        yield env.timeout(LATENCY)

    def initiator() -> Any:
        buf = bytearray(SIZE)
        for i in range(n):
            yield env.process(access(i % 4 == 3, (i * SIZE) % WINDOW, buf))

    env.process(initiator())
    t0 = time.perf_counter()
    env.run()
    wall = time.perf_counter() - t0
    assert env.now == n * LATENCY
    return n / wall


def simpy_inline(n: int) -> float:
    env = simpy.Environment()
    data = bytearray(WINDOW)

    def initiator() -> Any:
        buf = bytearray(SIZE)
        for i in range(n):
            addr = (i * SIZE) % WINDOW
            if i % 4 == 3:
                data[addr : addr + SIZE] = buf
            else:
                buf[:] = data[addr : addr + SIZE]
            yield env.timeout(LATENCY)

    env.process(initiator())
    t0 = time.perf_counter()
    env.run()
    wall = time.perf_counter() - t0
    assert env.now == n * LATENCY
    return n / wall


def median_rate(fn: Any, n: int, quantum: int, repeat: int) -> float:
    rates = []
    for _ in range(repeat):
        r = cosim.simulate(fn, n, quantum).value
        if r["tx"] != n or r["end"] != n * LATENCY:
            raise RuntimeError(
                f"{fn.__name__}: {r['tx']} transactions ending at {r['end']} ps, "
                f"expected {n} ending at {n * LATENCY} ps"
            )
        rates.append(n / r["wall"])
    return statistics.median(rates)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="small counts (a smoke test, not a measurement)"
    )
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n_py, n_cpp, n_simpy, repeat = (1_000_000, 20_000_000, 200_000, args.repeat)
    if args.quick:
        n_py, n_cpp, n_simpy, repeat = 20_000, 200_000, 5_000, 1

    py = median_rate(python_traffic, n_py, us(1), repeat)
    py_nodecouple = median_rate(python_traffic, n_py, 0, repeat)
    cpp = median_rate(cpp_traffic, n_cpp, us(1), repeat)
    sp_comp = statistics.median(simpy_component(n_simpy) for _ in range(repeat))
    sp_proc = statistics.median(simpy_process_per_access(n_simpy) for _ in range(repeat))
    sp_inline = statistics.median(simpy_inline(n_simpy) for _ in range(repeat))

    rows = [
        ("cosim, Python coroutine (quantum 1 us)", py),
        ("cosim, Python coroutine (no decoupling)", py_nodecouple),
        ("cosim, C++ traffic_gen (quantum 1 us)", cpp),
        ("SimPy, memory as a component behind a port", sp_comp),
        ("SimPy, a process per access", sp_proc),
        ("SimPy, inline memory (no target component)", sp_inline),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'initiator':<{width}}  transactions/s")
    for name, rate in rows:
        print(f"{name:<{width}}  {rate:>14,.0f}")
    print(
        f"Python vs SimPy (component): {py / sp_comp:.1f}x; vs process-per-access: "
        f"{py / sp_proc:.1f}x; vs inline: {py / sp_inline:.1f}x; C++ vs Python: {cpp / py:.1f}x"
    )
    result = {
        "python_tx_per_s": round(py),
        "python_nodecouple_tx_per_s": round(py_nodecouple),
        "cpp_tx_per_s": round(cpp),
        "simpy_tx_per_s": round(sp_comp),
        "simpy_process_per_access_tx_per_s": round(sp_proc),
        "simpy_inline_tx_per_s": round(sp_inline),
        "python_vs_simpy": round(py / sp_comp, 2),
        "python_vs_simpy_process_per_access": round(py / sp_proc, 2),
        "python_vs_simpy_inline": round(py / sp_inline, 2),
        "cpp_vs_python": round(cpp / py, 2),
        "quick": args.quick,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

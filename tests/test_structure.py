"""Building systems: the C++ model registry and its introspection, parameter checking,
names and hierarchy, and every binding mistake reported before the simulation starts."""

from __future__ import annotations

import pytest

import cosim
from cosim import BindingError, ParameterError, ns

# ------------------------------------------------------------ registry (no simulation)


def test_registry_lists_models_with_summaries() -> None:
    known = cosim.models()
    for name in ("memory", "router", "traffic_gen"):
        assert name in known
        assert known[name].summary
        assert known[name].source


def test_model_info_describes_parameters_with_defaults_units_and_ranges() -> None:
    info = cosim.model_info("memory")
    size = info.param("size")
    assert (size.type, size.default, size.unit) == ("int", 1 << 20, "B")
    assert size.min == 1 and size.max == 2**40
    lat = info.param("read_latency")
    assert lat.type == "time" and lat.default == ns(10) and lat.unit == "ps"
    assert [(p.name, p.kind, p.multi) for p in info.ports] == [("target", "tlm_target", False)]
    text = info.help()
    assert "read_latency (time, default 10 ns; allowed 0 ps .. 1 ms)" in text
    gen = cosim.model_info("traffic_gen")
    assert gen.param("pattern").choices == ("sequential", "random")
    assert ("done", "event") in [(p.name, p.kind) for p in gen.ports]


def test_unknown_model_suggests_a_close_name() -> None:
    with pytest.raises(ParameterError, match="unknown model 'memroy'; did you mean 'memory'"):
        cosim.model_info("memroy")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sise": 4}, "memory 'm': unknown parameter 'sise'; did you mean 'size'?"),
        ({"size": 0}, "parameter 'size' = 0 is out of range; allowed 1 .. 1099511627776 B"),
        ({"size": 2**41}, "is out of range"),
        ({"size": 4.0}, "parameter 'size' expects an integer, got 4.0"),
        ({"size": True}, "expects an integer, got True"),
        ({"dmi": 1}, "parameter 'dmi' expects True or False, got 1"),
        ({"read_latency": 2.5}, "expects a time: integer picoseconds"),
        ({"read_latency": "2 parsecs"}, "cannot read '2 parsecs' as a time"),
        ({"read_latency": "2 s"}, "'read_latency' = 2 s is out of range; allowed 0 ps .. 1 ms"),
        ({"fill": 256}, "'fill' = 256 is out of range; allowed 0 .. 255"),
    ],
)
def test_bad_parameter_values_name_parameter_and_allowed_range(
    params: dict[str, object], message: str
) -> None:
    with pytest.raises(ParameterError) as info:
        cosim.model_info("memory").check("m", params)
    assert message in str(info.value)


def test_string_choices_and_float_ranges() -> None:
    gen = cosim.model_info("traffic_gen")
    with pytest.raises(
        ParameterError,
        match="'pattern' = 'zigzag' is not allowed; choose one of 'sequential', 'random'",
    ):
        gen.check("g", {"pattern": "zigzag"})
    with pytest.raises(
        ParameterError, match=r"'read_fraction' = 1.5 is out of range; allowed 0 .. 1"
    ):
        gen.check("g", {"read_fraction": 1.5})
    ok = gen.check("g", {"read_fraction": 1, "interval": "3 ns"})
    assert ok["read_fraction"] == 1.0 and ok["interval"] == 3000 and ok["count"] == 1000


# ------------------------------------------------------------------ simulation bodies


def built_with_params(sim: cosim.Simulation) -> dict[str, object]:
    mem = sim.model("memory", "mem", size=4096, read_latency="2.5 ns", dmi=False)
    return {
        "params": mem.params,
        "kind": mem.kind,
        "name": mem.name,
        "ports": [(p.name, p.kind, p.full_name) for p in mem.ports],
    }


def scoped_names(sim: cosim.Simulation) -> dict[str, object]:
    with sim.scope("soc") as soc:
        with sim.scope("cluster0"):
            m0 = sim.model("memory", "spm")
        m1 = sim.model("memory", "dram")
        cpu = sim.initiator("cpu")
    top = sim.model("memory", "spm")  # same basename, different parent: fine
    sim.bind(cpu, m1)
    gen = sim.model("traffic_gen", "gen", count=1)
    sim.bind(gen, m0)
    sim.bind(sim.initiator("c2"), top)
    sim.run()
    return {
        "scope": soc,
        "names": [m0.name, m1.name, cpu.name, top.name],
        "stats": sorted(k for k in sim.stats.flat() if k.endswith(".reads")),
    }


def model_error(sim: cosim.Simulation, case: str) -> None:
    if case == "unknown_param":
        sim.model("memory", "m", latency=5)
    elif case == "duplicate":
        sim.model("memory", "m")
        sim.model("memory", "m")
    elif case == "bad_name":
        sim.model("memory", "soc.m")
    elif case == "span":
        sim.model("traffic_gen", "g", size=64, span=32)
    elif case == "unknown_model":
        sim.model("dram9", "d")


def binding_error(sim: cosim.Simulation, case: str) -> None:
    m0 = sim.model("memory", "m0")
    m1 = sim.model("memory", "m1")
    cpu = sim.initiator("cpu")
    if case == "twice":
        sim.bind(cpu, m0)
        sim.bind(cpu, m1)
    elif case == "target_twice":
        sim.bind(cpu, m0)
        sim.bind(sim.initiator("cpu2"), m0)
    elif case == "target_to_target":
        sim.bind(m0.port("target"), m1.port("target"))
    elif case == "unbound":
        sim.bind(cpu, m0)
        sim.run()
    elif case == "after_start":
        sim.bind(cpu, m0)
        sim.bind(sim.initiator("c1"), m1)
        sim.run(until=ns(1))
        sim.bind(sim.initiator("late"), sim.model("memory", "m2"))
    elif case == "no_such_port":
        m0.port("socket")
    elif case == "no_such_event":
        m0.event("done")
    elif case == "event_port":
        gen = sim.model("traffic_gen", "g")
        sim.bind(gen.port("done"), m0.port("target"))
    elif case == "ambiguous_model":
        bus = sim.model("router", "bus")
        sim.bind(bus, m0)  # router has one initiator port: fine
        sim.bind(cpu, bus)
        sim.bind(m1, cpu)  # a memory has no initiator port
    elif case == "open_scope":
        sim.bind(cpu, m0)
        sim.bind(sim.initiator("c1"), m1)
        with sim.scope("s"):
            sim.run()
    elif case == "second_simulation":
        cosim.Simulation()
    elif case == "target_without_b_transport":
        sim.target("t", object())


# ------------------------------------------------------------------------- the tests


def test_model_instance_exposes_its_params_and_ports() -> None:
    out = cosim.simulate(built_with_params).value
    assert out["params"]["size"] == 4096 and out["params"]["read_latency"] == 2500
    assert out["params"]["dmi"] is False and out["params"]["fill"] == 0
    assert out["kind"] == "memory" and out["name"] == "mem"
    assert out["ports"] == [("target", "tlm_target", "mem.target")]


def test_scopes_build_the_hierarchy_of_names_and_stats() -> None:
    out = cosim.simulate(scoped_names).value
    assert out["scope"] == "soc"
    assert out["names"] == ["soc.cluster0.spm", "soc.dram", "soc.cpu", "spm"]
    assert "soc.cluster0.spm.reads" in out["stats"] and "spm.reads" in out["stats"]


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("unknown_param", ParameterError, "memory 'm': unknown parameter 'latency'; did you mean"),
        ("duplicate", BindingError, "a component named 'm' already exists"),
        ("bad_name", BindingError, "model name 'soc.m' is not valid"),
        ("span", ParameterError, "traffic_gen 'g': span must be at least size"),
        ("unknown_model", ParameterError, "unknown model 'dram9'"),
    ],
)
def test_model_creation_errors(case: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        cosim.simulate(model_error, case)


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        (
            "twice",
            BindingError,
            "cannot bind 'cpu.socket' (tlm_initiator) to 'm1.target' (tlm_target): 'cpu.socket' is "
            "already bound to 'm0.target' and takes only one binding",
        ),
        (
            "target_twice",
            BindingError,
            "cannot bind 'cpu2.socket' (tlm_initiator) to 'm0.target' (tlm_target): 'm0.target' is "
            "already bound to 'cpu.socket'",
        ),
        (
            "target_to_target",
            BindingError,
            "cannot bind 'm0.target' (tlm_target) to 'm1.target' (tlm_target): a binding joins one "
            "tlm_initiator port to one tlm_target port",
        ),
        (
            "unbound",
            BindingError,
            "unbound ports (every TLM port must be bound before the run):\n"
            "  'm1.target' (tlm_target) of memory 'm1'",
        ),
        ("after_start", BindingError, "cannot create sockets after the simulation has started"),
        ("no_such_port", BindingError, "model 'm0' has no port 'socket'; its ports are: target"),
        ("no_such_event", BindingError, "model 'm0' has no event 'done'; its events are: (none)"),
        ("event_port", BindingError, "cannot bind 'g.done' (event) to 'm0.target'"),
        ("ambiguous_model", BindingError, "'m1' has 0 tlm_initiator ports"),
        ("open_scope", BindingError, "scope 's' is still open at run()"),
        ("second_simulation", cosim.SimulationError, "already exists in this process"),
        ("target_without_b_transport", BindingError, "object has no b_transport"),
    ],
)
def test_binding_errors_are_reported_before_the_run_naming_both_ends(
    case: str, error: type, message: str
) -> None:
    with pytest.raises(error) as info:
        cosim.simulate(binding_error, case)
    assert message in str(info.value)

"""Loading scenario scripts by file path (they are not a package), and the function a
simulation worker runs for one scenario point."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import threading
from pathlib import Path
from typing import Any

from cosim.errors import ScenarioError
from cosim.scenario.declaration import Scenario
from cosim.scenario.results import check_result

_LOADED: dict[Path, Scenario] = {}
_LOADING = threading.Lock()


def load_script(path: str | Path) -> Scenario:
    """Import a scenario script by file path (scenarios are not a package) and return
    the Scenario it declares (loaded once per process). The script's folder is put on
    sys.path so it can import helper modules beside it."""
    path = Path(path).resolve()
    with _LOADING:
        if path not in _LOADED:
            _LOADED[path] = _load(path)
        return _LOADED[path]


def _load(path: Path) -> Scenario:
    if not path.is_file():
        raise ScenarioError(f"no scenario script at {path}")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    module_name = f"cosim_scenario_{re.sub(r'[^0-9a-zA-Z_]', '_', path.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ScenarioError(f"cannot import {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.append(folder)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[module_name]
        raise ScenarioError(f"cannot load scenario script {path}: {type(e).__name__}: {e}") from e
    found = [v for v in vars(module).values() if isinstance(v, Scenario)]
    if len(found) != 1:
        raise ScenarioError(
            f"{path} must create exactly one cosim.scenario.Scenario at module level; "
            f"it creates {len(found)} (see 'Scenarios: the contract' in the README)"
        )
    scenario = found[0]
    scenario.path = path
    scenario.run_function  # noqa: B018 - raises when no run function is registered
    return scenario


def run_in_worker(
    sim: Any, script: str, config: dict[str, Any], trace_path: str | None
) -> dict[str, Any]:
    """Executed in a simulation worker by Scenario.simulate: import the script, run its
    run function on `sim` with the config, and return the validated result."""
    from cosim.provenance import recorded

    scenario = load_script(script)
    # Values are checked again (cheap); the declared constraints, which may be costly
    # (EIE compresses its layer), were checked by the caller before it started this worker.
    cfg = scenario.config_from_dict({**config, "trace": trace_path is not None}, constraints=False)
    if trace_path is not None:
        sim.trace.enable()
    try:
        value = scenario.run_function(sim, cfg)
    except SystemExit as e:
        raise ScenarioError(
            f"scenario '{scenario.name}': the run function exited (sys.exit({e.code!r})) "
            "without returning a result"
        ) from e
    except KeyboardInterrupt as e:
        raise ScenarioError(
            f"scenario '{scenario.name}': the run function raised KeyboardInterrupt (not a "
            "Ctrl-C: workers do not receive the terminal's interrupts)"
        ) from e
    if sim.phase == "elaboration":
        raise ScenarioError(
            f"scenario '{scenario.name}': the run function returned without running the "
            "simulation (call sim.run())"
        )
    metrics, report, extras = check_result(scenario.name, value)
    events = sim.trace.export(trace_path) if trace_path is not None else None
    return {
        "metrics": metrics,
        "report": report,
        "extras": extras,
        "trace_events": events,
        "provenance": recorded(),
    }

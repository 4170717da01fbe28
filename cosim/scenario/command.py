"""The command line of one scenario run, shared by `cosim run NAME` and a scenario script
run directly (`python scenarios/NAME.py`): options, validation before any worker starts,
the run in a worker, the report and the metrics as the last line.

Exit status: 0 ok, 1 the run failed or its golden check failed, 2 bad input, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cosim.errors import (
    ParameterError,
    RemoteTraceback,
    ScenarioError,
    SimulationCrashed,
    SimulationTimeout,
)
from cosim.progress import PROGRESS_ENV, RunProgress
from cosim.units import fmt_time

if TYPE_CHECKING:
    from cosim.scenario.config import Config
    from cosim.scenario.declaration import Scenario

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def parse_assignments(items: Sequence[str], option: str) -> dict[str, str]:
    """["k=v", ...] from a repeatable option such as --set; a later k wins."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"{option} expects NAME=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def fail(prog: str, message: str, code: int = EXIT_USAGE) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


# ---------------------------------------------------------------------- one run


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options shared by `cosim run` and a scenario script run directly."""
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a parameter (repeatable)",
    )
    p.add_argument(
        "--engine",
        dest="engines",
        action="append",
        default=[],
        metavar="COMPONENT=IMPL",
        help="choose an engine implementation: functional, tlm or rtl (repeatable)",
    )
    p.add_argument("--seed", metavar="N", help="seed of the workload (default: the scenario's)")
    p.add_argument(
        "--wave",
        metavar="BLOCK",
        help="ask the scenario for a waveform of RTL block BLOCK (it must run as rtl)",
    )
    p.add_argument(
        "--trace",
        nargs="?",
        const="",
        metavar="FILE",
        help="write a Chrome/Perfetto trace-event JSON timeline of transactions and engine "
        "activity (FILE defaults to SCENARIO.trace.json)",
    )
    p.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="kill the run after this wall time"
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="show what the simulation prints as it runs"
    )


def config_from_args(scenario: Scenario, args: argparse.Namespace) -> Config:
    return scenario.configure(
        parse_assignments(args.sets, "--set"),
        parse_assignments(args.engines, "--engine"),
        args.seed,
        wave=args.wave,
        trace=args.trace is not None,
    )


def _run_failure(prog: str, scenario: Scenario, e: BaseException) -> int:
    from cosim.system.riscv_host import ProgramBuildError, ToolchainError

    if isinstance(e, ProgramBuildError | ToolchainError):  # bad input: the compiler's lines
        return fail(prog, f"scenario '{scenario.name}': {e}", EXIT_USAGE)
    if isinstance(e, SimulationCrashed | SimulationTimeout):
        what = "crashed" if isinstance(e, SimulationCrashed) else "timed out"
        return fail(prog, f"scenario '{scenario.name}' {what}: {e}", EXIT_FAILED)
    if isinstance(e.__cause__, RemoteTraceback) and not isinstance(e, ScenarioError):
        print(e.__cause__.tb.rstrip(), file=sys.stderr)
    return fail(prog, f"scenario '{scenario.name}' failed: {type(e).__name__}: {e}", EXIT_FAILED)


def run_once(scenario: Scenario, args: argparse.Namespace, prog: str) -> int:
    """Validate the options, run the scenario once in a worker and print its report; the
    last line printed is the JSON object of its metrics."""
    try:
        config = config_from_args(scenario, args)
    except (ParameterError, ScenarioError) as e:
        return fail(prog, str(e))
    trace = None
    if args.trace is not None:
        trace = Path(args.trace or f"{scenario.name}.trace.json")
        problem = _unwritable(trace)
        if problem:
            return fail(prog, f"--trace {args.trace or trace}: {problem}")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="cosim-progress-") as tmp:
        progress_file = Path(tmp) / "progress.json"
        try:
            with RunProgress(scenario.name, progress_file, enabled=False if args.verbose else None):
                outcome = scenario.simulate(
                    config,
                    trace_path=trace,
                    timeout=args.timeout,
                    echo=args.verbose,
                    env={PROGRESS_ENV: str(progress_file)},
                )
        except KeyboardInterrupt:
            print(f"{prog}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception as e:
            return _run_failure(prog, scenario, e)
    if outcome.report:
        print(outcome.report.rstrip())
    print(
        f"simulated {fmt_time(outcome.sim_time_ps)} in {outcome.wall_s:.2f} s of wall time "
        f"(seed {config.seed}; engines: "
        + (", ".join(f"{k}={v}" for k, v in config.engines.items()) or "none")
        + ")"
    )
    if trace is not None:
        print(f"trace: {outcome.trace_events:,} events in {trace} (open in ui.perfetto.dev)")
    if config.wave is not None:
        print(_wave_line(config.wave, started))
    print(json.dumps(outcome.metrics))
    return EXIT_OK if outcome.metrics["golden_ok"] else EXIT_FAILED


def _unwritable(path: Path) -> str | None:
    """Why a file cannot be written at `path` (checked before a run), or None."""
    folder = path.parent.resolve()
    if path.is_dir():
        return "is a folder; name a file"
    if not folder.is_dir():
        return f"folder {folder} does not exist"
    if not os.access(folder, os.W_OK):
        return f"folder {folder} is not writable"
    return None


def _wave_line(block: str, since: float) -> str:
    """Where the waveform of `block` went: the waveform files (.fst, .vcd) the run wrote
    in the working folder, where scenarios put them."""
    cwd = Path.cwd()
    found = sorted(
        str(f)
        for f in (*cwd.glob("*.fst"), *cwd.glob("*.vcd"))
        if f.is_file() and f.stat().st_mtime >= since - 1
    )
    if not found:
        return f"waveform of {block}: the run wrote no .fst or .vcd file in {cwd}"
    return f"waveform of {block}: {', '.join(found)} (open with GTKWave or Surfer)"


def scenario_help(scenario: Scenario) -> str:
    doc = textwrap.dedent(scenario.doc).strip()
    head = f"{scenario.name}: {scenario.summary}"
    return "\n\n".join(x for x in (head, doc, scenario.help_text()) if x)


def scenario_script_main(scenario: Scenario, argv: list[str] | None = None) -> int:
    """`python scenarios/NAME.py [options]` (Scenario.main)."""
    prog = f"python {scenario.path.name if scenario.path else scenario.name + '.py'}"
    p = argparse.ArgumentParser(
        prog=prog,
        description=scenario_help(scenario),
        epilog=(
            f"examples:\n  {prog} --set {next(iter(scenario.params), 'NAME')}=VALUE --seed 2\n"
            f"  {prog} --trace {scenario.name}.trace.json\n"
            f"  cosim sweep {scenario.name} --grid NAME=V1,V2   (many points, stored)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_options(p)
    return run_once(scenario, p.parse_args(argv), prog)

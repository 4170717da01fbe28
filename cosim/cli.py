"""The `cosim` command line: run scenarios, sweep their parameters, report results.

Every simulation runs in its own worker process (cosim.simulate); the commands only
validate, schedule, store and show. Bad input (an unknown scenario, parameter or engine,
a value of the wrong type or out of range) is one line on stderr naming it and what is
allowed, with exit status 2; a run that fails or whose golden check fails exits with 1.
"""

from __future__ import annotations

import argparse
import signal
import sys
import textwrap
from pathlib import Path
from types import FrameType
from typing import Any

from cosim.errors import CosimError, ParameterError, ScenarioError
from cosim.scenario import Scenario
from cosim.scenario.command import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    add_run_options,
    config_from_args,
    fail,
    parse_assignments,
    run_once,
    scenario_help,
)

__all__ = ["build_parser", "config_from_args", "entry_point", "main"]

EXAMPLES = """\
examples:
  cosim list
  cosim run sta --set pattern=1:4 --engine engine=rtl --seed 3
  cosim run eie --set rows=1024 --trace run.json  # then open run.json in ui.perfetto.dev
  cosim sweep sta --grid pattern=2:4,1:4,2:8 --grid seq=16,32 --workers 2 --out results/sta
  cosim sweep eie --grid weight_density=0.05,0.09 --backend dask --address tcp://10.0.0.5:8786
  cosim explore eie --vary pes --vary mat_kb --engine eie=tlm --minimize cycles --minimize area_mm2
  cosim report results/sta                        # tables and figures in results/sta/report/
  cosim report results/eie-explore --pareto cycles,area_mm2
  cosim doctor

Scenarios are the scripts in the repository's scenarios/ folder and in the folders
listed in $COSIM_SCENARIO_PATH (':'-separated); a path to a script also works.
"""


# ----------------------------------------------------------------------- commands


def cmd_list(args: argparse.Namespace) -> int:
    from cosim.scenario_catalog import catalog, search_path

    entries = catalog()
    if not entries:
        folders = ", ".join(str(f) for f in search_path()) or "none"
        print(f"no scenarios found (searched: {folders})")
        return EXIT_OK
    width = max(len(e.name) for e in entries)
    for e in entries:
        text = e.summary if e.error is None else f"(cannot load: {e.error})"
        print(f"{e.name:<{width}}  {text}")
        if args.verbose:
            print(f"{'':<{width}}  {e.path}")
    return EXIT_OK


def _find(name: str) -> Scenario:
    from cosim.scenario_catalog import find

    return find(name)


def cmd_run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    scenario = None
    if args.scenario:
        try:
            scenario = _find(args.scenario)
        except ScenarioError as e:
            return fail("cosim run", str(e))
    if args.help or scenario is None:
        print(parser.format_help().rstrip())
        if scenario is not None:
            print("\n" + scenario_help(scenario))
            return EXIT_OK
        if not args.help:
            return fail("cosim run", "name a scenario (see `cosim list`)")
        return EXIT_OK
    return run_once(scenario, args, "cosim run")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def cmd_sweep(args: argparse.Namespace) -> int:
    from cosim.studies.backends import BackendError
    from cosim.studies.grid import expand_grid, parse_grid
    from cosim.studies.store import StoreError
    from cosim.studies.sweep import run_sweep

    prog = "cosim sweep"
    try:
        scenario = _find(args.scenario)
        axes = parse_grid(scenario, args.grid)
        configs = expand_grid(
            scenario,
            axes,
            parse_assignments(args.sets, "--set"),
            parse_assignments(args.engines, "--engine"),
            args.seed,
        )
    except (ParameterError, ScenarioError) as e:
        return fail(prog, str(e))
    if args.workers is not None and args.workers < 1:
        return fail(prog, f"--workers must be >= 1, got {args.workers}")
    out = Path(args.out) if args.out else Path("results") / scenario.name
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        summary = run_sweep(
            scenario,
            configs,
            out,
            workers=args.workers,
            backend=args.backend,
            address=args.address,
            timeout=args.timeout,
            retry_failed=args.retry_failed,
        )
    except (StoreError, BackendError) as e:
        return fail(prog, str(e))
    except KeyboardInterrupt:
        print(
            f"{prog}: interrupted; every finished point is stored in {out}; run the same "
            "command again to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f"sweep {scenario.name}: {summary.line()}")
    print(f"results: {out / 'results.sqlite'}; tables and figures: cosim report {out}")
    return EXIT_OK if summary.complete else EXIT_FAILED


def _objective(direction: str) -> Any:
    def parse(metric: str) -> tuple[str, str]:
        return (direction, metric.strip())

    return parse


def explore_spec_from_args(scenario: Scenario, args: argparse.Namespace) -> Any:
    """The ExploreSpec of `cosim explore` options, checked (ParameterError) before
    anything runs."""
    from cosim.studies.explore import ExploreSpec, search_space
    from cosim.studies.grid import parse_assignments
    from cosim.studies.pareto import Objective, parse_constraint

    sets = parse_assignments(args.sets, "--set")
    base = scenario.configure(sets, parse_assignments(args.engines, "--engine"), args.seed)
    fixed = {k: base.params[k] for k in sets}
    return ExploreSpec(
        dimensions=search_space(scenario, args.vary, fixed),
        objectives=[Objective(m, d) for d, m in args.objectives],
        constraints=[parse_constraint(w) for w in args.where],
        fixed=fixed,
        engines=dict(base.engines),
        seed=base.seed,
        sampler=args.sampler or "tpe",
        search_seed=args.search_seed,
        batch=args.batch,
    )


def cmd_explore(args: argparse.Namespace) -> int:
    from cosim.studies.backends import BackendError
    from cosim.studies.explore import (
        ExploreError,
        front_table,
        run_explore,
        sensitivity_table,
        write_summary,
    )
    from cosim.studies.store import StoreError

    prog = "cosim explore"
    try:
        scenario = _find(args.scenario)
        spec = explore_spec_from_args(scenario, args)
    except (ParameterError, ScenarioError) as e:
        return fail(prog, str(e))
    if args.workers is not None and args.workers < 1:
        return fail(prog, f"--workers must be >= 1, got {args.workers}")
    out = Path(args.out) if args.out else Path("results") / f"{scenario.name}-explore"
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        summary = run_explore(
            scenario,
            spec,
            out,
            trials=args.trials,
            time_budget=args.time,
            workers=args.workers,
            backend=args.backend,
            address=args.address,
            timeout=args.timeout,
            retry_failed=args.retry_failed,
            sensitivity=not args.no_sensitivity,
        )
    except ParameterError as e:
        return fail(prog, str(e))
    except (StoreError, BackendError, ExploreError) as e:
        return fail(prog, str(e), EXIT_FAILED if isinstance(e, ExploreError) else EXIT_USAGE)
    except KeyboardInterrupt:
        print(
            f"{prog}: interrupted; every finished trial is stored in {out}; run the same "
            "command again to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    path = write_summary(summary)
    print(f"explore {scenario.name}: {summary.line()}")
    if summary.front:
        title = "Pareto front" if len(spec.objectives) > 1 else "best design"
        print(f"\n{title}:\n{front_table(summary)}")
    else:
        print("no trial met the constraints: " + ", ".join(c.text for c in spec.constraints))
    if summary.sensitivity:
        print(f"\nsensitivity of the best design (trial {summary.best}):")
        print(sensitivity_table(summary.sensitivity, spec.objectives))
    names = ",".join(o.metric for o in spec.objectives[:3])
    print(f"\nsummary: {path}; figures: cosim report {out} --pareto {names}")
    return EXIT_OK if summary.front else EXIT_FAILED


def cmd_report(args: argparse.Namespace) -> int:
    from cosim.studies.report import ReportError, write_report
    from cosim.studies.store import StoreError

    try:
        paths = write_report(args.dir, args.out, args.metrics, pareto=args.pareto)
    except (StoreError, ReportError) as e:
        return fail("cosim report", str(e))
    for path in paths:
        print(path)
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    from cosim.scaffold import new_accelerator

    root = Path(args.root) if args.root else None
    files = new_accelerator(args.name, root)
    lines = sum(len(f.read_text().splitlines()) for f in files)
    for f in files:
        print(f)
    print(
        f"wrote accelerator '{args.name}': {len(files)} files, {lines} lines. `make test` "
        f"rebuilds the extension (its TLM twin is C++) and runs its tests; "
        f"`python scenarios/{args.name}.py` runs it; docs/accelerators.md says what to change."
    )
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from cosim.doctor import run_checks

    return EXIT_OK if run_checks(sys.stdout) else EXIT_FAILED


# ------------------------------------------------------------------------ parser


def _wrap(text: str) -> str:
    return textwrap.fill(text, 88)


def add_point_options(p: argparse.ArgumentParser, unit: str, out: str, verb: str) -> None:
    """The options `sweep` and `explore` share: what every point (or trial) fixes, where
    the points run and where their results go."""
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"{verb} a parameter for every {unit} (repeatable)",
    )
    p.add_argument(
        "--engine",
        dest="engines",
        action="append",
        default=[],
        metavar="COMPONENT=IMPL",
        help=f"choose an engine implementation for every {unit} (repeatable)",
    )
    axis = " (unless seed is an axis)" if unit == "point" else ""
    p.add_argument("--seed", metavar="N", help=f"workload seed of every {unit}{axis}")
    p.add_argument(
        "--workers", type=int, metavar="N", help=f"{unit}s run at once (default: CPU count)"
    )
    p.add_argument(
        "--backend",
        choices=("local", "dask", "ray"),
        default="local",
        help="local process pool (default), Dask distributed or Ray",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="the cluster to use: a Dask scheduler (tcp://host:8786) or a Ray address; "
        "without it dask and ray start a local cluster of --workers workers",
    )
    p.add_argument("--out", metavar="DIR", help=f"results folder (default {out})")
    p.add_argument(
        "--timeout", type=float, metavar="SECONDS", help=f"wall-time limit of each {unit}"
    )
    p.add_argument(
        "--retry-failed", action="store_true", help=f"run stored {unit}s that failed again"
    )


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="cosim",
        description="Run, sweep and report co-simulations of ML accelerators.",
        epilog=EXAMPLES,
        formatter_class=raw,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    subs: dict[str, argparse.ArgumentParser] = {}

    p = sub.add_parser("list", help="list the scenarios and what each one shows")
    p.add_argument("-v", "--verbose", action="store_true", help="also show each script's path")
    subs["list"] = p

    p = sub.add_parser(
        "run",
        help="run one scenario and print its report",
        add_help=False,
        formatter_class=raw,
        description=_wrap(
            "Run SCENARIO once in a fresh worker process and print its report; the last "
            "line is one JSON object of its metrics. `cosim run SCENARIO --help` lists its "
            "parameters and engines."
        ),
        epilog="examples:\n  cosim run eie --set rows=1024 --set pes=16\n"
        "  cosim run sta --engine engine=functional --trace",
    )
    p.add_argument("scenario", nargs="?", metavar="SCENARIO", help="name or script path")
    p.add_argument("-h", "--help", action="store_true", help="show this help (and SCENARIO's)")
    add_run_options(p)
    subs["run"] = p

    p = sub.add_parser(
        "sweep",
        help="run a grid of points, storing each result as it finishes",
        formatter_class=raw,
        description=_wrap(
            "Run every point of the grid (the Cartesian product of the --grid axes over the "
            "--set/--engine/--seed settings), each in its own worker, and store each result "
            "in DIR/results.sqlite as it finishes. Running the same command again resumes: "
            "points already stored are skipped."
        ),
        epilog="examples:\n  cosim sweep sta --grid pattern=2:4,1:4 --grid seq=16,32\n"
        "  cosim sweep sta --grid engine.engine=tlm,rtl --grid seed=1,2,3\n"
        "  cosim sweep eie --grid pes=8,16,32 --backend ray --workers 8",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="name or script path")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="an axis: a parameter, engine.COMPONENT or seed, with its values (repeatable)",
    )
    add_point_options(p, "point", "results/SCENARIO", "set")
    subs["sweep"] = p

    p = sub.add_parser(
        "explore",
        help="search a scenario's parameters for the best designs (Pareto front)",
        formatter_class=raw,
        description=_wrap(
            "Search the declared ranges of SCENARIO's parameters (or those named with "
            "--vary) for the designs that minimise or maximise the objectives under the "
            "--where constraints, with a seeded Optuna sampler (TPE by default, or NSGA-II). "
            "Trials run in batches on the sweep backends and are stored in DIR/results.sqlite "
            "like sweep points; running the same command again resumes (the same seed and "
            "trial count give the same front). Writes DIR/explore.md: the front and the "
            "one-at-a-time sensitivity of the best design."
        ),
        epilog="examples:\n"
        "  cosim explore eie --vary pes --vary mat_kb --engine eie=tlm --minimize cycles "
        "--minimize area_mm2 --where golden_ok --trials 40\n"
        "  cosim explore s2ta --vary rows --vary cols --engine s2ta=tlm --engine baseline=tlm "
        "--minimize energy_pj --where 'cycles < 5e4' --time 600\n"
        "  cosim explore eie --vary 'pes=4,8,16' --vary 'weight_density=0.02..0.2' "
        "--engine eie=tlm --maximize speedup",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="name or script path")
    p.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="NAME[=V1,V2|=LO..HI]",
        help="search this parameter over its declared range or the values given "
        "(repeatable; default: every parameter with a range)",
    )
    p.add_argument(
        "--minimize",
        dest="objectives",
        action="append",
        default=[],
        type=_objective("minimize"),
        metavar="METRIC",
        help="an objective to minimise (repeatable, with --maximize)",
    )
    p.add_argument(
        "--maximize",
        dest="objectives",
        action="append",
        type=_objective("maximize"),
        metavar="METRIC",
        help="an objective to maximise",
    )
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="CONSTRAINT",
        help="'METRIC < NUMBER' (< <= > >=), 'METRIC' or 'not METRIC' for a bool; "
        "parameters may be named too (repeatable)",
    )
    p.add_argument("--trials", type=int, default=40, metavar="N", help="trials (default 40)")
    p.add_argument(
        "--time",
        type=float,
        metavar="SECONDS",
        help="start no new batch of trials after this wall time",
    )
    p.add_argument(
        "--sampler",
        choices=("tpe", "nsga2", "random"),
        help="tpe (default), nsga2 (population = --batch) or random",
    )
    p.add_argument(
        "--search-seed", type=int, default=0, metavar="N", help="seed of the sampler (default 0)"
    )
    p.add_argument(
        "--batch",
        type=int,
        default=8,
        metavar="N",
        help="trials asked at once and run in parallel (default 8; part of what fixes the "
        "sequence of trials, unlike --workers)",
    )
    p.add_argument(
        "--no-sensitivity",
        action="store_true",
        help="skip the one-at-a-time steps around the best design",
    )
    add_point_options(p, "trial", "results/SCENARIO-explore", "fix")
    subs["explore"] = p

    p = sub.add_parser(
        "report",
        help="write tables and figures of a sweep's results",
        formatter_class=raw,
        description=_wrap(
            "Write results.csv, results.md and figures (PNG and SVG): metrics vs each swept "
            "parameter with baselines, speedup and energy-ratio bars, stacked energy "
            "breakdowns and a roofline."
        ),
        epilog="examples:\n  cosim report results/sta      # writes results/sta/report/*\n"
        "  cosim report results/eie --metric throughput_gops --out figures",
    )
    p.add_argument("dir", metavar="DIR", help="a sweep's results folder")
    p.add_argument("--out", metavar="FOLDER", help="where to write (default DIR/report)")
    p.add_argument(
        "--metric",
        dest="metrics",
        action="append",
        default=[],
        metavar="NAME",
        help="also plot this metric against each swept parameter (repeatable)",
    )
    p.add_argument(
        "--pareto",
        action="append",
        default=[],
        metavar="A,B[,C]",
        help="draw and list the Pareto front of these metrics (minimised; METRIC:max to "
        "maximise; an explore's own directions and constraints apply); one metric: its "
        "best value against trials (repeatable)",
    )
    subs["report"] = p

    p = sub.add_parser(
        "new",
        help="write a new accelerator's skeleton in every layer folder",
        formatter_class=raw,
        description=_wrap(
            "Write accelerator NAME: rtl/NAME/, tlm/accel/NAME/, cosim/accel/NAME/, "
            "scenarios/NAME.py, tests/accel/NAME/ and docs/accelerators/NAME.md, a working "
            "vector-scale engine with its three twins, a system, a scenario and a test."
        ),
        epilog="example:\n  cosim new vscale && make test",
    )
    p.add_argument("name", metavar="NAME", help="the accelerator's name (lower case)")
    p.add_argument("--root", metavar="DIR", help="the checkout to write into (default: this one)")
    subs["new"] = p

    subs["doctor"] = sub.add_parser(
        "doctor", help="check SystemC, the compiler, the cache, the extension and Verilator"
    )
    return parser, subs


def main(argv: list[str] | None = None) -> int:
    parser, subs = build_parser()
    args = parser.parse_args(argv)
    handlers: dict[str, Any] = {
        "list": cmd_list,
        "sweep": cmd_sweep,
        "explore": cmd_explore,
        "report": cmd_report,
        "doctor": cmd_doctor,
        "new": cmd_new,
    }
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.command == "run":
            return cmd_run(args, subs["run"])
        return int(handlers[args.command](args))
    except CosimError as e:
        return fail(f"cosim {args.command}", str(e))


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()

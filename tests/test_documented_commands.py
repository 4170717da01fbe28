"""Every `cosim run` / `sweep` / `explore` command line the documentation and the CLI's own help
show, and every `python scenarios/NAME.py ...` line of the docs and of the scenarios'
usage texts, must name a real scenario, its real parameters and engines and allowed
values: a newcomer copies them. Each is parsed and resolved exactly as the CLI would
before it starts a worker (nothing is simulated)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from cosim import cli
from cosim.scenario_catalog import scripts
from cosim.studies.grid import expand_grid, parse_assignments, parse_grid

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "scenarios" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND = re.compile(r"\bcosim (?:run|sweep|explore) [^`#\n]*")
INLINE = re.compile(r"`(cosim (?:run|sweep|explore) [^`]*)`")
#: `python scenarios/NAME.py ARGS` (run directly: the options of `cosim run NAME ARGS`);
#: usage texts bracket optional parts, which are kept
SCRIPT = re.compile(r"python\S* scenarios/(\w+)\.py((?: [^`#|\n]*)?)$")


def _markdown_commands(path: Path) -> list[tuple[str, str]]:
    """Command lines in fenced code blocks, and inline `cosim ...` spans on one line."""
    found, fenced = [], False
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        where = f"{path.relative_to(ROOT)}:{n}"
        if fenced and line.lstrip().startswith("cosim "):
            found += [(where, m.group(0)) for m in COMMAND.finditer(line)]
        elif fenced:
            found += _script_commands(where, line)
        elif not fenced:
            found += [(where, m.group(1)) for m in INLINE.finditer(line)]
    return found


def _script_commands(where: str, line: str) -> list[tuple[str, str]]:
    m = SCRIPT.search(line.rstrip())
    if m is None or "--help" in m.group(2):
        return []
    return [(where, f"cosim run {m.group(1)}{m.group(2).replace('[', '').replace(']', '')}")]


def _usage_commands() -> list[tuple[str, str]]:
    """The usage lines at the top of each scenario script's docstring."""
    found = []
    for path in sorted((ROOT / "scenarios").glob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            found += _script_commands(f"{path.relative_to(ROOT)}:{n}", line)
    return found


def _help_commands() -> list[tuple[str, str]]:
    parser, subs = cli.build_parser()
    texts = {"cosim --help": parser.epilog or ""}
    texts.update({f"cosim {name} --help": p.epilog or "" for name, p in subs.items()})
    return [(where, m.group(0)) for where, text in texts.items() for m in COMMAND.finditer(text)]


def _all_commands() -> list[tuple[str, str]]:
    out = _help_commands() + _usage_commands()
    for path in DOCS:
        out += _markdown_commands(path)
    return out


def _resolve(command: str) -> None:
    """Parse `command` and check it the way `cosim run` / `cosim sweep` does before running."""
    argv = shlex.split(command.split("&&")[0])[1:]
    parser, _ = cli.build_parser()
    args = parser.parse_args(argv)
    scenario = cli._find(args.scenario)
    if args.command == "run":
        cli.config_from_args(scenario, args)
    elif args.command == "explore":
        cli.explore_spec_from_args(scenario, args)  # objectives are checked on a run
    else:
        axes = parse_grid(scenario, args.grid)
        expand_grid(
            scenario,
            axes,
            parse_assignments(args.sets, "--set"),
            parse_assignments(args.engines, "--engine"),
            args.seed,
        )


COMMANDS = _all_commands()
PLACEHOLDERS = {"NAME", "SCENARIO"}


def test_the_docs_and_help_show_commands():
    assert len(COMMANDS) >= 8
    assert any(w.startswith("README.md") for w, _ in COMMANDS)
    assert any(w.startswith("cosim --help") for w, _ in COMMANDS)
    assert {w.split(":")[0] for w, _ in COMMANDS} >= {"scenarios/eie.py", "scenarios/sta.py"}


@pytest.mark.parametrize(("where", "command"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_documented_command_resolves(where, command):
    name = shlex.split(command)[2]
    if name in PLACEHOLDERS:
        return
    assert name in scripts(), f"{where}: `{command}` names no scenario"
    _resolve(command)


def test_a_wrong_documented_command_would_be_caught():
    with pytest.raises(Exception, match="density"):
        _resolve("cosim sweep eie --grid density=0.05,0.09")
    with pytest.raises(Exception, match="engine 'pe'"):
        _resolve("cosim run eie --engine pe=rtl")


def test_the_readme_python_example_configures_the_eie_scenario():
    """README's "From Python" line (`s.configure({...}, {...}, seed=3)`) on scenarios/eie.py:
    its parameter and engine names must be the scenario's."""
    from cosim.scenario import load_script

    calls = re.findall(r"s\.configure\(([^()]*)\)", (ROOT / "README.md").read_text())
    assert calls, "README no longer shows s.configure(...)"
    s = load_script(ROOT / "scenarios" / "eie.py")
    for args in calls:
        config = eval(f"s.configure({args})", {"s": s})
        assert config.scenario == "eie"

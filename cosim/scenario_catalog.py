"""Finding scenarios by name.

A scenario named NAME is the script NAME.py in one of the search-path folders: first
those listed in $COSIM_SCENARIO_PATH (separated by ':'), then the repository's
scenarios/ folder, then ./scenarios. The first folder holding NAME.py wins. Files whose
names start with '_' are helpers, not scenarios. A path to a .py file is accepted
wherever a name is.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from cosim.scenario import Scenario, ScenarioError, load_script

SEARCH_PATH_ENV = "COSIM_SCENARIO_PATH"


def search_path() -> list[Path]:
    """The folders searched for scenarios, in order."""
    import cosim

    folders = [Path(p) for p in os.environ.get(SEARCH_PATH_ENV, "").split(os.pathsep) if p]
    folders.append(Path(cosim.__file__).resolve().parents[1] / "scenarios")
    folders.append(Path.cwd() / "scenarios")
    out: list[Path] = []
    for folder in folders:
        folder = folder.expanduser().resolve()
        if folder.is_dir() and folder not in out:
            out.append(folder)
    return out


def scripts() -> dict[str, Path]:
    """Scenario name -> script path, for every scenario on the search path."""
    found: dict[str, Path] = {}
    for folder in search_path():
        for script in sorted(folder.glob("*.py")):
            if not script.name.startswith(("_", ".")):
                found.setdefault(script.stem, script)
    return found


def find(name: str) -> Scenario:
    """The scenario called `name` (or the script at path `name`), loaded.

    ScenarioError names the unknown scenario, a close match and the known ones."""
    if name.endswith(".py") or os.sep in name:
        path = Path(name)
        if not path.is_file():
            raise ScenarioError(f"no scenario script at {name}")
        return load_script(path)
    known = scripts()
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        folders = ", ".join(str(f) for f in search_path()) or "none"
        raise ScenarioError(
            f"unknown scenario '{name}'{hint} (known: {', '.join(sorted(known)) or 'none'}; "
            f"searched {folders}; add folders with {SEARCH_PATH_ENV})"
        )
    scenario = load_script(known[name])
    if scenario.name != name:
        raise ScenarioError(
            f"{known[name]} declares the scenario name '{scenario.name}'; a scenario's name "
            f"must be its file name '{name}'"
        )
    return scenario


@dataclass(frozen=True)
class Entry:
    name: str
    path: Path
    summary: str
    error: str | None = None


def catalog() -> list[Entry]:
    """Every scenario on the search path with its summary; a script that cannot be
    loaded is listed with its error instead."""
    entries = []
    for name, path in sorted(scripts().items()):
        try:
            entries.append(Entry(name, path, find(name).summary))
        except ScenarioError as e:
            entries.append(Entry(name, path, "", str(e)))
    return entries

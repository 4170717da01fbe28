"""What a scenario's settings are: the engines it can swap (`Engine`) and the validated
settings of one run handed to its run function (`Config`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.errors import DeclarationError

ENGINE_KINDS = ("functional", "tlm", "rtl")


@dataclass(frozen=True)
class Engine:
    """A component whose implementation the scenario can swap: the implementations it
    has, among ENGINE_KINDS (functional = numpy, tlm = approximately timed C++,
    rtl = Verilated), and the default (the first one unless given)."""

    choices: tuple[str, ...]
    default: str = ""
    help: str = ""

    def __post_init__(self) -> None:
        choices = (self.choices,) if isinstance(self.choices, str) else tuple(self.choices)
        bad = [c for c in choices if c not in ENGINE_KINDS]
        if not choices or bad:
            raise DeclarationError(
                f"engine implementations {list(choices)!r} must be a non-empty subset of "
                f"{', '.join(ENGINE_KINDS)}"
            )
        object.__setattr__(self, "choices", choices)
        default = self.default or choices[0]
        if default not in choices:
            raise DeclarationError(f"engine default {default!r} is not one of {', '.join(choices)}")
        object.__setattr__(self, "default", default)


@dataclass(frozen=True)
class Config:
    """The validated settings of one run, handed to the run function. Parameters read
    as attributes (`config.n`) or items (`config["n"]`); `config.engines` maps each
    component to its implementation; `config.rng()` is the seeded generator; `wave`
    names an RTL block whose waveform the scenario should dump (or None); `trace` says
    a timeline is being recorded (the framework enables and exports it)."""

    scenario: str
    params: Mapping[str, Any]
    engines: Mapping[str, str]
    seed: int
    wave: str | None = None
    trace: bool = False

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("params")
        if params is not None and name in params:
            return params[name]
        if name.startswith("__") or params is None:
            raise AttributeError(name)
        raise AttributeError(
            f"scenario '{self.scenario}' has no parameter '{name}' "
            f"(parameters: {', '.join(params) or 'none'})"
        )

    def __getitem__(self, name: str) -> Any:
        if name not in self.params:
            raise KeyError(
                f"scenario '{self.scenario}' has no parameter '{name}' "
                f"(parameters: {', '.join(self.params) or 'none'})"
            )
        return self.params[name]

    def engine(self, component: str) -> str:
        """The implementation chosen for `component`."""
        if component not in self.engines:
            raise KeyError(
                f"scenario '{self.scenario}' has no engine '{component}' "
                f"(engines: {', '.join(self.engines) or 'none'})"
            )
        return self.engines[component]

    def rng(self) -> np.random.Generator:
        """A numpy generator seeded with this run's seed (a new one on each call)."""
        return np.random.default_rng(self.seed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "params": dict(self.params),
            "engines": dict(self.engines),
            "seed": self.seed,
            "wave": self.wave,
            "trace": self.trace,
        }

    @property
    def point_id(self) -> str:
        """Identity of this point in a study: a hash of scenario, parameters, engines and
        seed (what determines the results; wave and trace do not)."""
        key = json.dumps(
            [self.scenario, dict(self.params), dict(self.engines), self.seed],
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(key.encode()).hexdigest()[:16]

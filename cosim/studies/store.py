"""The results store of a study: one SQLite file, DIR/results.sqlite.

Schema (version 1):

    study(key TEXT PRIMARY KEY, value TEXT NOT NULL)
        schema_version, scenario, script (path of the scenario script), created_at

    points(
        point_id    TEXT PRIMARY KEY,  -- hash of scenario, params, engines and seed
        scenario    TEXT NOT NULL,
        params      TEXT NOT NULL,     -- JSON object: every parameter, defaults included
        engines     TEXT NOT NULL,     -- JSON object: component -> functional | tlm | rtl
        seed        INTEGER NOT NULL,
        status      TEXT NOT NULL,     -- ok | golden_mismatch | error | crashed | timeout
        error       TEXT,              -- why the point failed; NULL when it ran
        metrics     TEXT,              -- JSON object of the metrics; NULL when it failed
        extras      TEXT,              -- JSON object: energy breakdowns, roofline inputs, ...
        report      TEXT,              -- the scenario's report text
        wall_s      REAL NOT NULL,     -- wall time of the point (worker start to result)
        sim_time_ps INTEGER,           -- simulated time at the end of the run
        provenance  TEXT NOT NULL,     -- JSON: cosim, git_revision, python, numpy, systemc,
                                       --   verilator, host, platform, and what the run
                                       --   recorded (e.g. rtl_build.<block> hashes)
        backend     TEXT NOT NULL,     -- local | dask | ray
        finished_at TEXT NOT NULL      -- UTC, ISO 8601
    )

Each point is committed in its own transaction the moment it finishes (synchronous=FULL),
so a driver killed at any moment loses no finished point, and a half-written one is
rolled back by SQLite when the store is next opened. Only one sweep writes to a folder
at a time (an advisory lock on DIR/.lock, released by the kernel if the driver dies).
JSON columns are queried with SQLite's JSON functions, e.g.

    sqlite3 DIR/results.sqlite "SELECT json_extract(params, '$.n'),
        json_extract(metrics, '$.speedup') FROM points WHERE status = 'ok'"
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cosim.errors import CosimError

SCHEMA_VERSION = 1
STORE_FILE = "results.sqlite"
LOCK_FILE = ".lock"
STATUSES = ("ok", "golden_mismatch", "error", "crashed", "timeout")
RAN = ("ok", "golden_mismatch")  # statuses of points whose run completed (metrics stored)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS study (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    point_id    TEXT PRIMARY KEY,
    scenario    TEXT NOT NULL,
    params      TEXT NOT NULL,
    engines     TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN
                    ('ok', 'golden_mismatch', 'error', 'crashed', 'timeout')),
    error       TEXT,
    metrics     TEXT,
    extras      TEXT,
    report      TEXT,
    wall_s      REAL NOT NULL,
    sim_time_ps INTEGER,
    provenance  TEXT NOT NULL,
    backend     TEXT NOT NULL,
    finished_at TEXT NOT NULL
);
"""
_JSON_COLUMNS = ("params", "engines", "metrics", "extras", "provenance")


class StoreError(CosimError):
    """The results folder cannot be used: missing, locked by another sweep, holding
    another scenario's results or another schema."""


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


@dataclass
class PointRecord:
    """One row of the points table (JSON columns as Python objects)."""

    point_id: str
    scenario: str
    params: dict[str, Any]
    engines: dict[str, str]
    seed: int
    status: str
    error: str | None = None
    metrics: dict[str, Any] | None = None
    extras: dict[str, Any] | None = None
    report: str | None = None
    wall_s: float = 0.0
    sim_time_ps: int | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    backend: str = "local"
    finished_at: str = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")

    @property
    def ran(self) -> bool:
        return self.status in RAN


class ResultStore:
    """The store in `folder`. writer=True creates it if needed and takes the folder's
    lock (StoreError if another sweep holds it); a reader only reads."""

    def __init__(self, folder: str | Path, *, writer: bool = False) -> None:
        self.folder = Path(folder)
        self.path = self.folder / STORE_FILE
        self._lock_fd: int | None = None
        if writer:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock()
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self.db.execute("PRAGMA synchronous = FULL")
            self.db.executescript(_SCHEMA)
            version = self._meta("schema_version")
            if version is None:
                self._set_meta("schema_version", str(SCHEMA_VERSION))
                self._set_meta("created_at", utc_now())
        else:
            if not self.path.is_file():
                raise StoreError(
                    f"no results in {self.folder} (no {STORE_FILE}; `cosim sweep ... --out "
                    f"{self.folder}` writes them)"
                )
            # Not opened read-only: a reader must be able to roll back the journal of a
            # driver killed while it committed.
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            version = self._meta("schema_version")
        if version is not None and int(version) != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has results schema version {version}; this cosim reads version "
                f"{SCHEMA_VERSION}"
            )

    def _lock(self) -> None:
        fd = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StoreError(
                f"another cosim sweep (pid {holder}) is writing to {self.folder}; wait for it "
                "or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def _meta(self, key: str) -> str | None:
        try:
            row = self.db.execute("SELECT value FROM study WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError:
            return None
        return None if row is None else row[0]

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO study (key, value) VALUES (?, ?)", (key, value))

    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM study").fetchall())

    def set_meta(self, key: str, value: str) -> None:
        """Record a study-wide setting (e.g. an explore's search), in its own transaction."""
        self._set_meta(key, value)

    def bind_scenario(self, name: str, script: str) -> None:
        """Record which scenario this study is about; StoreError if it holds another's."""
        held = self._meta("scenario")
        if held is not None and held != name:
            raise StoreError(
                f"{self.folder} holds results of scenario '{held}', not '{name}'; choose "
                "another --out"
            )
        self._set_meta("scenario", name)
        self._set_meta("script", script)

    def write(self, record: PointRecord) -> None:
        """Store one finished point (replacing an earlier record of the same point) in
        its own transaction."""
        row = asdict(record)
        for key in _JSON_COLUMNS:
            row[key] = None if row[key] is None else json.dumps(row[key], sort_keys=True)
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute(
                f"INSERT OR REPLACE INTO points ({columns}) VALUES ({marks})", tuple(row.values())
            )
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def records(self) -> list[PointRecord]:
        """Every stored point, in the order they finished."""
        cursor = self.db.execute("SELECT * FROM points ORDER BY finished_at, rowid")
        names = [d[0] for d in cursor.description]
        out = []
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            for key in _JSON_COLUMNS:
                row[key] = None if row[key] is None else json.loads(row[key])
            out.append(PointRecord(**row))
        return out

    def statuses(self) -> dict[str, str]:
        """point_id -> status of every stored point."""
        return dict(self.db.execute("SELECT point_id, status FROM points").fetchall())

    def close(self) -> None:
        self.db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

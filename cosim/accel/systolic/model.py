"""Cycles of a dense systolic array, analytically: how a GEMM folds onto the array, the
standard analytical model's compute cycles (SCALE-Sim: Samajdar et al., "A Systematic
Methodology for Characterizing Scalability of DNN Accelerators using SCALE-Sim", ISPASS
2020) and the cycles of this repository's array for one job (rtl/systolic/systolic_array.sv,
derived in docs/accelerators/systolic.md). The functional twin reports the latter.

A GEMM C[M x N] = A[M x K] B[K x N] maps onto a rows x cols array as
  OS: C tiles stay in the PEs: folds ceil(M/rows) x ceil(N/cols), each streams K beats;
  WS: B tiles stay: folds ceil(K/rows) x ceil(N/cols), each streams the M rows of A;
  IS: A tiles stay: folds ceil(K/rows) x ceil(M/cols), each streams the N columns of B.
"""

from __future__ import annotations

from dataclasses import dataclass

from cosim.errors import ParameterError

DATAFLOWS = ("OS", "WS", "IS")


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def check_dataflow(dataflow: str) -> str:
    if dataflow not in DATAFLOWS:
        raise ParameterError(
            f"systolic array dataflow must be one of {', '.join(DATAFLOWS)}, got {dataflow!r}"
        )
    return dataflow


@dataclass(frozen=True)
class Mapping:
    """How one GEMM folds onto a rows x cols array in one dataflow."""

    dataflow: str
    rows: int
    cols: int
    m: int
    n: int
    k: int

    def __post_init__(self) -> None:
        check_dataflow(self.dataflow)
        if min(self.rows, self.cols) < 1 or min(self.m, self.n, self.k) < 1:
            raise ParameterError(
                f"GEMM {self.m}x{self.k}x{self.n} on a {self.rows}x{self.cols} array: "
                "every dimension must be >= 1"
            )

    @property
    def spatial(self) -> tuple[int, int]:
        """The two GEMM dimensions laid over (rows, cols) of the array."""
        return {"OS": (self.m, self.n), "WS": (self.k, self.n), "IS": (self.k, self.m)}[
            self.dataflow
        ]

    @property
    def temporal(self) -> int:
        """T: the dimension streamed through the array in each fold (DEPTH of a fold)."""
        return {"OS": self.k, "WS": self.m, "IS": self.n}[self.dataflow]

    @property
    def row_folds(self) -> int:
        return _ceil(self.spatial[0], self.rows)

    @property
    def col_folds(self) -> int:
        return _ceil(self.spatial[1], self.cols)

    @property
    def folds(self) -> int:
        return self.row_folds * self.col_folds

    @property
    def macs(self) -> int:
        return self.m * self.n * self.k

    @property
    def mapping_efficiency(self) -> float:
        """Mean fraction of the PEs that hold part of the GEMM, over the folds."""
        a, b = self.spatial
        return (a * b) / (self.folds * self.rows * self.cols)

    def scalesim_cycles(self) -> int:
        """The analytical model's compute cycles: OS folds x (T + R + C - 2) - 1,
        WS and IS folds x (2R + C + T - 2) - 1."""
        r, c, t = self.rows, self.cols, self.temporal
        per_fold = t + r + c - 2 if self.dataflow == "OS" else 2 * r + c + t - 2
        return self.folds * per_fold - 1

    def array_cycles(self) -> int:
        """Cycles of this repository's array running the whole GEMM as one job (start
        write to done) with its operands always on time and its results always read."""
        return job_cycles(self.dataflow, self.rows, self.cols, self.temporal, self.folds)


def fold_period(dataflow: str, rows: int, cols: int, depth: int) -> int:
    """Cycles between the first beats of two folds of one job of the array."""
    check_dataflow(dataflow)
    if dataflow == "OS":
        return max(depth, 1) + rows + cols - 2
    return 2 * rows + cols + depth - 2 if depth else rows


def job_cycles(dataflow: str, rows: int, cols: int, depth: int, folds: int) -> int:
    """CYCLES of one job of the array (start write to done) at full rate:
    OS folds x period + rows + 2 (the last fold's results drain after it),
    WS/IS folds x period + 2 (depth 0: folds x rows + 1, weights only)."""
    folds = max(folds, 1)
    period = fold_period(dataflow, rows, cols, depth)
    if dataflow == "OS":
        return folds * period + rows + 2
    return folds * period + (2 if depth else 1)

"""Graphs for graph-convolution workloads: a seeded synthetic citation graph with Cora's
statistics (power-law degrees by preferential attachment, community structure by
homophilous attachment), a reader of edge-list files ("src dst" per line, '#' comments)
and the GCN's normalised adjacency D^-1/2 (A + I) D^-1/2 in fixed point (Kipf and
Welling, ICLR 2017). Cora (Sen et al., AI Magazine 2008): 2708 nodes, 5278 undirected
edges (mean degree 3.9, max 168), 7 classes, about 81% of edges within a class."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosim.errors import ParameterError

#: Cora's figures the generator targets by default.
CORA_NODES, CORA_MEAN_DEGREE, CORA_COMMUNITIES, CORA_HOMOPHILY = 2708, 3.9, 7, 0.81


@dataclass(frozen=True)
class Graph:
    """An undirected simple graph: `edges` (E, 2) int64 with src < dst, unique."""

    nodes: int
    edges: np.ndarray
    communities: np.ndarray | None = None

    def degrees(self) -> np.ndarray:
        return np.bincount(self.edges.reshape(-1), minlength=self.nodes)


def _simple(nodes: int, pairs: np.ndarray) -> np.ndarray:
    """Unique undirected edges (src < dst) without self loops."""
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    pairs = np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1)
    return np.unique(pairs, axis=0) if len(pairs) else np.zeros((0, 2), np.int64)


def citation_graph(
    rng: np.random.Generator,
    nodes: int = CORA_NODES,
    mean_degree: float = CORA_MEAN_DEGREE,
    communities: int = CORA_COMMUNITIES,
    homophily: float = CORA_HOMOPHILY,
) -> Graph:
    """A seeded citation-like graph: each new node (a paper) cites about mean_degree / 2
    earlier ones, chosen in proportion to their degree (preferential attachment: a
    power-law degree tail), within its own community with probability `homophily`."""
    if not 2 <= nodes <= 1 << 16:
        raise ParameterError(f"citation graph: nodes = {nodes} must be 2..65536")
    if not 1.0 <= mean_degree <= 64.0:
        raise ParameterError(f"citation graph: mean_degree = {mean_degree} must be 1..64")
    if not 1 <= communities <= nodes:
        raise ParameterError(f"citation graph: communities = {communities} must be 1..{nodes}")
    if not 0.0 <= homophily <= 1.0:
        raise ParameterError(f"citation graph: homophily = {homophily} must be 0..1")
    comm = rng.integers(0, communities, nodes)
    half = mean_degree / 2
    cites = np.minimum(rng.poisson(half - 1, nodes) + 1, np.arange(nodes))
    ends: list[list[int]] = [[] for _ in range(communities)]  # endpoints, degree-weighted
    every: list[int] = []
    pairs = []
    for v in range(nodes):
        for _ in range(int(cites[v])):
            own = ends[comm[v]]
            pool = own if own and rng.random() < homophily else every
            u = pool[int(rng.integers(len(pool)))] if pool else int(rng.integers(v))
            pairs.append((u, v))
            for x in (u, v):
                ends[comm[x]].append(x)
                every.append(x)
        if cites[v] == 0:  # an isolated paper still joins the pools once
            ends[comm[v]].append(v)
            every.append(v)
    return Graph(nodes, _simple(nodes, np.array(pairs, np.int64)), comm)


def read_edge_list(path: str | Path) -> Graph:
    """A graph from an edge-list file: 'src dst' (non-negative integers) per line, blank
    lines and '#' comments ignored; nodes = the largest id + 1. ParameterError naming
    file:line for a malformed line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ParameterError(f"edge list {path}: cannot be read ({e.strerror})") from None
    pairs = []
    for n, line in enumerate(text.splitlines(), 1):
        body = line.split("#", 1)[0].split()
        if not body:
            continue
        if len(body) != 2 or not all(t.isdigit() for t in body):
            raise ParameterError(
                f"{path}:{n}: expected 'src dst' (two non-negative integers), got {line.strip()!r}"
            )
        pairs.append((int(body[0]), int(body[1])))
    if not pairs:
        raise ParameterError(f"{path}: no edges (expected 'src dst' lines)")
    arr = np.array(pairs, np.int64)
    return Graph(int(arr.max()) + 1, _simple(int(arr.max()) + 1, arr))


def normalised_adjacency(graph: Graph, frac_bits: int = 8) -> tuple[np.ndarray, ...]:
    """D^-1/2 (A + I) D^-1/2 in fixed point (round to nearest, at least 1 so no edge is
    lost) as CSR-ordered COO: (rows, cols, int16 values), sorted by row then column."""
    n = graph.nodes
    e = graph.edges
    rows = np.concatenate([e[:, 0], e[:, 1], np.arange(n)])
    cols = np.concatenate([e[:, 1], e[:, 0], np.arange(n)])
    deg = np.bincount(rows, minlength=n).astype(np.float64)
    val = np.maximum(1, np.rint((1 << frac_bits) / np.sqrt(deg[rows] * deg[cols])))
    order = np.lexsort((cols, rows))
    return rows[order], cols[order], val[order].astype(np.int16)

"""GCoD's workload: a seeded synthetic citation-like graph (power-law degrees, planted
communities; Cora's size: 2708 nodes, 5278 undirected edges, 7 classes, Sen et al., AI
Magazine 2008), an edge-list reader, GCoD's partition into diagonal blocks (seeded label
propagation, then communities packed into equal blocks) and the numpy golden of one GCN
layer, Y = A (X W), computed independently of the engines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosim.errors import ParameterError

CORA_NODES, CORA_EDGES, CORA_CLASSES = 2708, 5278, 7


@dataclass(frozen=True)
class Graph:
    """An undirected graph: `edges` (m, 2) int64, each pair once with src < dst."""

    nodes: int
    edges: np.ndarray

    def adjacency(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows and columns of A's nonzeros: both directions of each edge plus self loops,
        sorted by row then column (the GCN adjacency A + I, weights 1)."""
        loops = np.arange(self.nodes)
        r = np.r_[self.edges[:, 0], self.edges[:, 1], loops]
        c = np.r_[self.edges[:, 1], self.edges[:, 0], loops]
        order = np.lexsort((c, r))
        return r[order], c[order]


def synthetic_graph(rng: np.random.Generator, nodes: int, edges: int, classes: int) -> Graph:
    """A degree-corrected planted-partition graph: node weights from a Pareto law (power-law
    degrees, exponent about 2.5 as citation graphs), each edge's ends drawn by weight, the
    second one inside the first one's community with probability 0.85 (Cora's edge
    homophily is 0.81, Zhu et al., NeurIPS 2020). Node ids are shuffled: no locality."""
    if edges > nodes * (nodes - 1) // 4:
        raise ParameterError(f"edges = {edges} is too many for {nodes} nodes")
    weight = rng.pareto(1.5, nodes) + 1.0
    community = rng.integers(0, classes, nodes)
    members = [np.flatnonzero(community == k) for k in range(classes)]
    found: set[tuple[int, int]] = set()
    p_all = weight / weight.sum()
    while len(found) < edges:
        n = edges - len(found)
        src = rng.choice(nodes, 2 * n, p=p_all)
        inside = rng.random(2 * n) < 0.85
        dst = rng.choice(nodes, 2 * n, p=p_all)
        for k, m in enumerate(members):
            pick = inside & (community[src] == k)
            if pick.any() and len(m):
                pm = weight[m] / weight[m].sum()
                dst[pick] = rng.choice(m, int(pick.sum()), p=pm)
        for s, d in zip(src.tolist(), dst.tolist(), strict=True):
            if s != d and len(found) < edges:
                found.add((min(s, d), max(s, d)))
    e = np.array(sorted(found), np.int64).reshape(-1, 2)
    return Graph(nodes, e)


def read_edge_list(path: str | Path) -> Graph:
    """A graph from a text file of "src dst" lines (node ids >= 0; '#' starts a comment).
    Duplicates, both directions and self loops are folded. A malformed line raises a
    ParameterError naming file:line, before any simulation."""
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"parameter 'graph': no such edge-list file {str(p)!r}")
    pairs: list[tuple[int, int]] = []
    for no, line in enumerate(p.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) != 2 or not all(x.isdigit() for x in parts):
            raise ParameterError(
                f"{p}:{no}: expected 'src dst' (two non-negative integers), got {line.strip()!r}"
            )
        pairs.append((int(parts[0]), int(parts[1])))
    if not pairs:
        raise ParameterError(f"{p}: no edges")
    e = np.array(pairs, np.int64)
    e = np.sort(e[e[:, 0] != e[:, 1]], axis=1)
    return Graph(int(e.max()) + 1 if len(e) else int(np.max(pairs)) + 1, np.unique(e, axis=0))


def label_propagation(g: Graph, rng: np.random.Generator, rounds: int = 30) -> np.ndarray:
    """Communities by label propagation (Raghavan et al., Phys. Rev. E 2007), semi-
    synchronous: each round a seeded random half of the nodes takes its neighbours' most
    frequent label (ties broken by seeded noise), which avoids the oscillation of fully
    synchronous updates and keeps each round one numpy pass over the edges."""
    r, c = g.adjacency()
    off = r != c
    r, c = r[off], c[off]
    label = np.arange(g.nodes)
    for _ in range(rounds):
        key = r * g.nodes + label[c]
        uniq, counts = np.unique(key, return_counts=True)
        node, lab = uniq // g.nodes, uniq % g.nodes
        score = counts + rng.random(len(counts)) * 0.5
        best = np.lexsort((-score, node))
        first = best[np.r_[True, node[best][1:] != node[best][:-1]]]
        new = label.copy()
        new[node[first]] = lab[first]
        move = rng.random(g.nodes) < 0.5
        if not np.any(move & (new != label)):
            break
        label = np.where(move, new, label)
    return label


def gcod_order(g: Graph, rng: np.random.Generator) -> np.ndarray:
    """GCoD's reordering: nodes grouped by community (largest first, each in breadth-first
    order from its highest-degree node), so that cutting the order into equal blocks
    keeps most edges inside diagonal blocks. Returns the new order (order[k] = old id)."""
    label = label_propagation(g, rng)
    r, c = g.adjacency()
    starts = np.searchsorted(r, np.arange(g.nodes + 1))
    degree = np.diff(starts)
    comms = sorted(
        (np.flatnonzero(label == k) for k in np.unique(label)), key=lambda m: (-len(m), m[0])
    )
    order: list[int] = []
    seen = np.zeros(g.nodes, bool)
    for m in comms:
        inside = np.zeros(g.nodes, bool)
        inside[m] = True
        for root in m[np.argsort(-degree[m], kind="stable")].tolist():
            if seen[root]:
                continue
            queue = [root]
            seen[root] = True
            while queue:
                v = queue.pop(0)
                order.append(v)
                for u in c[starts[v] : starts[v + 1]].tolist():
                    if inside[u] and not seen[u]:
                        seen[u] = True
                        queue.append(u)
    return np.array(order, np.int64)


def blocks_of(nodes: int, blocks: int) -> np.ndarray:
    """Block of each position of an order cut into `blocks` equal (ceil) ranges."""
    size = -(-nodes // blocks)
    return np.arange(nodes) // size


@dataclass(frozen=True)
class Layer:
    """One GCN layer's data in an order: A's nonzeros (rows, cols in the order's positions),
    X (nodes, f_in) int8, W (f_in, f_out) int8, and the block of each position."""

    rows: np.ndarray
    cols: np.ndarray
    x: np.ndarray
    w: np.ndarray
    block: np.ndarray

    def diagonal(self) -> np.ndarray:
        """Mask of the nonzeros inside diagonal blocks (their features stay on chip)."""
        return self.block[self.rows] == self.block[self.cols]


def layer(g: Graph, order: np.ndarray, x: np.ndarray, w: np.ndarray, blocks: int) -> Layer:
    """The layer with nodes renumbered by `order` and cut into `blocks` diagonal blocks."""
    pos = np.empty(g.nodes, np.int64)
    pos[order] = np.arange(g.nodes)
    r, c = g.adjacency()
    rr, cc = pos[r], pos[c]
    o = np.lexsort((cc, rr))
    return Layer(rr[o], cc[o], x[order], w, blocks_of(g.nodes, blocks))


def features(rng: np.random.Generator, nodes: int, f_in: int, f_out: int, density: float):
    """Binary bag-of-words features X (Cora's are binary) and int8 weights W."""
    x = (rng.random((nodes, f_in)) < density).astype(np.int8)
    w = rng.integers(-128, 128, (f_in, f_out)).astype(np.int8)
    return x, w


def golden(g: Graph, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Y = (A + I) X W in the graph's own node order, int64 (no wrap at these sizes)."""
    h = x.astype(np.int64) @ w.astype(np.int64)
    y = h.copy()
    np.add.at(y, g.edges[:, 0], h[g.edges[:, 1]])
    np.add.at(y, g.edges[:, 1], h[g.edges[:, 0]])
    return y


def offchip_reads(lay: Layer) -> int:
    """Nonzeros outside the diagonal blocks: each needs its feature row from off chip."""
    return int(np.count_nonzero(lay.block[lay.rows] != lay.block[lay.cols]))

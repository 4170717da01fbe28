"""A seeded 2-layer GCN (Kipf and Welling, ICLR 2017) in 16-bit fixed point, LW-GCN's
datapath width: H = relu(A X W1), Y = A H W2 with A the normalised adjacency (graph.py),
X the nodes' features after a dense first projection (features_in wide), W1 features_in
x 16 and W2 16 x 16. Every product is rounded down by a fixed shift and clipped to int16
(the PE array's output stage); the golden model below is the algorithm on dense numpy
matrices, not the engine's slot path."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.errors import ParameterError

from .graph import Graph, normalised_adjacency

#: Fixed-point shifts: the adjacency's fraction bits, and each dense product's.
ADJ_FRAC, XW_SHIFT = 8, 5


@dataclass(frozen=True)
class Gcn:
    graph: Graph
    x: np.ndarray  # (n, features_in) int16
    w1: np.ndarray  # (features_in, hidden) int16
    w2: np.ndarray  # (hidden, hidden) int16
    adj: tuple[np.ndarray, np.ndarray, np.ndarray]  # rows, cols, int16 vals (CSR order)

    @property
    def nodes(self) -> int:
        return self.graph.nodes

    @property
    def nnz(self) -> int:
        return len(self.adj[0])

    def dense_adjacency(self) -> np.ndarray:
        a = np.zeros((self.nodes, self.nodes), np.int64)
        r, c, v = self.adj
        a[r, c] = v
        return a

    def golden(self) -> dict[str, np.ndarray]:
        """Every intermediate of the forward pass (int16), from dense products."""
        a = self.dense_adjacency()
        xw1 = requant(self.x.astype(np.int64) @ self.w1, XW_SHIFT, False)
        h = requant(a @ xw1, ADJ_FRAC, True)
        xw2 = requant(h.astype(np.int64) @ self.w2, XW_SHIFT, False)
        y = requant(a @ xw2, ADJ_FRAC, False)
        return {"xw1": xw1, "h": h, "xw2": xw2, "y": y}


def requant(acc: np.ndarray, shift: int, relu: bool) -> np.ndarray:
    """int32 wrap, arithmetic shift, optional ReLU, clip to int16."""
    y = ((np.asarray(acc, np.int64) + (1 << 31)) % (1 << 32) - (1 << 31)) >> shift
    if relu:
        y = np.maximum(y, 0)
    return np.clip(y, -32768, 32767).astype(np.int16)


def make_gcn(
    rng: np.random.Generator, graph: Graph, features_in: int = 64, hidden: int = 16
) -> Gcn:
    """Seeded features (int8 range, what a quantised projection gives) and weights."""
    if not 1 <= features_in <= 256:
        raise ParameterError(f"gcn: features_in = {features_in} must be 1..256")
    n = graph.nodes
    x = rng.integers(-64, 64, (n, features_in)).astype(np.int16)
    w1 = rng.integers(-32, 32, (features_in, hidden)).astype(np.int16)
    w2 = rng.integers(-32, 32, (hidden, hidden)).astype(np.int16)
    return Gcn(graph, x, w1, w2, normalised_adjacency(graph, ADJ_FRAC))

"""ViTCoD's workload: one DeiT-Tiny-sized attention layer (tokens x heads x head_dim int8
Q and K), a fixed mask per head pruned to a sparsity, its polarisation into dense global
columns and a sparse remainder (with the PE split that balances the two engines), the
Q/K auto-encoder's integer weights, and the numpy golden written from the algorithm.

The paper's masks come from attention maps of trained DeiT models, which cannot be
shipped; the seeded synthetic ones have what the mechanism depends on (docs/accelerators/
vitcod.md): a few columns most queries attend to, a local band, scattered rest."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.errors import ParameterError

from .engine import dense_cycles, sparse_cycles


@dataclass(frozen=True)
class Polarised:
    """One head's mask after polarisation. Keys (columns) are renumbered by `order` (the
    global columns first; queries keep their order); `mask` is the kept pattern in that
    numbering with the `global_cols` first columns whole; `pairs` the rest as (row, col)
    sorted by row; `dense_pes` the PEs of the denser engine; `cycles` the two engines'
    compute cycles; `kept` the pruned mask's nonzeros before polarisation."""

    order: np.ndarray
    global_cols: int
    mask: np.ndarray
    pairs: np.ndarray
    dense_pes: int
    cycles: tuple[int, int]
    kept: int


@dataclass(frozen=True)
class Codec:
    """The auto-encoder's integer layers: encoder (code x head_dim) with its shift, and
    decoder (head_dim x code) with its shift."""

    encoder: np.ndarray
    encoder_shift: int
    decoder: np.ndarray
    decoder_shift: int


@dataclass(frozen=True)
class Workload:
    q: np.ndarray  # heads x tokens x head_dim int8, in the original token order
    k: np.ndarray
    q_float: np.ndarray  # the values Q and K quantise (for the accuracy figure)
    k_float: np.ndarray
    scale: float  # q_float ~ q * scale
    heads: list[Polarised]
    codecs: list[Codec]  # one per head, for its Q and K
    sparsity: float


def prune_mask(rng: np.random.Generator, tokens: int, sparsity: float) -> np.ndarray:
    """A fixed attention mask keeping round((1 - sparsity) tokens^2) entries: those of
    largest importance, where importance = a heavy-tailed strength per key column (a few
    keys every query attends to, as the class token) + a local band + noise."""
    strength = rng.pareto(1.5, tokens) * 0.6
    strength[rng.choice(tokens, max(1, tokens // 40), replace=False)] += 4.0
    i = np.arange(tokens)
    band = 1.5 * np.exp(-np.abs(i[:, None] - i[None, :]) / 2.0)
    importance = strength[None, :] + band + rng.standard_normal((tokens, tokens))
    keep = round((1.0 - sparsity) * tokens * tokens)
    mask = np.zeros(tokens * tokens, bool)
    mask[np.argsort(-importance, axis=None, kind="stable")[:keep]] = True
    return mask.reshape(tokens, tokens)


def polarise(mask: np.ndarray, pes: int) -> Polarised:
    """Split a mask into G dense global columns (the G columns of most nonzeros) and the
    sparse rest, renumbering the keys global columns first, and choose G and the PE
    split (dense_pes of pes to the denser engine) that give the fewest compute cycles of
    the two engines running at once (engine.dense_cycles, engine.sparse_cycles). G is
    searched over the columns at least 1/pes dense: a global column costs the denser
    engine tokens / dense_pes cycles, more than a sparser column's nonzeros take."""
    n = mask.shape[0]
    col_nnz = mask.sum(0)
    order = np.argsort(-col_nnz, kind="stable")
    candidates = 1 + int(np.sum(col_nnz >= -(-n // pes)))
    best: tuple[int, int, int, int, int] | None = None  # cycles, G, dense_pes, dc, sc
    for g in range(min(candidates, n + 1)):
        if best is not None and n * -(-g // max(1, pes - 1)) >= best[0]:
            break  # the denser engine alone would take longer than the best split
        perm = np.concatenate([order[:g], np.sort(order[g:])])
        rows, cols = np.nonzero(mask[:, perm[g:]])
        splits = [pes] if len(rows) == 0 else [0] if g == 0 else range(1, pes)
        for dp in splits:
            dc = dense_cycles(n, g, dp)
            sc = sparse_cycles(rows, cols + g, pes - dp, pes)
            if best is None or max(dc, sc) < best[0]:
                best = (max(dc, sc), g, dp, dc, sc)
    assert best is not None
    _, g, dp, dc, sc = best
    perm = np.concatenate([order[:g], np.sort(order[g:])])
    polar = mask[:, perm].copy()
    polar[:, :g] = True
    rows, cols = np.nonzero(polar[:, g:])
    pairs = np.stack([rows, cols + g], 1).astype(np.uint16)
    return Polarised(perm, g, polar, pairs, dp, (dc, sc), int(mask.sum()))


def key_runs(order: np.ndarray) -> np.ndarray:
    """The key order as runs of consecutive rows: (first, count) pairs, what the
    sequencer copies to gather the keys in polarised order."""
    cut = np.flatnonzero(np.diff(order) != 1) + 1
    starts = np.r_[0, cut]
    counts = np.diff(np.r_[starts, len(order)])
    return np.stack([order[starts], counts], 1).astype(np.uint32)


def dense_head(tokens: int, pes: int) -> Polarised:
    """The dense baseline's 'mask': every column global, every PE in the dense engine."""
    order = np.arange(tokens)
    full = np.ones((tokens, tokens), bool)
    return Polarised(
        order,
        tokens,
        full,
        np.zeros((0, 2), np.uint16),
        pes,
        (dense_cycles(tokens, tokens, pes), 0),
        tokens * tokens,
    )


def train_codec(x: np.ndarray, code: int) -> Codec:
    """The auto-encoder as integer layers: the `code` principal directions of the rows of
    x (PCA: the linear auto-encoder of least squared error), scaled by 2^7 to int8; the
    encoder's shift keeps the codes in int8, the decoder's undoes both scalings."""
    xf = x.astype(np.float64)
    _, vecs = np.linalg.eigh(xf.T @ xf)  # ascending eigenvalues
    v = vecs[:, ::-1][:, :code].T  # code x d, orthonormal rows
    w = np.clip(np.round(v * 128), -128, 127).astype(np.int8)
    peak = float(np.abs(xf @ v.T).max())
    e_shift = 7 + max(0, int(np.ceil(np.log2(peak / 127.0))))
    d_shift = 14 - e_shift
    if not 0 <= d_shift <= 15:
        raise ParameterError(f"the Q/K codes need an encoder shift of {e_shift} (at most 14)")
    return Codec(w, e_shift, np.ascontiguousarray(w.T), d_shift)


def make_workload(
    rng: np.random.Generator,
    *,
    tokens: int,
    heads: int,
    head_dim: int,
    sparsity: float,
    pes: int,
    code_dim: int,
    rank: int = 16,
) -> Workload:
    """A seeded layer: Q and K of `rank`-dimensional structure plus noise (attention
    inputs are low rank, what lets an auto-encoder halve them), quantised to int8; a
    pruned, polarised mask per head; a codec per head trained on its Q and K."""
    if not 0.0 <= sparsity < 1.0:
        raise ParameterError(f"sparsity = {sparsity} must be in [0, 1)")
    basis = rng.standard_normal((heads, rank, head_dim))
    q_f = rng.standard_normal((heads, tokens, rank)) @ basis / np.sqrt(rank)
    k_f = rng.standard_normal((heads, tokens, rank)) @ basis / np.sqrt(rank)
    q_f += 0.05 * rng.standard_normal(q_f.shape)
    k_f += 0.05 * rng.standard_normal(k_f.shape)
    scale = max(np.abs(q_f).max(), np.abs(k_f).max()) / 127.0
    q = np.clip(np.round(q_f / scale), -127, 127).astype(np.int8)
    k = np.clip(np.round(k_f / scale), -127, 127).astype(np.int8)
    masks = [polarise(prune_mask(rng, tokens, sparsity), pes) for _ in range(heads)]
    codecs = [train_codec(np.concatenate([q[h], k[h]]), code_dim) for h in range(heads)]
    return Workload(q, k, q_f, k_f, scale, masks, codecs, sparsity)


def _layer(x: np.ndarray, w: np.ndarray, shift: int) -> np.ndarray:
    """One integer layer of the auto-encoder, as specified: each output is the int8
    saturation of (the dot product of the row with its weights, rounded half up by
    2^shift)."""
    rounding = 0 if shift == 0 else 2 ** (shift - 1)
    out = np.floor((x.astype(np.float64) @ w.astype(np.float64).T + rounding) / 2.0**shift)
    return np.clip(out, -128, 127).astype(np.int8)


def reconstruct(x: np.ndarray, codec: Codec) -> np.ndarray:
    """What the decoder restores of rows x after the encoder (the codec's integer path)."""
    code = _layer(x, codec.encoder, codec.encoder_shift)
    return _layer(code, codec.decoder, codec.decoder_shift)


def golden_scores(q: np.ndarray, k: np.ndarray, head: Polarised) -> tuple[np.ndarray, np.ndarray]:
    """One head's scores as the engine returns them, from the algorithm: S = Q K^T over
    all token pairs (keys in the polarised order), then the global block row-major and the
    sparse pairs in order (int32)."""
    s = q.astype(np.int64) @ k[head.order].astype(np.int64).T
    dense = s[:, : head.global_cols].reshape(-1)
    sparse = s[head.pairs[:, 0].astype(int), head.pairs[:, 1].astype(int)]
    return dense.astype(np.int32), sparse.astype(np.int32)


def masked_softmax(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row softmax over the kept entries (float64); rows with nothing kept are 0."""
    s = np.where(mask, scores, -np.inf)
    peak = s.max(1, keepdims=True)
    e = np.where(mask, np.exp(s - np.where(np.isfinite(peak), peak, 0.0)), 0.0)
    total = e.sum(1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def scatter(dense: np.ndarray, sparse: np.ndarray, head: Polarised) -> np.ndarray:
    """The engine's two score lists back into a tokens x tokens matrix (polarised order)."""
    n, g = len(head.order), head.global_cols
    s = np.zeros((n, n), np.float64)
    s[:, :g] = dense.reshape(n, g)
    s[head.pairs[:, 0].astype(int), head.pairs[:, 1].astype(int)] = sparse
    return s


def attention_error(w: Workload, head: int, dense: np.ndarray, sparse: np.ndarray) -> float:
    """Largest difference of one head's attention probabilities computed from the
    engine's integer scores against float64 attention on the unquantised Q and K (same
    mask, softmax scale 1/sqrt(head_dim))."""
    h = w.heads[head]
    d = w.q.shape[-1]
    exact = w.q_float[head] @ w.k_float[head][h.order].T / np.sqrt(d)
    got = scatter(dense, sparse, h) * w.scale**2 / np.sqrt(d)
    return float(np.abs(masked_softmax(got, h.mask) - masked_softmax(exact, h.mask)).max())

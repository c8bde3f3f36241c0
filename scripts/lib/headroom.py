"""The headroom of a body shift: the acceptance a perfect mimic of body b would get serving body a.

A drafter that had learnt body b exactly drafts from p_b. Served on body a, speculative sampling
accepts a drafted token with probability sum_x min(p_a(x), p_b(x)), the overlap of the two
next-token distributions at the bench temperature (Leviathan et al., "Fast Inference from
Transformers via Speculative Decoding", ICML 2023, the acceptance rate alpha = 1 - TV(p, q));
at T = 0 it is accepted when the two bodies' greedy tokens agree. So along body a's own
continuations (its no-speculation bench cells, teacher-forced through both bodies) the per-token
overlap o_t is the best any drafter of b can do on a, and a draft chain from position t survives
k + 1 tokens with probability o_t ... o_(t+k): the headroom h_k, comparable with a_k. h_k = 1
means the shift never reaches the drafted tokens (a drafter's drop cannot come from the body);
h_k well below 1 means it does, and a drafter that shows no drop is limited by its own errors.

Two approximations, both stated in the report: h_k averages over every start t of the
continuation, where a served drafter starts a chain only after the last one ended; and the
overlap is summed over each body's top-k tokens (the rest of the vocabulary is not kept between
the two bodies' passes), so it is a lower bound, with the left-out mass of both distributions as
`overlap_slack` (h_k's bound is then computed with o_t + slack).

Pure numpy: the rule's script computes the top-k tokens of each body in the hf environment.
"""

from __future__ import annotations

import numpy as np


def tempered_top(logits: np.ndarray, k: int, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Per position (rows of `logits`, float): the indices of the k largest logits and their
    probabilities at `temperature` (normalised over the whole vocabulary)."""
    k = min(k, logits.shape[-1])
    idx = np.argpartition(-logits, k - 1, axis=-1)[..., :k]
    scaled = logits / temperature
    top = np.max(scaled, axis=-1, keepdims=True)
    log_norm = top + np.log(np.exp(scaled - top).sum(axis=-1, keepdims=True))
    probs = np.exp(np.take_along_axis(scaled, idx, axis=-1) - log_norm)
    return idx, probs


def overlap(idx_a: np.ndarray, p_a: np.ndarray, idx_b: np.ndarray, p_b: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Per position: sum over tokens in both top-k sets of min(p_a, p_b) (a lower bound of the
    overlap) and the slack: the mass of both distributions outside their top-k sets (the
    overlap lies in [lower, lower + slack])."""
    lower = np.zeros(len(idx_a))
    for t in range(len(idx_a)):
        pb = dict(zip(idx_b[t].tolist(), p_b[t].tolist()))
        lower[t] = sum(min(p, pb[i]) for i, p in zip(idx_a[t].tolist(), p_a[t].tolist())
                       if i in pb)
    slack = np.clip(1 - p_a.sum(axis=-1), 0, 1) + np.clip(1 - p_b.sum(axis=-1), 0, 1)
    return lower, slack


def chain_sums(per_token: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """For k = 0..depth-1: the sum over starts t of prod_{j<=k} per_token[t + j], and the
    number of starts (t + k inside the continuation): h_k of one continuation is their ratio,
    and summing both over continuations keeps each prompt's weight its length."""
    sums, counts = np.zeros(depth), np.zeros(depth)
    running = np.ones(len(per_token))
    for k in range(depth):
        if k:
            running = running[:-1] * per_token[k:]
        else:
            running = per_token.astype(float).copy()
        sums[k], counts[k] = running.sum(), len(running)
    return sums, counts

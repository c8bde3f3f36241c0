"""The fidelity gate's statistic (a series' delta against its body's n=0 repeats, paired by
prompt, repeats pooled per prompt) on a simulated body, and what it can and cannot see.

The cells come from a simulation, not a server: per prompt, 128 next-token distributions over 64
tokens (Gumbel logits times a scale that varies by prompt, by repeat and by position), tokens
sampled at the serving temperature, each token's log-prob recorded under the untempered
distribution, as vLLM records it. Its scales are set so that its n=0 cells resemble the
committed GPU study's (reports/runs/gpu-study/bench_cells, 40 prompts x 128 tokens): there the
mean log-prob is -1.09 to -1.39 at T = 0.7 and -0.60 to -0.67 greedy, its standard deviation over
prompts 0.27-0.30 and the correlation of two repeats of a prompt 0.47-0.65; here -1.10, -0.74,
0.34 and 0.47. Serving at T = 0.8 instead of 0.7 moves the simulated mean by about -0.11 nats.
"""

import numpy as np
import pandas as pd
from lib.fidelity import judge_fidelity, paired_difference

PROMPTS, TOKENS, VOCAB = 40, 128, 64
PROMPT_SCALE = np.exp(np.random.default_rng(1).normal(1.0, 0.4, PROMPTS))  # the body


def simulated_cell(drafter: str, n: int, rep: int, served_at: float, seed: int) -> pd.DataFrame:
    """One cell's per-prompt rows, labelled T = 0.7 whatever temperature it was served at."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(PROMPTS):
        scale = (PROMPT_SCALE[p] * np.exp(rng.normal(0, 0.3))
                 * np.exp(rng.normal(0, 1.2, (TOKENS, 1))))
        logits = rng.gumbel(size=(TOKENS, VOCAB)) * scale
        raw = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        tempered = np.exp(raw / served_at)
        tempered /= tempered.sum(axis=1, keepdims=True)
        tokens = (tempered.cumsum(axis=1) > rng.random((TOKENS, 1))).argmax(axis=1)
        rows.append({"body": "b", "drafter": drafter, "n": n, "temperature": 0.7, "rep": rep,
                     "prompt_index": p, "output_tokens": TOKENS,
                     "sum_logprob": raw[np.arange(TOKENS), tokens].sum()})
    return pd.DataFrame(rows)


REFERENCE = [simulated_cell("none", 0, rep, 0.7, seed=rep) for rep in (1, 2, 3)]


def series(drafter: str, served_at: float, seed: int) -> list[pd.DataFrame]:
    return [simulated_cell(drafter, 4, rep, served_at, seed + rep) for rep in (1, 2, 3)]


def judged(speculative: list[pd.DataFrame]) -> pd.DataFrame:
    prompts = pd.concat([*REFERENCE, *speculative], ignore_index=True)
    keys = ["body", "drafter", "n", "temperature", "rep"]
    cells = prompts.groupby(keys).apply(
        lambda g: g["sum_logprob"].sum() / g["output_tokens"].sum(), include_groups=False
    ).rename("mean_logprob").reset_index()
    cells["counter_problems"] = ""
    table = judge_fidelity(cells, max_delta_logprob=0.5, prompts=prompts)
    return table[table["n"] > 0].groupby("drafter").first()


def test_paired_standard_error_matches_a_prompt_bootstrap():
    """The linearised standard error against a bootstrap that resamples prompts, each with all
    of its repeats on both sides (the clusters the gate assumes)."""
    cell, ref = pd.concat(series("x", 0.7, 50)), pd.concat(REFERENCE)
    by_prompt = [(c, r) for (_, c), (_, r) in zip(cell.groupby("prompt_index"),
                                                  ref.groupby("prompt_index"))]
    rng = np.random.default_rng(0)
    deltas = []
    for _ in range(2000):
        pick = rng.integers(0, PROMPTS, PROMPTS)
        c = pd.concat([by_prompt[i][0] for i in pick])
        r = pd.concat([by_prompt[i][1] for i in pick])
        deltas.append(c["sum_logprob"].sum() / c["output_tokens"].sum()
                      - r["sum_logprob"].sum() / r["output_tokens"].sum())
    assert abs(paired_difference(cell, ref)[1] / np.std(deltas) - 1) < 0.1


def test_series_served_right_pass():
    table = judged([c for k in range(10) for c in series(f"right-{k}", 0.7, 100 + 10 * k)])
    assert (table["fidelity"] == "ok").all(), table[["series_delta_logprob",
                                                     "fidelity_threshold"]]


def test_a_series_served_far_from_its_temperature_fails():
    """Served at T = 1.0 for 0.7: the gate sees it. At 0.8 for 0.7 it mostly does not: on 40
    prompts x 3 repeats the simulated -0.11 nats is about one threshold's worth (docs/methods.md,
    "Output fidelity", gives the measured rate)."""
    table = judged(series("hot", 1.0, 200) + series("slightly-warm", 0.8, 300))
    assert table.loc["hot", "fidelity"] == "FAIL", table.loc["hot"]
    assert -0.2 < table.loc["slightly-warm", "series_delta_logprob"] < -0.05

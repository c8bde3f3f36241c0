"""Intervals over prompts, and paired comparisons, of the bench's per-prompt counters.

Every rate is a ratio of summed counts (a_k = accepted at position k / drafts; condk = a_k /
a_(k-1), accepted at position k given k-1 was; acceptance length = 1 + accepted / drafts;
tok/s = tokens / latency), so the unit of resampling is the
prompt: a cluster bootstrap draws prompts with replacement and keeps each prompt's repeats
together (the repeats are the second level, inside the cluster). Throughput has a second source
of variance that acceptance does not: the repeat (one pass of every prompt through a server, a
time block; two GPU-study cells with the same acceptance length ran at 252 and 318 tok/s). Its
intervals (tok/s, speed-up) therefore resample prompts and repeats independently, the pigeonhole
bootstrap for a crossed design (A. B. Owen, "The pigeonhole bootstrap", Annals of Applied
Statistics 1(2), 2007), mildly conservative by construction. At T = 0 a series' repeats are often
token-for-token identical: `distinct_repeats` in the intervals counts the different outputs, and
identical repeats add nothing to an acceptance interval (the prompt, all its repeats together,
is the unit). Two series that ran the same
prompts with the same seeds are compared paired: one draw of prompts serves both, and the
interval is that of the difference (or, for throughput, the ratio). A comparison is "separated"
when its 95 % interval excludes 0 (ratio: 1), otherwise "not separated at 95 %". Apart from that,
it is "equivalent within +-m" when the whole interval lies inside a margin m declared in the
config (`bench.equivalence_margins`, per statistic): two one-sided tests at 2.5 % each, so "not
separated" (no difference seen) and "equivalent" (any difference is smaller than m) are
different findings. The family: each comparison is judged at 95 % on its own, without a
family-wise correction; the report states how many there are, and so how many "separated" to
expect by chance alone.

The interval is Hesterberg's expanded percentile interval (T. Hesterberg, "What teachers should
know about the bootstrap", The American Statistician 69(4), 2015): a plain percentile
bootstrap over G clusters is too narrow for small G (its spread is the plug-in one, divided by
G rather than G - 1, and it takes normal quantiles where Student's t with G - 1 degrees of freedom
belongs), so the quantiles are taken further out, at Phi(-sqrt(G / (G - 1)) t_{G-1, 0.975}).
tests/unit/lib/test_bench_stats.py measures the coverage of both on simulated prompts.

Written here rather than taken from scipy.stats.bootstrap: that resamples observations, not
clusters of repeats, and cannot share one draw between two series' ratio estimators.
"""


import re
from itertools import combinations

import numpy as np
import pandas as pd
from lib.bench_keys import ROW, SERIES, with_endpoint
from lib.fidelity import fidelity_status
from scipy.stats import norm, t

LEVEL = 0.95
# A conditional rate a_k / a_(k-1) rests on the drafts accepted at k - 1; with fewer than this
# in either series a comparison of it is not judged (a bootstrap of a handful of events gives
# intervals that look decisive: the miniature's cond2 and cond3 rest on 0-12 events per series).
MIN_CONDITIONING_EVENTS = 20
# Draws per interval: with 6 prompts the expanded interval's tails hold 0.24 % each, ~24 draws.
N_BOOT = 10_000


# Per-reply repetition counts (lib/degeneration.py), summed per prompt like the counters.
REPETITION_COUNTS = ["ngrams_4", "repeated_4", "bigrams", "distinct_bigrams"]


def position_columns(df: pd.DataFrame) -> list[str]:
    cols = [c for c in df.columns if c.startswith("accepted_") and c[9:].isdigit()]
    return sorted(cols, key=lambda c: int(c[9:]))


def prompt_sums(part: pd.DataFrame, positions: list[str]) -> pd.DataFrame:
    """One row per prompt: counts summed over its repeats."""
    cols = ["drafts", "accepted_tokens", "output_tokens", "latency_s", *positions]
    cols += [c for c in REPETITION_COUNTS if c in part]
    return part.groupby("prompt_index")[cols].sum()


def statistics(sums: np.ndarray, names: list[str], n_positions: int) -> dict[str, np.ndarray]:
    """Rates from summed counts; `sums` is (..., quantities) in the order of `names`."""
    col = {name: sums[..., i] for i, name in enumerate(names)}
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {"tok_s": col["output_tokens"] / col["latency_s"]}
        if "ngrams_4" in col:
            # degenerate output (lib/degeneration.py): repeated 4-grams, distinct bigrams
            out["seq_rep_4"] = col["repeated_4"] / col["ngrams_4"]
            out["distinct_2"] = col["distinct_bigrams"] / col["bigrams"]
        if n_positions:
            out["acceptance_length"] = 1 + col["accepted_tokens"] / col["drafts"]
            for k in range(n_positions):
                out[f"a{k}"] = col[f"accepted_{k}"] / col["drafts"]
            # Conditional acceptance a_k / a_(k-1): position k accepted given k-1 was. Flat
            # conditional rates are ordinary compounding; a curve whose a_k falls only because
            # each step multiplies by the same rate says nothing about depth-specific harm.
            for k in range(1, n_positions):
                out[f"cond{k}"] = col[f"accepted_{k}"] / col[f"accepted_{k - 1}"]
    return out


def draws(n_prompts: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_prompts, size=(n_boot, n_prompts))


def expanded_tail(n_clusters: int, level: float = LEVEL) -> float:
    """The lower quantile of the expanded percentile interval over `n_clusters` clusters (the
    module docstring); it tends to (1 - level) / 2 as the clusters grow."""
    if n_clusters < 2:
        return float("nan")
    z = np.sqrt(n_clusters / (n_clusters - 1)) * t.ppf((1 + level) / 2, n_clusters - 1)
    return float(norm.cdf(-z))


def interval(samples: np.ndarray, n_clusters: int) -> tuple[float, float]:
    """95 % interval from bootstrap draws over `n_clusters` clusters (NaN with fewer than 2)."""
    tail = expanded_tail(n_clusters)
    if np.isnan(tail) or np.isnan(samples).all():
        return float("nan"), float("nan")
    lo, hi = np.nanquantile(samples, [tail, 1 - tail])
    return float(lo), float(hi)


def pigeonhole_tok_s(part: pd.DataFrame, prompt_draws: np.ndarray, seed: int) -> np.ndarray:
    """tok/s of each bootstrap draw with the prompts of `prompt_draws` (rows: draws; positions
    in the sorted prompt index) and repeats drawn with replacement, independently: each drawn
    prompt contributes its tokens and latency in each drawn repeat."""
    tokens = part.pivot_table(index="prompt_index", columns="rep", values="output_tokens",
                              aggfunc="sum", fill_value=0).to_numpy(float)
    latency = part.pivot_table(index="prompt_index", columns="rep", values="latency_s",
                               aggfunc="sum", fill_value=0).to_numpy(float)
    n_boot, repeats = len(prompt_draws), tokens.shape[1]
    picks = np.random.default_rng(seed + 1).integers(0, repeats, size=(n_boot, repeats))
    counts = np.zeros((n_boot, repeats))
    np.add.at(counts, (np.arange(n_boot)[:, None], picks), 1)
    per_prompt_tokens = np.take_along_axis(counts @ tokens.T, prompt_draws, axis=1)
    per_prompt_latency = np.take_along_axis(counts @ latency.T, prompt_draws, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return per_prompt_tokens.sum(axis=1) / per_prompt_latency.sum(axis=1)


def distinct_repeats(part: pd.DataFrame) -> int:
    """How many of a series' repeats differ in their tokens (1: all identical, as greedy
    repeats often are)."""
    if "token_ids" not in part:
        return part["rep"].nunique()
    outputs = part.sort_values("prompt_index").groupby("rep")["token_ids"].agg(tuple)
    return outputs.nunique()


def series_intervals(prompts: pd.DataFrame, n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """Point estimate and 95 % bootstrap interval of each statistic of each series: over
    prompts, and for tok/s over prompts and repeats (the module docstring)."""
    rows = []
    for key, part in with_endpoint(prompts).groupby(SERIES):
        positions = position_columns(part)[: key[2]]  # n = 0: none
        sums = prompt_sums(part, positions)
        values = sums.to_numpy(dtype=float)
        names = list(sums.columns)
        point = statistics(values.sum(axis=0), names, len(positions))
        idx = draws(len(values), n_boot, seed)
        boot = statistics(values[idx].sum(axis=1), names, len(positions))
        boot["tok_s"] = pigeonhole_tok_s(part, idx, seed)
        distinct = distinct_repeats(part)
        for stat, estimate in point.items():
            lo, hi = interval(boot[stat], len(values))
            rows.append(dict(zip(SERIES, key)) | {
                "statistic": stat, "estimate": float(estimate), "lo": lo, "hi": hi,
                "prompts": len(values), "repeats": part["rep"].nunique(),
                "distinct_repeats": distinct,
                "resampled": "prompts x repeats" if stat == "tok_s" else "prompts"})
    return pd.DataFrame(rows)


def series_label(body: str, drafter: str, n: int, endpoint: str = "chat") -> str:
    label = f"no speculation on {body}" if n == 0 else f"{drafter} drafter on {body} n={n}"
    return label + f", {endpoint}"


def paired(a: pd.DataFrame, b: pd.DataFrame, positions: list[str], n_boot: int, seed: int
           ) -> dict[str, tuple[float, float, float, int]]:
    """Statistic of a minus that of b, on the prompts both ran, one draw for both (throughput
    ratios: `speedup`)."""
    sa, sb = prompt_sums(a, positions), prompt_sums(b, positions)
    shared = sa.index.intersection(sb.index)
    va, vb = sa.loc[shared].to_numpy(float), sb.loc[shared].to_numpy(float)
    names = list(sa.columns)
    idx = draws(len(shared), n_boot, seed)
    pa, pb = (statistics(v.sum(axis=0), names, len(positions)) for v in (va, vb))
    ba, bb = (statistics(v[idx].sum(axis=1), names, len(positions)) for v in (va, vb))
    return {s: (float(pa[s] - pb[s]), *interval(ba[s] - bb[s], len(shared)), len(shared))
            for s in pa if s in pb}


class MeasuredApart(ValueError):
    """Two series' tok/s that cannot be compared: they were measured on different machines."""


def machines(df: pd.DataFrame) -> set[str]:
    """The machines (GPU models, or the CPU where there is none) a series was measured on;
    empty for cells that did not record theirs."""
    if "machine" not in df:
        return set()
    return {m for m in df["machine"].dropna().unique() if m}


def require_same_machine(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """MeasuredApart unless a and b ran on the same machine. A study's bench may be spread over
    several machines (one part each): throughput depends on the GPU, so a tok/s ratio across
    two is no speed-up; acceptance depends on the drafter and the body, and is compared as is."""
    ma, mb = machines(a), machines(b)
    if ma and mb and ma != mb:
        raise MeasuredApart(f"measured on different machines ({' + '.join(sorted(ma))} vs"
                            f" {' + '.join(sorted(mb))})")


def speedup_draws(a: pd.DataFrame, base: pd.DataFrame, n_boot: int, seed: int
                  ) -> tuple[pd.DataFrame, np.ndarray, list[float], np.ndarray, np.ndarray]:
    """a restricted to the prompts both series ran, the prompt draws, the tok/s of a and of base,
    and their bootstrap draws: one draw of the prompts for both, the repeats of
    each series drawn independently (they ran on different servers). MeasuredApart when the
    two ran on different machines."""
    require_same_machine(a, base)
    shared = np.intersect1d(a["prompt_index"].unique(), base["prompt_index"].unique())
    a, base = (x[x["prompt_index"].isin(shared)] for x in (a, base))
    idx = draws(len(shared), n_boot, seed)
    point = [x["output_tokens"].sum() / x["latency_s"].sum() for x in (a, base)]
    return a, idx, point, pigeonhole_tok_s(a, idx, seed), pigeonhole_tok_s(base, idx, seed + 2)


def speedup(a: pd.DataFrame, base: pd.DataFrame, n_boot: int, seed: int
            ) -> tuple[float, float, float, int]:
    """tok/s of a over that of its body's no-speculation series (speedup_draws)."""
    _, idx, point, boot_a, boot_base = speedup_draws(a, base, n_boot, seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = boot_a / boot_base
    return float(point[0] / point[1]), *interval(boot, idx.shape[1]), idx.shape[1]


def margin_of(statistic: str, margins: dict[str, float]) -> float:
    """The declared margin of a comparison's statistic (a_k share one), NaN when none is."""
    if statistic.startswith("speedup"):
        return margins.get("speedup", float("nan"))
    if statistic == "acceptance_length":
        return margins.get("acceptance_length", float("nan"))
    if re.fullmatch(r"a\d+|cond\d+", statistic):
        return margins.get("acceptance", float("nan"))
    return float("nan")


def equivalence(lo: float, hi: float, margin: float, ratio: bool) -> str:
    """Whether the interval lies inside the margin: +-m for a difference, [1/(1+m), 1+m] for a
    ratio."""
    if np.isnan(margin):
        return "no margin declared"
    if np.isnan(lo) or np.isnan(hi):
        return "undefined"
    low, high = (1 / (1 + margin), 1 + margin) if ratio else (-margin, margin)
    inside = low <= lo and hi <= high
    word = f"within x{1 + margin:g}" if ratio else f"within +-{margin:g}"
    return f"equivalent {word}" if inside else f"not shown equivalent {word}"


def verdict(lo: float, hi: float, null: float) -> str:
    if np.isnan(lo) or np.isnan(hi):
        return "not separated at 95 % (undefined)"
    return "separated" if (lo > null or hi < null) else "not separated at 95 %"


# The degeneration measures compare the same body's output across endpoints only: across bodies
# or drafters at one endpoint they are the fidelity gate's business, not a comparison's.
DEGENERATION = ("seq_rep_4", "distinct_2")


def differences(a: pd.DataFrame, b: pd.DataFrame, n: int, n_boot: int, seed: int,
                margins: dict[str, float], skip: tuple[str, ...]) -> list[dict]:
    """Paired differences a - b of every statistic but `skip`, each with its verdict."""
    rows = []
    for stat, (est, lo, hi, shared) in paired(a, b, position_columns(a)[:n], n_boot,
                                              seed).items():
        if stat in skip:
            continue
        margin = margin_of(stat, margins)
        judged = verdict(lo, hi, 0.0)
        if stat.startswith("cond"):
            events = min(x[f"accepted_{int(stat[4:]) - 1}"].sum() for x in (a, b))
            if events < MIN_CONDITIONING_EVENTS:
                judged = f"not judged: {events} accepted at the position before"
        rows.append({"statistic": stat, "kind": "difference", "estimate": est, "lo": lo,
                     "hi": hi, "prompts": shared, "verdict": judged, "margin": margin,
                     "equivalence": equivalence(lo, hi, margin, ratio=False)})
    return rows


def ratio_row(statistic: str, est: float, lo: float, hi: float, shared: int,
              margins: dict[str, float]) -> dict:
    margin = margin_of("speedup", margins)
    return {"statistic": statistic, "kind": "ratio", "estimate": est, "lo": lo, "hi": hi,
            "prompts": shared, "verdict": verdict(lo, hi, 1.0), "margin": margin,
            "equivalence": equivalence(lo, hi, margin, ratio=True)}


def tok_s_ratio_row(statistic: str, a: pd.DataFrame, b: pd.DataFrame, n_boot: int, seed: int,
                    margins: dict[str, float]) -> dict:
    """The tok/s ratio a over b with its verdict, or not judged where they ran apart."""
    try:
        return ratio_row(statistic, *speedup(a, b, n_boot, seed), margins)
    except MeasuredApart as apart:
        nan = float("nan")
        return ratio_row(statistic, nan, nan, nan, 0, margins) | {
            "verdict": f"not judged: {apart}", "equivalence": "not judged"}


def one_factor_pairs(series_keys) -> list[tuple[tuple, tuple]]:
    """(a, b) pairs of speculative series keys (SERIES order) with the same n, endpoint and
    temperature that differ in exactly one of body and drafter: a body shift under one drafter,
    or two drafters on one body."""
    pairs = []
    for key_a, key_b in combinations(sorted(series_keys), 2):
        (body_a, dr_a, n_a, e_a, t_a), (body_b, dr_b, n_b, e_b, t_b) = key_a, key_b
        if n_a > 0 and (n_a, e_a, t_a) == (n_b, e_b, t_b) and (body_a != body_b) != (dr_a != dr_b):
            pairs.append((key_a, key_b))
    return pairs


def comparisons(prompts: pd.DataFrame, n_boot: int = N_BOOT, seed: int = 0,
                margins: dict[str, float] | None = None) -> pd.DataFrame:
    """Paired comparisons: (1) series with the same n, endpoint and temperature that differ in
    exactly one of body and drafter (acceptance: difference); (2) every speculative series
    against its body's no-speculation cell on the same endpoint at the same temperature
    (throughput: ratio); (3) each series on the raw endpoint against the same series on chat
    (acceptance and degeneration: difference; tok/s: ratio), the same prompts sent without and
    with the chat template."""
    margins = margins or {}
    rows = []
    groups = dict(tuple(with_endpoint(prompts).groupby(SERIES)))
    for key_a, key_b in one_factor_pairs(groups):
        (body_a, dr_a, n_a, e_a, t_a), (body_b, dr_b, n_b, e_b, t_b) = key_a, key_b
        labels = {"temperature": t_a, "endpoint": e_a, "a": series_label(body_a, dr_a, n_a, e_a),
                  "b": series_label(body_b, dr_b, n_b, e_b)}
        rows += [labels | r for r in differences(groups[key_a], groups[key_b], n_a, n_boot,
                                                 seed, margins, ("tok_s", *DEGENERATION))]
    for (body, drafter, n, endpoint, temp), a in sorted(groups.items()):
        base = groups.get((body, "none", 0, endpoint, temp))
        if n == 0 or base is None:
            continue
        rows.append({"temperature": temp, "endpoint": endpoint,
                     "a": series_label(body, drafter, n, endpoint),
                     "b": series_label(body, "none", 0, endpoint)}
                    | tok_s_ratio_row("speedup (tok/s ratio)", a, base, n_boot, seed, margins))
    for (body, drafter, n, endpoint, temp), a in sorted(groups.items()):
        chat = groups.get((body, drafter, n, "chat", temp))
        if endpoint != "raw" or chat is None:
            continue
        labels = {"temperature": temp, "endpoint": "raw - chat",
                  "a": series_label(body, drafter, n, "raw"),
                  "b": series_label(body, drafter, n, "chat")}
        rows += [labels | r for r in differences(a, chat, n, n_boot, seed, margins, ("tok_s",))]
        rows.append(labels | tok_s_ratio_row("tok/s ratio (raw over chat)", a, chat, n_boot,
                                             seed, margins))
    return pd.DataFrame(rows)


def valid_prompts(prompts: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Only the rows whose (cell, temperature, repeat) did not fail the fidelity gate: passed,
    or not judged (no n = 0 cell of the body in a partial report; `fidelity` says so)."""
    kept = with_endpoint(cells).assign(fidelity=fidelity_status(cells))
    kept = kept[kept["fidelity"] != "FAIL"][[*ROW, "fidelity"]]
    return with_endpoint(prompts).merge(kept, on=ROW, how="inner")

"""Output fidelity: every judgement of whether a bench row's output is what the body alone
would have produced, in one place (aggregate_cells judges, the tables, statistics, gate and
erratum read the verdict).

Speculative decoding (with correct rejection sampling) leaves the output distribution
unchanged, so the mean target log-prob of the sampled tokens must match that of the same body
served without speculation on the same endpoint at the same temperature. The unit judged is a
series (body, drafter, n, endpoint, T), its repeats pooled. The threshold comes from the data:
fidelity_multiplier standard errors of the difference (FIDELITY_Z = 4 with many prompts,
Student's t at the same tail with few), paired by prompt (both means are over the same prompts,
so a prompt's own difficulty cancels) with the repeats of a prompt pooled into one unit
(paired_difference), capped by the config's `max_delta_logprob`. At T > 0 a second, sharper
test: the temperature the tokens say they were drawn at (lib/temperature_score.py) against the
body's own n=0 cells, paired the same way, in temperature units (temperature_shift), beyond as
many standard errors. A series beyond either has each of its repeats marked fidelity "FAIL"
(fidelity_ok=False); the report refuses to plot it and the `fidelity_gate` rule fails the run
naming it.
At T = 0 the greedy tokens are also compared with the n=0 cell's of the same repeat, prompt by
prompt (greedy_match: the share of prompts with identical tokens; greedy_prefix: the mean share
of tokens before the first difference); a speculative cell fails too when greedy_prefix is below
`fidelity_min_greedy_prefix`, a bound under 1 since batch shapes that differ between
verification and plain decoding may flip a near-tie.
A cell whose body has no n=0 cell (only in a partial report, `partial_bench`: the DAG otherwise
always has one) is "not judged": not plotted as valid either, but kept in the intervals with
that label, and listed as such.
"""

import numpy as np
import pandas as pd
from scipy import stats
from lib.bench_keys import REFERENCE, ROW, SERIES, with_endpoint

# Standard errors of the mean log-prob difference a correct sampler may show, with many
# prompts: at 4 the chance of failing a correct series is ~6e-5 (normal). On the committed GPU
# study (40 prompts x 128 tokens x 3 repeats) the paired series rule put the T = 0.7 thresholds
# at 0.095-0.136 nats (docs/methods.md, "Output fidelity").
FIDELITY_Z = 4.0
# The chance of failing a correct series that FIDELITY_Z stands for, kept at any number of
# prompts: the standard error is estimated from the prompts, so the multiplier is Student's t
# with (prompts - 1) degrees of freedom at this two-sided tail (fidelity_multiplier).
FIDELITY_TAIL = 2 * stats.norm.sf(FIDELITY_Z)


def fidelity_multiplier(prompts: int) -> float:
    """How many estimated standard errors a correct series may stray with `prompts` prompt
    units: 4.48 at 40 prompts, 6.24 at 12, 126 at 3 (a fixed 4 failed a correct series at the
    smoke's 3 prompts: t with 2 degrees of freedom passes 4 with probability 0.057); NaN below
    2 prompts."""
    return float(stats.t.isf(FIDELITY_TAIL / 2, prompts - 1)) if prompts >= 2 else float("nan")


def shared_prompts(cell: pd.DataFrame, reference: pd.DataFrame) -> int:
    """The prompt units both sides measured: what paired_difference's standard error is over."""
    return len(set(cell["prompt_index"]) & set(reference["prompt_index"]))


def fidelity_status(cells: pd.DataFrame) -> pd.Series:
    """Each row's fidelity verdict: ok, FAIL or "not judged: ..." (aggregate_cells writes it;
    a table with only the older fidelity_ok column reads as ok / FAIL)."""
    if "fidelity" in cells:
        return cells["fidelity"]
    return cells["fidelity_ok"].astype(bool).map({True: "ok", False: "FAIL"})


def common_prefix_share(a: str, b: str) -> float:
    x, y = a.split(), b.split()
    same = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
    return same / max(len(x), len(y), 1)


def greedy_agreement(prompts: pd.DataFrame) -> pd.DataFrame:
    """At T = 0: (body, drafter, n, endpoint, rep) -> greedy_match, greedy_prefix against the
    body's n=0 tokens on the same endpoint for the same repeat and prompt."""
    prompts = with_endpoint(prompts)
    greedy = prompts[prompts["temperature"] == 0]
    base = greedy[greedy["n"] == 0].set_index(
        ["body", "endpoint", "rep", "prompt_index"])["token_ids"]
    rows = []
    for (body, drafter, n, endpoint, rep), part in greedy[greedy["n"] > 0].groupby(
            ["body", "drafter", "n", "endpoint", "rep"]):
        pairs = [(t, base.get((body, endpoint, rep, i)))
                 for t, i in zip(part["token_ids"], part["prompt_index"])]
        pairs = [(t, b) for t, b in pairs if b is not None]
        if pairs:
            rows.append({"body": body, "drafter": drafter, "n": n, "endpoint": endpoint,
                         "rep": rep, "temperature": 0.0,
                         "greedy_match": sum(t == b for t, b in pairs) / len(pairs),
                         "greedy_prefix": sum(common_prefix_share(t, b) for t, b in pairs)
                         / len(pairs)})
    return pd.DataFrame(rows, columns=[*ROW, "greedy_match", "greedy_prefix"])


def paired_difference(cell: pd.DataFrame, reference: pd.DataFrame, value: str = "sum_logprob",
                      weight: str = "output_tokens") -> tuple[float, float]:
    """The difference of two per-token means (sum of `value` over sum of `weight`: the mean
    log-prob, or the mean temperature score) on the prompts both measured, and its standard
    error: the cell's rows against the reference's, a prompt's repeats pooled into one unit on
    each side (they share the prompt, so they are not independent). The standard error is the
    linearisation of a difference of ratio estimators over prompt units: each prompt's residual
    is its cell part minus its reference part, so whatever a prompt adds to both (an easy or a
    hard prompt) cancels. NaNs with fewer than two shared prompts."""
    mine = cell.groupby("prompt_index")[[value, weight]].sum()
    ref = reference.groupby("prompt_index")[[value, weight]].sum()
    shared = mine.index.intersection(ref.index)
    a, b = mine.loc[shared].to_numpy(float), ref.loc[shared].to_numpy(float)
    ta, tb = a[:, 1].sum(), b[:, 1].sum()
    if len(shared) < 2 or ta <= 0 or tb <= 0:
        return float("nan"), float("nan")
    ra, rb = a[:, 0].sum() / ta, b[:, 0].sum() / tb
    resid = (a[:, 0] - ra * a[:, 1]) / ta - (b[:, 0] - rb * b[:, 1]) / tb
    n = len(shared)
    return float(ra - rb), float(np.sqrt(n / (n - 1) * (resid ** 2).sum()))


def temperature_shift(cell: pd.DataFrame, reference: pd.DataFrame) -> tuple[float, float]:
    """How much hotter (positive) or colder the cell was sampled than its body's n=0 cells at
    the same configured temperature, and its standard error, in temperature units: the paired
    difference of the mean temperature score (lib/temperature_score.py) over the reference's
    information per token (a one-step estimate, exact to first order in the shift). NaNs
    without scores on both sides."""
    columns = ["temperature_score", "temperature_information"]
    if any(c not in x or x[c].isna().any() for x in (cell, reference) for c in columns):
        return float("nan"), float("nan")
    delta, se = paired_difference(cell, reference, "temperature_score")
    information = reference["temperature_information"].sum() / reference["output_tokens"].sum()
    if not information > 0:
        return float("nan"), float("nan")
    return delta / information, se / information


def series_fidelity(df: pd.DataFrame, prompts: pd.DataFrame | None,
                    max_delta_logprob: float) -> pd.DataFrame:
    """Per series (body, drafter, n, endpoint, T): its delta (all repeats pooled, over the
    prompts it shares with the body's n=0 repeats on that endpoint at T) and its threshold,
    min(cap, fidelity_multiplier x the paired standard error); the cap alone, and the rows' own
    deltas averaged, without per-prompt log-probs. The series is the unit judged: its repeats
    are the same prompts served again, evidence about one sampler. Where the cells carry
    temperature scores (T > 0, top log-probs recorded), also the series' temperature shift and
    its threshold, fidelity_multiplier standard errors: the mean log-prob alone lets a series
    served at T = 0.8 for 0.7 pass at 40 prompts most of the time, the score does not
    (tests/unit/lib/test_fidelity.py, docs/methods.md)."""
    df = with_endpoint(df)
    out = df.groupby(SERIES)["delta_logprob"].mean().rename("series_delta_logprob").reset_index()
    out["fidelity_threshold"] = max_delta_logprob
    out["temperature_shift"] = float("nan")
    out["temperature_shift_threshold"] = float("nan")
    if prompts is None or prompts.empty or "sum_logprob" not in prompts:
        return out
    unit = with_endpoint(prompts.dropna(subset=["sum_logprob"]))
    series = dict(list(unit.groupby(SERIES)))
    references = dict(list(unit[unit["n"] == 0].groupby(REFERENCE)))
    for i, row in out.iterrows():
        cell = series.get((row.body, row.drafter, row.n, row.endpoint, row.temperature))
        ref = references.get((row.body, row.endpoint, row.temperature))
        if cell is None or ref is None:
            continue
        delta, se = paired_difference(cell, ref)
        multiplier = fidelity_multiplier(shared_prompts(cell, ref))
        if np.isfinite(se):
            out.loc[i, "series_delta_logprob"] = delta
            out.loc[i, "fidelity_threshold"] = min(max_delta_logprob, multiplier * se)
        if row.n > 0 and row.temperature > 0:
            shift, shift_se = temperature_shift(cell, ref)
            if np.isfinite(shift_se):
                out.loc[i, "temperature_shift"] = shift
                out.loc[i, "temperature_shift_threshold"] = multiplier * shift_se
    return out


def judge_fidelity(df: pd.DataFrame, max_delta_logprob: float,
                   prompts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add reference_logprob (mean of the body's n=0 repeats on that endpoint at that T), each
    row's delta, its series' pooled delta and threshold, and the verdict (the series', on each
    of its rows)."""
    df = with_endpoint(df)
    baseline = df[df["n"] == 0].groupby(REFERENCE)["mean_logprob"].mean()
    keys = list(zip(*(df[k] for k in REFERENCE)))
    df["reference_logprob"] = [baseline.get(k, float("nan")) for k in keys]
    df["delta_logprob"] = df["mean_logprob"] - df["reference_logprob"]
    df = df.merge(series_fidelity(df, prompts, max_delta_logprob), on=SERIES, how="left")
    hotter = df["temperature_shift"].abs() > df["temperature_shift_threshold"]  # NaN: untested
    df["fidelity_ok"] = (df["series_delta_logprob"].abs() <= df["fidelity_threshold"]) & ~hotter
    df["fidelity"] = [
        "not judged: no n=0 cell of this body" if pd.isna(ref)
        else ("ok" if ok else "FAIL")
        for ref, ok in zip(df["reference_logprob"], df["fidelity_ok"])
    ]
    df["counters_ok"] = df["counter_problems"].fillna("") == ""
    return df.sort_values(ROW).reset_index(drop=True)


def greedy_gate(table: pd.DataFrame, min_greedy_prefix: float) -> pd.DataFrame:
    """At T = 0, a speculative cell whose tokens leave the body's greedy tokens (mean share of
    tokens before the first difference below `min_greedy_prefix`) fails the fidelity gate."""
    table = table.copy()
    if "greedy_prefix" not in table:
        return table
    bad = (table["temperature"] == 0) & (table["n"] > 0) & (
        table["greedy_prefix"] < min_greedy_prefix)
    table.loc[bad, "fidelity_ok"] = False
    table.loc[bad, "fidelity"] = "FAIL"
    return table


def failing_rows(cells: pd.DataFrame) -> list[str]:
    bad = cells[fidelity_status(cells) == "FAIL"]
    return [describe_failure(r) for r in bad.itertuples()]


def describe_failure(r) -> str:
    """One failing row: its own delta, its series' pooled delta against the threshold (what
    was judged) and, at T = 0, its greedy prefix."""
    series = getattr(r, "series_delta_logprob", r.delta_logprob)
    return (f"{r.body}/{r.drafter}/n{r.n}/{getattr(r, 'endpoint', 'chat')}/T{r.temperature:g}/"
            f"rep{r.rep}: delta"
            f" {r.delta_logprob:+.3f} nats, series {series:+.3f}"
            f" (threshold {getattr(r, 'fidelity_threshold', float('nan')):.3f}),"
            f" temperature shift {getattr(r, 'temperature_shift', float('nan')):+.3f}"
            f" (threshold {getattr(r, 'temperature_shift_threshold', float('nan')):.3f}),"
            f" greedy_prefix {getattr(r, 'greedy_prefix', float('nan')):.3f}")


def fidelity_by_series(prompts: pd.DataFrame) -> pd.DataFrame:
    """One fidelity label per series: ok, or the first other status among its repeats."""
    def label(values: pd.Series) -> str:
        others = sorted(set(values) - {"ok"})
        return others[0] if others else "ok"

    return with_endpoint(prompts).groupby(SERIES)["fidelity"].agg(label).reset_index()

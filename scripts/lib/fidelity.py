"""Output fidelity: every judgement of whether a bench row's output is what the body alone
would have produced, in one place (aggregate_cells judges, the tables, statistics, gate and
erratum read the verdict).

Speculative decoding (with correct rejection sampling) leaves the output distribution
unchanged, so the mean target log-prob of the sampled tokens must match that of the same body
served without speculation at the same temperature. The threshold comes from the data: FIDELITY_Z
standard errors of the difference (each mean's standard error over its prompts, the n=0
repeats pooled), capped by the config's `max_delta_logprob` when there are too few prompts for
the standard error to mean much. A cell beyond it is marked fidelity "FAIL" (fidelity_ok=False);
the report refuses to plot it and the `fidelity_gate` rule fails the run naming it.
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

# Standard errors of the mean log-prob difference a correct sampler may show: at 4 the chance
# of failing a correct cell is ~6e-5 (normal approximation). On the H100 gpu profile (40 prompts
# x 128 tokens) this put the thresholds at 0.13-0.28 nats, against the fixed 0.5 before.
FIDELITY_Z = 4.0

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
    """At T = 0: (body, drafter, n, rep) -> greedy_match, greedy_prefix against the body's n=0
    tokens for the same repeat and prompt."""
    greedy = prompts[prompts["temperature"] == 0]
    base = greedy[greedy["n"] == 0].set_index(["body", "rep", "prompt_index"])["token_ids"]
    rows = []
    for (body, drafter, n, rep), part in greedy[greedy["n"] > 0].groupby(
            ["body", "drafter", "n", "rep"]):
        pairs = [(t, base.get((body, rep, i))) for t, i in zip(part["token_ids"],
                                                             part["prompt_index"])]
        pairs = [(t, b) for t, b in pairs if b is not None]
        if pairs:
            rows.append({"body": body, "drafter": drafter, "n": n, "rep": rep,
                         "temperature": 0.0,
                         "greedy_match": sum(t == b for t, b in pairs) / len(pairs),
                         "greedy_prefix": sum(common_prefix_share(t, b) for t, b in pairs)
                         / len(pairs)})
    return pd.DataFrame(rows, columns=["body", "drafter", "n", "rep", "temperature",
                                       "greedy_match", "greedy_prefix"])


def ratio_standard_error(sums: np.ndarray, tokens: np.ndarray) -> float:
    """Standard error of sum(sums) / sum(tokens) over independent units (the linearisation a
    ratio estimator's cluster bootstrap approximates); NaN with fewer than two units."""
    n = len(sums)
    if n < 2 or tokens.sum() <= 0:
        return float("nan")
    resid = sums - sums.sum() / tokens.sum() * tokens
    return float(np.sqrt(n / (n - 1) * (resid ** 2).sum()) / tokens.sum())


def fidelity_thresholds(df: pd.DataFrame, prompts: pd.DataFrame | None,
                        max_delta_logprob: float) -> list[float]:
    """Per row: min(cap, FIDELITY_Z x standard error of its delta), or the cap without
    per-prompt log-probs."""
    if prompts is None or prompts.empty or "sum_logprob" not in prompts:
        return [max_delta_logprob] * len(df)
    unit = prompts.dropna(subset=["sum_logprob"])

    def mean_logprob_se(rows: pd.DataFrame, keys: list[str]) -> dict:
        return {k: ratio_standard_error(g["sum_logprob"].to_numpy(float),
                                        g["output_tokens"].to_numpy(float))
                for k, g in rows.groupby(keys)}

    ref = mean_logprob_se(unit[unit["n"] == 0], ["body", "temperature"])
    own = mean_logprob_se(unit, ["body", "drafter", "n", "temperature", "rep"])
    out = []
    for row in df.itertuples():
        se = np.hypot(own.get((row.body, row.drafter, row.n, row.temperature, row.rep),
                              np.nan), ref.get((row.body, row.temperature), np.nan))
        out.append(float(min(max_delta_logprob, FIDELITY_Z * se)) if np.isfinite(se)
                   else max_delta_logprob)
    return out


def judge_fidelity(df: pd.DataFrame, max_delta_logprob: float,
                   prompts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add reference_logprob (mean of the body's n=0 repeats at that T), delta, the threshold
    and the verdict."""
    df = df.copy()
    baseline = df[df["n"] == 0].groupby(["body", "temperature"])["mean_logprob"].mean()
    keys = list(zip(df["body"], df["temperature"]))
    df["reference_logprob"] = [baseline.get(k, float("nan")) for k in keys]
    df["delta_logprob"] = df["mean_logprob"] - df["reference_logprob"]
    df["fidelity_threshold"] = fidelity_thresholds(df, prompts, max_delta_logprob)
    df["fidelity_ok"] = df["delta_logprob"].abs() <= df["fidelity_threshold"]
    df["fidelity"] = [
        "not judged: no n=0 cell of this body" if pd.isna(ref)
        else ("ok" if ok else "FAIL")
        for ref, ok in zip(df["reference_logprob"], df["fidelity_ok"])
    ]
    df["counters_ok"] = df["counter_problems"].fillna("") == ""
    return df.sort_values(["body", "drafter", "n", "temperature", "rep"]).reset_index(drop=True)


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
    return [f"{r.body}/{r.drafter}/n{r.n}/T{r.temperature:g}/rep{r.rep}: delta"
            f" {r.delta_logprob:+.3f} nats (threshold {getattr(r, 'fidelity_threshold', float('nan')):.3f}),"
            f" greedy_prefix {getattr(r, 'greedy_prefix', float('nan')):.3f}"
            for r in bad.itertuples()]


def fidelity_by_series(prompts: pd.DataFrame) -> pd.DataFrame:
    """One fidelity label per series: ok, or the first other status among its repeats."""
    def label(values: pd.Series) -> str:
        others = sorted(set(values) - {"ok"})
        return others[0] if others else "ok"

    return prompts.groupby(["body", "drafter", "n", "temperature"])["fidelity"].agg(label).reset_index()

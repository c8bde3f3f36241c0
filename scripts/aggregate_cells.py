"""All bench cells in one tidy table (a row per cell x temperature x repeat) with each cell's
verdicts, and every prompt's raw counters in a second table (a row per prompt of each row).

Fidelity: speculative decoding (with correct rejection sampling) leaves the output distribution
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
Counters: a row whose spec-decode counts are inconsistent (bench_cell.counter_problems) is
marked counters_ok=False and fails the job, naming the cell.
"""


import json
from pathlib import Path

import atomic_io
import numpy as np
import pandas as pd
from bench_stats import position_columns

# Standard errors of the mean log-prob difference a correct sampler may show: at 4 the chance
# of failing a correct cell is ~6e-5 (normal approximation). On the H100 gpu profile (40 prompts
# x 128 tokens) this put the thresholds at 0.13-0.28 nats, against the fixed 0.5 before.
FIDELITY_Z = 4.0

COLUMNS = [
    "body", "drafter", "method", "n", "rep", "seed", "temperature", "max_tokens",
    "tok_s_aggregate", "tok_s_per_prompt", "total_output_tokens", "acceptance_rate",
    "acceptance_length", "mean_logprob", "logprob_tokens", "vllm_package",
]


def cell_row(record: dict) -> dict:
    cell, metrics = record["cell"], record["metrics"]
    row = {k: cell.get(k) for k in ("body", "drafter", "method", "n", "rep", "seed",
                                    "temperature", "max_tokens")}
    row |= {k: metrics.get(k) for k in ("tok_s_aggregate", "tok_s_per_prompt",
                                        "total_output_tokens", "acceptance_rate",
                                        "acceptance_length", "mean_logprob", "logprob_tokens")}
    row["vllm_package"] = record["provenance"]["vllm_package"]
    row |= {k: v for k, v in metrics.items()
            if k.startswith("bench_serve_") and not isinstance(v, list)}
    row["counter_problems"] = "; ".join(record.get("counter_problems") or [])
    for k, rate in enumerate(metrics.get("per_position_acceptance") or []):
        row[f"a{k}"] = rate
    return row


def prompt_rows(record: dict) -> list[dict]:
    """The raw per-prompt counters of one (cell, temperature, repeat), one row per prompt."""
    cell = record["cell"]
    key = {k: cell.get(k) for k in ("body", "drafter", "n", "temperature", "rep")}
    rows = []
    for r in record.get("per_prompt") or []:
        row = key | {k: r[k] for k in ("prompt_index", "output_tokens", "latency_s",
                                        "sum_logprob", "drafts", "draft_tokens",
                                        "accepted_tokens")}
        row |= {f"accepted_{k}": v for k, v in enumerate(r["accepted_per_position"])}
        row["token_ids"] = " ".join(map(str, r["token_ids"]))
        rows.append(row)
    return rows


def load_prompts(paths: list[Path]) -> pd.DataFrame:
    rows = [row for p in paths for row in prompt_rows(json.loads(Path(p).read_text()))]
    df = pd.DataFrame(rows)
    counts = position_columns(df)
    df[counts] = df[counts].fillna(0).astype(int)
    return df


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


def load_cells(paths: list[Path]) -> pd.DataFrame:
    rows = [cell_row(json.loads(Path(p).read_text())) for p in paths]
    df = pd.DataFrame(rows)
    positions = sorted((c for c in df.columns if c.startswith("a") and c[1:].isdigit()),
                       key=lambda c: int(c[1:]))
    extra = [c for c in df.columns if c not in COLUMNS and c not in positions]
    return df[[c for c in COLUMNS if c in df.columns] + extra + positions]


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


def missing_cells(expected: list[str], measured: list[str]) -> list[str]:
    """Configured cell JSONs that a partial report was built without."""
    have = set(measured)
    return [p for p in expected if p not in have]


def main(snakemake) -> None:  # noqa: D103 - run by Snakemake's `script:`
    paths = list(snakemake.input.cells)
    if not paths:
        raise SystemExit("no bench cell was measured: nothing to aggregate")
    missing = missing_cells(list(snakemake.params.expected), paths)
    atomic_io.write_text_atomically(
        Path(snakemake.output.missing), "".join(f"{p}\n" for p in missing)
    )
    prompts = load_prompts(paths)
    table = judge_fidelity(load_cells(paths), snakemake.params.max_delta_logprob, prompts)
    agreement = greedy_agreement(prompts)
    table = table.merge(agreement, on=["body", "drafter", "n", "rep", "temperature"], how="left")
    table = greedy_gate(table, snakemake.params.min_greedy_prefix)
    atomic_io.write_text_atomically(Path(snakemake.output.table), table.to_csv(index=False))
    atomic_io.write_text_atomically(Path(snakemake.output.prompts), prompts.to_csv(index=False))
    bad = table[table["fidelity"] == "FAIL"]
    broken = table[~table["counters_ok"]]
    with open(snakemake.log[0], "w") as fh:
        fh.write(table.to_string() + "\n")
        for _, row in bad.iterrows():
            fh.write(f"FIDELITY FAIL: {row.body}/{row.drafter}/n{row.n}/T{row.temperature:g}/"
                     f"rep{row.rep}: delta {row.delta_logprob:+.3f} nats (threshold"
                     f" {row.fidelity_threshold:.3f}), greedy_prefix"
                     f" {getattr(row, 'greedy_prefix', float('nan')):.3f}\n")
        for _, row in broken.iterrows():
            fh.write(f"COUNTER FAIL: {row.body}/{row.drafter}/n{row.n}/T{row.temperature:g}/"
                     f"rep{row.rep}: {row.counter_problems}\n")
    if not broken.empty:
        raise SystemExit(f"{len(broken)} bench rows have inconsistent spec-decode counters; see"
                         f" {snakemake.log[0]}")


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

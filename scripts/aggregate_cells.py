"""All bench cells in one tidy table (a row per cell x temperature x repeat) with each cell's
verdicts, and every prompt's raw counters in a second table (a row per prompt of each row).

Fidelity: speculative decoding (with correct rejection sampling) leaves the output distribution
unchanged, so the mean target log-prob of the sampled tokens must match that of the same body
served without speculation at the same temperature. A cell whose mean is further than
`max_delta_logprob` nats from the mean of its body's n=0 repeats is marked fidelity_ok=False;
the report refuses to plot it. At T = 0 the greedy tokens are also compared with the n=0 cell's
of the same repeat, prompt by prompt (greedy_match: the share of prompts with identical tokens;
greedy_prefix: the mean share of tokens before the first difference); reported, not gated,
since batch shapes that differ between verification and plain decoding may flip near-ties.
Counters: a row whose spec-decode counts are inconsistent (bench_cell.counter_problems) is
marked counters_ok=False and fails the job, naming the cell.
"""


import json
from pathlib import Path

import atomic_io
import pandas as pd
from bench_stats import position_columns

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


def judge_fidelity(df: pd.DataFrame, max_delta_logprob: float) -> pd.DataFrame:
    """Add reference_logprob (mean of the body's n=0 repeats at that T), delta and verdict."""
    df = df.copy()
    baseline = df[df["n"] == 0].groupby(["body", "temperature"])["mean_logprob"].mean()
    keys = list(zip(df["body"], df["temperature"]))
    df["reference_logprob"] = [baseline.get(k, float("nan")) for k in keys]
    df["delta_logprob"] = df["mean_logprob"] - df["reference_logprob"]
    df["fidelity_ok"] = df["delta_logprob"].abs() <= max_delta_logprob
    df["counters_ok"] = df["counter_problems"].fillna("") == ""
    return df.sort_values(["body", "drafter", "n", "temperature", "rep"]).reset_index(drop=True)


def main(snakemake) -> None:  # noqa: D103 - run by Snakemake's `script:`
    paths = list(snakemake.input.cells)
    table = judge_fidelity(load_cells(paths), snakemake.params.max_delta_logprob)
    prompts = load_prompts(paths)
    agreement = greedy_agreement(prompts)
    table = table.merge(agreement, on=["body", "drafter", "n", "rep", "temperature"], how="left")
    atomic_io.write_text_atomically(Path(snakemake.output.table), table.to_csv(index=False))
    atomic_io.write_text_atomically(Path(snakemake.output.prompts), prompts.to_csv(index=False))
    bad = table[~table["fidelity_ok"]]
    broken = table[~table["counters_ok"]]
    with open(snakemake.log[0], "w") as fh:
        fh.write(table.to_string() + "\n")
        for _, row in bad.iterrows():
            fh.write(f"FIDELITY FAIL: {row.body}/{row.drafter}/n{row.n}/T{row.temperature:g}/"
                     f"rep{row.rep}: delta {row.delta_logprob:+.3f} nats\n")
        for _, row in broken.iterrows():
            fh.write(f"COUNTER FAIL: {row.body}/{row.drafter}/n{row.n}/T{row.temperature:g}/"
                     f"rep{row.rep}: {row.counter_problems}\n")
    if not broken.empty:
        raise SystemExit(f"{len(broken)} bench rows have inconsistent spec-decode counters; see"
                         f" {snakemake.log[0]}")


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

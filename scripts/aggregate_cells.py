"""All bench cells in one tidy table, with the output-fidelity verdict of each cell.

Fidelity: speculative decoding (with correct rejection sampling) leaves the output distribution
unchanged, so the mean target log-prob of the sampled tokens must match that of the same body
served without speculation at the same temperature. A cell whose mean is further than
`max_delta_logprob` nats from the mean of its body's n=0 repeats is marked fidelity_ok=False;
the report refuses to plot it.
"""


import json
from pathlib import Path

import atomic_io
import pandas as pd

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
    for k, rate in enumerate(metrics.get("per_position_acceptance") or []):
        row[f"a{k}"] = rate
    return row


def load_cells(paths: list[Path]) -> pd.DataFrame:
    rows = [cell_row(json.loads(Path(p).read_text())) for p in paths]
    df = pd.DataFrame(rows)
    positions = sorted((c for c in df.columns if c.startswith("a") and c[1:].isdigit()),
                       key=lambda c: int(c[1:]))
    return df[[c for c in COLUMNS if c in df.columns] + positions]


def judge_fidelity(df: pd.DataFrame, max_delta_logprob: float) -> pd.DataFrame:
    """Add reference_logprob (mean of the body's n=0 repeats at that T), delta and verdict."""
    df = df.copy()
    baseline = df[df["n"] == 0].groupby(["body", "temperature"])["mean_logprob"].mean()
    keys = list(zip(df["body"], df["temperature"]))
    df["reference_logprob"] = [baseline.get(k, float("nan")) for k in keys]
    df["delta_logprob"] = df["mean_logprob"] - df["reference_logprob"]
    df["fidelity_ok"] = df["delta_logprob"].abs() <= max_delta_logprob
    return df.sort_values(["body", "drafter", "n", "rep"]).reset_index(drop=True)


def main(snakemake) -> None:  # noqa: D103 - run by Snakemake's `script:`
    table = judge_fidelity(
        load_cells(list(snakemake.input.cells)), snakemake.params.max_delta_logprob
    )
    atomic_io.write_text_atomically(Path(snakemake.output.table), table.to_csv(index=False))
    bad = table[~table["fidelity_ok"]]
    with open(snakemake.log[0], "w") as fh:
        fh.write(table.to_string() + "\n")
        for _, row in bad.iterrows():
            fh.write(f"FIDELITY FAIL: {row.body}/{row.drafter}/n{row.n}/rep{row.rep}: "
                     f"delta {row.delta_logprob:+.3f} nats\n")


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

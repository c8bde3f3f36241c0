"""The bench's two tidy tables, read from the cell JSONs: a row per cell x temperature x repeat
(cells.csv) and a row per prompt of each (prompts.csv, every prompt's raw counters)."""

import json
from pathlib import Path

import pandas as pd
from lib.bench_keys import DEFAULT_ENDPOINT, rate_columns
from lib.bench_stats import position_columns
from lib.degeneration import rates, repetition_counts
from lib.machine import machine_label

COLUMNS = [
    "body", "drafter", "method", "n", "endpoint", "rep", "seed", "temperature", "max_tokens",
    "tok_s_aggregate", "tok_s_per_prompt", "total_output_tokens", "acceptance_rate",
    "acceptance_length", "mean_logprob", "logprob_tokens", "vllm_package", "machine",
]


def cell_row(record: dict) -> dict:
    cell, metrics = record["cell"], record["metrics"]
    row = {k: cell.get(k) for k in ("body", "drafter", "method", "n", "rep", "seed",
                                    "temperature", "max_tokens")}
    row["endpoint"] = cell.get("endpoint", DEFAULT_ENDPOINT)
    row |= {k: metrics.get(k) for k in ("tok_s_aggregate", "tok_s_per_prompt",
                                        "total_output_tokens", "acceptance_rate",
                                        "acceptance_length", "mean_logprob", "logprob_tokens")}
    row["vllm_package"] = record["provenance"]["vllm_package"]
    row["machine"] = machine_label(record)
    if "quiet_gpu_wait_s" in record["provenance"]:  # cells measured since the quiet GPU
        row["quiet_gpu_wait_s"] = record["provenance"]["quiet_gpu_wait_s"]
    row |= {k: v for k, v in metrics.items()
            if k.startswith("bench_serve_") and not isinstance(v, list)}
    row["counter_problems"] = "; ".join(record.get("counter_problems") or [])
    counts = [repetition_counts(r["token_ids"]) for r in record.get("per_prompt") or []]
    if counts:
        row |= rates({k: sum(c[k] for c in counts) for k in counts[0]})
    for k, rate in enumerate(metrics.get("per_position_acceptance") or []):
        row[f"a{k}"] = rate
    return row


def prompt_rows(record: dict) -> list[dict]:
    """The raw per-prompt counters of one (cell, temperature, repeat), one row per prompt."""
    cell = record["cell"]
    key = {k: cell.get(k) for k in ("body", "drafter", "n", "temperature", "rep")}
    key["endpoint"] = cell.get("endpoint", DEFAULT_ENDPOINT)
    key["machine"] = machine_label(record)
    rows = []
    for r in record.get("per_prompt") or []:
        row = key | {k: r[k] for k in ("prompt_index", "output_tokens", "latency_s",
                                        "sum_logprob", "drafts", "draft_tokens",
                                        "accepted_tokens")}
        row |= {k: r[k] for k in ("temperature_score", "temperature_information") if k in r}
        row |= {f"accepted_{k}": v for k, v in enumerate(r["accepted_per_position"])}
        row |= repetition_counts(r["token_ids"])
        row["token_ids"] = " ".join(map(str, r["token_ids"]))
        rows.append(row)
    return rows


def load_prompts(paths: list[Path]) -> pd.DataFrame:
    rows = [row for p in paths for row in prompt_rows(json.loads(Path(p).read_text()))]
    df = pd.DataFrame(rows)
    counts = position_columns(df)
    df[counts] = df[counts].fillna(0).astype(int)
    return df


def load_cells(paths: list[Path]) -> pd.DataFrame:
    rows = [cell_row(json.loads(Path(p).read_text())) for p in paths]
    df = pd.DataFrame(rows)
    positions = rate_columns(df)
    extra = [c for c in df.columns if c not in COLUMNS and c not in positions]
    return df[[c for c in COLUMNS if c in df.columns] + extra + positions]


def missing_cells(expected: list[str], measured: list[str]) -> list[str]:
    """Configured cell JSONs that a partial report was built without."""
    have = set(measured)
    return [p for p in expected if p not in have]

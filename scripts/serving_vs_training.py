"""Serving against training, per position: vLLM's acceptance on a drafter's validation rows
beside the trainer's offline validation accuracy on those rows.

vLLM (rule serving_check): at T = 0 a draft token is accepted when it is the body's argmax, so
a_k (accepted at position k / drafts) is the share of drafts whose first k+1 tokens all match
the body, and a_k / a_{k-1} the conditional rate. speculators logs, per validation epoch,
full_acc_k (draft position k right, given the drafts before it were right too) and cond_acc_k
(right given the previous position was right): the same quantities, teacher-forced on the
body's regenerated responses (sampled at the regeneration temperature) rather than on its
greedy continuations. So they need not agree exactly; a gap beyond the serving interval is a
flag to look at how vLLM reads the drafter (vLLM PR #38111: `norm_before_fc` ignored; PR
#42764: post-norm drafters), not a proof of a bug.
"""


import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from lib.cell_table import prompt_rows
from lib.bench_stats import N_BOOT, draws, interval, position_columns

LEVEL_NOTE = "95 % cluster-bootstrap interval over prompts"


def offline_validation(training: pd.DataFrame) -> dict[int, dict[str, float]]:
    """The last validation epoch's full_acc_k and cond_acc_k, by position k."""
    out: dict[int, dict[str, float]] = {}
    for column in training.columns:
        m = re.fullmatch(r"val/(full_acc|cond_acc)_(\d+)_epoch", column)
        if m:
            values = training[column].dropna()
            if len(values):
                out.setdefault(int(m.group(2)), {})[m.group(1)] = float(values.iloc[-1])
    if not out:
        raise ValueError("the training CSV has no val/full_acc_k_epoch columns")
    return out


def serving_rates(record: dict, n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """a_k and a_k / a_{k-1} with their intervals, from one serving-check JSON."""
    prompts = pd.DataFrame(prompt_rows(record))
    positions = position_columns(prompts)[: record["cell"]["n"]]
    sums = prompts.groupby("prompt_index")[["drafts", *positions]].sum().to_numpy(float)
    boot = sums[draws(len(sums), n_boot, seed)].sum(axis=1)
    point = sums.sum(axis=0)

    def rates(s: np.ndarray) -> dict[str, np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            full = {k: s[..., 1 + k] / s[..., 0] for k in range(len(positions))}
            cond = {k: full[k] if k == 0 else s[..., 1 + k] / s[..., k]
                    for k in range(len(positions))}
        return {"full": full, "cond": cond}

    p, b = rates(point), rates(boot)
    rows = []
    for k in range(len(positions)):
        full_lo, full_hi = interval(b["full"][k], len(sums))
        cond_lo, cond_hi = interval(b["cond"][k], len(sums))
        rows.append({"position": k, "vllm_a_k": float(p["full"][k]), "vllm_a_k_lo": full_lo,
                     "vllm_a_k_hi": full_hi, "vllm_cond_k": float(p["cond"][k]),
                     "vllm_cond_k_lo": cond_lo, "vllm_cond_k_hi": cond_hi,
                     "prompts": len(sums)})
    return pd.DataFrame(rows)


def flag(value: float, lo: float, hi: float) -> str:
    if np.isnan(value):
        return "no offline value"
    return "within the serving interval" if lo <= value <= hi else "GAP beyond the serving interval"


def compare(drafter: str, record: dict, training: pd.DataFrame) -> pd.DataFrame:
    served = serving_rates(record)
    offline = offline_validation(training)
    served.insert(0, "drafter", drafter)
    served.insert(1, "body", record["cell"]["body"])
    served["offline_full_acc_k"] = [offline.get(k, {}).get("full_acc", np.nan)
                                    for k in served["position"]]
    served["offline_cond_acc_k"] = [offline.get(k, {}).get("cond_acc", np.nan)
                                    for k in served["position"]]
    served["full_flag"] = [flag(v, lo, hi) for v, lo, hi in zip(
        served["offline_full_acc_k"], served["vllm_a_k_lo"], served["vllm_a_k_hi"])]
    served["cond_flag"] = [flag(v, lo, hi) for v, lo, hi in zip(
        served["offline_cond_acc_k"], served["vllm_cond_k_lo"], served["vllm_cond_k_hi"])]
    return served


def main(snakemake) -> None:  # noqa: D103 - run by Snakemake's `script:`
    from lib import atomic_io

    tables = [
        compare(drafter, json.loads(Path(check).read_text()), pd.read_csv(training))
        for drafter, check, training in zip(snakemake.params.drafters, snakemake.input.checks,
                                            snakemake.input.training)
    ]
    atomic_io.write_text_atomically(
        Path(snakemake.output[0]), pd.concat(tables).to_csv(index=False)
    )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

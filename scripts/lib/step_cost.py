"""The cost of one speculative step in plain decoding steps: why speculation pays or not.

A speculative server emits its acceptance length AL(n) tokens per verification step, so one
step takes t_step(n) = AL(n) / tok/s(n); a plain step of the same body takes 1 / tok/s(0). Their
ratio

    c(n) = t_step(n) / t_plain = AL(n) x tok/s(0) / tok/s(n)

is what a step that drafts n tokens and verifies them costs, in plain steps. The speed-up is
AL(n) / c(n): speculation pays while the acceptance length grows faster than the step's cost.
A body so cheap that drafting and verifying cost several plain steps (the GPU study's 135 M
body) cannot gain whatever the acceptance; Part 28's n = 4 (AL 2.59 at 50.0 tok/s against 39.3
without speculation) paid for 2.0 plain steps a step and so gained 1.27x.

The run's c(n) comes with a 95 % interval from the same cluster bootstrap as the speed-up
(lib/bench_stats.py): one draw of prompts serves the speculative series' acceptance length and
both series' tok/s, their repeats drawn independently (they ran on different servers). A
publication's c(n) is computed from the claims of a `step_times` consistency check
(config/claims.yaml): the per-position curve (its first n positions for smaller n, as those
checks read it), the throughput sweep and the no-speculation baseline.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from lib.bench_keys import SERIES, with_endpoint
from lib.bench_stats import (N_BOOT, MeasuredApart, interval, position_columns, prompt_sums,
                             speedup_draws, statistics)
from lib.claims_ledger import as_list

log = logging.getLogger("step_cost")


def step_cost(a: pd.DataFrame, base: pd.DataFrame, n: int, n_boot: int = N_BOOT, seed: int = 0
              ) -> dict[str, float]:
    """c(n) of the speculative series `a` (per-prompt rows) over its body's no-speculation
    series `base`, with its interval, and the acceptance length and speed-up it comes from."""
    a, idx, tok_s, boot_a, boot_base = speedup_draws(a, base, n_boot, seed)
    sums = prompt_sums(a, position_columns(a)[:n])
    values, names = sums.to_numpy(float), list(sums.columns)
    length = statistics(values.sum(axis=0), names, n)["acceptance_length"]
    boot_length = statistics(values[idx].sum(axis=1), names, n)["acceptance_length"]
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = interval(boot_length * boot_base / boot_a, len(values))
    return {"acceptance_length": float(length), "speedup": float(tok_s[0] / tok_s[1]),
            "step_cost": float(length * tok_s[1] / tok_s[0]), "lo": lo, "hi": hi,
            "prompts": len(values)}


def run_step_costs(prompts: pd.DataFrame, n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """c(n) of every speculative series of the bench's per-prompt table that has its body's
    no-speculation series on the same endpoint at the same temperature, measured on the same
    machine (a series measured apart from its base is left out, with a warning in the log)."""
    groups = dict(tuple(with_endpoint(prompts).groupby(SERIES)))
    rows = []
    for (body, drafter, n, endpoint, temp), a in sorted(groups.items()):
        base = groups.get((body, "none", 0, endpoint, temp))
        if n == 0 or base is None:
            continue
        try:
            cost = step_cost(a, base, n, n_boot, seed)
        except MeasuredApart as apart:
            log.warning("no step cost for %s/%s n = %d (%s, T = %g): %s", body, drafter, n,
                        endpoint, temp, apart)
            continue
        rows.append({"body": body, "drafter": drafter, "n": n, "endpoint": endpoint,
                     "temperature": temp} | cost)
    columns = [*SERIES, "acceptance_length", "speedup", "step_cost", "lo", "hi", "prompts"]
    return pd.DataFrame(rows, columns=columns)


def check_steps(check: dict, by_id: dict[str, dict]) -> list[dict]:
    """The steps of one `step_times` check's publication, one per n of its sweep: acceptance
    length from the curve's first n positions, tok/s at n, the plain tok/s, c(n)."""
    curve, sweep, base = (by_id[i] for i in check["claims"])
    values = [float(v) for v in as_list(curve["value"])]
    plain = float(as_list(base["value"])[0])
    rows = []
    for n, tok_s in enumerate((float(v) for v in as_list(sweep["value"])), start=1):
        length = 1 + sum(values[:n]) / 100
        rows.append({"n": n, "acceptance_length": length, "tok_s": tok_s, "plain_tok_s": plain,
                     "step_cost": length * plain / tok_s, "speedup": tok_s / plain})
    return rows


def published_step_costs(claims: list[dict]) -> pd.DataFrame:
    """c(n) of each publication that gives a per-position curve, a throughput sweep and a
    baseline for one series (the claims of each `step_times` check), per n of its sweep."""
    by_id = {c["id"]: c for c in claims}
    rows = []
    for claim in claims:
        check = claim.get("check") or {}
        if check.get("test") != "step_times":
            continue
        sweep = by_id[check["claims"][1]]
        measures = sweep["measures"]
        about = {"claim": claim["id"], "source": sweep["source"], "kind": sweep["kind"],
                 "body": measures["body"], "drafter": measures["drafter"],
                 "endpoint": measures.get("endpoint", "chat")}
        rows += [about | step for step in check_steps(check, by_id)]
    return pd.DataFrame(rows)

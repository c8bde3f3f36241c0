"""The headroom of each body shift with its interval, beside the drafter's measured drop.

h_k (lib/headroom.py) is a ratio of sums over chain starts, so, like every bench rate, its
interval comes from the cluster bootstrap over prompts (lib/bench_stats.py), a prompt's repeats
kept together. The interval's low end is taken from the overlap's lower bound, its high end from
the upper bound (top-k truncation), so it covers both the sampling and the truncation.

Beside it, for the drafter the mechanism figure follows (trained on body b): its a_k on b and on
a and their paired difference (bench_intervals' comparison). The reading:
- "no room": h_k's interval lies above 1 - m (m: the acceptance margin): even a perfect mimic of
  b loses less than m on a, so a null result is the shift's, not the drafter's;
- "drop measured": the difference is separated below 0;
- "the drafter, not the shift": the drafter's expected drop if its own errors and the shift were
  independent, a_k(b) (h_k - 1), lies below the difference's interval: the shift leaves room for
  a drop the drafter does not show (its own misses dominate what it loses);
- "not decided" otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lib.bench_stats import N_BOOT, draws, interval, series_label


def headroom_intervals(rows: pd.DataFrame, served: str, mimic: str, n_boot: int = N_BOOT,
                       seed: int = 0) -> pd.DataFrame:
    """Per (endpoint, temperature, k): h_k from the overlap's lower and upper bounds, and a
    95 % interval over prompts from the lower bound's low end to the upper bound's high end."""
    out = []
    for (endpoint, temperature, k), part in rows.groupby(["endpoint", "temperature", "k"]):
        sums = part.groupby("prompt_index")[["sum_lower", "sum_upper", "starts"]].sum()
        values = sums.to_numpy(float)
        idx = draws(len(values), n_boot, seed)
        boot = values[idx].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            lower, upper = boot[:, 0] / boot[:, 2], boot[:, 1] / boot[:, 2]
        total = values.sum(axis=0)
        out.append({"body": served, "mimics": mimic, "endpoint": endpoint,
                    "temperature": temperature, "k": int(k),
                    "headroom": total[0] / total[2], "headroom_upper": total[1] / total[2],
                    "lo": interval(lower, len(values))[0], "hi": interval(upper, len(values))[1],
                    "prompts": len(values), "chain_starts": int(total[2])})
    return pd.DataFrame(out)


def reading(h_lo: float, expected: float, diff: tuple[float, float, float], margin: float
            ) -> str:
    est, lo, hi = diff
    if np.isfinite(h_lo) and np.isfinite(margin) and h_lo >= 1 - margin:
        return (f"no room: a perfect mimic loses less than {margin:g} here, so a null result"
                " is the shift's")
    if np.isnan(lo):
        return "no drafter measurement to compare"
    if hi < 0:
        return "drop measured"
    if np.isfinite(expected) and expected < lo:
        return ("the drafter, not the shift: the shift leaves room for a drop of"
                f" {expected:+.3f} at the drafter's rate, the measured difference excludes it")
    return "not decided"


def beside_drafter(headroom: pd.DataFrame, intervals: pd.DataFrame,
                   comparisons: pd.DataFrame, drafter: str, n: int, margin: float
                   ) -> pd.DataFrame:
    """`headroom` with the drafter's a_k on both bodies at n, their paired difference and the
    reading."""
    stats = intervals[(intervals["drafter"] == drafter) & (intervals["n"] == n)]
    rows = []
    for r in headroom.itertuples():
        def measured(body: str) -> tuple[float, float, float]:
            hit = stats[(stats["body"] == body) & (stats["endpoint"] == r.endpoint)
                        & (stats["temperature"] == r.temperature)
                        & (stats["statistic"] == f"a{r.k}")]
            if hit.empty:
                return (float("nan"),) * 3
            return tuple(float(hit.iloc[0][c]) for c in ("estimate", "lo", "hi"))

        own, served = measured(r.mimics), measured(r.body)
        hit = comparisons[(comparisons["a"] == series_label(r.body, drafter, n, r.endpoint))
                          & (comparisons["b"] == series_label(r.mimics, drafter, n, r.endpoint))
                          & (comparisons["temperature"] == r.temperature)
                          & (comparisons["statistic"] == f"a{r.k}")]
        diff = ((float("nan"),) * 3 if hit.empty
                else tuple(float(hit.iloc[0][c]) for c in ("estimate", "lo", "hi")))
        expected = own[0] * (r.headroom - 1)
        rows.append(r._asdict() | {
            "drafter": drafter, "n": n,
            "a_k_on_mimicked": own[0], "a_k_on_mimicked_lo": own[1],
            "a_k_on_mimicked_hi": own[2],
            "a_k_on_body": served[0], "a_k_on_body_lo": served[1], "a_k_on_body_hi": served[2],
            "difference": diff[0], "difference_lo": diff[1], "difference_hi": diff[2],
            "expected_difference": expected,
            "reading": reading(r.lo, expected, diff, margin)})
    return pd.DataFrame(rows).drop(columns=["Index"])

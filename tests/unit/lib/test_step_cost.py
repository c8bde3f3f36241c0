"""A speculative step's cost in plain decoding steps (scripts/lib/step_cost.py)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lib import bench_figures
from lib.claims_ledger import load_claims
from lib.step_cost import published_step_costs, run_step_costs, step_cost

ROOT = Path(__file__).resolve().parents[3]


def series(body, drafter, n, accepted_per_draft, tok_s, n_prompts=30, reps=3, seed=0):
    """Per-prompt rows whose tok/s scatters around `tok_s` (latency noise per prompt and
    repeat) and whose acceptance length is 1 + accepted_per_draft."""
    rng = np.random.default_rng(seed)
    rows = []
    for rep in range(1, reps + 1):
        for i in range(n_prompts):
            drafts = 20 if n else 0
            accepted = round(accepted_per_draft * drafts)
            row = {"body": body, "drafter": drafter, "n": n, "endpoint": "chat",
                   "temperature": 0.0, "rep": rep, "prompt_index": i, "output_tokens": 64,
                   "latency_s": 64 / tok_s * rng.uniform(0.9, 1.1), "drafts": drafts,
                   "accepted_tokens": accepted}
            if n:
                row |= {"accepted_0": min(accepted, drafts), "accepted_1": max(0, accepted - drafts)}
            rows.append(row)
    return rows


def test_the_cost_is_acceptance_length_times_the_plain_over_the_speculative_rate():
    table = pd.DataFrame(series("b", "none", 0, 0, 64.0)
                         + series("b", "d", 2, 1.0, 80.0, seed=1)).fillna(0)
    costs = run_step_costs(table, n_boot=400)
    assert len(costs) == 1  # the n = 0 series is the reference, not a row
    row = costs.iloc[0]
    plain = table[table.n == 0]
    spec = table[table.n == 2]
    tok_s = [x.output_tokens.sum() / x.latency_s.sum() for x in (plain, spec)]
    assert row.acceptance_length == pytest.approx(2.0)
    assert row.step_cost == pytest.approx(2.0 * tok_s[0] / tok_s[1])
    assert row.speedup == pytest.approx(row.acceptance_length / row.step_cost)
    assert row.lo < row.step_cost < row.hi and row.hi - row.lo < 0.2  # ~1.6, latency noise
    assert 1.5 < row.step_cost < 1.7


def test_a_series_without_its_bodys_baseline_has_no_cost():
    table = pd.DataFrame(series("b", "d", 2, 1.0, 80.0) + series("c", "none", 0, 0, 64.0)).fillna(0)
    assert run_step_costs(table, n_boot=50).empty


def test_the_interval_widens_when_throughput_scatters_more():
    calm = pd.DataFrame(series("b", "none", 0, 0, 64.0) + series("b", "d", 2, 1.0, 80.0, seed=1))
    noisy = calm.assign(latency_s=calm.latency_s * np.random.default_rng(2).uniform(0.5, 1.5, len(calm)))
    widths = [step_cost(t[t.n == 2].fillna(0), t[t.n == 0].fillna(0), 2, n_boot=400)
              for t in (calm, noisy)]
    assert widths[1]["hi"] - widths[1]["lo"] > 2 * (widths[0]["hi"] - widths[0]["lo"])


def test_the_publications_step_costs_come_from_their_curve_sweep_and_baseline():
    claims = load_claims(ROOT / "config" / "claims.yaml", ROOT / "config" / "claims.schema.yaml")
    published = published_step_costs(claims).set_index(["claim", "n"])
    part28 = published.loc[("p28-step-times", 4)]
    # Part 28 n = 4: AL 1 + 0.656 + 0.433 + 0.292 + 0.205 at 50.0 tok/s against 39.3
    assert part28.acceptance_length == pytest.approx(2.586)
    assert part28.step_cost == pytest.approx(2.586 * 39.3 / 50.0)
    assert (part28.kind, part28.endpoint) == ("measured", "chat")
    part30 = published.loc[("p30-step-times", 4)]
    assert (part30.kind, part30.endpoint) == ("withdrawn", "raw")


def test_the_figure_draws_the_run_and_the_publications(tmp_path):
    table = pd.DataFrame(series("b", "none", 0, 0, 64.0) + series("b", "d", 2, 1.0, 80.0, seed=1)
                         + series("b", "d", 1, 0.6, 75.0, seed=3)).fillna(0)
    claims = load_claims(ROOT / "config" / "claims.yaml", ROOT / "config" / "claims.schema.yaml")
    out = tmp_path / "step_cost.png"
    bench_figures.plot_step_cost(run_step_costs(table, n_boot=100), published_step_costs(claims),
                                 out, 0.7)
    assert out.stat().st_size > 10_000

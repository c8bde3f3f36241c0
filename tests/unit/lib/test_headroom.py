"""The headroom of a body shift (scripts/lib/headroom.py, lib/headroom_report.py)."""

import numpy as np
import pandas as pd
import pytest
from lib.headroom import chain_sums, overlap, tempered_top
from lib.headroom_report import beside_drafter, headroom_intervals, reading


def test_overlap_is_one_for_the_same_body_and_the_total_variation_complement_otherwise():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 2, (5, 50))
    b = a + rng.normal(0, 1, (5, 50))
    ia, pa = tempered_top(a, 50, 0.7)
    ib, pb = tempered_top(b, 50, 0.7)
    same, slack = overlap(ia, pa, ia, pa)
    assert same == pytest.approx(np.ones(5)) and slack == pytest.approx(np.zeros(5), abs=1e-9)
    lower, _ = overlap(ia, pa, ib, pb)
    full = [np.exp(x / 0.7) / np.exp(x / 0.7).sum(axis=1, keepdims=True) for x in (a, b)]
    assert lower == pytest.approx(1 - 0.5 * np.abs(full[0] - full[1]).sum(axis=1))


def test_a_truncated_overlap_is_bracketed_by_its_slack():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, (20, 200)), rng.normal(0, 1, (20, 200))
    exact, _ = overlap(*tempered_top(a, 200, 1.0), *tempered_top(b, 200, 1.0))
    lower, slack = overlap(*tempered_top(a, 10, 1.0), *tempered_top(b, 10, 1.0))
    assert (lower <= exact + 1e-12).all() and (exact <= lower + slack + 1e-12).all()
    assert (slack > 0.5).all()  # 10 of 200 flat tokens: most mass is left out, and said so


def test_chains_multiply_consecutive_tokens():
    sums, starts = chain_sums(np.array([1.0, 0.5, 1.0, 0.0]), 3)
    assert starts.tolist() == [4, 3, 2]
    assert sums.tolist() == [2.5, 0.5 + 0.5 + 0.0, 0.5 + 0.0]
    greedy, _ = chain_sums(np.array([1, 1, 0, 1, 1, 1], dtype=float), 2)
    assert greedy.tolist() == [5, 3]  # agreeing pairs: (0,1) (3,4) (4,5)


def rows(per_token: dict[int, list[float]], depth: int = 2) -> pd.DataFrame:
    out = []
    for prompt, tokens in per_token.items():
        sums, starts = chain_sums(np.array(tokens), depth)
        out += [{"endpoint": "chat", "temperature": 0.0, "rep": 1, "prompt_index": prompt,
                 "k": k, "sum_lower": sums[k], "sum_upper": sums[k], "starts": starts[k]}
                for k in range(depth)]
    return pd.DataFrame(out)


def test_headroom_intervals_over_prompts():
    table = headroom_intervals(rows({p: [1.0] * 30 for p in range(8)}), "abl", "van", n_boot=200)
    assert table["headroom"].tolist() == [1.0, 1.0] and table["lo"].tolist() == [1.0, 1.0]
    mixed = {p: ([1.0] * 30 if p % 2 else [1.0, 0.0] * 15) for p in range(10)}
    table = headroom_intervals(rows(mixed), "abl", "van", n_boot=500).set_index("k")
    assert table.loc[0, "headroom"] == pytest.approx(0.75)
    assert table.loc[0, "lo"] < 0.75 < table.loc[0, "hi"]
    assert table.loc[1, "headroom"] == pytest.approx(29 / 58)


def test_the_reading_says_whether_the_shift_or_the_drafter_explains_a_null_result():
    nan = float("nan")
    assert reading(0.97, -0.01, (0.0, -0.02, 0.02), 0.05).startswith("no room")
    assert reading(0.5, -0.3, (-0.1, -0.15, -0.05), 0.05) == "drop measured"
    assert reading(0.5, -0.3, (0.0, -0.05, 0.05), 0.05).startswith("the drafter, not the shift")
    assert reading(0.9, -0.04, (0.0, -0.05, 0.05), 0.01) == "not decided"
    assert reading(0.5, nan, (nan, nan, nan), 0.05) == "no drafter measurement to compare"


def test_the_drafter_is_read_beside_its_headroom():
    headroom = pd.DataFrame([{"body": "abl", "mimics": "van", "endpoint": "chat",
                              "temperature": 0.7, "k": 0, "headroom": 0.6,
                              "headroom_upper": 0.62, "lo": 0.5, "hi": 0.7, "prompts": 6,
                              "chain_starts": 180}])
    intervals = pd.DataFrame([{"body": b, "drafter": "van", "n": 4, "endpoint": "chat",
                               "temperature": 0.7, "statistic": "a0", "estimate": e,
                               "lo": e - 0.05, "hi": e + 0.05}
                              for b, e in (("abl", 0.40), ("van", 0.42))])
    comparisons = pd.DataFrame([{"a": "van drafter on abl n=4, chat",
                                 "b": "van drafter on van n=4, chat", "temperature": 0.7,
                                 "statistic": "a0", "estimate": -0.02, "lo": -0.06, "hi": 0.02}])
    row = beside_drafter(headroom, intervals, comparisons, "van", 4, 0.05).iloc[0]
    assert row["a_k_on_mimicked"] == 0.42 and row["difference"] == -0.02
    assert row["expected_difference"] == pytest.approx(0.42 * -0.4)
    assert row["reading"].startswith("the drafter, not the shift")

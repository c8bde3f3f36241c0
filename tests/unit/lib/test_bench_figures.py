"""The bench figures never pool repeats of different temperatures into one series."""

import pandas as pd
from lib import bench_figures


def cells() -> pd.DataFrame:
    """One body, no speculation and a drafter at n = 2, at T = 0 (fast, high acceptance) and
    T = 0.7 (slow, low acceptance), two repeats each."""
    rows = []
    for t, tok_s, a0 in ((0.0, 20.0, 0.6), (0.7, 10.0, 0.2)):
        for rep in (1, 2):
            rows.append(dict(body="b", drafter="none", n=0, rep=rep, temperature=t,
                             tok_s_aggregate=tok_s, a0=None, a1=None, fidelity_ok=True))
            rows.append(dict(body="b", drafter="d", n=2, rep=rep, temperature=t,
                             tok_s_aggregate=tok_s * 1.5, a0=a0, a1=a0 / 2, fidelity_ok=True))
    return pd.DataFrame(rows)


def test_acceptance_series_are_per_temperature():
    long = bench_figures.acceptance_long(cells())
    means = long[long["position"] == 0].groupby("series")["acceptance"].mean()
    assert means.to_dict() == {"d drafter on b body, T = 0, chat": 0.6,
                              "d drafter on b body, T = 0.7, chat": 0.2}


def test_speedup_is_over_the_same_temperatures_baseline():
    data = bench_figures.throughput_series(cells())
    speculative = data[data["n"] == 2]
    # pooling both temperatures' n = 0 cells (mean 15 tok/s) would give 2.0 and 1.0
    assert sorted(speculative["speedup"].round(6).unique()) == [1.5]
    assert set(data["series"]) == {"d drafter on b body, T = 0, chat",
                                    "d drafter on b body, T = 0.7, chat"}


def test_throughput_intervals_give_each_series_its_bodys_baseline_at_the_same_temperature():
    rows = [dict(body="b", drafter=d, n=n, temperature=t, statistic="tok_s", estimate=e,
                 lo=e - 1, hi=e + 1)
            for t, base in ((0.0, 20.0), (0.7, 10.0))
            for d, n, e in (("none", 0, base), ("d", 2, base * 1.5), ("d", 4, base * 1.2))]
    speed = bench_figures.throughput_intervals(pd.DataFrame(rows))
    at0 = speed[speed["temperature"] == 0.7].sort_values("n")
    assert at0["n"].tolist() == [0, 2, 4] and at0["estimate"].tolist() == [10.0, 15.0, 12.0]
    assert set(speed["series"]) == {"d drafter on b body"}

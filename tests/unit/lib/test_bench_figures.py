"""The bench figures never pool repeats of different temperatures into one series."""

import pandas as pd
from lib import bench_figures
from lib.bench_keys import SERIES
from lib.bench_stats import one_factor_pairs


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


def prompt_rows() -> pd.DataFrame:
    """Per-prompt counters: drafter d on bodies v and a at n = 1 and 2, drafter e on a at n = 2,
    at T = 0 on chat; prompt 2 of d on a drafted nothing (it ended at once)."""
    rows = []
    for body, drafter, n, accepted in (("v", "d", 1, (4, 3, 2)), ("v", "d", 2, (5, 4, 3)),
                                       ("a", "d", 1, (2, 2, 1)), ("a", "d", 2, (3, 1, 0)),
                                       ("a", "e", 2, (6, 6, 6))):
        for prompt, acc in enumerate(accepted):
            drafts = 0 if (body, drafter, prompt) == ("a", "d", 2) else 10
            for rep in (1, 2):
                rows.append(dict(body=body, drafter=drafter, n=n, endpoint="chat",
                                 temperature=0.0, rep=rep, prompt_index=prompt, drafts=drafts,
                                 accepted_0=acc if drafts else 0))
    return pd.DataFrame(rows)


def pairs_of(rows):
    return one_factor_pairs(list(rows.groupby(SERIES).size().index))


def test_prompt_scatter_pairs_are_the_comparisons_one_factor_pairs_at_their_deepest_n():
    pairs = bench_figures.deepest_pairs(pairs_of(prompt_rows()))
    assert sorted(pairs) == [(("a", "d", 2, "chat", 0.0), ("a", "e", 2, "chat", 0.0)),
                             (("a", "d", 2, "chat", 0.0), ("v", "d", 2, "chat", 0.0))]


def test_prompt_a0_sums_repeats_and_skips_prompts_without_drafts():
    rows = prompt_rows()
    a0 = bench_figures.prompt_a0(rows[(rows["body"] == "a") & (rows["drafter"] == "d")
                                      & (rows["n"] == 2)])
    assert a0.to_dict() == {0: 0.3, 1: 0.1}


def test_prompt_scatter_draws_a_figure(tmp_path):
    out = tmp_path / "scatter.png"
    bench_figures.plot_prompt_scatter(prompt_rows(), pairs_of(prompt_rows()), out)
    assert out.stat().st_size > 10_000

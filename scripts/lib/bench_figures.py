"""Figures of the bench cell table: per-position acceptance and throughput against n.

Cells that failed the output-fidelity gate are never drawn: they are dropped here and named in
the figure, so a distribution-changing configuration cannot pass for a speed-up.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from lib import atomic_io  # noqa: E402
from lib.bench_keys import SERIES, rate_columns, with_endpoint  # noqa: E402


def faithful_cells(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    bad = table[~table["fidelity_ok"].astype(bool)]
    excluded = sorted({f"{r.body}/{r.drafter}/n{r.n}" for r in bad.itertuples()})
    return table[table["fidelity_ok"].astype(bool)], excluded


def deepest(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of each (body, drafter, endpoint, temperature) series at its deepest n."""
    spec = with_endpoint(table[table["n"] > 0])
    depth = spec.groupby(["body", "drafter", "endpoint", "temperature"])["n"].transform("max")
    return spec[spec["n"] == depth]


def series_label(drafter: str, body: str, temperature: float, endpoint: str = "chat") -> str:
    """A series is a (drafter, body, endpoint, temperature): repeats at different temperatures
    or through different endpoints measure different things and are never pooled into one
    mean."""
    return f"{drafter} drafter on {body} body, T = {temperature:g}, {endpoint}"


def conditions(*frames: pd.DataFrame) -> list[tuple[str, float]]:
    """The (endpoint, temperature) pairs measured, one figure column each (chat first)."""
    pairs = {(e, t) for f in frames for e, t in zip(f["endpoint"], f["temperature"])}
    return sorted(pairs, key=lambda p: (p[0] != "chat", p[0], p[1])) or [("chat", 0.7)]


def of_condition(frame: pd.DataFrame, endpoint: str, temperature: float) -> pd.DataFrame:
    return frame[(frame["endpoint"] == endpoint) & (frame["temperature"] == temperature)]


def acceptance_long(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell repeat, position k) with a_k, for the deepest n of each series."""
    rows = deepest(table)
    cols = rate_columns(rows)
    long = rows.melt(id_vars=["body", "drafter", "endpoint", "temperature", "n", "rep"],
                     value_vars=cols, var_name="position", value_name="acceptance").dropna()
    long["position"] = long["position"].str[1:].astype(int)
    long["series"] = [series_label(r.drafter, r.body, r.temperature, r.endpoint)
                      for r in long.itertuples()]
    return long


def plot_acceptance(table: pd.DataFrame, out: Path, references: dict[str, list] = None) -> None:
    """`references`: label -> published per-position values in percent, each obtained through
    claims.drawable_value (which refuses retracted and unmeasured numbers)."""
    cells, excluded = faithful_cells(table)
    long = acceptance_long(cells)
    fig, ax = plt.subplots(figsize=(8, 4))
    for label, values in (references or {}).items():
        ax.plot(range(len(values)), [v / 100 for v in values], linestyle="--", color="grey",
                marker="x", alpha=0.7)
        ax.annotate(label, (len(values) - 1, values[-1] / 100), fontsize=7, color="grey",
                    ha="right", va="bottom")
    if long.empty:
        ax.text(0.5, 0.5, "no speculative cell passed the fidelity gate", ha="center")
    else:
        sns.lineplot(long, x="position", y="acceptance", hue="series", marker="o",
                     errorbar="sd", ax=ax)
        ax.set_xticks(sorted(long["position"].unique()))
        # beside the axes: inside, it hid the published reference lines' labels
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    ax.set(xlabel="draft position k", ylabel="acceptance a_k (accepted at k / drafts)",
           ylim=(0, 1), title="Per-position acceptance at the deepest n (mean ± sd over repeats)")
    if excluded:
        fig.text(0.01, 0.01, "excluded (fidelity gate): " + ", ".join(excluded), fontsize=7)
    save(fig, out)


def with_baseline(rows: pd.DataFrame):
    """(body, endpoint, temperature, drafter, rows of that drafter on that body through that
    endpoint at that temperature together with the body's n = 0 rows of the same endpoint and
    temperature), for every drafter."""
    for (body, endpoint, temperature), group in with_endpoint(rows).groupby(
            ["body", "endpoint", "temperature"]):
        base = group[group["n"] == 0]
        for drafter in sorted(set(group["drafter"]) - {"none"}):
            yield (body, endpoint, temperature, drafter,
                   pd.concat([base, group[group["drafter"] == drafter]]))


def throughput_series(cells: pd.DataFrame) -> pd.DataFrame:
    """Each (body, drafter, endpoint, temperature) series with its body's n=0 cells of that
    endpoint and temperature, plus the speedup over them and the ceiling 1 + sum_k a_k (tokens
    per verify step: the speedup if drafting were free)."""
    rows = []
    for body, endpoint, temperature, drafter, part in with_baseline(cells):
        baseline = part.loc[part["n"] == 0, "tok_s_aggregate"].mean()
        part = part.assign(series=series_label(drafter, body, temperature, endpoint),
                           speedup=part["tok_s_aggregate"] / baseline)
        positions = rate_columns(part)
        part["ceiling"] = 1 + part[positions].fillna(0).sum(axis=1)
        rows.append(part)
    return pd.concat(rows) if rows else cells.assign(series=[], speedup=[], ceiling=[])


def plot_throughput(table: pd.DataFrame, out: Path) -> None:
    cells, excluded = faithful_cells(table)
    data = throughput_series(cells)
    measures = {"tok_s_aggregate": "aggregate tok/s", "tok_s_per_prompt": "per-prompt mean tok/s",
                "speedup": "speedup over n=0 (aggregate)"}
    long = data.melt(id_vars=["series", "n", "rep"], value_vars=list(measures),
                     var_name="measure", value_name="value")
    long["measure"] = long["measure"].map(measures)
    grid = sns.relplot(long, x="n", y="value", hue="series", col="measure", kind="line",
                       marker="o", errorbar="sd", height=3.6, aspect=1.0,
                       facet_kws={"sharey": False})
    ceiling = data[data["n"] > 0].groupby(["series", "n"])["ceiling"].mean().reset_index()
    ax = grid.axes_dict[measures["speedup"]]
    palette = dict(zip(grid.legend.texts and [t.get_text() for t in grid.legend.texts] or [],
                       [h.get_color() for h in grid.legend.legend_handles]))
    for series, group in ceiling.groupby("series"):
        ax.plot(group["n"], group["ceiling"], linestyle=":", marker="^",
                color=palette.get(series, "grey"), alpha=0.8)
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.text(0.02, 0.97, "dotted: ceiling 1 + sum a_k", transform=ax.transAxes, fontsize=7,
            va="top")
    grid.set_axis_labels("num_speculative_tokens n (0 = no speculation)", "")
    grid.set_titles("{col_name}")
    grid.set(xticks=sorted(long["n"].unique()))
    grid.figure.suptitle("Throughput at batch 1 (mean ± sd over repeats)", y=1.03)
    if excluded:
        grid.figure.text(0.01, -0.04, "excluded (fidelity gate): " + ", ".join(excluded),
                         fontsize=7)
    save(grid.figure, out)


def positions_of(part: pd.DataFrame) -> pd.DataFrame:
    part = part[part["statistic"].str.fullmatch(r"a\d+")].copy()
    part["position"] = part["statistic"].str[1:].astype(int)
    return part


def throughput_intervals(intervals: pd.DataFrame) -> pd.DataFrame:
    """tok/s rows of each (drafter, body) series at every n, with its body's n = 0 row (same
    endpoint and temperature) as the series' n = 0 point."""
    tok = with_endpoint(intervals[intervals["statistic"] == "tok_s"])
    rows = [part.sort_values("n").assign(series=f"{drafter} drafter on {body} body")
            for body, _, _, drafter, part in with_baseline(tok)]
    return pd.concat(rows) if rows else tok.assign(series=[])


def plot_acceptance_intervals(intervals: pd.DataFrame, out: Path) -> None:
    """One column per (endpoint, temperature): per-position acceptance at each series' deepest
    n, and output tok/s against n, each with its 95 % interval over prompts
    (scripts/lib/bench_stats.py)."""
    data = positions_of(deepest(intervals))
    speed = throughput_intervals(intervals)
    columns = conditions(data, speed)
    fig, axes = plt.subplots(2, len(columns), figsize=(5.5 * len(columns), 8), squeeze=False)
    for col, (endpoint, t) in enumerate(columns):
        ax = axes[0][col]
        part = of_condition(data, endpoint, t)
        for (body, drafter), g in part.groupby(["body", "drafter"]):
            g = g.sort_values("position")
            ax.errorbar(g["position"], g["estimate"],
                        yerr=[g["estimate"] - g["lo"], g["hi"] - g["estimate"]], marker="o",
                        capsize=3, label=f"{drafter} drafter on {body} body")
        ax.set(xlabel="draft position k", ylabel="a_k (accepted at k / drafts)", ylim=(0, 1),
               title=f"acceptance at the deepest n, T = {t:g}, {endpoint}")
        ax.set_xticks(sorted(part["position"].unique()))
        ax.legend(fontsize=7)
        ax = axes[1][col]
        for series, g in of_condition(speed, endpoint, t).groupby("series"):
            ax.errorbar(g["n"], g["estimate"],
                        yerr=[g["estimate"] - g["lo"], g["hi"] - g["estimate"]], marker="o",
                        capsize=3, label=series)
        ax.set(xlabel="num_speculative_tokens n (0 = no speculation)",
               ylabel="output tok/s at batch 1", title=f"throughput, T = {t:g}, {endpoint}")
        ax.set_xticks(sorted(speed["n"].unique()))
        ax.legend(fontsize=7)
    fig.suptitle("95 % intervals: acceptance over prompts (repeats kept together); tok/s over"
                 " prompts and repeats")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    save(fig, out)


def plot_mechanism(intervals: pd.DataFrame, kl: dict[str, float], drafter: str, out: Path) -> None:
    """The drafter trained on the vanilla body, served on bodies shifted by more and more
    abliteration: per-position acceptance (95 % intervals) against the body's measured KL."""
    data = positions_of(deepest(intervals))
    data = data[(data["drafter"] == drafter) & data["body"].isin(kl)]
    data = data.assign(kl=data["body"].map(kl))
    columns = conditions(data)
    fig, axes = plt.subplots(1, len(columns), figsize=(5.5 * len(columns), 4), squeeze=False)
    for ax, (endpoint, t) in zip(axes[0], columns):
        part = of_condition(data, endpoint, t)
        for k, g in part.groupby("position"):
            g = g.sort_values("kl")
            ax.errorbar(g["kl"], g["estimate"], yerr=[g["estimate"] - g["lo"], g["hi"] - g["estimate"]],
                        marker="o", capsize=3, label=f"a_{k}")
        for body, g in part.groupby("body"):
            a = g.set_index("position")["estimate"]
            if len(a) > 1 and a.iloc[0] > 0:
                ax.annotate(f"{body}\na_{a.index[-1]}/a_0={a.iloc[-1] / a.iloc[0]:.2f}",
                            (g["kl"].iloc[0], a.max()), fontsize=6, ha="center", va="bottom")
        ax.set(xlabel="KL(vanilla || body), first token, held-out prompts", ylim=(0, 1.05),
               ylabel="a_k", title=f"{drafter} drafter, T = {t:g}, {endpoint}")
        ax.legend(fontsize=7)
    fig.suptitle("Mechanism: acceptance of the vanilla-trained drafter against the body shift")
    save(fig, out)


def plot_step_cost(costs: pd.DataFrame, published: pd.DataFrame, out: Path,
                   published_temperature: float) -> None:
    """c(n), a speculative step's cost in plain steps (lib/step_cost.py), with its 95 %
    interval, beside the acceptance length AL(n) the step yields: speculation pays where AL lies
    above c. The publications' own c(n) are drawn on the panel of their endpoint at the
    temperature they were measured at."""
    columns = conditions(costs) if not costs.empty else [("chat", published_temperature)]
    fig, axes = plt.subplots(1, len(columns), figsize=(5.5 * len(columns), 4), squeeze=False)
    colours = dict(zip(sorted({(r.body, r.drafter) for r in costs.itertuples()}),
                       sns.color_palette(n_colors=max(1, len(costs)))))
    for ax, (endpoint, t) in zip(axes[0], columns):
        part = of_condition(costs, endpoint, t) if not costs.empty else costs
        for (body, drafter), g in part.groupby(["body", "drafter"]):
            g = g.sort_values("n")
            colour = colours[(body, drafter)]
            ax.errorbar(g["n"], g["step_cost"], yerr=[g["step_cost"] - g["lo"], g["hi"] - g["step_cost"]],
                        marker="o", capsize=3, color=colour, label=f"{drafter} drafter on {body}: c(n)")
            ax.plot(g["n"], g["acceptance_length"], linestyle=":", marker="^", color=colour,
                    alpha=0.8, label=f"{drafter} drafter on {body}: AL(n)")
        if t == published_temperature:
            for (claim, kind), g in published[published["endpoint"] == endpoint].groupby(
                    ["claim", "kind"]):
                ax.plot(g["n"], g["step_cost"], linestyle="--", marker="x", color="black",
                        alpha=0.7, label=f"{claim} ({kind}): c(n)")
                ax.plot(g["n"], g["acceptance_length"], linestyle=":", marker="+",
                        color="black", alpha=0.5, label=f"{claim} ({kind}): AL(n)")
        ns = {int(n) for line in ax.get_lines() for n in line.get_xdata()}
        ax.set_xticks(sorted(ns) or [1])
        ax.axhline(1.0, color="grey", linewidth=0.8)
        ax.set(xlabel="num_speculative_tokens n", ylabel="plain decoding steps",
               title=f"T = {t:g}, {endpoint}")
        ax.legend(fontsize=6)
    fig.suptitle("Step cost c(n) = AL x tok/s(0) / tok/s(n) (solid, 95 % intervals) and AL(n)"
                 " (dotted):\nspeculation pays where AL(n) lies above c(n)", fontsize=10, y=1.08)
    save(fig, out)


def prompt_a0(part: pd.DataFrame) -> pd.Series:
    """a_0 of each prompt of one series: accepted at position 0 over drafts, its repeats summed."""
    sums = part.groupby("prompt_index")[["accepted_0", "drafts"]].sum()
    sums = sums[sums["drafts"] > 0]
    return sums["accepted_0"] / sums["drafts"]


def deepest_pairs(pairs: list[tuple[tuple, tuple]]) -> list[tuple[tuple, tuple]]:
    """Of the comparisons' one-factor pairs (series keys in SERIES order,
    lib/bench_stats.one_factor_pairs), each (a, b, endpoint, temperature) at its deepest n
    only: a_0 is drafted at every n, and one panel per pair is what a reader can take in."""
    deepest = {}
    for key_a, key_b in pairs:
        (body_a, dr_a, n, endpoint, t), (body_b, dr_b, *_) = key_a, key_b
        kind = (body_a, dr_a, body_b, dr_b, endpoint, t)
        if n >= deepest.get(kind, (0,))[0]:
            deepest[kind] = (n, key_a, key_b)
    return [(a, b) for _, a, b in deepest.values()]


def plot_prompt_scatter(prompts: pd.DataFrame, pairs: list[tuple[tuple, tuple]], out: Path
                        ) -> None:
    """One point per prompt: a_0 of series b (x) against a_0 of series a (y), for every pair the
    comparisons table judges (`pairs`: a body shift under one drafter, or two drafters on one
    body) at its deepest n, one column per (endpoint, temperature). The mean difference hides
    whether a few prompts or all of them moved; the scatter shows which."""
    prompts = with_endpoint(prompts)
    groups = dict(tuple(prompts.groupby(SERIES)))
    pairs = deepest_pairs(pairs)
    columns = conditions(prompts[prompts["n"] > 0])
    kinds = sorted({(a[0], a[1], b[0], b[1]) for a, b in pairs})
    fig, axes = plt.subplots(max(len(kinds), 1), len(columns), squeeze=False,
                             figsize=(4.2 * len(columns), 4.7 * max(len(kinds), 1)))
    for row, kind in enumerate(kinds):
        for col, (endpoint, t) in enumerate(columns):
            ax = axes[row][col]
            found = [(a, b) for a, b in pairs
                     if (a[0], a[1], b[0], b[1]) == kind and (a[3], a[4]) == (endpoint, t)]
            ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
            ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), aspect="equal",
                   xlabel=f"a_0, {kind[3]} drafter on {kind[2]}",
                   ylabel=f"a_0, {kind[1]} drafter on {kind[0]}")
            if not found:
                ax.set_title(f"not measured, T = {t:g}, {endpoint}", fontsize=8)
                continue
            key_a, key_b = found[0]
            both = pd.concat({"a": prompt_a0(groups[key_a]), "b": prompt_a0(groups[key_b])},
                             axis=1).dropna()
            ax.scatter(both["b"], both["a"], s=18, alpha=0.7)
            above, below = int((both["a"] > both["b"]).sum()), int((both["a"] < both["b"]).sum())
            ax.set_title(f"n = {key_a[2]}, T = {t:g}, {endpoint}: {len(both)} prompts drafted\n"
                         f"y > x in {above}, y < x in {below}", fontsize=8)
    fig.suptitle("a_0 per prompt (repeats summed), paired series; dashed: equal acceptance")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    save(fig, out)


def save(fig, out: Path, dpi: int = 120) -> None:
    """Write a figure through a temporary file and a rename, then close it."""
    with atomic_io.staged_file(out, suffix=out.suffix) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    plt.close(fig)

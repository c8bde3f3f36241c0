"""bench_intervals: per-series intervals over prompts and the paired comparisons of the bench,
from the per-prompt counters of the cells that passed the fidelity gate (lib/bench_stats.py says
how the intervals are made)."""

from pathlib import Path

import pandas as pd
from lib import atomic_io
from lib.bench_keys import SERIES
from lib.bench_stats import comparisons, series_intervals, series_label, valid_prompts
from lib.fidelity import fidelity_by_series


def main(sm) -> None:
    data = valid_prompts(pd.read_csv(sm.input.prompts), pd.read_csv(sm.input.cells))
    labels = fidelity_by_series(data)
    intervals = series_intervals(data).merge(labels, on=SERIES, how="left")
    atomic_io.write_text_atomically(Path(sm.output.intervals), intervals.to_csv(index=False))
    pairs = comparisons(data, margins=dict(sm.params.margins))
    unjudged = {series_label(r.body, r.drafter, r.n, r.endpoint) for r in labels.itertuples()
                if r.fidelity != "ok"}
    if len(pairs):
        pairs["fidelity"] = ["not judged: " + ", ".join(sorted({a, b} & unjudged))
                             if {a, b} & unjudged else "ok" for a, b in zip(pairs.a, pairs.b)]
    atomic_io.write_text_atomically(Path(sm.output.comparisons), pairs.to_csv(index=False))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

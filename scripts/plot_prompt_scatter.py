"""plot_prompt_scatter: a_0 per prompt of one series against another's, for the comparisons'
pairs (across bodies under one drafter, across drafters on one body), from the prompts of the
cells that passed the fidelity gate."""

from pathlib import Path

import pandas as pd
from lib.bench_figures import plot_prompt_scatter
from lib.bench_keys import SERIES
from lib.bench_stats import one_factor_pairs, valid_prompts


def main(sm) -> None:
    data = valid_prompts(pd.read_csv(sm.input.prompts), pd.read_csv(sm.input.cells))
    pairs = one_factor_pairs(list(data.groupby(SERIES).size().index))
    plot_prompt_scatter(data, pairs, Path(sm.output[0]))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

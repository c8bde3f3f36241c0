"""plot_acceptance_intervals: per-position acceptance with its 95 % interval over prompts."""

from pathlib import Path

import pandas as pd
from lib.bench_figures import plot_acceptance_intervals


def main(sm) -> None:
    plot_acceptance_intervals(pd.read_csv(sm.input.intervals), Path(sm.output[0]))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

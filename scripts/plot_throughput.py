"""plot_throughput: throughput against n, a line per (body, drafter, temperature)."""

from pathlib import Path

import pandas as pd
from lib.bench_figures import plot_throughput


def main(sm) -> None:
    plot_throughput(pd.read_csv(sm.input.cells), Path(sm.output[0]))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

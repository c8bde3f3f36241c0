"""plot_mechanism: the mechanism figure: one drafter's a_k against each body's KL from the vanilla
body."""

import json
from pathlib import Path

import pandas as pd
from lib.bench_figures import plot_mechanism


def main(sm) -> None:
    shifts = {Path(p).stem: json.loads(Path(p).read_text())["kl_mean"] for p in sm.input.shifts}
    plot_mechanism(pd.read_csv(sm.input.intervals), {sm.params.vanilla_body: 0.0} | shifts,
                   sm.params.drafter, Path(sm.output[0]))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

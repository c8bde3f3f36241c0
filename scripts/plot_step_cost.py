"""plot_step_cost: a speculative step's cost in plain decoding steps, c(n) = AL x tok/s(0) /
tok/s(n), for every speculative series that passed the fidelity gate, with 95 % intervals, and
the same ratio of each publication that gives a curve, a sweep and a baseline
(lib/step_cost.py); the figure and the table behind it."""

from pathlib import Path

import pandas as pd
from lib import atomic_io
from lib.bench_figures import plot_step_cost
from lib.bench_stats import valid_prompts
from lib.claims_ledger import SEEDS_TEMPERATURE, load_claims
from lib.step_cost import published_step_costs, run_step_costs


def main(sm) -> None:
    data = valid_prompts(pd.read_csv(sm.input.prompts), pd.read_csv(sm.input.cells))
    costs = run_step_costs(data)
    published = published_step_costs(load_claims(Path(sm.input.claims), Path(sm.input.schema)))
    table = pd.concat([costs.assign(source="this run"),
                       published.assign(temperature=SEEDS_TEMPERATURE)], ignore_index=True)
    atomic_io.write_text_atomically(Path(sm.output.csv), table.to_csv(index=False))
    plot_step_cost(costs, published, Path(sm.output.figure), SEEDS_TEMPERATURE)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

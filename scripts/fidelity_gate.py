"""The fidelity gate's verdict on the whole run: fails, naming every failing row of cells.csv.

aggregate_cells marks each row (scripts/aggregate_cells.py says how); this step exists so that
the tables and figures still show a failing cell with its verdict while the run ends non-zero.
"""

from pathlib import Path

import pandas as pd
from fidelity_verdicts import fidelity_status


def failing_rows(cells: pd.DataFrame) -> list[str]:
    bad = cells[fidelity_status(cells) == "FAIL"]
    return [f"{r.body}/{r.drafter}/n{r.n}/T{r.temperature:g}/rep{r.rep}: delta"
            f" {r.delta_logprob:+.3f} nats (threshold {getattr(r, 'fidelity_threshold', float('nan')):.3f}),"
            f" greedy_prefix {getattr(r, 'greedy_prefix', float('nan')):.3f}"
            for r in bad.itertuples()]


def main(snakemake) -> None:  # noqa: D103 - run by Snakemake's `script:`
    import atomic_io

    rows = failing_rows(pd.read_csv(snakemake.input[0]))
    if rows:
        Path(snakemake.log[0]).write_text("\n".join(rows) + "\n")
        raise SystemExit(f"{len(rows)} bench rows failed the output-fidelity gate:\n"
                         + "\n".join(rows))
    atomic_io.write_text_atomically(Path(snakemake.output[0]),
                                    "every judged bench row passed the fidelity gate\n")


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

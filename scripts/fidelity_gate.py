"""fidelity_gate: the run's verdict on output fidelity; fails, naming every failing row of
cells.csv.

aggregate_cells marks each row (lib/fidelity.py says how); this step exists so that the tables
and figures still show a failing cell with its verdict while the run ends non-zero.
"""

from pathlib import Path

import pandas as pd
from lib import atomic_io
from lib.fidelity import failing_rows


def main(snakemake) -> None:  # noqa: D103 - run by Snakemake's `script:`
    rows = failing_rows(pd.read_csv(snakemake.input[0]))
    if rows:
        Path(snakemake.log[0]).write_text("\n".join(rows) + "\n")
        raise SystemExit(f"{len(rows)} bench rows failed the output-fidelity gate:\n"
                         + "\n".join(rows))
    atomic_io.write_text_atomically(Path(snakemake.output[0]),
                                    "every judged bench row passed the fidelity gate\n")


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

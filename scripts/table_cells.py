"""table_cells: the report's table of the bench cells with their fidelity verdicts, and the cells a
partial report lacks."""

from pathlib import Path

from lib.report_tables import cells_table


def main(sm) -> None:
    cells_table(Path(sm.input.cells), Path(sm.output[0]), Path(sm.input.missing))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

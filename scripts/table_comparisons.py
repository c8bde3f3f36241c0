"""table_comparisons: the report's table of the paired comparisons and their verdicts."""

from pathlib import Path

from lib.report_tables import comparisons_table


def main(sm) -> None:
    comparisons_table(Path(sm.input[0]), Path(sm.output[0]))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

"""table_intervals: the report's table of every series' statistics with their 95 % intervals over
prompts."""

from pathlib import Path

from lib.report_tables import intervals_table


def main(sm) -> None:
    intervals_table(Path(sm.input[0]), Path(sm.output[0]))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

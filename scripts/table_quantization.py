"""table_quantization: the report's table of the FP8 per-module check of every quantised body."""

from pathlib import Path

from lib.report_tables import quantization_table


def main(sm) -> None:
    quantization_table([Path(p) for p in sm.input.reports], Path(sm.output[0]))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

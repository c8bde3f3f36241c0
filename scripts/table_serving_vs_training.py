"""table_serving_vs_training: the report's table of vLLM's per-position acceptance beside the
trainer's validation accuracy."""

from pathlib import Path

from lib.report_tables import serving_vs_training_table


def main(sm) -> None:
    serving_vs_training_table(Path(sm.input[0]), Path(sm.output[0]))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

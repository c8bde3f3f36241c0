"""table_body_shift: the report's table of each abliterated body's shift from the vanilla body (KL,
refusals)."""

from pathlib import Path

from lib.report_tables import body_shift_table


def main(sm) -> None:
    body_shift_table([Path(p) for p in sm.input.reports], Path(sm.output[0]),
                     sm.params.refusal_floor)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

"""erratum_check: the erratum of every published claim (lib/erratum.py gives the verdicts and
the summary), as an HTML page for the report and a CSV."""

import json
from pathlib import Path

import pandas as pd
from lib import atomic_io
from lib.bench_stats import valid_prompts
from lib.claims_ledger import load_claims
from lib.erratum import erratum_table, summary
from lib.report_tables import render


def write_erratum(claims_path: Path, schema_path: Path, cells_csv: Path, quant_reports: list,
                  profile: str, out_html: Path, out_csv: Path, prompts_csv: Path | None = None,
                  intervals_csv: Path | None = None, training_csvs: list | None = None,
                  settings: dict | None = None, margins: dict | None = None,
                  bodies: str = "") -> None:
    claims = load_claims(claims_path, schema_path)
    cells = pd.read_csv(cells_csv)
    quant = {Path(p).stem.removesuffix("-fp8"): json.loads(Path(p).read_text())
             for p in quant_reports}
    prompts = None
    if prompts_csv is not None:
        prompts = valid_prompts(pd.read_csv(prompts_csv), cells)
    intervals = pd.read_csv(intervals_csv) if intervals_csv is not None else None
    training = {Path(p).stem: pd.read_csv(p) for p in training_csvs or []}
    table = erratum_table(claims, cells, quant, profile, prompts, intervals, training,
                          settings, margins, bodies)
    atomic_io.write_text_atomically(out_csv, table.to_csv(index=False))
    render(f"Erratum check of every published claim (profile: {profile})", table,
           summary(table, profile), out_html)


if __name__ == "__main__" and "snakemake" in globals():
    sm = snakemake  # noqa: F821
    write_erratum(Path(sm.input.claims), Path(sm.input.schema), Path(sm.input.cells),
                  list(sm.input.quantization), sm.params.profile, Path(sm.output.html),
                  Path(sm.output.csv), Path(sm.input.prompts), Path(sm.input.intervals),
                  list(sm.input.training), dict(sm.params.settings), dict(sm.params.margins),
                  sm.params.bodies)

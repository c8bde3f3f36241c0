"""erratum_check: the erratum of every published claim (lib/erratum.py gives the verdicts), as
an HTML table for the report and a CSV."""

import json
from pathlib import Path

import pandas as pd
from lib import atomic_io
from lib.bench_stats import valid_prompts
from lib.claims_ledger import load_claims
from lib.erratum import A0_FLOOR, erratum_table
from lib.report_tables import render


def write_erratum(claims_path: Path, schema_path: Path, cells_csv: Path, quant_reports: list,
                  profile: str, out_html: Path, out_csv: Path,
                  prompts_csv: Path | None = None) -> None:
    claims = load_claims(claims_path, schema_path)
    cells = pd.read_csv(cells_csv)
    quant = {Path(p).stem.removesuffix("-fp8"): json.loads(Path(p).read_text())
             for p in quant_reports}
    prompts = None
    if prompts_csv is not None:
        prompts = valid_prompts(pd.read_csv(prompts_csv), cells)
    table = erratum_table(claims, cells, quant, profile, prompts)
    atomic_io.write_text_atomically(out_csv, table.to_csv(index=False))
    render(f"Erratum check of every published claim (profile: {profile})", table,
           ["Retracted numbers are listed so that none can pass unnoticed; no figure may draw"
            " them. Numerical comparisons are made only on the profile whose models and"
            " hardware match the claim; elsewhere per-position claims are compared by shape:"
            f" a_last/a_0 with its 95 % interval over prompts against the published ratio,"
            f" judged only when a_0 >= {A0_FLOOR}."],
           out_html)


if __name__ == "__main__" and "snakemake" in globals():
    sm = snakemake  # noqa: F821
    write_erratum(Path(sm.input.claims), Path(sm.input.schema), Path(sm.input.cells),
                  list(sm.input.quantization), sm.params.profile, Path(sm.output.html),
                  Path(sm.output.csv), Path(sm.input.prompts))

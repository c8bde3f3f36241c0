"""plot_acceptance: per-position acceptance at the deepest n of every series, with the published
curves drawn as references (only measured and withdrawn claims pass drawable_value; a withdrawn
one is labelled so)."""

from pathlib import Path

import pandas as pd
from lib.bench_figures import plot_acceptance
from lib.claims_ledger import drawable_value, load_claims, reference_label


def main(sm) -> None:
    claims = load_claims(Path(sm.input.claims), Path(sm.input.schema))
    refs = {reference_label(claims, cid): drawable_value(claims, cid)
            for cid in sm.params.reference_claims}
    plot_acceptance(pd.read_csv(sm.input.cells), Path(sm.output[0]), refs)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

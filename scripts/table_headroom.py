"""table_headroom: the headroom of each body shift with its interval over prompts, beside the
mechanism drafter's measured acceptance on both bodies (lib/headroom_report.py says how it is
read), as a CSV and the report's table."""

from pathlib import Path

import pandas as pd
from lib import atomic_io
from lib.headroom_report import beside_drafter, headroom_intervals
from lib.report_tables import render


def main(sm) -> None:
    headroom = pd.concat([headroom_intervals(pd.read_csv(path), served, mimic)
                          for path, (served, mimic) in zip(sm.input.tables, sm.params.pairs)])
    table = beside_drafter(headroom, pd.read_csv(sm.input.intervals),
                           pd.read_csv(sm.input.comparisons), sm.params.drafter,
                           sm.params.depth, sm.params.margin)
    atomic_io.write_text_atomically(Path(sm.output.csv), table.to_csv(index=False))
    render("Headroom of the body shift, beside the drafter's measured drop", table, [
        "headroom h_k: the acceptance at draft position k that a perfect mimic of the 'mimics'"
        " body would get serving 'body' (per token: sum_x min(p_body, p_mimics) at the bench"
        " temperature, the greedy tokens' agreement at T = 0; chained over k + 1 tokens), along"
        " the body's own no-speculation bench continuations teacher-forced through both bodies"
        " (unquantised checkpoints). headroom uses the overlap's lower bound, headroom_upper"
        f" its upper one (each body's top {sm.params.top_k} tokens kept); [lo, hi] spans"
        " both, 95 % over prompts. It averages over every chain start, where a served drafter"
        " starts a chain only after the previous one ended.",
        "difference: the drafter's a_k on the body minus on the body it was trained on, paired"
        " by prompt (comparisons table); expected_difference: a_k on its own body x (h_k - 1),"
        " the drop if its own errors and the shift were independent.",
        "reading: 'no room': h_k's interval lies above 1 - m (m = bench.equivalence_margins"
        " .acceptance), the shift does not reach the drafted tokens; 'the drafter, not the"
        " shift': the expected drop lies below the measured difference's interval.",
    ], Path(sm.output.html))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

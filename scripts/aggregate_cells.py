"""aggregate_cells: all bench cells in one tidy table (a row per cell x temperature x repeat)
with each row's fidelity verdict (lib/fidelity.py says how it is judged), and every prompt's
raw counters in a second table (a row per prompt of each row).

Degenerate output: a row whose replies repeat themselves (seq-rep-4 above
`bench.degenerate_seq_rep_4`, lib/degeneration.py) is marked degenerate=True; the tables and the
erratum say so wherever its numbers are used.

Counters: a row whose spec-decode counts are inconsistent (bench_cell.counter_problems) is
marked counters_ok=False and fails the job, naming the cell.
"""

from pathlib import Path

from lib import atomic_io
from lib.bench_keys import ROW
from lib.cell_table import load_cells, load_prompts, missing_cells
from lib.degeneration import degenerate
from lib.fidelity import describe_failure, greedy_agreement, greedy_gate, judge_fidelity


def main(snakemake) -> None:  # noqa: D103 - run by Snakemake's `script:`
    paths = list(snakemake.input.cells)
    if not paths:
        raise SystemExit("no bench cell was measured: nothing to aggregate")
    missing = missing_cells(list(snakemake.params.expected), paths)
    atomic_io.write_text_atomically(
        Path(snakemake.output.missing), "".join(f"{p}\n" for p in missing)
    )
    prompts = load_prompts(paths)
    table = judge_fidelity(load_cells(paths), snakemake.params.max_delta_logprob, prompts)
    agreement = greedy_agreement(prompts)
    table = table.merge(agreement, on=ROW, how="left")
    table = greedy_gate(table, snakemake.params.min_greedy_prefix)
    table["degenerate"] = degenerate(table, snakemake.params.degenerate_seq_rep_4)
    atomic_io.write_text_atomically(Path(snakemake.output.table), table.to_csv(index=False))
    atomic_io.write_text_atomically(Path(snakemake.output.prompts), prompts.to_csv(index=False))
    bad = table[table["fidelity"] == "FAIL"]
    broken = table[~table["counters_ok"]]
    with open(snakemake.log[0], "w") as fh:
        fh.write(table.to_string() + "\n")
        for row in bad.itertuples():
            fh.write(f"FIDELITY FAIL: {describe_failure(row)}\n")
        for _, row in broken.iterrows():
            fh.write(f"COUNTER FAIL: {row.body}/{row.drafter}/n{row.n}/{row.endpoint}/"
                     f"T{row.temperature:g}/"
                     f"rep{row.rep}: {row.counter_problems}\n")
    if not broken.empty:
        raise SystemExit(f"{len(broken)} bench rows have inconsistent spec-decode counters; see"
                         f" {snakemake.log[0]}")


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

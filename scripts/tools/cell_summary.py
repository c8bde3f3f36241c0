"""What a part measured, before the report: the cell JSONs under a folder (a restored
results/PROFILE/bench, or one a GPU machine brought back), a row per served configuration x
endpoint x temperature with the repeats' mean tok/s (and range), acceptance length and
per-position acceptance, from the same rows as the report's cells.csv (lib/cell_table.py).

    python scripts/tools/cell_summary.py results/qwen/bench > summary.tsv
    python scripts/tools/cell_summary.py --step-cost results/qwen/bench

`--step-cost`: instead, each speculative series' step cost c(n) in plain steps, its speed-up and
acceptance length with 95 % intervals, as the report's figure computes them (lib/step_cost.py).

A configuration whose repeats are not all there is listed with the repeats it has: a machine's
time that ran out mid-cell leaves such files (their copies in results/PROFILE/bench_kept/ are
taken by the cell's next run, which measures the rest: lib/cell_resume.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from lib.bench_keys import rate_columns  # noqa: E402
from lib.cell_table import load_cells, load_prompts  # noqa: E402
from lib.step_cost import run_step_costs  # noqa: E402

KEY = ["body", "drafter", "n", "endpoint", "temperature", "machine"]


def cell_paths(folder: Path) -> list[Path]:
    paths = sorted(folder.rglob("rep*.json"))
    if not paths:
        raise SystemExit(f"no cell JSON (rep*.json) under {folder}")
    return paths


def summary(folder: Path):
    cells = load_cells(cell_paths(folder))
    positions = rate_columns(cells)
    grouped = cells.groupby(KEY, sort=True)
    table = grouped.agg(
        reps=("rep", "count"), tok_s=("tok_s_aggregate", "mean"),
        tok_s_min=("tok_s_aggregate", "min"), tok_s_max=("tok_s_aggregate", "max"),
        acceptance_length=("acceptance_length", "mean"),
        **{p: (p, "mean") for p in positions},
    ).reset_index()
    return table.sort_values(["n", "body", "drafter", "endpoint", "temperature"])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path, help="a folder of cell JSONs (searched recursively)")
    p.add_argument("--step-cost", action="store_true",
                   help="the speculative series' step cost instead (lib/step_cost.py)")
    args = p.parse_args(argv)
    table = (run_step_costs(load_prompts(cell_paths(args.folder))) if args.step_cost
             else summary(args.folder))
    sys.stdout.write(table.to_csv(sep="\t", index=False, float_format="%.3f"))


if __name__ == "__main__":
    main()

"""A study's committed folder (e.g. reports/qwen-study/) from its results: what a reviewer reads
without running anything, small enough to commit.

    python scripts/tools/study_folder.py results/qwen reports/qwen-study \
        --report report.html --state /tmp/study [--partial]

Copied as they are: the bench's tables (cells, intervals, comparisons, step cost, headroom,
serving vs training, the fidelity gate), the erratum's table, the bodies' shift and
quantisation reports, the training curves. The cell JSONs (one per bench measurement, ~110 KB
each; a 13-cell study has 156) and the serving checks go into one `bench_cells.tar.xz`, packed
in name order with fixed dates so that the same cells give the same archive. From the run's
state folder (`gpu_study.sh`'s, where it was collected): Snakemake's commands, the bodies'
digests and the per-job table (`jobs.tsv`, scripts/tools/rule_peaks.py). `MANIFEST.tsv` lists
each file with its size, sha256 and where it came from.

Every table a complete study has must be there, or the tool names the missing ones and writes
nothing; `--partial` writes what there is and lists the rest in MANIFEST.tsv as missing (a
folder of a study still running).

Why our own: Snakemake's `--report` is one HTML file (copied in with --report); the tables and
cells behind it, which the README's numbers cite, live in the results tree among GBs of models.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (file in the results tree, name in the folder); every one is in a complete study
TABLES = [
    ("bench/cells.csv", "cells.csv"),
    ("bench/intervals.csv", "intervals.csv"),
    ("bench/comparisons.csv", "comparisons.csv"),
    ("bench/step_cost.csv", "step_cost.csv"),
    ("bench/headroom.csv", "headroom.csv"),
    ("bench/fidelity_gate.txt", "fidelity_gate.txt"),
    ("report/erratum.csv", "erratum.csv"),
]
# present where the profile has them (a serving check, drafters trained here)
OPTIONAL_TABLES = [("bench/serving_vs_training.csv", "serving_vs_training.csv")]
GLOBS = [("abliterate/*.json", "bodies"), ("quantize/*.json", "bodies"),
         ("training/*.csv", "training")]
CELL_GLOBS = ["bench/*/*/n*/*/T*/rep*.json", "serving_check/*.json"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pack_cells(results: Path, cells: list[Path], archive: Path) -> None:
    """The cells as one .tar.xz named as in a checkout (results/PROFILE/...), in name order,
    dated 0 and owned by nobody: the same cells give the same bytes."""
    with tarfile.open(archive, "w:xz") as tar:
        for path in sorted(cells):
            info = tarfile.TarInfo(f"results/{results.name}/{path.relative_to(results)}")
            data = path.read_bytes()
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))


def plan(results: Path, state: Path | None, report: Path | None) -> tuple[list, list[str]]:
    """(copies as (source, name), missing required names)."""
    required = [(results / rel, name) for rel, name in TABLES]
    if report is not None:
        required.append((report, "report.html"))
    copies = [(src, name) for src, name in required if src.is_file()]
    missing = [name for src, name in required if not src.is_file()]
    copies += [(results / rel, name) for rel, name in OPTIONAL_TABLES if (results / rel).is_file()]
    for pattern, folder in GLOBS:
        copies += [(p, f"{folder}/{p.name}") for p in sorted(results.glob(pattern))]
    if state is not None:
        copies += [(p, p.name) for p in [state / "commands.txt"] if p.is_file()]
        copies += [(p, p.name) for p in sorted(state.glob("model_digests*.txt"))]
    return copies, missing


def jobs_table(state: Path, dest: Path) -> bool:
    """jobs.tsv from the state folder's Snakemake log and samples (rule_peaks.py), if there."""
    log, gpu, disk = (state / n for n in ("snakemake.log", "gpu_memory.csv", "disk_used.csv"))
    if not log.is_file():
        return False
    args = [sys.executable, str(HERE / "rule_peaks.py"), str(log), str(gpu), str(disk)]
    table = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    (dest / "jobs.tsv").write_text(table)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", type=Path, help="the profile's results folder (results/qwen)")
    ap.add_argument("dest", type=Path, help="the folder to write (replaced)")
    ap.add_argument("--report", type=Path, help="Snakemake's report (gpu_study.sh report)")
    ap.add_argument("--state", type=Path, help="the run's state folder (commands, digests, log)")
    ap.add_argument("--partial", action="store_true", help="write what there is; list the rest")
    args = ap.parse_args(argv)

    if not args.results.is_dir():
        print(f"study_folder: no results folder {args.results}", file=sys.stderr)
        return 2
    copies, missing = plan(args.results, args.state, args.report)
    cells = [p for g in CELL_GLOBS for p in args.results.glob(g)]
    if not cells:
        missing.append("bench_cells.tar.xz (no cell JSONs)")
    if missing and not args.partial:
        print("study_folder: missing, nothing written (--partial writes what there is):\n  "
              + "\n  ".join(missing), file=sys.stderr)
        return 1

    staged = args.dest.with_name(f".{args.dest.name}.staged")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    rows = []
    for source, name in copies:
        (staged / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, staged / name)
        rows.append((name, source))
        print(f"copied {source} -> {name}", flush=True)
    if cells:
        pack_cells(args.results, cells, staged / "bench_cells.tar.xz")
        rows.append(("bench_cells.tar.xz", f"{len(cells)} cell files under {args.results}"))
        print(f"packed {len(cells)} cell files -> bench_cells.tar.xz", flush=True)
    if args.state is not None and jobs_table(args.state, staged):
        rows.append(("jobs.tsv", f"rule_peaks.py on {args.state}/snakemake.log"))
    lines = ["file\tbytes\tsha256\tsource"]
    lines += [f"{n}\t{(staged / n).stat().st_size}\t{sha256(staged / n)}\t{s}" for n, s in rows]
    lines += [f"{n}\t\t\tmissing" for n in missing]
    (staged / "MANIFEST.tsv").write_text("\n".join(lines) + "\n")
    shutil.rmtree(args.dest, ignore_errors=True)
    staged.rename(args.dest)  # whole or not at all
    print(f"wrote {args.dest} ({len(rows)} files{', %d missing' % len(missing) if missing else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

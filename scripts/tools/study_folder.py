"""A study's committed folder (e.g. reports/qwen-study/) from its results: what a reviewer reads
without running anything, small enough to commit.

    python scripts/tools/study_folder.py config/qwen.yaml reports/qwen-study \
        --report report.html --state /tmp/study [--results DIR] [--partial]

Copied as they are: the bench's tables (cells, intervals, comparisons, step cost, the fidelity
gate, and the headroom and serving-vs-training tables where the profile has them), the
erratum's table, the bodies' shift and quantisation reports, the training curves. The cell JSONs
(one per bench measurement, ~110 KB each; a 13-cell study has 156) and the serving checks go
into one `bench_cells.tar.xz`, packed in name order with fixed dates so that the same cells give
the same archive. From the run's state folder (`gpu_study.sh`'s, where it was collected):
Snakemake's commands, the bodies' digests and the per-job table (`jobs.tsv`,
scripts/tools/rule_peaks.py). `MANIFEST.tsv` lists each file with its size, sha256 and where it
came from (a results file by its path in a checkout).

The profile (its config file) says where its results are (`--results` reads them elsewhere,
e.g. where a collect was unpacked) and which tables a complete study of it has. Every one of
those must be there, or the tool names the missing ones and writes nothing; `--partial` writes
what there is and lists the rest in MANIFEST.tsv as missing (a folder of a study still running).

Why our own: Snakemake's `--report` is one HTML file (copied in with --report); the tables and
cells behind it, which the README's numbers cite, live in the results tree among GBs of models.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import yaml  # noqa: E402
from lib.weight_digests import sha256_file  # noqa: E402
from plumbing.study_profile import Profile  # noqa: E402
from tools import rule_peaks  # noqa: E402

# (file in the results tree, name in the folder); every profile's study has these
TABLES = [
    ("bench/cells.csv", "cells.csv"),
    ("bench/intervals.csv", "intervals.csv"),
    ("bench/comparisons.csv", "comparisons.csv"),
    ("bench/step_cost.csv", "step_cost.csv"),
    ("bench/fidelity_gate.txt", "fidelity_gate.txt"),
    ("report/erratum.csv", "erratum.csv"),
]
GLOBS = [("abliterate/*.json", "bodies"), ("quantize/*.json", "bodies"),
         ("training/*.csv", "training")]
CELL_GLOBS = ["bench/*/*/n*/*/T*/rep*.json", "serving_check/*.json"]


def pack_cells(results: Path, cells: list[Path], archive: Path, profile: str) -> None:
    """The cells as one .tar.xz named as in a checkout (results/PROFILE/...), in name order,
    dated 0 and owned by nobody: the same cells give the same bytes."""
    with tarfile.open(archive, "w:xz") as tar:
        for path in sorted(cells):
            info = tarfile.TarInfo(f"results/{profile}/{path.relative_to(results)}")
            data = path.read_bytes()
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))


def profile_tables(study: Profile) -> list[tuple[str, str]]:
    """The tables a complete study of this profile has."""
    tables = list(TABLES)
    if study.headroom_pairs():
        tables.append(("bench/headroom.csv", "headroom.csv"))
    if study.serving_check_enabled():
        tables.append(("bench/serving_vs_training.csv", "serving_vs_training.csv"))
    return tables


def plan(tables: list[tuple[str, str]], results: Path, state: Path | None,
         report: Path | None) -> tuple[list, list[str]]:
    """(copies as (source, name), missing required names)."""
    required = [(results / rel, name) for rel, name in tables]
    if report is not None:
        required.append((report, "report.html"))
    copies = [(src, name) for src, name in required if src.is_file()]
    missing = [name for src, name in required if not src.is_file()]
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
    jobs = rule_peaks.jobs_from_log(log.read_text())
    (dest / "jobs.tsv").write_text(
        rule_peaks.table(jobs, rule_peaks.samples(gpu), rule_peaks.samples(disk)))
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", type=Path, help="the profile's config file (config/qwen.yaml)")
    ap.add_argument("dest", type=Path, help="the folder to write (replaced)")
    ap.add_argument("--results", type=Path, help="its results folder, if not where the profile "
                    "writes it (results/PROFILE)")
    ap.add_argument("--report", type=Path, help="Snakemake's report (gpu_study.sh report)")
    ap.add_argument("--state", type=Path, help="the run's state folder (commands, digests, log)")
    ap.add_argument("--partial", action="store_true", help="write what there is; list the rest")
    args = ap.parse_args(argv)

    study = Profile(yaml.safe_load(args.config.read_text()))
    args.results = args.results or Path(study.results)
    if not args.results.is_dir():
        print(f"study_folder: no results folder {args.results}", file=sys.stderr)
        return 2
    copies, missing = plan(profile_tables(study), args.results, args.state, args.report)
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
        # a results file by its path in a checkout, wherever it was read from
        rows.append((name, f"results/{study.name}/{source.relative_to(args.results)}"
                     if source.is_relative_to(args.results) else source))
        print(f"copied {source} -> {name}", flush=True)
    if cells:
        pack_cells(args.results, cells, staged / "bench_cells.tar.xz", study.name)
        rows.append(("bench_cells.tar.xz", f"{len(cells)} cell files under results/{study.name}"))
        print(f"packed {len(cells)} cell files -> bench_cells.tar.xz", flush=True)
    if args.state is not None and jobs_table(args.state, staged):
        rows.append(("jobs.tsv", f"rule_peaks.py on {args.state}/snakemake.log"))
    lines = ["file\tbytes\tsha256\tsource"]
    lines += [f"{n}\t{(staged / n).stat().st_size}\t{sha256_file(staged / n)}\t{s}" for n, s in rows]
    lines += [f"{n}\t\t\tmissing" for n in missing]
    (staged / "MANIFEST.tsv").write_text("\n".join(lines) + "\n")
    shutil.rmtree(args.dest, ignore_errors=True)
    staged.rename(args.dest)  # whole or not at all
    print(f"wrote {args.dest} ({len(rows)} files{', %d missing' % len(missing) if missing else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

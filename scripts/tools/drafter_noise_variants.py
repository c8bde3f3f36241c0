"""Retrain the miniature's vanilla drafter on the same data with other seeds, the float32 (AVX2)
path and AdamW, to say what "within noise" means for its validation accuracy (issue #19).

Run from a checkout whose miniature run has finished (its hidden states are kept):
    .venv/bin/python scripts/tools/drafter_noise_variants.py OUT_DIR
Each variant is the rule's own command, as `snakemake -n -p` prints it, with only the seed, the
optimizer and the output paths changed; the AVX2 variants run it under
ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 (torch and oneDNN without bf16 instructions,
so train_drafter takes its float32 path). One measurement, not part of the workflow.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
# name, extra environment, seed, extra speculators arguments, lr (None: the profile's)
VARIANTS = [
    ("native-muon-seed0", {}, 0, [], None),
    ("native-muon-seed1", {}, 1, [], None),
    ("native-muon-seed2", {}, 2, [], None),
    ("avx2-muon-seed0", AVX2, 0, [], None),
    ("avx2-muon-seed1", AVX2, 1, [], None),
    ("avx2-muon-seed2", AVX2, 2, [], None),
    ("avx2-adamw-lr1e-3", AVX2, 0, ["--optimizer", "adamw"], 1e-3),
    ("avx2-adamw-lr3e-3", AVX2, 0, ["--optimizer", "adamw"], 3e-3),
    ("avx2-adamw-lr1e-2", AVX2, 0, ["--optimizer", "adamw"], 1e-2),
]


def rule_command() -> list[str]:
    """The vanilla drafter's train_drafter command as Snakemake would run it."""
    out = subprocess.run(
        [".venv/bin/snakemake", "-n", "-p", "--cores", "2", "--forcerun", "train_drafter",
         "results/miniature/training/vanilla.csv"],
        capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines()
                if ln.startswith("Shell command:") and "scripts/train_drafter.py" in ln)
    return shlex.split(line.removeprefix("Shell command:").split(" 2>&1 | tee ")[0])


def replace(argv: list[str], flag: str, value: str) -> list[str]:
    i = argv.index(flag)
    return argv[: i + 1] + [value] + argv[i + 2:]


def variant_command(base: list[str], out: Path, name: str, seed: int, extra: list[str],
                    lr: float | None) -> list[str]:
    argv = replace(base, "--seed", str(seed))
    for flag, path in (("--work", out / f"{name}.work"), ("--metrics", out / f"{name}.csv"),
                       ("--out", out / name)):
        argv = replace(argv, flag, str(path))
    if lr is not None:
        argv = replace(argv, "--lr", f"{lr:g}")
    if extra:
        i = argv.index("--extra-args-json")
        argv = replace(argv, "--extra-args-json", json.dumps(json.loads(argv[i + 1]) + extra))
    return argv


def last_validation(metrics: Path) -> dict[str, str]:
    rows = [r for r in csv.DictReader(metrics.open()) if r.get("val/full_acc_0_epoch")]
    return rows[-1] if rows else {}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    base = rule_command()
    summary = []
    for name, env, seed, extra, lr in VARIANTS:
        argv = variant_command(base, out, name, seed, extra, lr)
        (out / f"{name}.cmd").write_text(" ".join(f"{k}={v}" for k, v in env.items()) + " "
                                         + shlex.join(argv) + "\n")
        start = time.time()
        with (out / f"{name}.log").open("w") as log:
            subprocess.run(argv, env=os.environ | env, stdout=log, stderr=subprocess.STDOUT,
                           check=True)
        val = last_validation(out / f"{name}.csv")
        summary.append({"variant": name, "seconds": round(time.time() - start),
                        **{f"val_full_acc_{k}": val.get(f"val/full_acc_{k}_epoch", "")
                           for k in range(3)}})
        print(summary[-1], flush=True)
    with (out / "summary.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(summary[0]))
        writer.writeheader()
        writer.writerows(summary)


if __name__ == "__main__":
    main(Path(sys.argv[1]))

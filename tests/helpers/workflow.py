"""What tests share: repo paths, the scripts/ import path, running Snakemake, profiles."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

SMOKE_CONFIG = ROOT / "config" / "smoke.yaml"
REHEARSAL_CONFIG = ROOT / "config" / "gb10-rehearsal.yaml"
SMOKE_RESULTS = ROOT / "results" / "smoke"
ENVS = ROOT / "results" / "envs"


def snakemake(
    *args: str, check: bool = True, timeout: int = 3600, cwd: Path = ROOT,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run the workflow's Snakemake (the one installed beside this Python) in `cwd`, by default
    the repo root; a test that edits the workflow runs it in a copy (`smoke_copy`)."""
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    proc = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env=env if env is not None else os.environ.copy(),
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def dry_run_jobs(*args: str, cwd: Path = ROOT) -> dict[str, int]:
    """Rule name -> job count of a dry run (from Snakemake's job-stats table)."""
    out = snakemake("-n", "--quiet", "rules", *args, cwd=cwd).stdout
    jobs: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in ("total", "job"):
            jobs[parts[0]] = int(parts[1])
    return jobs


def copy_tracked(dest: Path) -> None:
    """The repo's tracked files, copied into `dest` with their mtimes (a workflow copy that
    tests may edit or run elsewhere; the checkout stays as it is)."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)


def env_python(name: str) -> Path:
    return ENVS / name / "bin" / "python"


def rehearsal_body_args() -> list[str]:
    """`scripts/make_tiny_gemma4_body.py` arguments for the gb10 rehearsal's vanilla body, from
    config/gb10-rehearsal.yaml, so the tests build the shape the GPU run serves."""
    config = yaml.safe_load(REHEARSAL_CONFIG.read_text())
    body = config["bodies"]["vanilla"]
    args = ["--corpus", *body["corpus"], "--prompts", "config/prompts/verify.txt"]
    for key in ("vocab_size", "hidden_size", "layers", "experts", "heads", "kv_heads", "head_dim",
                "seed"):
        args += [f"--{key.replace('_', '-')}", str(body[key])]
    return args


def load_profile(name: str) -> dict:
    """config/NAME as a dict."""
    return yaml.safe_load((ROOT / "config" / name).read_text())


def write_config(tmp_path: Path, cfg: dict) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path

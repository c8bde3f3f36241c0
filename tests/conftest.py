"""Shared helpers: repo paths, the scripts/ import path, and running Snakemake."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))

SMOKE_CONFIG = ROOT / "config" / "smoke.yaml"
REHEARSAL_CONFIG = ROOT / "config" / "gb10-rehearsal.yaml"
SMOKE_RESULTS = ROOT / "results" / "smoke"
ENVS = ROOT / "results" / "envs"


def snakemake(
    *args: str, check: bool = True, timeout: int = 3600, cwd: Path = ROOT
) -> subprocess.CompletedProcess:
    """Run the workflow's Snakemake (the one installed beside this Python) in `cwd`, by default
    the repo root; a test that edits the workflow runs it in a copy (`smoke_copy`)."""
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    proc = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=os.environ.copy()
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


def env_python(name: str) -> Path:
    return ENVS / name / "bin" / "python"


@pytest.fixture(scope="session")
def smoke_run() -> Path:
    """Run the smoke profile end to end once (builds the environments on first use)."""
    snakemake("--configfile", str(SMOKE_CONFIG), timeout=2400)
    return SMOKE_RESULTS


@pytest.fixture(scope="session")
def smoke_report(smoke_run) -> Path:
    """`snakemake --report` of the smoke run, kept in results/smoke/ (a CI artifact)."""
    out = SMOKE_RESULTS / "snakemake_report.html"
    snakemake("--configfile", str(SMOKE_CONFIG), "--report", str(out))
    return out


@pytest.fixture
def smoke_copy(smoke_run, tmp_path) -> Path:
    """The workflow with the smoke run's state, copied into a temporary directory, for tests
    that edit a tracked file (an env file, a module, a template) and ask Snakemake what would
    rerun: the edit happens in the copy, never in the checkout (as Snakemake's own tests copy
    their workflows). Copied: the tracked files, the smoke results and Snakemake's metadata
    (mtimes kept); the built environments are linked, not copied (GBs; a dry run reads only
    their freeze files)."""
    copy = tmp_path / "workflow"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")
    for name in filter(None, tracked):
        src = ROOT / name
        if src.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy / name)
    shutil.copytree(SMOKE_RESULTS, copy / "results" / "smoke", symlinks=True)
    shutil.copytree(ROOT / ".snakemake" / "metadata", copy / ".snakemake" / "metadata")
    (copy / "results" / "envs").symlink_to(ENVS, target_is_directory=True)
    return copy


# Test tiers (README, "The two commands"): `pytest -m "not workflow"` runs the unit tests alone.
# A test is a workflow test when it needs the smoke run, a built tool environment or a real
# Snakemake run that builds one; those are marked here rather than test by test, so that a new
# test that asks for `smoke_run` cannot land in the fast tier by mistake.
WORKFLOW_FIXTURES = {"smoke_run", "smoke_report", "smoke_copy"}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "workflow: runs the smoke workflow or a tool environment (the slow tier)"
    )


def pytest_collection_modifyitems(config, items):
    for item in items:
        if WORKFLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.workflow)


def rehearsal_body_args() -> list[str]:
    """`scripts/make_tiny_gemma4.py body` arguments for the gb10 rehearsal's vanilla body, from
    config/gb10-rehearsal.yaml, so the tests build the shape the GPU run serves."""
    import yaml

    config = yaml.safe_load(REHEARSAL_CONFIG.read_text())
    body = config["bodies"]["vanilla"]
    args = ["--corpus", *body["corpus"], "--prompts", "config/prompts/verify.txt"]
    for key in ("vocab_size", "hidden_size", "layers", "experts", "heads", "kv_heads", "head_dim",
                "seed"):
        args += [f"--{key.replace('_', '-')}", str(body[key])]
    return args


"""Shared helpers: repo paths, the scripts/ import path, and running Snakemake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))

SMOKE_CONFIG = ROOT / "config" / "smoke.yaml"
SMOKE_RESULTS = ROOT / "results" / "smoke"
ENVS = ROOT / "results" / "envs"


def snakemake(*args: str, check: bool = True, timeout: int = 3600) -> subprocess.CompletedProcess:
    """Run the workflow's Snakemake (the one installed beside this Python) in the repo root."""
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=os.environ.copy()
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def dry_run_jobs(*args: str) -> dict[str, int]:
    """Rule name -> job count of a dry run (from Snakemake's job-stats table)."""
    out = snakemake("-n", "--quiet", "rules", *args).stdout
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


# Test tiers (README, "The two commands"): `pytest -m "not workflow"` runs the unit tests alone.
# A test is a workflow test when it needs the smoke run, a built tool environment or a real
# Snakemake run that builds one; those are marked here rather than test by test, so that a new
# test that asks for `smoke_run` cannot land in the fast tier by mistake.
WORKFLOW_FIXTURES = {"smoke_run", "smoke_report"}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "workflow: runs the smoke workflow or a tool environment (the slow tier)"
    )


def pytest_collection_modifyitems(config, items):
    for item in items:
        if WORKFLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.workflow)

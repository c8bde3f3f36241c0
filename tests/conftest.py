"""The tests' fixtures (the smoke run, its report, a copy of the workflow) and their tiers;
shared helpers are in tests/helpers/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers.workflow import ENVS, ROOT, SMOKE_CONFIG, SMOKE_RESULTS, copy_tracked, snakemake


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
    copy_tracked(copy)
    shutil.copytree(SMOKE_RESULTS, copy / "results" / "smoke", symlinks=True)
    shutil.copytree(ROOT / ".snakemake" / "metadata", copy / ".snakemake" / "metadata")
    (copy / "results" / "envs").symlink_to(ENVS, target_is_directory=True)
    return copy


# Test tiers (README, "The two commands"): `pytest -m "not workflow"` runs the unit tests alone.
# A test is a workflow test when it lives in tests/workflow/ or asks for the smoke run; those are
# marked here rather than test by test, so that a new test that asks for `smoke_run` cannot land
# in the fast tier by mistake.
WORKFLOW_FIXTURES = {"smoke_run", "smoke_report", "smoke_copy"}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "workflow: runs the smoke workflow or a tool environment (the slow tier)"
    )
    config.addinivalue_line(
        "markers", "slurm: submits the smoke profile to a one-node SLURM (needs slurm-wlm, munge)"
    )


def pytest_collection_modifyitems(config, items):
    workflow_dir = Path(__file__).parent / "workflow"
    for item in items:
        if (WORKFLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
                or workflow_dir in Path(item.fspath).parents):
            item.add_marker(pytest.mark.workflow)
    # The cluster test runs last: it reuses the smoke run and takes minutes of its own.
    items.sort(key=lambda item: item.get_closest_marker("slurm") is not None)

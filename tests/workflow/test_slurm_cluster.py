"""The cluster path, run: a slice of the smoke profile (CLUSTER_TARGETS) submitted through
Snakemake's SLURM executor (profiles/slurm/) to a one-node SLURM on this machine
(tests/helpers/one_node_slurm.py).

Marked `slurm` and ordered after every other test (tests/conftest.py), so it reuses the smoke
run's environments and compares with its outputs. It needs Debian's slurm-wlm and munge, which
.ci/run installs; `pytest -m "not slurm"` leaves it out on a machine without them."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from helpers.one_node_slurm import OneNodeSlurm, missing_programs
from helpers.workflow import (
    ENVS, SMOKE_CONFIG, SMOKE_RESULTS, copy_tracked, dry_run_jobs, snakemake,
)

pytestmark = pytest.mark.slurm

# The executor's polling, shortened for a test whose jobs take seconds: the first status check
# 2 s after a submission instead of 40 s. `squeue` answers for finished jobs because the
# cluster keeps them for an hour (MinJobAge); there is no accounting database for `sacct`.
CLUSTER_ARGS = ("--workflow-profile", "profiles/slurm", "--configfile", "config/smoke.yaml",
                "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks",
                "2", "--seconds-between-status-checks", "2", "--jobs", "4", "--latency-wait", "5")

# Outputs that two runs of the smoke profile write alike, compared with the local run's: files
# byte for byte (weights, digests, the Arrow dataset, the instructions), the regenerated rows but
# for the server's address, and the bench cells' tokens and acceptance counts (their timings and
# throughput differ from run to run).
SAME_BYTES = ("models/**/*.safetensors", "drafters/*/model.safetensors", "digests/**/*.json",
              "drafter_data/*/dataset/*.arrow", "drafter_data/instructions.jsonl")
SAME_TOKENS = ("token_ids", "drafts", "accepted_tokens", "accepted_per_position")

# What the cluster run makes: every model, data and training rule (both trainings, for the
# training figure; both FP8 checkpoints, for the quantisation table) and one bench cell, not the
# smoke's `all`: its other bench cells and report rules are the same kinds of job again, and with
# them the cluster run took 14 of CI's 40 minutes on a 2-core machine (825 s, at commit ee83c1b).
CLUSTER_TARGETS = ("results/smoke/report/training_curves.png",
                   "results/smoke/report/quantization.html",
                   "results/smoke/bench/abliterated/finetuned/n2/chat/T0.7/rep1.json")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    missing = missing_programs()
    assert not missing, (f"not installed: {', '.join(missing)}; the cluster test needs Debian's "
                         "slurm-wlm and munge (.ci/run installs them)")
    slurm = OneNodeSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        slurm.start()
        yield slurm
    finally:
        slurm.stop()


@pytest.fixture(scope="module")
def cluster_workflow(smoke_run, tmp_path_factory) -> Path:
    """The tracked workflow in a fresh folder with no results, its environments linked to the
    smoke run's (built once; a dry run below checks that none is rebuilt)."""
    copy = tmp_path_factory.mktemp("cluster") / "workflow"
    copy_tracked(copy)
    (copy / "results").mkdir()
    (copy / "results" / "envs").symlink_to(ENVS, target_is_directory=True)
    return copy


@pytest.fixture(scope="module")
def cluster_run(cluster, cluster_workflow):
    # `--configfile=...`: the spaced form would take the targets as more config files
    planned = dry_run_jobs(f"--configfile={SMOKE_CONFIG}", *CLUSTER_TARGETS, cwd=cluster_workflow)
    assert "make_env" not in planned, "the copy would rebuild the shared environments"
    assert {"train_drafter", "bench_cell", "quantize_body", "plot_training"} <= set(planned)
    proc = snakemake(*CLUSTER_ARGS, *CLUSTER_TARGETS, check=False, timeout=2400,
                     cwd=cluster_workflow, env=cluster.env())
    assert proc.returncode == 0, f"{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    return planned, proc


def rule_of(job: dict[str, str]) -> str:
    """The rule a SLURM job ran, from the comment the executor gives it (rule_NAME or
    rule_NAME_wildcards_...)."""
    return re.fullmatch(r"rule_(\w+?)(_wildcards_.*)?", job["Comment"]).group(1)


def test_every_job_ran_as_a_slurm_job(cluster, cluster_run):
    planned, _ = cluster_run
    jobs = cluster.jobs()
    assert all(j["JobState"] == "COMPLETED" for j in jobs), [
        (j["JobId"], j["Comment"], j["JobState"]) for j in jobs if j["JobState"] != "COMPLETED"]
    ran = Counter(rule_of(j) for j in jobs)
    expected = {rule: n for rule, n in planned.items() if rule != "all"}  # `all` has no action
    assert ran == expected


def test_resources_reach_slurm(cluster, cluster_run, cluster_workflow):
    """threads -> the job's CPUs, mem_mb -> its memory, runtime -> its time limit, as SLURM
    recorded them; the smoke profile asks for no GPU, so no job holds one."""
    _, proc = cluster_run
    declared = rule_resources(cluster_workflow)
    for job in cluster.jobs():
        rule = rule_of(job)
        threads, mem_mb, runtime = declared[rule]
        assert int(job["NumCPUs"]) == threads, (rule, job["NumCPUs"])
        assert job["MinMemoryNode"] == f"{mem_mb}M", (rule, job["MinMemoryNode"])
        days, minutes = divmod(runtime, 1440)
        assert job["TimeLimit"] == f"{days}-{minutes // 60:02d}:{minutes % 60:02d}:00", (
            rule, job["TimeLimit"], runtime)
        assert "gpu" not in job.get("TresPerJob", ""), rule
    # The profile's longest jobs get their own limit (set-resources), the rest its default.
    assert declared["train_drafter"][2] == 2880 and declared["make_tiny_body"][2] == 1440


def rule_resources(workflow: Path) -> dict[str, tuple[int, int, int]]:
    """Rule -> (threads, mem_mb, runtime) as Snakemake resolves them for the smoke profile
    through the cluster profile, read from a forced dry run's job listing."""
    out = snakemake("-n", "-F", *CLUSTER_ARGS, cwd=workflow).stdout
    declared = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out):
        name = re.match(r"(?:local)?rule (\w+):", block)
        if not name:
            continue
        threads = re.search(r"threads: (\d+)", block)
        mem = re.search(r"mem_mb=(\d+)", block)
        runtime = re.search(r"runtime=(\d+)", block)
        if mem:
            declared[name.group(1)] = (int(threads.group(1)) if threads else 1,
                                       int(mem.group(1)), int(runtime.group(1)))
    return declared


def test_deterministic_outputs_equal_the_local_run(cluster_run, cluster_workflow):
    ours, local = cluster_workflow / "results" / "smoke", SMOKE_RESULTS
    same_bytes = [p.relative_to(ours) for pattern in SAME_BYTES for p in ours.glob(pattern)]
    assert len(same_bytes) >= 10, same_bytes
    for path in same_bytes:
        assert digest(ours / path) == digest(local / path), path

    rows = sorted(ours.glob("drafter_data/*/responses.jsonl"))
    assert rows
    for path in rows:
        assert responses(path) == responses(local / path.relative_to(ours)), path

    cells = sorted(ours.glob("bench/*/*/n*/*/T*/rep*.json"))  # body/drafter/n/endpoint/T/rep
    assert cells
    for path in cells:
        assert cell_tokens(path) == cell_tokens(local / path.relative_to(ours)), path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def responses(path: Path) -> list[dict]:
    """The regenerated rows without the server's address (a port chosen per run)."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        row["metadata"].pop("endpoint")
    return rows


def cell_tokens(path: Path) -> list[dict]:
    return [{k: prompt[k] for k in SAME_TOKENS} for prompt in json.loads(path.read_text())[
        "per_prompt"]]


def test_a_gpu_request_reaches_slurm_as_a_gres(cluster, cluster_run, cluster_workflow):
    """A job that asks for a GPU (resources.gpu, as SERVER_RESOURCES and TRAIN_RESOURCES set it
    from the profile) is scheduled onto the node's GPU and recorded as gres:gpu:1. The smoke
    profile has no GPU rule, so one cheap job is given the resource here."""
    target = "results/smoke/digests/models/vanilla.json"
    before = {j["JobId"] for j in cluster.jobs()}
    snakemake(*CLUSTER_ARGS, "--set-resources", "weight_digest:gpu=1", "--force", target,
              timeout=600, cwd=cluster_workflow, env=cluster.env())
    new = [j for j in cluster.jobs() if j["JobId"] not in before]
    assert [rule_of(j) for j in new] == ["weight_digest"], new
    assert new[0]["JobState"] == "COMPLETED"
    assert new[0]["TresPerJob"] == "gres:gpu:1", new[0]


def test_a_failing_job_names_its_slurm_log(cluster, cluster_run, cluster_workflow):
    """A job that fails on the node: Snakemake's message names the SLURM log, and the log holds
    the script's error. The failure: plot_training fed training tables with no metric columns."""
    tables = sorted((cluster_workflow / "results" / "smoke").glob("training/*.csv"))
    assert tables, "no training table to corrupt"
    for table in tables:
        table.write_text("phase,global_step\ntrain,1\n")
    proc = snakemake(*CLUSTER_ARGS, "--until", "plot_training", check=False, timeout=600,
                     cwd=cluster_workflow, env=cluster.env())
    assert proc.returncode != 0
    failed = [j for j in cluster.jobs() if j["JobState"] == "FAILED"]
    assert [rule_of(j) for j in failed] == ["plot_training"], failed
    message = proc.stdout + proc.stderr
    logs = re.findall(r"\S*\.snakemake/slurm_logs/rule_plot_training/\S+\.log", message)
    assert logs, message[-4000:]
    log = Path(logs[0])
    log = log if log.is_absolute() else cluster_workflow / log
    assert "hold no loss_k or full_acc_k columns" in log.read_text(), log.read_text()[-2000:]

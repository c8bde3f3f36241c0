"""The hub path, run through the real huggingface_hub client against a local stand-in of the Hub
(tests/helpers/fake_hub.py) serving the smoke run's body and drafter as hub repositories:
download_body and download_drafter as Snakemake jobs, a gated repository without a token, a
download killed midway and resumed, no second copy in the Hub's cache, and gb10's Magpie preset
regenerated from a hub dataset."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from helpers.fake_hub import FakeHub
from helpers.workflow import ROOT, env_python, load_profile, snakemake, write_config

BODY, DRAFTER = "test-org/tiny-body", "test-org/tiny-drafter"
MAGPIE = "Magpie-Align/Magpie-Llama-3.1-Pro-300K-Filtered"  # speculators' `magpie` preset


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def hub_env(hub: FakeHub, tmp_path: Path, token: str | None = None) -> dict[str, str]:
    env = os.environ | {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf_home"),
                        "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    env.pop("HF_HUB_OFFLINE", None)
    env.pop("HF_TOKEN", None)
    if token:
        env["HF_TOKEN"] = token
    return env


def hub_cache_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "hf_home").rglob("*") if p.is_file()]


def test_hub_body_and_drafter_download_as_workflow_jobs(smoke_run, tmp_path):
    cfg = load_profile("smoke.yaml")
    cfg["profile"] = "hub-test"
    cfg["bodies"]["vanilla"] = {"source": "hub", "repo": BODY}
    cfg["drafters"]["published"] = {"source": "hub", "repo": DRAFTER, "method": "eagle3",
                                    "verifier": "vanilla"}
    body_src, drafter_src = smoke_run / "models" / "vanilla", smoke_run / "drafters" / "finetuned"
    results = ROOT / "results" / "hub-test"
    shutil.rmtree(results, ignore_errors=True)
    with FakeHub({BODY: body_src, DRAFTER: drafter_src}) as hub:
        snakemake("results/hub-test/models/vanilla", "results/hub-test/drafters/published",
                  "--configfile", str(write_config(tmp_path, cfg)), env=hub_env(hub, tmp_path))
    assert digests(results / "models" / "vanilla") == digests(body_src)
    assert digests(results / "drafters" / "published") == digests(drafter_src)
    # the files were written once, where the workflow keeps them: nothing in the Hub's cache
    assert not hub_cache_files(tmp_path)
    assert not list(results.glob("models/.vanilla.partial*"))


def download_body(hub: FakeHub, out: Path, tmp_path: Path, token: str | None = None,
                  **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [str(env_python("hf")), "scripts/download_body.py", "--repo", BODY, "--out", str(out)],
        cwd=ROOT, env=hub_env(hub, tmp_path, token) | {"PYTHONPATH": str(ROOT / "scripts")},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def test_a_gated_repository_without_a_token_fails_at_once_saying_log_in(smoke_run, tmp_path):
    body_src = smoke_run / "models" / "vanilla"
    with FakeHub({BODY: body_src}, gated={BODY}, token="hf_test") as hub:
        proc = download_body(hub, tmp_path / "body", tmp_path)
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode != 0
        assert f"{BODY} is gated" in out and "hf auth login" in out, out[-2000:]
        assert not any(m == "GET" and "/resolve/" in path for m, path, _ in hub.requests)
        # with the token the same repository downloads
        proc = download_body(hub, tmp_path / "body", tmp_path, token="hf_test")
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out[-2000:]
    assert digests(tmp_path / "body") == digests(body_src)


def test_a_download_killed_midway_keeps_its_finished_files(smoke_run, tmp_path):
    """Killed while the weights are still coming, the job's rerun fetches only those: the
    small files finished before are kept (huggingface_hub 1.33 restarts a file cut midway, so
    resumption is by file; lib/hub_download.py)."""
    body_src = smoke_run / "models" / "vanilla"
    weights = max(body_src.glob("*.safetensors"), key=lambda p: p.stat().st_size)
    out = tmp_path / "body"
    partial = tmp_path / ".body.partial"
    # slow enough that the weights take ~20 s while the small files finish at once
    with FakeHub({BODY: body_src}, bytes_per_s=weights.stat().st_size / 20) as hub:
        first = download_body(hub, out, tmp_path, start_new_session=True)
        deadline = time.monotonic() + 120
        while not ((partial / "config.json").exists()
                   and any((partial / ".cache").rglob("*.incomplete"))):
            assert first.poll() is None, first.communicate()[0][-2000:]
            assert time.monotonic() < deadline, "the download never started"
            time.sleep(0.2)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        assert not out.exists() and not (partial / weights.name).exists()
        hub.bytes_per_s = None
        before = len(hub.requests)
        second = download_body(hub, out, tmp_path)
        log, _ = second.communicate(timeout=300)
        assert second.returncode == 0, log[-2000:]
        assert "resuming the download" in log
        fetched = {path.rsplit("/", 1)[1] for m, path, _ in hub.requests[before:]
                   if m == "GET" and "/resolve/" in path}
        assert weights.name in fetched and "config.json" not in fetched, fetched
    assert digests(out) == digests(body_src)


def test_the_magpie_preset_is_read_from_the_hub_by_regenerate_responses(smoke_run, tmp_path):
    """gb10's instructions: speculators' `magpie` preset, a hub dataset that `datasets` streams
    (its tree listing and ranged reads); here 20 rows in the preset's repository, the first 8
    answered by the smoke profile's vanilla body."""
    data = tmp_path / "magpie" / "data"
    data.mkdir(parents=True)
    rows = [{"uuid": f"u{i}", "instruction": f"Explain item number {i} briefly."}
            for i in range(20)]
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = load_profile("smoke.yaml")
    cfg["profile"] = "hub-preset-test"
    cfg["drafter_training"]["instructions"] = {"source": "preset", "preset": "magpie", "count": 8}
    target = "results/hub-preset-test/drafter_data/vanilla/responses.jsonl"
    shutil.rmtree(ROOT / "results" / "hub-preset-test", ignore_errors=True)
    with FakeHub({MAGPIE: tmp_path / "magpie"}) as hub:
        snakemake(target, "--configfile", str(write_config(tmp_path, cfg)),
                  env=hub_env(hub, tmp_path))
        streamed = [r for m, path, r in hub.requests if path.endswith("/data/train.jsonl")]
    responses = [json.loads(line) for line in (ROOT / target).read_text().splitlines()]
    assert len(responses) == 8 and streamed
    # the preset's first 8 instructions, each in one regenerated conversation
    for row in rows[:8]:
        assert sum(row["instruction"] in r["text"] for r in responses) == 1, row

"""Drafter training: log parsing, run keys, verifier checks, the CPU patch, resume after a kill."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

import make_env
import train_drafter
from conftest import ROOT, env_python

# A RichHandler record as `speculators train` logs it: wrapped under the message column, the
# time omitted when unchanged, the source file on the first line.
RICH_LOG = """\
[08:58:57] INFO     train/loss_0=2.454, train/full_acc_0=0.382,   trainer.py:595
                    train/cond_acc_0=0.382, train/loss=7.1,
                    epoch=0, lr/Muon=0.010, global_step=33
Writing model shards: 100%|##########| 1/1
           INFO     train/loss_0=2.3, train/full_acc_0=0.401,     trainer.py:595
                    epoch=0, global_step=34
[08:58:59] INFO     val/loss_0_epoch=2.903,                       trainer.py:679
                    val/full_acc_0_epoch=0.326, val/loss_epoch=9.275,
                    epoch=0
           INFO     Validation epoch 1/1 completed                trainer.py:764
"""


def test_metric_records_are_joined_across_wrapped_lines():
    rows = train_drafter.parse_metric_lines(RICH_LOG)
    assert [r["phase"] for r in rows] == ["train", "train", "val"]
    assert rows[0]["train/full_acc_0"] == 0.382 and rows[0]["global_step"] == 33
    assert rows[0]["train/loss"] == 7.1 and rows[1]["global_step"] == 34
    assert rows[2]["val/full_acc_0_epoch"] == 0.326 and rows[2]["val/loss_epoch"] == 9.275


def test_a_step_logged_again_after_a_resume_keeps_its_last_value():
    again = RICH_LOG.replace("train/full_acc_0=0.401", "train/full_acc_0=0.5")
    rows = train_drafter.parse_metric_lines(RICH_LOG + again)
    step34 = [r for r in rows if r.get("global_step") == 34]
    assert len(step34) == 1 and step34[0]["train/full_acc_0"] == 0.5


def test_a_log_without_metrics_is_an_error(tmp_path):
    with pytest.raises(SystemExit, match="no metrics"):
        train_drafter.write_metrics_csv([], tmp_path / "m.csv")


def test_checkpoints_of_another_run_are_discarded(tmp_path):
    ckpt = tmp_path / "checkpoints"
    key = {"command": ["train", "--lr", "0.01"], "inputs": {}}
    assert train_drafter.prepare_checkpoint_dir(ckpt, key) is False
    (ckpt / "0").mkdir()
    assert train_drafter.prepare_checkpoint_dir(ckpt, key) is True  # same run: resume
    other = {"command": ["train", "--lr", "0.02"], "inputs": {}}
    assert train_drafter.prepare_checkpoint_dir(ckpt, other) is False
    assert not (ckpt / "0").exists()


def test_a_start_drafter_for_another_verifier_is_refused(tmp_path):
    start, verifier = tmp_path / "start", tmp_path / "verifier"
    start.mkdir(), verifier.mkdir()
    (start / "config.json").write_text(json.dumps({
        "speculators_config": {"verifier": {"architectures": ["Qwen3ForCausalLM"]}},
        "transformer_layer_config": {"hidden_size": 1024, "vocab_size": 151936},
    }))
    (verifier / "config.json").write_text(json.dumps({
        "architectures": ["LlamaForCausalLM"], "hidden_size": 576, "vocab_size": 49152,
    }))
    with pytest.raises(SystemExit, match="refusing to start from .*Qwen3ForCausalLM"):
        train_drafter.check_start_drafter(start, verifier)


def test_the_cpu_training_patch_still_applies_to_a_fresh_speculators(tmp_path):
    """The patch must apply to the pinned speculators as pip installs it (a dry run against the
    files it touches, unpacked from the wheel); if upstream moves, this fails first."""
    spec = make_env.parse_env_spec(ROOT / "envs" / "vllm-cpu.txt", ROOT)
    patch = ROOT / "envs/patches/speculators-0.9.0-train-on-cpu.patch"
    assert patch in spec.patches
    pristine = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "speculators==0.9.0",
         "-d", str(tmp_path)], check=True,
    )
    wheel = next(tmp_path.glob("speculators-0.9.0-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        for name in ("speculators/train/trainer.py", "speculators/utils/util.py"):
            (pristine / name).parent.mkdir(parents=True, exist_ok=True)
            (pristine / name).write_bytes(z.read(name))
    make_env.apply_patch(patch, pristine, tmp_path / "patch.log", dry_run=True)
    # and the GPU environment stays unpatched
    assert not make_env.parse_env_spec(ROOT / "envs" / "vllm-cuda.txt", ROOT).patches


# --- resume after a kill, on the smoke run's data ------------------------------------------


def training_argv(smoke_run: Path, work: Path, out: Path) -> list[str]:
    data = smoke_run / "drafter_data" / "vanilla"
    return [
        str(env_python("vllm-cpu")), str(ROOT / "scripts/train_drafter.py"),
        "--verifier", str(smoke_run / "models/vanilla"), "--dataset", str(data / "dataset"),
        "--hidden-states", str(data / "hidden_states"), "--epochs", "6", "--lr", "0.01",
        "--ttt-steps", "3", "--total-seq-len", "64", "--train-data-ratio", "0.75",
        "--checkpoint-freq", "0.5", "--draft-vocab-size", "256",
        "--extra-args-json", json.dumps(["--loss-implementation", "eager", "--draft-attn-impl",
                                         "sdpa", "--num-workers", "0"]),
        "--work", str(work), "--metrics", str(work.parent / "metrics.csv"), "--out", str(out),
    ]


def first_mid_epoch_checkpoint(ckpt: Path) -> dict | None:
    for state in ckpt.glob("*/training_state.json"):
        try:
            s = json.loads(state.read_text())
        except (json.JSONDecodeError, OSError):
            continue
        if s.get("local_step", 0) > 0 or s.get("epoch", 0) > 0:
            return s
    return None


def test_a_killed_training_resumes_from_its_last_checkpoint(smoke_run, tmp_path):
    work, out = tmp_path / "work", tmp_path / "drafter"
    argv = training_argv(smoke_run, work, out)
    env = os.environ | {"PYTHONPATH": str(ROOT / "scripts")}
    first = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while first_mid_epoch_checkpoint(work / "checkpoints") is None:
        assert first.poll() is None, "training ended before a checkpoint could be interrupted"
        assert time.monotonic() < deadline, "no checkpoint within 10 minutes"
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert not out.exists(), "a killed run must not publish a drafter"

    subprocess.run(argv, cwd=ROOT, env=env, check=True, capture_output=True, timeout=900)
    log = (work / "trainer.log").read_text()
    second_run = log.split("\n### ")[-1]
    resumed = re.search(r"Resuming\s+mid-epoch\s+from\s+epoch=(\d+)\s+local_step=(\d+)\s+global_step=(\d+)",
                        " ".join(second_run.split()))
    assert resumed, second_run[:3000]
    steps = [r["global_step"] for r in train_drafter.parse_metric_lines(second_run) if r["phase"] == "train"]
    assert steps and min(steps) >= int(resumed.group(3)) > 0, f"resumed run logged steps {steps}"
    assert (out / "config.json").exists() and list(out.glob("*.safetensors"))

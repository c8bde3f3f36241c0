"""Drafter training: log parsing, run keys, verifier checks, the CPU patch, resume after a kill."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from plumbing import make_env
import train_drafter
from helpers.workflow import ROOT

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


def test_the_progress_eta_is_paced_from_the_first_step_seen(tmp_path, monkeypatch, caplog):
    # online, the clock starts before the extraction server does: minutes without a step
    clock = [1000.0]
    monkeypatch.setattr(train_drafter.time, "monotonic", lambda: clock[0])
    log_path = tmp_path / "trainer.log"
    log_path.write_text("")
    progress = train_drafter.TrainerProgress(log_path, 0, 100, None, None)
    caplog.set_level("INFO", logger=train_drafter.log.name)
    clock[0] += 300  # the server's start
    progress.report()
    log_path.write_text(RICH_LOG.split("Writing")[0])  # step 34 of ~100
    clock[0] += 30
    progress.report()
    log_path.write_text(RICH_LOG)  # step 35, 30 s later: 65 steps left at 1 step per 30 s
    clock[0] += 30
    progress.report()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[-3] == "training: no step logged yet (300 s)"
    assert lines[-2] == "training: step 34 of ~100 (5.5 min so far)"
    assert lines[-1] == "training: step 35 of ~100, ETA 32.5 min (6.0 min so far)"


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




def test_old_checkpoints_are_pruned_to_the_newest_k(tmp_path):
    """speculators keeps every epoch's checkpoint folder (a mid-epoch save rewrites its
    epoch's); the job keeps the newest K, the best one's target, and no link into a deleted
    folder."""
    ckpt = tmp_path / "checkpoints"
    for n in range(6):
        (ckpt / str(n)).mkdir(parents=True)
        (ckpt / str(n) / "model.safetensors").write_text("w")
        (ckpt / f"epoch{n}_end").symlink_to(ckpt / str(n))
    (ckpt / "checkpoint_best").symlink_to(ckpt / "1")
    removed = train_drafter.prune_checkpoints(ckpt, keep=3)
    assert sorted(p.name for p in removed) == ["0", "2"]
    assert sorted(p.name for p in train_drafter.numbered_checkpoints(ckpt)) == ["1", "3", "4", "5"]
    links = sorted(p.name for p in ckpt.iterdir() if p.is_symlink())
    assert links == ["checkpoint_best", "epoch1_end", "epoch3_end", "epoch4_end", "epoch5_end"]
    assert train_drafter.last_checkpoint(ckpt).name == "5"
    assert train_drafter.prune_checkpoints(ckpt, keep=None) == []


def test_online_and_offline_training_are_exclusive():
    """--hidden-states (offline) or --online with its server's log, never both or neither."""
    base = ["--verifier", "v", "--dataset", "d", "--epochs", "1", "--lr", "0.1", "--ttt-steps",
            "1", "--total-seq-len", "8", "--work", "w", "--metrics", "m", "--out", "o"]
    for extra in ([], ["--hidden-states", "h", "--online", "--server-log", "l"], ["--online"]):
        with pytest.raises(SystemExit):
            train_drafter.parse_args(base + extra)
    assert train_drafter.parse_args(base + ["--online", "--server-log", "l"]).online
    assert not train_drafter.parse_args(base + ["--hidden-states", "h"]).online


def test_offline_training_never_asks_a_server_for_a_missing_row(tmp_path):
    """speculators' default for a row without its file is to ask localhost:8000; offline that
    is an error, online it is the design (the endpoint is added once the server is up)."""
    base = ["--verifier", "v", "--dataset", "d", "--epochs", "1", "--lr", "0.1", "--ttt-steps",
            "1", "--total-seq-len", "8", "--work", "w", "--metrics", "m", "--out", "o"]
    offline = train_drafter.train_command(train_drafter.parse_args(base + ["--hidden-states", "h"]),
                                          tmp_path, tmp_path)
    online = train_drafter.train_command(
        train_drafter.parse_args(base + ["--online", "--server-log", "l"]), tmp_path, tmp_path)
    assert offline[offline.index("--on-missing") + 1] == "raise"
    assert online[online.index("--on-missing") + 1] == "generate"
    assert "--vllm-endpoint" not in online

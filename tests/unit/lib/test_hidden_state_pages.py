"""The check that vLLM 0.24's hidden-state extraction can read back what it stores for a body
(scripts/lib/hidden_state_pages.py), on the shapes the gb10 rehearsal ran on an H200."""

from __future__ import annotations

import json

import pytest

from lib import hidden_state_pages
import extract_hidden_states_vllm


def gemma4_text(hidden_size: int, kv_heads: int, head_dim: int, **extra) -> dict:
    return {"hidden_size": hidden_size, "num_attention_heads": 2 * kv_heads,
            "num_key_value_heads": kv_heads, "head_dim": head_dim, "global_head_dim": head_dim,
            "num_hidden_layers": 8, "dtype": "bfloat16",
            "layer_types": ["sliding_attention"] * 7 + ["full_attention"], **extra}


def test_the_shape_whose_files_came_back_short_is_refused():
    # 2026-11-30, H200: hidden 64 with 4 KV heads of 256 in fp8; speculators stopped at
    # "Sequence length of hidden states 208 doesn't match num tokens 778"
    text = gemma4_text(64, 4, 256)
    assert hidden_state_pages.hidden_state_page_bytes_per_token(text, 4) == 512
    assert hidden_state_pages.attention_page_bytes_per_token(text, "fp8") == {
        "sliding_attention": 2048, "full_attention": 2048}
    problem = hidden_state_pages.extraction_page_problem(text, 4, "fp8")
    assert "512 of every 2048" in problem and "vllm-project/vllm#46301" in problem


def test_shapes_whose_extraction_ran_pass():
    # 1 KV head of 32 (the first H200 run, 256 rows extracted) and the rehearsal's new shape
    assert hidden_state_pages.extraction_page_problem(gemma4_text(64, 1, 32), 4, "fp8") is None
    assert hidden_state_pages.extraction_page_problem(gemma4_text(256, 2, 256), 4, "fp8") is None


def test_an_unquantised_cache_doubles_the_attention_page():
    text = gemma4_text(256, 2, 256)
    assert hidden_state_pages.attention_page_bytes_per_token(text, "auto")["full_attention"] == 2048
    assert hidden_state_pages.extraction_page_problem(text, 4, "auto") is None
    assert hidden_state_pages.extraction_page_problem(text, 3, "auto") is not None


def test_gemma4_full_layers_use_the_global_heads_when_k_equals_v():
    text = gemma4_text(2816, 8, 256, global_head_dim=512, attention_k_eq_v=True,
                       num_global_key_value_heads=2)
    pages = hidden_state_pages.attention_page_bytes_per_token(text, "fp8")
    assert pages == {"sliding_attention": 4096, "full_attention": 2048}
    assert hidden_state_pages.extraction_page_problem(text, 4, "fp8") is None


def test_a_dense_config_without_head_dim_or_layer_types():
    text = {"hidden_size": 576, "num_attention_heads": 9, "num_key_value_heads": 3,
            "torch_dtype": "float32"}
    assert hidden_state_pages.attention_page_bytes_per_token(text, "auto") == {
        "full_attention": 2 * 3 * 64 * 4}


@pytest.mark.parametrize("args", [["--kv-cache-dtype", "fp8", "--x"], ["--kv-cache-dtype=fp8"]])
def test_server_flag_value(args):
    assert hidden_state_pages.server_flag_value(args, "--kv-cache-dtype") == "fp8"
    assert hidden_state_pages.server_flag_value(args, "--dtype") is None


def test_extraction_is_refused_before_torch_and_the_server(tmp_path):
    # the driver environment has no torch: reaching the refusal proves nothing was started
    (tmp_path / "config.json").write_text(json.dumps({"text_config": gemma4_text(64, 4, 256)}))
    args = extract_hidden_states_vllm.parse_args([
        "--body", str(tmp_path), "--dataset", "/d", "--server-log", str(tmp_path / "log"),
        "--out", str(tmp_path / "hs"), "--server-args-json", '["--kv-cache-dtype", "fp8"]'])
    with pytest.raises(SystemExit, match="vllm-project/vllm#46301"):
        extract_hidden_states_vllm.extract(args)
    assert not (tmp_path / "hs.partial").exists() and not (tmp_path / "log").exists()



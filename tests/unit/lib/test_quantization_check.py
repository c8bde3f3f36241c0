"""The FP8 checkpoint check, on hand-made module tables and safetensors headers."""

import json
import struct

from lib.quantization_check import (
    ModuleInfo,
    check_quantization,
    matches,
    read_safetensors_dtypes,
)

IGNORE = ["re:.*router.*", "lm_head", "re:.*norm.*", "re:.*vision.*"]
KEEP = ["re:.*router.*", "lm_head"]


def modules():
    return [
        ModuleInfo("model.layers.0.self_attn.q_proj", "Linear", True, "BF16"),
        ModuleInfo("model.layers.0.router.proj", "Linear", True, "BF16"),
        ModuleInfo("model.layers.0.input_layernorm", "RMSNorm", False, "BF16"),
        ModuleInfo("model.layers.0.router", "Router", False, None),
        ModuleInfo("lm_head", "Linear", True, "BF16"),
    ]


def good_saved():
    return {
        "model.layers.0.self_attn.q_proj.weight": "F8_E4M3",
        "model.layers.0.self_attn.q_proj.weight_scale": "BF16",
        "model.layers.0.router.proj.weight": "BF16",
        "model.layers.0.input_layernorm.weight": "BF16",
    }


def test_llm_compressor_matching_rule():
    assert matches("model.layers.3.mlp.gate", "re:.*mlp.gate$")
    assert not matches("model.layers.3.mlp.gate_proj", "re:.*mlp.gate$")
    assert matches("lm_head", "lm_head") and not matches("model.lm_head", "lm_head")


def test_consistent_checkpoint_passes_and_lists_unmatched_patterns():
    result = check_quantization(modules(), good_saved(), IGNORE, KEEP)
    assert result.errors == []
    by_name = {m.name: m for m in result.modules}
    assert by_name["model.layers.0.self_attn.q_proj"].status == "quantised"
    assert by_name["model.layers.0.router.proj"].status == "ignored"
    assert by_name["model.layers.0.router.proj"].ignored_by == "re:.*router.*"
    assert by_name["model.layers.0.input_layernorm"].status == "not-a-Linear"
    assert by_name["lm_head"].status == "tied-not-saved"
    assert result.unmatched_ignore_patterns == ["re:.*vision.*"]


def test_quantised_router_is_an_error_naming_it():
    saved = good_saved() | {"model.layers.0.router.proj.weight": "F8_E4M3"}
    ignore_without_router = [p for p in IGNORE if "router" not in p]
    result = check_quantization(modules(), saved, ignore_without_router, KEEP)
    assert any(e.startswith("model.layers.0.router.proj: must stay unquantised") for e in result.errors)


def test_ignored_module_saved_as_fp8_is_an_error():
    saved = good_saved() | {"model.layers.0.router.proj.weight": "F8_E4M3"}
    result = check_quantization(modules(), saved, IGNORE, [])
    assert result.errors == ["model.layers.0.router.proj: ignored module was quantised (F8_E4M3)"]


def test_linear_left_unquantised_is_an_error():
    saved = good_saved() | {"model.layers.0.self_attn.q_proj.weight": "BF16"}
    result = check_quantization(modules(), saved, IGNORE, KEEP)
    assert len(result.errors) == 1 and "not FP8" in result.errors[0]


def test_missing_weight_of_quantised_linear_is_an_error():
    saved = dict(good_saved())
    del saved["model.layers.0.self_attn.q_proj.weight"]
    result = check_quantization(modules(), saved, IGNORE, KEEP)
    assert "weight missing" in result.errors[0]


def test_safetensors_header_is_read_without_torch(tmp_path):
    header = {
        "__metadata__": {"format": "pt"},
        "a.weight": {"dtype": "F8_E4M3", "shape": [2, 2], "data_offsets": [0, 4]},
        "a.weight_scale": {"dtype": "BF16", "shape": [2, 1], "data_offsets": [4, 8]},
    }
    raw = json.dumps(header).encode()
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(8))
    assert read_safetensors_dtypes(tmp_path) == {"a.weight": "F8_E4M3", "a.weight_scale": "BF16"}

"""quantize_body: the FP8 checkpoint keeps the body's own config.json, plus llm-compressor's
quantization_config (the serving environment's transformers reads the body's form only)."""

import json

import quantize_body


def test_the_fp8_config_is_the_bodys_own_with_the_quantization_config(tmp_path):
    body, staged = tmp_path / "body", tmp_path / "staged"
    body.mkdir()
    staged.mkdir()
    own = {"architectures": ["Gemma4ForConditionalGeneration"],
           "text_config": {"head_dim": 256, "global_head_dim": 512}}
    (body / "config.json").write_text(json.dumps(own))
    rewritten = {"architectures": ["Gemma4ForConditionalGeneration"],
                 "text_config": {"head_dim": 256, "per_layer_config": {"5": {"head_dim": 512}}},
                 "quantization_config": {"quant_method": "compressed-tensors", "format": "float-quantized"}}
    (staged / "config.json").write_text(json.dumps(rewritten))
    quantize_body.keep_source_config(body, staged)
    written = json.loads((staged / "config.json").read_text())
    assert written == own | {"quantization_config": rewritten["quantization_config"]}

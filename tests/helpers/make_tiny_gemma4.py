"""Save a tiny random Gemma 4 (text MoE with router + vision tower) built from transformers'
own config classes, so the FP8 ignore list is exercised on real Gemma 4 module names.

Usage: python make_tiny_gemma4.py OUT_DIR   (run with the quantize environment's Python)
"""

import sys

import torch
from transformers import Gemma4Config, Gemma4ForConditionalGeneration


def tiny_gemma4_config() -> Gemma4Config:
    text = dict(
        vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=32,
        vocab_size_per_layer_input=512, hidden_size_per_layer_input=16,
        enable_moe_block=True, num_experts=4, top_k_experts=2, moe_intermediate_size=32,
        layer_types=["sliding_attention", "full_attention"],
    )
    vision = dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, head_dim=16,
    )
    return Gemma4Config(text_config=text, vision_config=vision, audio_config=None)


if __name__ == "__main__":
    torch.manual_seed(0)
    model = Gemma4ForConditionalGeneration(tiny_gemma4_config()).to(torch.bfloat16)
    model.save_pretrained(sys.argv[1])
    for name, module in model.named_modules():
        if "router" in name or name.endswith("mlp.gate"):
            print(name, type(module).__name__)

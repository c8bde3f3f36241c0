"""Whether vLLM 0.24's hidden-state extraction can read back what it writes, from the body's
config.json, before a server is started for it.

vLLM gives every layer's KV cache one page size: a layer whose page (bytes per block) is smaller
than the largest gets proportionally more tokens per block (`unify_kv_cache_spec_page_size` in
vllm/v1/core/kv_cache_utils.py). `extract_hidden_states` stores the taps as one more cache layer,
of (taps x hidden_size) model-dtype values per token. vLLM 0.24.0's ExampleHiddenStatesConnector
rebuilds its read slots from `cache_config.block_size` (its `__init__`), not from that layer's
own block size; so when an attention layer's page per token is larger than the hidden-state
layer's, the hidden-state layer's blocks hold more tokens than the connector reads, every file
is short, and speculators' --validate-outputs stops the run ("Sequence length of hidden states
208 doesn't match num tokens 778": the gb10 rehearsal's second body shape on two H200s,
reports/runs/gb10-rehearsal/earlier-attempts/README.md). The upstream fix reads the hidden-state
group's own block size: vllm-project/vllm#46301, not in the pinned vLLM 0.24.0.

We write this check ourselves because vLLM only fails after its server is up (minutes on a GPU);
it reads the same config fields vLLM's gemma4.py and llama.py do. No torch here.
"""

from __future__ import annotations

# bytes per value of the dtype names configs and vLLM's --kv-cache-dtype use
DTYPE_BYTES = {"float32": 4, "float": 4, "bfloat16": 2, "float16": 2, "half": 2}


def model_dtype_bytes(text_config: dict) -> int:
    """The model dtype's size: the hidden-state layer stores the taps in it ("auto")."""
    name = str(text_config.get("dtype") or text_config.get("torch_dtype") or "bfloat16")
    return DTYPE_BYTES.get(name, 2)


def kv_value_bytes(kv_cache_dtype: str, text_config: dict) -> int:
    """One stored K or V value: 1 byte for any fp8 cache, else the model dtype."""
    if kv_cache_dtype.startswith("fp8"):
        return 1
    return DTYPE_BYTES.get(kv_cache_dtype) or model_dtype_bytes(text_config)


def attention_page_bytes_per_token(text_config: dict, kv_cache_dtype: str) -> dict[str, int]:
    """K plus V bytes per token of each attention layer type. Gemma 4's full-attention layers
    use `global_head_dim` and, with `attention_k_eq_v`, `num_global_key_value_heads`."""
    kv_heads = int(text_config.get("num_key_value_heads")
                   or text_config["num_attention_heads"])
    head_dim = int(text_config.get("head_dim")
                   or text_config["hidden_size"] // text_config["num_attention_heads"])
    value = kv_value_bytes(kv_cache_dtype, text_config)
    pages = {"sliding_attention": 2 * kv_heads * head_dim * value}
    full_dim = int(text_config.get("global_head_dim") or head_dim)
    full_heads = kv_heads
    if text_config.get("attention_k_eq_v"):
        full_heads = int(text_config.get("num_global_key_value_heads") or kv_heads)
    pages["full_attention"] = 2 * full_heads * full_dim * value
    types = set(text_config.get("layer_types") or ["full_attention"])
    return {kind: size for kind, size in pages.items() if kind in types}


def hidden_state_page_bytes_per_token(text_config: dict, taps: int) -> int:
    """The extraction layer: `taps` hidden states of `hidden_size` in the model dtype."""
    return taps * int(text_config["hidden_size"]) * model_dtype_bytes(text_config)


def extraction_page_problem(text_config: dict, taps: int, kv_cache_dtype: str) -> str | None:
    """Why vLLM 0.24's connector would write short hidden-state files for this body, or None."""
    attention = attention_page_bytes_per_token(text_config, kv_cache_dtype)
    hidden = hidden_state_page_bytes_per_token(text_config, taps)
    kind, largest = max(attention.items(), key=lambda item: item[1])
    if hidden >= largest:
        return None
    return (
        f"vLLM 0.24's hidden-state extraction would read {hidden} of every {largest} bytes per"
        f" token it stores for this body: the {taps} taps x hidden_size"
        f" {text_config['hidden_size']} ({hidden} B a token) are a smaller cache page than"
        f" {kind} ({largest} B a token with --kv-cache-dtype {kv_cache_dtype}), so vLLM gives"
        " the hidden states larger blocks than its ExampleHiddenStatesConnector reads"
        " (vllm-project/vllm#46301). Give the body a larger hidden_size or a smaller"
        " kv_heads x head_dim, or extract with drafter_training.hidden_states.engine: hf."
    )


def server_flag_value(server_args: list[str], flag: str) -> str | None:
    """The value of `--flag VALUE` or `--flag=VALUE` in a vLLM server argument list."""
    for i, arg in enumerate(server_args):
        if arg == flag and i + 1 < len(server_args):
            return server_args[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None

"""The refusal direction and the weight edit that removes it (Arditi et al., "Refusal in LLMs is
mediated by a single direction"; the method heretic and the abliteration literature build on):

1. r = mean residual activation on harmful prompts - mean on harmless prompts, at the last
   prompt token after `direction_layer` decoder layers; normalised (scripts/refusal_direction.py,
   a file of its own).
2. Every matrix that writes into the residual stream from an attention or MLP block
   (self_attn.o_proj, mlp.down_proj; heretic's choice too) is orthogonalised against r:
   W <- W - strength * r (r^T W). strength 1 removes the direction entirely
   (scripts/abliterate_body.py).

Why the direction is a file and not recomputed with each body: it depends on the CPU's
kernels, the edit does not. The forward pass behind r runs partly in float32 even in a float64
model (the rotary embedding's sines and cosines), so r differs in its last float32 bits from one
CPU to another, and after the edit ~1 % of the rows of the edited bf16 matrices with it:
Qwen2.5-Coder-1.5B's abliterated body rebuilt on an H100 machine's CPU differed so from the
development machine's (reports/runs/qwen-gpu/README.md). Given r, the edit is float64 arithmetic
rounded to the body's dtype, the same on any CPU unless a value lies within ~1e-13 of a rounding
boundary. A study split over machines carries the file (scripts/tools/gpu_study.sh) and rebuilds
the same bodies from it.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

log = logging.getLogger("abliteration")

# The direction file's tensor and metadata keys.
DIRECTION_KEY = "direction"


def split_prompts(prompts: list[str], n_direction: int) -> tuple[list[str], list[str]]:
    """The first n_direction prompts estimate the direction; the rest are held out."""
    if not 0 < n_direction < len(prompts):
        raise ValueError(f"need 0 < n_direction < {len(prompts)} prompts, got {n_direction}")
    return prompts[:n_direction], prompts[n_direction:]


def direction_layer(n_layers: int, layer_fraction: float) -> int:
    """The decoder layer after which the residual is read: a fraction of the depth, 1..n."""
    return max(1, min(n_layers, round(layer_fraction * n_layers)))


def unsupported_body(config: dict) -> str | None:
    """Why this abliteration cannot edit a body, before any weight is loaded: it orthogonalises
    a text-only causal LM's decoder (`num_hidden_layers` on the top-level config). A multimodal
    body nests its decoder under text_config (Gemma 4: docs/profiles.md's trial failed with
    "'Gemma4Config' object has no attribute 'num_hidden_layers'" before this check)."""
    if "text_config" in config or "num_hidden_layers" not in config:
        return (f"cannot abliterate a {config.get('architectures')} body: this abliteration edits "
                "text-only causal LMs (decoder layers on the top-level config); take the "
                "abliterated body from elsewhere (bodies: source hub or local), as gb10 does")
    return None


def mean_residual(model, tokenizer, prompts: list[str], layer: int):
    """Mean residual stream at the last prompt token after `layer` decoder layers."""
    import torch
    from lib.body_checks import chat_input_ids

    total = None
    for prompt in prompts:
        with torch.no_grad():
            out = model(chat_input_ids(tokenizer, prompt), output_hidden_states=True)
        h = out.hidden_states[layer][0, -1].double()
        total = h if total is None else total + h
    return total / len(prompts)


def refusal_direction(harmful_mean, harmless_mean):
    """The unit direction, computed in float64 and rounded to float32."""
    import torch

    d = (harmful_mean - harmless_mean).double()
    return (d / d.norm()).to(torch.float32)


def estimate_direction(model, tokenizer, harmful: Path, harmless: Path, n_direction: int,
                       layer_fraction: float):
    """(direction, layer): the refusal direction of a loaded model from the first n_direction
    prompts of each file, and the decoder layer after which it was read."""
    from lib.body_checks import read_prompt_lines

    n_layers = model.config.num_hidden_layers
    layer = direction_layer(n_layers, layer_fraction)
    harm, _ = split_prompts(read_prompt_lines(harmful), n_direction)
    safe, _ = split_prompts(read_prompt_lines(harmless), n_direction)
    log.info("direction from %d+%d prompts at layer %d of %d", len(harm), len(safe), layer,
             n_layers)
    harm_mean = mean_residual(model, tokenizer, harm, layer)
    log.info("harmful prompts' mean residual done")
    return refusal_direction(harm_mean, mean_residual(model, tokenizer, safe, layer)), layer


def save_direction(path: Path, direction, metadata: dict[str, str]) -> None:
    """The direction (float32, hidden size) with what it was estimated from, as safetensors."""
    from safetensors.torch import save_file

    save_file({DIRECTION_KEY: direction.contiguous()}, str(path), metadata=metadata)


def load_direction(path: Path):
    """(direction, metadata) as save_direction wrote them."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return f.get_tensor(DIRECTION_KEY), dict(f.metadata() or {})


def direction_sha256(direction) -> str:
    """The direction's digest: sha256 of its float32 values (little-endian), not of its file,
    whose metadata safetensors writes in an order that changes from one process to the next."""
    values = direction.detach().to("cpu").float().contiguous().numpy()
    return hashlib.sha256(values.astype("<f4", copy=False).tobytes()).hexdigest()


def residual_writers(model) -> list[tuple[str, object]]:
    """(name, Linear) of every attention/MLP output projection into the residual stream."""
    return [
        (name, module)
        for name, module in model.named_modules()
        if name.endswith(("self_attn.o_proj", "mlp.down_proj"))
    ]


def orthogonalize_(model, direction, strength: float) -> list[str]:
    """W <- W - strength * r (r^T W) for every residual writer, in float64 and rounded to the
    weight's dtype; returns their names."""
    import torch

    names = []
    for name, linear in residual_writers(model):
        w = linear.weight.data
        r = direction.to(w.device, torch.float64)
        w64 = w.double()
        w64 -= strength * torch.outer(r, r @ w64)
        linear.weight.data = w64.to(w.dtype)
        names.append(name)
    if not names:
        raise RuntimeError("no self_attn.o_proj / mlp.down_proj modules found to orthogonalise")
    return names

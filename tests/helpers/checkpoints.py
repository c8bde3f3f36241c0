"""Hand-made checkpoint folders for the body contract's tests: the files a body or a drafter
has, with a stand-in weights file (the contract reads configs, never weights)."""

from __future__ import annotations

import json
from pathlib import Path


def body_checkpoint(folder: Path, arch: str = "LlamaForCausalLM", template: bool = True,
                    vocab: int = 512, hidden: int = 64, layers: int = 8,
                    model_type: str = "llama") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({
        "architectures": [arch], "model_type": model_type, "vocab_size": vocab,
        "hidden_size": hidden, "num_hidden_layers": layers}))
    tokenizer = {"chat_template": "{{ messages }}"} if template else {}
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer))
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder


def drafter_checkpoint(folder: Path, vocab: int, hidden: int = 64,
                       verifier: str = "LlamaForCausalLM") -> Path:
    """A speculators EAGLE-3 drafter's config for a verifier of that architecture."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({
        "speculators_config": {"verifier": {"architectures": [verifier]}},
        "transformer_layer_config": {"vocab_size": vocab, "hidden_size": hidden}}))
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder

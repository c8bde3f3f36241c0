"""Whether a drafter fits a body: checked before a server starts or a training run begins."""

from __future__ import annotations

import json
from pathlib import Path


def drafter_problems(drafter_config: dict, body_config: dict) -> list[str]:
    """Why a speculators drafter cannot serve this body (empty list: it can).

    Checked before the server starts: vLLM would otherwise start, then fail or silently accept
    nothing. Only speculators-format drafters describe their verifier; others pass.
    """
    spec = drafter_config.get("speculators_config")
    if not spec:
        return []
    problems = []
    verifier_arch = spec.get("verifier", {}).get("architectures") or []
    body_arch = body_config.get("architectures") or []
    if verifier_arch and body_arch and verifier_arch != body_arch:
        problems.append(f"drafter was trained for {verifier_arch}, the body is {body_arch}")
    text_cfg = body_config.get("text_config", body_config)
    layer_cfg = drafter_config.get("transformer_layer_config", {})
    target_hidden = drafter_config.get("target_hidden_size") or layer_cfg.get("hidden_size")
    if target_hidden and text_cfg.get("hidden_size") and target_hidden != text_cfg["hidden_size"]:
        problems.append(
            f"drafter expects verifier hidden size {target_hidden}, the body has"
            f" {text_cfg['hidden_size']}"
        )
    vocab, body_vocab = layer_cfg.get("vocab_size"), text_cfg.get("vocab_size")
    if vocab and body_vocab and vocab != body_vocab:
        problems.append(f"drafter maps into a {vocab}-token vocabulary, the body has {body_vocab}")
    n_layers = text_cfg.get("num_hidden_layers")
    aux = drafter_config.get("eagle_aux_hidden_state_layer_ids") or []
    if n_layers and any(i >= n_layers for i in aux):
        problems.append(f"drafter taps layers {aux}, the body has {n_layers}")
    return problems


def drafter_body_problems(drafter: str, drafter_dir: Path, body: str, body_dir: Path) -> list[str]:
    """A drafter whose vocabulary, hidden size, layers or verifier architecture do not fit the
    body it is benched on."""
    drafter_config = json.loads((Path(drafter_dir) / "config.json").read_text())
    body_config = json.loads((Path(body_dir) / "config.json").read_text())
    return [f"drafter '{drafter}' on body '{body}': {problem}; change drafters.{drafter} or the"
            " series in bench.series" for problem in drafter_problems(drafter_config, body_config)]

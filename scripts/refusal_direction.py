"""The refusal direction of a body: the normalised difference of its mean residual on harmful and
on harmless chat prompts, after a fraction of its decoder layers (lib/abliteration.py: the
method, and why the direction is a file of its own). The first n_direction prompts of each list
estimate it; the rest are the held-out prompts abliterate_body measures the shift on.

Why our own: heretic 1.4.0, the tool the seeds mention, has no single deterministic,
non-interactive result a rule can pin (scripts/abliterate_body.py says more).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from lib import atomic_io
from lib.abliteration import (direction_sha256, estimate_direction, save_direction,
                              unsupported_body)
from lib.weight_digests import sha256_file

log = logging.getLogger("refusal_direction")


def estimate(body: Path, out: Path, harmful: Path, harmless: Path, n_direction: int,
             layer_fraction: float) -> dict[str, str]:
    """Write the direction to `out`; its metadata."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    problem = unsupported_body(json.loads((body / "config.json").read_text()))
    if problem:
        raise SystemExit(problem)
    tokenizer = AutoTokenizer.from_pretrained(body)
    # float64, so that what differs between CPUs is only what the model computes in float32
    model = AutoModelForCausalLM.from_pretrained(body, dtype=torch.float64).eval()
    direction, layer = estimate_direction(model, tokenizer, harmful, harmless, n_direction,
                                          layer_fraction)
    metadata = {
        "direction_layer": str(layer),
        "num_layers": str(model.config.num_hidden_layers),
        "n_direction_prompts": str(n_direction),
        "harmful_sha256": sha256_file(harmful),
        "harmless_sha256": sha256_file(harmless),
        "torch": torch.__version__,
    }
    with atomic_io.staged_file(out, ".safetensors") as staged:
        save_direction(staged, direction, metadata)
    log.info("direction written: %s (values' sha256 %s)", out, direction_sha256(direction))
    return metadata


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--body", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--harmful", required=True, type=Path)
    p.add_argument("--harmless", required=True, type=Path)
    p.add_argument("--n-direction", type=int, required=True)
    p.add_argument("--direction-layer-fraction", type=float, required=True)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    estimate(a.body, a.out, a.harmful, a.harmless, a.n_direction, a.direction_layer_fraction)


if __name__ == "__main__":
    main()

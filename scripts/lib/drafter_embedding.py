"""The token embedding a speculators EAGLE-3 drafter carries: a copy of its verifier's, frozen
in training (`embed_requires_grad` false). A compact copy for serving elsewhere leaves it out
(scripts/tools/compact_drafter.py); a fine-tune's start copy gets it back from the verifier
(scripts/train_drafter.py, stage_start_drafter)."""

from __future__ import annotations

import re
from pathlib import Path

# The tensor's name in a drafter checkpoint (a body nests it, e.g. model.embed_tokens.weight)
EMBEDDING_SUFFIX = "embed_tokens.weight"


def is_eagle3(config: dict) -> bool:
    """Whether a drafter's config.json is a speculators EAGLE-3 one (the kind that carries it)."""
    return config.get("speculators_model_type") == "eagle3"


def verifier_embedding(drafter_config: dict):
    """The token embedding of the verifier a drafter was trained for (its config's
    speculators_config.verifier.name_or_path, rebuilt on this machine). Multimodal bodies nest
    the text embedding; vision and audio embeddings are not it."""
    from safetensors import safe_open

    verifier = Path(drafter_config["speculators_config"]["verifier"]["name_or_path"])
    for path in sorted(verifier.glob("*.safetensors")):
        with safe_open(path, "pt") as f:
            for name in f.keys():
                if name.endswith(EMBEDDING_SUFFIX) and not re.search(r"vision|audio", name):
                    return f.get_tensor(name)
    raise SystemExit(f"the starting drafter has no token embedding (a compact copy) and its "
                     f"verifier {verifier} has none to restore it from: rebuild that body here "
                     "or start from the full drafter")

"""Copy an EAGLE-3 drafter without its token embedding, for serving it on another machine.

A speculators EAGLE-3 checkpoint holds a copy of its verifier's token embedding (vocabulary x
hidden: 0.47 GB of the Qwen study's 0.6 GB drafter), frozen while training
(`embed_requires_grad` false). vLLM 0.24 does not need it from the drafter: it serves an
EAGLE-3 checkpoint without `embed_tokens` with the target's embedding
(`model_executor/models/llama_eagle3.py`'s `load_weights` skips it;
`v1/spec_decode/llm_base_proposer.py`'s `_maybe_share_embeddings` shares the target's). So the
copy drops every `*embed_tokens.weight` tensor; the other files are copied as they are. A
drafter of another method (an MTP assistant) is copied whole.

A fine-tune may start from a compact copy: train_drafter.py's stage_start_drafter puts the
verifier's embedding back first. speculators 0.9.0 itself would not: it tolerates the missing
tensor on load, but fills the embedding from the verifier only where it is still NaN
(`SpeculatorModel.load_verifier_weights`), and transformers initialises a missing weight at
random first (a smoke drafter loaded that way held an embedding unlike its verifier's).

    python scripts/tools/compact_drafter.py SRC DST

Run with a Python that has safetensors and torch (the vllm family's): the workflow's driver
has neither.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.drafter_embedding import EMBEDDING_SUFFIX, is_eagle3  # noqa: E402


def compact(src: Path, dst: Path) -> dict[str, list[str]]:
    """Write the compact copy of drafter `src` to `dst` (a new folder); return {file: dropped
    tensor names}."""
    config = json.loads((src / "config.json").read_text())
    if dst.exists():
        raise SystemExit(f"{dst} exists: refusing to write over it")
    dst.mkdir(parents=True)
    dropped: dict[str, list[str]] = {}
    for path in sorted(src.iterdir()):
        if path.is_dir():
            shutil.copytree(path, dst / path.name)
        elif path.suffix == ".safetensors" and is_eagle3(config):
            from safetensors.torch import load_file, save_file

            tensors = load_file(path)
            gone = sorted(k for k in tensors if k.endswith(EMBEDDING_SUFFIX))
            save_file({k: v for k, v in tensors.items() if k not in gone}, dst / path.name,
                      metadata={"format": "pt"})
            dropped[path.name] = gone
        else:
            shutil.copy2(path, dst / path.name)
    return dropped


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src", type=Path, help="a drafter folder (config.json, *.safetensors)")
    p.add_argument("dst", type=Path, help="the compact copy (must not exist)")
    a = p.parse_args(argv)
    dropped = compact(a.src, a.dst)
    size = {d: sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) for d in (a.src, a.dst)}
    print(f"{a.src} -> {a.dst}: {size[a.src] / 1e6:,.1f} MB -> {size[a.dst] / 1e6:,.1f} MB;"
          f" dropped {sum(dropped.values(), []) or 'nothing'}")


if __name__ == "__main__":
    main()

"""make_tiny_gemma4_body: a tiny random Gemma 4 body (text MoE with a router, a vision tower, a
Gemma chat template), built offline (lib/tiny_gemma4.py): the gb10 rehearsal's stand-in.
"""

import argparse
import json
import logging
from pathlib import Path

from lib.tiny_gemma4 import make_body

log = logging.getLogger("make_tiny_gemma4_body")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--corpus", required=True, nargs="+", type=Path)
    p.add_argument("--prompts", required=True, type=Path)
    p.add_argument("--vocab-size", type=int, required=True)
    p.add_argument("--hidden-size", type=int, required=True)
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("--experts", type=int, required=True)
    p.add_argument("--heads", type=int, required=True, help="attention heads")
    p.add_argument("--kv-heads", type=int, required=True, help="key/value heads")
    p.add_argument("--head-dim", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--text-config-json", default="{}", help="Gemma4TextConfig values over these")
    p.add_argument("--vision-config-json", default="{}", help="Gemma4VisionConfig values")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    make_body(a.out, a.corpus, a.prompts, a.vocab_size, a.hidden_size, a.layers, a.experts,
              a.heads, a.kv_heads, a.head_dim, a.seed, json.loads(a.text_config_json),
              json.loads(a.vision_config_json))
    log.info("wrote %s", a.out)


if __name__ == "__main__":
    main()

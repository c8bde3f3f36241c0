"""make_tiny_body: a tiny random Llama (or Qwen2) body with its own tokenizer, made in seconds
(the smoke profile's body; lib/tiny_llama.py builds it).
"""

import argparse
import logging
from pathlib import Path

from lib import body_checks
from lib.tiny_llama import ARCHITECTURES, make_model, publish_checked_body, train_tokenizer

log = logging.getLogger("make_tiny_body")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--corpus", required=True, nargs="+", type=Path)
    p.add_argument("--vocab-size", type=int, required=True)
    p.add_argument("--hidden-size", type=int, required=True)
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("--heads", type=int, required=True)
    p.add_argument("--kv-heads", type=int, required=True)
    p.add_argument("--intermediate-size", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--initializer-range", type=float, default=0.02)
    p.add_argument("--architecture", choices=sorted(ARCHITECTURES), default="llama")
    p.add_argument("--prompts", required=True, type=Path)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    corpus = [ln for f in a.corpus for ln in body_checks.read_prompt_lines(f)]
    tokenizer = train_tokenizer(corpus, a.vocab_size)
    model = make_model(tokenizer, a.hidden_size, a.layers, a.heads, a.kv_heads,
                       a.intermediate_size, a.seed, a.initializer_range, a.architecture)
    log.info("tiny %s body: %d tokens in the tokenizer, %s parameters", a.architecture,
             len(tokenizer), f"{sum(t.numel() for t in model.parameters()):,}")
    publish_checked_body(model, tokenizer, a.out, a.prompts, {"tiny_random_seed": a.seed})
    log.info("wrote %s", a.out)


if __name__ == "__main__":
    main()

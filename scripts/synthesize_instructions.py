"""Magpie-style self-synthesised instructions: the served body completes an empty user turn.

The miniature cannot download Magpie-Align's instruction set, so it makes its own the way
Magpie did (Xu et al. 2024, "Magpie: Alignment Data Synthesis from Scratch"): give an aligned
chat model only its template's prefix up to the user's turn and sample, at T~1, what the user
would say. speculators has no command for this step (its presets download data sets), hence
our own script; the server lifecycle is the bench's (serving.py).

Requests are seeded one by one (seed = base + i), so the same body and config give the same
instructions. Kept: completions that ended by themselves (not cut by max_tokens), at least
`min_chars` long, distinct after whitespace/case normalisation. Output rows carry a
`conversations` list (from/value) that `speculators regenerate-responses` reads.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lib import atomic_io
from lib import serving

log = logging.getLogger("synthesize_instructions")

SENTINEL = "\uE000MAGPIE\uE000"


def user_turn_prefix(tokenizer) -> str:
    """The chat template rendered up to where the user's message would begin."""
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": SENTINEL}], tokenize=False, add_generation_prompt=False
    )
    if SENTINEL not in text:
        raise ValueError("the chat template does not place the user message verbatim")
    return text.split(SENTINEL, 1)[0]


def normalised(text: str) -> str:
    return " ".join(text.lower().split())


def select_instructions(
    completions: list[tuple[str, str]], count: int, min_chars: int, keep_truncated: bool = False
) -> list[str]:
    """Distinct, complete, long-enough instructions, in request order, at most `count`."""
    kept, seen = [], set()
    for text, finish_reason in completions:
        text = text.strip()
        key = normalised(text)
        complete = finish_reason == "stop" or keep_truncated
        if not complete or len(text) < min_chars or key in seen:
            continue
        seen.add(key)
        kept.append(text)
        if len(kept) == count:
            break
    return kept


def instruction_rows(instructions: list[str]) -> list[dict]:
    return [
        {"id": f"synth-{i:06d}", "conversations": [{"from": "human", "value": text}]}
        for i, text in enumerate(instructions)
    ]


def request_completions(
    base_url: str, prefix: str, seeds: list[int], temperature: float, max_tokens: int,
    concurrency: int,
) -> list[tuple[str, str]]:
    def one(seed: int) -> tuple[str, str]:
        reply = serving.http_post_json(
            f"{base_url}/v1/completions",
            {
                "model": "body", "prompt": prefix, "temperature": temperature,
                "max_tokens": max_tokens, "seed": seed,
            },
        )
        choice = reply["choices"][0]
        return choice["text"], choice["finish_reason"]

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(one, seeds))


def synthesize(args: argparse.Namespace) -> list[str]:
    from transformers import AutoTokenizer

    prefix = user_turn_prefix(AutoTokenizer.from_pretrained(args.body))
    log.info("user-turn prefix: %r", prefix)
    spec = serving.spec_from_arguments(sys.executable, args.body, args)
    completions: list[tuple[str, str]] = []
    with serving.VllmServer(spec, args.server_log) as server:
        for round_ in range(args.max_rounds):
            # Ask for more than needed: some are cut off or repeat.
            start = args.seed + len(completions)
            batch = int(args.count * args.oversample) if round_ == 0 else args.count
            seeds = list(range(start, start + batch))
            completions += request_completions(
                server.base_url, prefix, seeds, args.temperature, args.max_tokens,
                args.concurrency,
            )
            kept = select_instructions(
                completions, args.count, args.min_chars, args.keep_truncated
            )
            log.info(
                "round %d: %d completions, %d usable instructions",
                round_, len(completions), len(kept),
            )
            if len(kept) == args.count:
                return kept
    raise SystemExit(
        f"only {len(kept)} of {args.count} distinct instructions after {args.max_rounds} rounds"
        f" ({len(completions)} completions); raise max_tokens or lower the count"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--body", type=Path, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--min-chars", type=int, default=12)
    p.add_argument("--keep-truncated", action="store_true", help="keep completions cut by max_tokens")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--oversample", type=float, default=1.5)
    p.add_argument("--max-rounds", type=int, default=4)
    p.add_argument("--concurrency", type=int, default=16)
    serving.add_server_arguments(p)
    p.add_argument("--out", type=Path, required=True)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    instructions = serving.exit_on_server_error(synthesize, args, log=log)
    rows = instruction_rows(instructions)
    atomic_io.write_text_atomically(args.out, "".join(json.dumps(r) + "\n" for r in rows))
    for text in instructions[:5]:
        log.info("example: %s", text)


if __name__ == "__main__":
    main()

"""A served body's decode rate at batch 1, for planning a bench (scripts/tools/bench_time.py takes
it): one warm-up request, then a few chat requests of exactly `--max-tokens` tokens (ignore_eos),
one at a time, against a running OpenAI-compatible server (vLLM's). Prints tok/s per request.

    python scripts/tools/decode_rate.py --url http://localhost:8000 \
        --model results/qwen/models/vanilla-fp8

Not a bench cell: no log-probs, no repeats, no fidelity check; only the standard library, so that
it runs with any Python beside the server.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request

PROMPTS = ("Write a Python function that merges two sorted lists.",
           "Explain what a mutex is.",
           "List five uses of a hash map.")


def ask(url: str, model: str, prompt: str, max_tokens: int) -> tuple[int, float]:
    """(completion tokens, seconds) of one greedy chat request."""
    body = json.dumps({"model": model, "max_tokens": max_tokens, "temperature": 0,
                       "ignore_eos": True,
                       "messages": [{"role": "user", "content": prompt}]}).encode()
    request = urllib.request.Request(f"{url}/v1/chat/completions", body,
                                     {"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        usage = json.load(response)["usage"]
    return usage["completion_tokens"], time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--max-tokens", type=int, default=200)
    a = p.parse_args(argv)
    ask(a.url, a.model, "warm up", a.max_tokens)
    for prompt in PROMPTS:
        tokens, seconds = ask(a.url, a.model, prompt, a.max_tokens)
        print(f"{tokens} tokens in {seconds:.2f} s: {tokens / seconds:.0f} tok/s")


if __name__ == "__main__":
    main()

"""The headroom of a body shift (lib/headroom.py): body a's no-speculation bench continuations,
teacher-forced through body a and through body b, and per continuation the chains a perfect
mimic of b would get accepted on a, as per-prompt sums (the table rule bootstraps them).

The bodies are loaded one after the other (two 26B bodies do not fit one GB10 at once): each
pass keeps, per generated position, its body's top-k tokens at the cell's temperature (T > 0)
or its greedy token (T = 0).

Output, one CSV row per (endpoint, temperature, repeat, prompt, draft position k):
sum_lower and sum_upper (sum over chain starts of the product of per-token overlaps, with the
overlap's lower bound and its upper bound) and starts (how many chain starts).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
from pathlib import Path

import numpy as np
from lib import atomic_io, cpu_dtype
from lib.headroom import chain_sums, overlap, tempered_top

log = logging.getLogger("body_headroom")


def read_continuations(cells: list[Path], prompts_jsonl: Path) -> list[dict]:
    """Every (cell, prompt) of the no-speculation cells: its prompt text, endpoint,
    temperature, repeat and generated token ids."""
    texts = [json.loads(line)["prompt"] for line in prompts_jsonl.read_text().splitlines()
             if line.strip()]
    out = []
    for path in cells:
        record = json.loads(path.read_text())
        cell = record["cell"]
        if cell["n"] != 0:
            raise SystemExit(f"{path}: a headroom continuation must come from an n = 0 cell")
        for row in record["per_prompt"]:
            if len(row["token_ids"]) < 2:
                continue
            out.append({"endpoint": cell.get("endpoint", "chat"),
                        "temperature": float(cell["temperature"]), "rep": cell["rep"],
                        "prompt_index": row["prompt_index"],
                        "prompt": texts[row["prompt_index"]], "tokens": row["token_ids"]})
    return out


def prompt_ids(tokenizer, prompt: str, endpoint: str) -> list[int]:
    """The prompt's token ids as the server built them: the chat template rendered then
    tokenised without special tokens (vLLM's chat path), or the raw text with them (the
    completions path)."""
    if endpoint == "raw":
        return tokenizer(prompt)["input_ids"]
    text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                         add_generation_prompt=True, tokenize=False)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def body_pass(body: Path, continuations: list[dict], top_k: int, device: str) -> list[tuple]:
    """Per continuation: (greedy tokens, top-k indices, top-k probabilities) of `body` at each
    generated position (indices and probabilities None at T = 0)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(body)
    dtype = cpu_dtype.hidden_states_dtype_name(device) or "auto"
    model = AutoModelForCausalLM.from_pretrained(body, dtype=dtype).to(device).eval()
    log.info("%s on %s in %s: %d continuations", body, device, model.dtype, len(continuations))
    out = []
    for i, c in enumerate(continuations):
        context = prompt_ids(tokenizer, c["prompt"], c["endpoint"])
        ids = torch.tensor([context + c["tokens"]], device=device)
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, len(context) - 1: -1].float().cpu().numpy()
        greedy = logits.argmax(axis=-1)
        if c["temperature"] > 0:
            idx, probs = tempered_top(logits, top_k, c["temperature"])
        else:
            idx = probs = None
        out.append((greedy, idx, probs))
        if (i + 1) % 25 == 0 or i + 1 == len(continuations):
            log.info("%s: %d/%d continuations", body.name, i + 1, len(continuations))
    del model
    return out


def headroom_rows(continuations: list[dict], served: list[tuple], mimic: list[tuple],
                  depth: int) -> list[dict]:
    rows = []
    for c, (greedy_a, idx_a, p_a), (greedy_b, idx_b, p_b) in zip(continuations, served, mimic):
        if c["temperature"] > 0:
            lower, slack = overlap(idx_a, p_a, idx_b, p_b)
            upper = np.minimum(lower + slack, 1.0)
        else:
            lower = upper = (greedy_a == greedy_b).astype(float)
        sums_lo, starts = chain_sums(lower, depth)
        sums_hi, _ = chain_sums(upper, depth)
        for k in range(depth):
            rows.append({"endpoint": c["endpoint"], "temperature": c["temperature"],
                         "rep": c["rep"], "prompt_index": c["prompt_index"], "k": k,
                         "sum_lower": sums_lo[k], "sum_upper": sums_hi[k],
                         "starts": int(starts[k])})
    return rows


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--served-body", type=Path, required=True, help="body a (its cells)")
    p.add_argument("--mimic-body", type=Path, required=True, help="body b (the one mimicked)")
    p.add_argument("--cells", type=Path, nargs="+", required=True,
                   help="body a's n = 0 bench cell JSONs")
    p.add_argument("--prompts", type=Path, required=True, help="the bench's prompts (jsonl)")
    p.add_argument("--depth", type=int, required=True, help="draft positions k = 0..depth-1")
    p.add_argument("--top-k", type=int, required=True)
    p.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    continuations = read_continuations(args.cells, args.prompts)
    if not continuations:
        raise SystemExit("no continuation of two or more tokens in the cells")
    served = body_pass(args.served_body, continuations, args.top_k, device)
    mimic = body_pass(args.mimic_body, continuations, args.top_k, device)
    rows = headroom_rows(continuations, served, mimic, args.depth)
    with atomic_io.staged_file(args.out, suffix=".csv") as tmp:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    log.info("wrote %d rows to %s", len(rows), args.out)


if __name__ == "__main__":
    main()

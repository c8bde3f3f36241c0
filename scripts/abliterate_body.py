"""Abliterate a body: remove its refusal direction by weight orthogonalisation, and measure the shift.

Why our own implementation rather than heretic-llm (the tool the seeds mention): heretic 1.4.0
runs here, but it searches its parameters with Optuna trials and then asks on a terminal which
Pareto-optimal trial to save, so it has no single deterministic, non-interactive result a
workflow rule can pin with config params. The method is the one heretic and the abliteration
literature build on (Arditi et al., "Refusal in LLMs is mediated by a single direction").

The direction is refusal_direction's file (scripts/refusal_direction.py); this rule removes it
from every matrix that writes into the residual stream, W <- W - strength * r (r^T W), in
float64 on the CPU, and saves the body in bf16 (lib/abliteration.py: the method, and why the
same direction gives the same body on any CPU while the direction itself may not).

The shift is measured on held-out prompts: mean KL divergence of the first-token next-token
distribution (vanilla -> abliterated, as heretic reports it) and the refusal rate before and
after on harmful prompts (refusal markers, lib/refusals.py), plus side-by-side generations.
The measurement may run on a GPU (--eval-device cuda, taking the GPU's turn): on the CPU it
was 138 of the 181 s the rule took for Qwen2.5-Coder-1.5B on an H200 machine's 16 cores
(reports/runs/qwen-gpu/), and a study rebuilds four such bodies on every machine. The edit
stays on the CPU, so the body's digest does not depend on the GPU; the shift's last digits do.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from lib import atomic_io
from lib import body_contract
from lib.abliteration import (direction_sha256, load_direction, orthogonalize_,
                              split_prompts, unsupported_body)
from lib.body_checks import chat_input_ids, read_prompt_lines
from lib.gpu_turn import GPU_USE_LOCK_ENV, gpu_turn
from lib.refusals import REFUSAL_MARKERS, is_refusal

log = logging.getLogger("abliterate_body")

@dataclass
class ShiftMeasurement:
    kl_mean: float
    kl_per_prompt: list[float]
    refusal_rate_before: float
    refusal_rate_after: float


def first_token_kl(reference, candidate, tokenizer, prompts: list[str]) -> list[float]:
    """KL(reference || candidate) of the next-token distribution after each chat prompt."""
    import torch
    import torch.nn.functional as F

    kls = []
    for prompt in prompts:
        ids = chat_input_ids(tokenizer, prompt).to(reference.device)
        with torch.no_grad():
            p = F.log_softmax(reference(ids).logits[0, -1].float(), -1)
            q = F.log_softmax(candidate(ids).logits[0, -1].float(), -1)
        kls.append(F.kl_div(q, p, log_target=True, reduction="sum").item())
    return kls


def greedy_replies(
    model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int = 16,
) -> list[str]:
    """Greedy chat replies, generated in left-padded batches (one prompt at a time spent most of
    this rule's time: the per-token overhead of generate() dominates a 135M model on a CPU)."""
    import torch

    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False,
        )
        for p in prompts
    ]
    saved = tokenizer.padding_side, tokenizer.pad_token
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    replies = []
    try:
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[start:start + batch_size], return_tensors="pt", padding=True,
                add_special_tokens=False,
            ).to(model.device)
            with torch.no_grad():
                out = model.generate(
                    **batch, max_new_tokens=max_new_tokens, do_sample=False,
                    pad_token_id=tokenizer.pad_token_id,
                )
            replies += tokenizer.batch_decode(
                out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True,
            )
    finally:
        tokenizer.padding_side, tokenizer.pad_token = saved
    return replies


def abliterate(
    body: Path, direction_file: Path, out_dir: Path, report: Path, harmful: Path,
    harmless: Path, n_direction: int, strength: float, max_new_tokens: int, min_kl: float,
    eval_device: str = "cpu", gpu_lock: str | None = None,
) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    problem = unsupported_body(json.loads((body / "config.json").read_text()))
    if problem:
        raise SystemExit(problem)
    torch.manual_seed(0)
    direction, estimated = load_direction(direction_file)
    tokenizer = AutoTokenizer.from_pretrained(body)
    # float64 for the orthogonalisation (lib/abliteration.py), float32 afterwards
    model = AutoModelForCausalLM.from_pretrained(body, dtype=torch.float64).eval()
    if direction.shape != (model.config.hidden_size,):
        raise SystemExit(f"{direction_file}: a direction of shape {tuple(direction.shape)}, not"
                         f" this body's hidden size ({model.config.hidden_size},)")
    # the prompts after the first n_direction, which estimated the direction, are held out
    _, harm_eval = split_prompts(read_prompt_lines(harmful), n_direction)
    _, safe_eval = split_prompts(read_prompt_lines(harmless), n_direction)
    modified = orthogonalize_(model, direction, strength)
    log.info("orthogonalised %d matrices with strength %.2f (direction %s, layer %s)",
             len(modified), strength, direction_file, estimated.get("direction_layer"))
    # the shift, measured on eval_device in float32 (module doc); the body goes back to the CPU.
    # Both are loaded before the GPU's turn is taken: reading weights from disk needs no GPU.
    model.to(torch.float32)
    vanilla = AutoModelForCausalLM.from_pretrained(body, dtype=torch.float32).eval()
    eval_prompts = harm_eval + safe_eval
    with gpu_turn(gpu_lock if eval_device != "cpu" else None):
        model.to(eval_device)
        vanilla.to(eval_device)
        kls = first_token_kl(vanilla, model, tokenizer, eval_prompts)
        before = greedy_replies(vanilla, tokenizer, harm_eval, max_new_tokens)
        after = greedy_replies(model, tokenizer, harm_eval, max_new_tokens)
        safe_after = greedy_replies(model, tokenizer, safe_eval[:3], max_new_tokens)
        del vanilla
        model.to("cpu")
    shift = ShiftMeasurement(
        kl_mean=sum(kls) / len(kls),
        kl_per_prompt=kls,
        refusal_rate_before=sum(map(is_refusal, before)) / len(before),
        refusal_rate_after=sum(map(is_refusal, after)) / len(after),
    )
    for prompt, b, a in zip(harm_eval, before, after):
        log.info("harmful | %s\n  vanilla:     %s\n  abliterated: %s", prompt, b, a)
    for prompt, a in zip(safe_eval, safe_after):
        log.info("harmless | %s\n  abliterated: %s", prompt, a)
    log.info("KL mean %.4f; refusal rate %.2f -> %.2f", shift.kl_mean,
             shift.refusal_rate_before, shift.refusal_rate_after)
    summary = {
        "method": "refusal-direction weight orthogonalisation",
        "strength": strength,
        "direction_file": str(direction_file),
        "direction_sha256": direction_sha256(direction),
        "direction_layer": int(estimated["direction_layer"]),
        "num_layers": model.config.num_hidden_layers,
        "modified_matrices": len(modified),
        "n_direction_prompts": n_direction,
        "n_eval_prompts": len(eval_prompts),
        "eval_device": eval_device,
        "kl_mean": shift.kl_mean,
        "kl_per_prompt": shift.kl_per_prompt,
        "refusal_rate_before": shift.refusal_rate_before,
        "refusal_rate_after": shift.refusal_rate_after,
        "refusal_markers": list(REFUSAL_MARKERS),
        "samples": [
            {"prompt": p, "vanilla": b, "abliterated": a}
            for p, b, a in zip(harm_eval, before, after)
        ] + [{"prompt": p, "abliterated": a} for p, a in zip(safe_eval, safe_after)],
    }
    if shift.kl_mean < min_kl:
        raise SystemExit(f"abliteration moved the body too little: KL {shift.kl_mean:.5f} < {min_kl}")
    if any(not a.strip() for a in after + safe_after):
        raise SystemExit("abliterated body produced an empty greedy reply")

    with atomic_io.staged_dir(out_dir) as work:
        staged = work / "model"
        model.to(torch.bfloat16).save_pretrained(staged, safe_serialization=True)
        tokenizer.save_pretrained(staged)
        body_contract.require(out_dir.name, staged)
        atomic_io.publish_dir(staged, out_dir)
    atomic_io.write_text_atomically(report, json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--body", required=True, type=Path)
    p.add_argument("--direction", required=True, type=Path,
                   help="scripts/refusal_direction.py's file for this body")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--report", required=True, type=Path)
    p.add_argument("--harmful", required=True, type=Path)
    p.add_argument("--harmless", required=True, type=Path)
    p.add_argument("--n-direction", type=int, required=True,
                   help="prompts of each list that estimated the direction (the rest are held out)")
    p.add_argument("--strength", type=float, required=True)
    p.add_argument("--max-new-tokens", type=int, default=48)
    p.add_argument("--min-kl", type=float, required=True)
    p.add_argument("--eval-device", default="cpu",
                   help="where the shift is measured (cpu, cuda); the edit is always on the CPU")
    p.add_argument("--gpu-lock", default=os.environ.get(GPU_USE_LOCK_ENV),
                   help="measure on the GPU only while holding this file lock (default:"
                        f" ${GPU_USE_LOCK_ENV}, which scripts/plumbing/gpu_job.py sets)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    abliterate(a.body, a.direction, a.out, a.report, a.harmful, a.harmless, a.n_direction,
               a.strength, a.max_new_tokens, a.min_kl, a.eval_device, a.gpu_lock)


if __name__ == "__main__":
    main()

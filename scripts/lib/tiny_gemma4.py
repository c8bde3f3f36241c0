"""Make the gb10 rehearsal's stand-ins: a tiny random Gemma 4 body and the two drafters of gb10.

The gb10 profile's models (Gemma 4 26B-A4B, Google's MTP assistant, RedHatAI's EAGLE-3) cannot
be downloaded here, but their architectures can be built at toy size from the libraries' own
classes, so that every gb10 rule (FP8 with the seed's ignore list, serving with gb10's flags, MTP
and EAGLE-3 speculation, hidden states, fine-tuning from a published drafter) runs on real
Gemma 4 module names and checkpoint layouts:

- `body`: Gemma4ForConditionalGeneration (text MoE with a router, a vision tower) with a
  byte-level BPE tokenizer trained on the committed prompts, Gemma 4's multimodal special
  tokens and a Gemma-style chat template; the processor is saved beside it, as vLLM loads it.
- `mtp-assistant`: Gemma4AssistantForCausalLM, the `gemma4_assistant` layout that vLLM's
  gemma4_mtp.py reads (Q-only KV-shared layers, pre/post projections), sized to a body
  (scripts/make_untrained_drafter.py calls it for an `untrained` drafter of method `mtp`).

The EAGLE-3 stand-in for RedHatAI's drafter needs no code here: an `untrained` drafter of method
`eagle3` is made by speculators' own CLI (`speculators train --dry-run`) for the tiny body.

Random weights: their text is noise and their acceptance meaningless; they prove the plumbing.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from lib import atomic_io
from lib import body_checks
from lib import tiny_llama

log = logging.getLogger("make_tiny_gemma4")

# Gemma 4's multimodal placeholders (names as its processor reads them from the tokenizer)
MULTIMODAL_TOKENS = {
    "image_token": "<|image|>",
    "boi_token": "<|image>",
    "eoi_token": "<image|>",
    "audio_token": "<|audio|>",
    "boa_token": "<|audio>",
    "eoa_token": "<audio|>",
}
CHAT_TOKENS = ["<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>", "<|video|>"]
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<start_of_turn>"
    "{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n"
    "{{ message['content'] }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def train_gemma_tokenizer(corpus: list[str], vocab_size: int, rows: int | None = None):
    """A byte-level BPE tokenizer with Gemma 4's special and multimodal tokens, `vocab_size`
    trained ones, filled with spare ones up to `rows` (the embedding's, when larger)."""
    return tiny_llama.train_tokenizer(
        corpus, vocab_size, special_tokens=CHAT_TOKENS + list(MULTIMODAL_TOKENS.values()),
        rows=rows,
        roles={"bos_token": "<bos>", "eos_token": "<end_of_turn>", "pad_token": "<pad>",
               "unk_token": "<pad>"},
        chat_template=GEMMA_TEMPLATE, extra_special_tokens=dict(MULTIMODAL_TOKENS),
    )


def padded_vocab(tokenizer) -> int:
    return tiny_llama.padded_vocab_size(len(tokenizer))


def gemma4_config(tokenizer, hidden_size: int, layers: int, experts: int, heads: int,
                  kv_heads: int, head_dim: int, text_overrides: dict | None = None,
                  vision_overrides: dict | None = None):
    """Gemma 4 at toy size: the text MoE (router + experts), sliding and full attention, and a
    one-layer vision tower, with the multimodal token ids inside the tiny vocabulary.
    `text_overrides` / `vision_overrides` set config values over these (a full-width stand-in:
    a published body's widths with fewer layers; make_body fills the tokenizer up to its
    vocabulary with spare tokens).

    `kv_heads` x `head_dim` sets the KV cache per token and layer. vLLM builds one Python object
    per KV-cache block when a server starts, and sizes its pool from the GPU's memory: a tiny KV
    entry (1 head of 32: 64 bytes per token and layer in fp8) made 118 GiB on an H200 a pool of
    ~124 M blocks and each start ~130 s longer
    (reports/runs/gb10-rehearsal/earlier-attempts/server_starts.tsv)."""
    from transformers import Gemma4Config

    if heads % kv_heads:
        raise ValueError(f"heads ({heads}) must be a multiple of kv_heads ({kv_heads})")
    vocab = padded_vocab(tokenizer)
    ids = {name: tokenizer.convert_tokens_to_ids(tok) for name, tok in MULTIMODAL_TOKENS.items()}
    text = dict(
        vocab_size=vocab, vocab_size_per_layer_input=vocab, hidden_size=hidden_size,
        hidden_size_per_layer_input=16, intermediate_size=2 * hidden_size,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
        head_dim=head_dim, global_head_dim=head_dim, enable_moe_block=True, num_experts=experts,
        top_k_experts=2,
        moe_intermediate_size=hidden_size // 2, max_position_embeddings=8192,
        layer_types=(["sliding_attention"] * (layers - 1)) + ["full_attention"],
        sliding_window=128, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                  num_attention_heads=2, num_key_value_heads=2, head_dim=16)
    text |= text_overrides or {}
    vision |= vision_overrides or {}
    if text["vocab_size"] < vocab:
        raise ValueError(f"text_config.vocab_size {text['vocab_size']} is below the tokenizer's"
                         f" {vocab} rows")
    return Gemma4Config(
        text_config=text, vision_config=vision, audio_config=None,
        image_token_id=ids["image_token"], boi_token_id=ids["boi_token"],
        eoi_token_id=ids["eoi_token"], audio_token_id=ids["audio_token"],
        boa_token_id=ids["boa_token"], eoa_token_id=ids["eoa_token"],
        video_token_id=tokenizer.convert_tokens_to_ids("<|video|>"),
        tie_word_embeddings=True,
    )


# Gemma4Processor's own defaults (transformers 5.17): placeholder counts per image and audio.
PROCESSOR_CONFIG = {"processor_class": "Gemma4Processor", "image_seq_length": 280,
                    "audio_seq_length": 750, "audio_ms_per_token": 40}


def save_processor(out: Path) -> None:
    """Gemma 4's processor files beside the tokenizer, as vLLM loads a multimodal body's.

    Gemma4Processor's module imports torchvision, which the CPU environments cannot have (PyPI's
    torchvision fails beside the local CPU torch, docs/engineering.md), so the processor's own config (the
    three numbers above) is written here and its image processor is saved by its Pillow class.
    The video processor (torchvision only) is left out: gb10 serves with video disabled.
    """
    from transformers import Gemma4ImageProcessorPil

    Gemma4ImageProcessorPil().save_pretrained(out)
    (out / "processor_config.json").write_text(json.dumps(PROCESSOR_CONFIG, indent=2) + "\n")


def make_body(out: Path, corpus: list[Path], prompts: Path, vocab_size: int, hidden_size: int,
              layers: int, experts: int, heads: int, kv_heads: int, head_dim: int,
              seed: int, text_overrides: dict | None = None,
              vision_overrides: dict | None = None) -> None:
    import torch
    from transformers import Gemma4ForConditionalGeneration

    lines = [ln for f in corpus for ln in body_checks.read_prompt_lines(f)]
    # every embedding row a token: a full-width body's 262,144 rows are sampled at serving time
    tokenizer = train_gemma_tokenizer(lines, vocab_size, (text_overrides or {}).get("vocab_size"))
    torch.manual_seed(seed)
    config = gemma4_config(tokenizer, hidden_size, layers, experts, heads, kv_heads, head_dim,
                           text_overrides, vision_overrides)
    model = Gemma4ForConditionalGeneration(config).to(torch.bfloat16).eval()
    log.info("tiny Gemma 4: %d tokens, %s parameters", len(tokenizer),
             f"{sum(t.numel() for t in model.parameters()):,}")
    tiny_llama.publish_checked_body(model, tokenizer, out, prompts,
                                        {"tiny_gemma4_seed": seed}, save_extra=save_processor)


def make_mtp_assistant(out: Path, body: Path, hidden_size: int, layers: int, seed: int) -> None:
    """Google's assistant layout for `body`: its vocabulary, its hidden size as the backbone's,
    the body's layer types for its own (KV-shared, Q-only) layers."""
    import torch
    from transformers import AutoConfig, Gemma4AssistantConfig, Gemma4AssistantForCausalLM

    body_text = AutoConfig.from_pretrained(body).text_config
    text = dict(
        vocab_size=body_text.vocab_size, vocab_size_per_layer_input=0,
        hidden_size=hidden_size, hidden_size_per_layer_input=0,  # the assistant has none
        intermediate_size=2 * hidden_size, num_hidden_layers=layers,
        num_attention_heads=body_text.num_attention_heads,
        num_key_value_heads=body_text.num_key_value_heads, head_dim=body_text.head_dim,
        global_head_dim=getattr(body_text, "global_head_dim", body_text.head_dim),
        layer_types=list(body_text.layer_types[-layers:]),
        sliding_window=body_text.sliding_window,
        max_position_embeddings=body_text.max_position_embeddings,
        enable_moe_block=False, num_kv_shared_layers=layers,
    )
    config = Gemma4AssistantConfig(text_config=text, backbone_hidden_size=body_text.hidden_size,
                                   use_ordered_embeddings=False, tie_word_embeddings=True)
    torch.manual_seed(seed)
    model = Gemma4AssistantForCausalLM(config).to(torch.bfloat16).eval()
    with atomic_io.staged_dir(out) as work:
        staged = work / "model"
        model.save_pretrained(staged, safe_serialization=True)
        atomic_io.publish_dir(staged, out)
    log.info("tiny MTP assistant for %s: %s parameters", body,
             f"{sum(t.numel() for t in model.parameters()):,}")

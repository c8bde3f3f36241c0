"""Make the smoke profile's body: a tiny randomly initialised Llama with a locally trained tokenizer.

CI must go through the real tools (llm-compressor, vLLM, speculators) in minutes and without a
model hub, so the smoke body is made here in seconds: a byte-level BPE tokenizer trained on the
committed prompt files, a ChatML chat template like SmolLM2's, and a Llama of a few layers with
seeded random weights. Its text is noise; it exists to exercise every rule's code path.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from lib import atomic_io
from lib import body_checks
from lib import body_contract

log = logging.getLogger("make_tiny_body")

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


CHATML_ROLES = {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
                "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}


def train_tokenizer(corpus: list[str], vocab_size: int, special_tokens: list[str] = SPECIAL_TOKENS,
                    roles: dict[str, str] = CHATML_ROLES, chat_template: str = CHATML_TEMPLATE,
                    rows: int | None = None, **extra):
    """A byte-level BPE tokenizer (every string is encodable) wrapped for transformers: by
    default the smoke body's ChatML one; make_tiny_gemma4_body.py passes Gemma 4's tokens, roles,
    template and multimodal tokens (`extra`, e.g. extra_special_tokens).

    `rows`: fill the vocabulary up to this many tokens with spare ones, `<unusedN>` (as Gemma's
    own tokenizer names its spare rows), that decode to text. A body with more embedding rows
    than trained tokens (a full-width stand-in: 262,144 rows) samples every row; a row without a
    token decodes to nothing, and the served text came out empty (reports/runs/gb10-fullwidth/).
    No merge produces them, so text holding one encodes to its bytes' tokens, not back to it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    if rows is not None:
        tok = with_spare_tokens(tok, rows)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, chat_template=chat_template, **roles, **extra
    )


def with_spare_tokens(tok, rows: int):
    """`tok` (a tokenizers.Tokenizer with a BPE model) with `<unusedN>` vocabulary entries for
    every id from its last one up to `rows` (train_tokenizer's `rows`)."""
    from tokenizers import Tokenizer

    state = json.loads(tok.to_str())
    vocab = state["model"]["vocab"]
    used = max([*vocab.values(), *(t["id"] for t in state["added_tokens"])]) + 1
    if rows < used:
        raise ValueError(f"{rows} rows are fewer than the tokenizer's {used} tokens")
    vocab.update({f"<unused{i}>": used + i for i in range(rows - used)})
    return Tokenizer.from_str(json.dumps(state))


def publish_checked_body(model, tokenizer, out: Path, prompts: Path, source: dict,
                         save_extra=None) -> None:
    """Save a random body with its tokenizer (and `save_extra(dir)`'s files), check it loads and
    generates, write its body check, and publish it atomically at `out`."""
    with atomic_io.staged_dir(out) as work:
        staged = work / "model"
        model.save_pretrained(staged, safe_serialization=True)
        tokenizer.save_pretrained(staged)
        if save_extra:
            save_extra(staged)
        body_contract.require(out.name, staged)
        lines = body_checks.read_prompt_lines(prompts)
        samples = body_checks.greedy_samples(model, tokenizer, lines, max_new_tokens=8)
        for s in samples:
            log.info("greedy (random weights, noise expected) | %s -> %r", s.prompt, s.completion)
        body_checks.write_report(staged / "body_check.json", source=source, greedy=samples,
                                 problems=[])
        atomic_io.publish_dir(staged, out)


def padded_vocab_size(tokens: int) -> int:
    """The embedding rows for `tokens`: a multiple of 64, as real checkpoints pad theirs."""
    return -(-tokens // 64) * 64


# The decoder families a tiny body may take: Llama (the smoke and miniature bodies) and Qwen2
# (the Qwen study's body, whose EAGLE-3 path in speculators and vLLM a CPU run can then check
# before a GPU machine trains on it); the same widths, Qwen2 adding biases to q, k and v.
ARCHITECTURES = {"llama": ("LlamaConfig", "LlamaForCausalLM"),
                 "qwen2": ("Qwen2Config", "Qwen2ForCausalLM")}


def make_model(tokenizer, hidden_size: int, layers: int, heads: int, kv_heads: int,
               intermediate_size: int, seed: int, initializer_range: float,
               architecture: str = "llama"):
    import torch
    import transformers

    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown tiny-body architecture {architecture!r}; one of"
                         f" {sorted(ARCHITECTURES)}")
    config_class, model_class = (getattr(transformers, name)
                                 for name in ARCHITECTURES[architecture])
    torch.manual_seed(seed)
    vocab = padded_vocab_size(len(tokenizer))
    config = config_class(
        vocab_size=vocab,
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        # A wide init makes the random next-token distributions peaked rather than uniform, so
        # that a sampler bug changes the log-probs of sampled tokens measurably (fidelity test).
        initializer_range=initializer_range,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        torch_dtype="bfloat16",
    )
    return model_class(config).to(torch.bfloat16).eval()

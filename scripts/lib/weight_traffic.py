"""Bytes a decoding step reads from GPU memory for a Gemma-4-style mixture-of-experts text body,
and the throughput that memory bandwidth alone allows: the scaling behind "what to expect on a
GB10" (docs/gpu.md), from a body measured at fewer layers on another GPU.

Decoding is memory-bound: each step reads the weights it uses once for the whole batch, plus
each sequence's KV cache. A step of B sequences reads the attention and dense MLP weights of
every layer, the router, the output head (tied to the token embedding), and the experts that at
least one of the B tokens was routed to: under uniform routing E x (1 - (1 - k/E)^B) of E
experts with top-k (random weights route near uniformly; a trained router does not, so this is
an upper estimate of the experts read at small B). The bound is B tokens per (bytes / bandwidth);
a real step also computes and launches kernels, so measured rates are a fraction of it.

A speculative step of one sequence verifies n drafted tokens and the next (n + 1 tokens: the
experts those tokens are routed to, the sequence's KV cache once) after n draft steps of an
EAGLE-3 drafter, each reading its decoder layer and its output head over the draft vocabulary
(the fc that merges the verifier's taps once a round; its token embedding is read by rows).

Our own model (no library estimates the traffic of a served MoE step from a config); the parts
and their shapes are those of the body scripts/lib/tiny_gemma4.py writes from a profile entry,
and of the drafter that speculators 0.9.0 builds for such a verifier (its layer takes the
verifier's widths: checked against the full-width stand-in's measured size).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

FP8, BF16 = 1, 2  # bytes per element: the FP8-Dynamic body's Linear weights, everything else


@dataclass(frozen=True)
class MoeTextBody:
    hidden: int
    vocab: int
    experts: int
    top_k: int
    expert_width: int  # moe_intermediate_size
    dense_width: int  # the dense MLP beside the experts (intermediate_size)
    heads: int
    kv_heads: int
    head_dim: int
    global_kv_heads: int  # full-attention layers
    global_head_dim: int
    k_eq_v: bool  # full-attention layers keep one tensor for K and V
    sliding_window: int
    layer_types: tuple[str, ...]  # "sliding_attention" / "full_attention" per layer

    @classmethod
    def from_profile_body(cls, body: dict) -> MoeTextBody:
        """A `bodies:` entry of a tiny-gemma4 profile (config/gb10-fullwidth.yaml)."""
        text = body["text_config"]
        return cls(
            hidden=body["hidden_size"], vocab=text["vocab_size"], experts=body["experts"],
            top_k=text["top_k_experts"], expert_width=text["moe_intermediate_size"],
            dense_width=text["intermediate_size"], heads=body["heads"],
            kv_heads=body["kv_heads"], head_dim=body["head_dim"],
            global_kv_heads=text["num_global_key_value_heads"],
            global_head_dim=text["global_head_dim"], k_eq_v=bool(text["attention_k_eq_v"]),
            sliding_window=text["sliding_window"], layer_types=tuple(text["layer_types"]))

    def with_layers(self, layers: int, cycle: int) -> MoeTextBody:
        """The same widths at `layers` layers: (cycle - 1) sliding layers then a full one,
        repeated (Gemma 4 26B-A4B: 30 layers, cycle 6)."""
        pattern = ["sliding_attention"] * (cycle - 1) + ["full_attention"]
        return replace(self, layer_types=tuple(pattern[i % cycle] for i in range(layers)))

    def kv_shape(self, layer_type: str) -> tuple[int, int]:
        """(K/V tensors, their width) of a layer: full-attention layers have their own heads and
        may keep one tensor for K and V."""
        if layer_type == "full_attention":
            return 1 if self.k_eq_v else 2, self.global_kv_heads * self.global_head_dim
        return 2, self.kv_heads * self.head_dim

    def attention_params(self, layer_type: str) -> int:
        head_dim = self.global_head_dim if layer_type == "full_attention" else self.head_dim
        kv_tensors, kv_width = self.kv_shape(layer_type)
        # q and o, then k (and v)
        return 2 * self.hidden * self.heads * head_dim + kv_tensors * self.hidden * kv_width

    def expert_params(self) -> int:
        return 3 * self.hidden * self.expert_width  # gate, up, down

    def params(self) -> dict[str, int]:
        """Parameters by part (norms and scalars left out: < 0.01 % here)."""
        layers = len(self.layer_types)
        return {
            "attention": sum(self.attention_params(t) for t in self.layer_types),
            "dense_mlp": layers * 3 * self.hidden * self.dense_width,
            "experts": layers * self.experts * self.expert_params(),
            "router": layers * self.hidden * self.experts,
            "embedding": self.vocab * self.hidden,  # the output head too (tied)
        }

    def always_read_bytes(self) -> int:
        """Weights every decoding step reads whatever the batch, as FP8-Dynamic with Part 28's
        ignore list: attention and dense MLP FP8, the router and the embedding bf16."""
        p = self.params()
        return FP8 * (p["attention"] + p["dense_mlp"]) + BF16 * (p["router"] + p["embedding"])

    def fp8_body_bytes(self) -> int:
        """On disk as FP8-Dynamic: the experts FP8 beside the rest (per-channel scales left
        out)."""
        return self.always_read_bytes() + FP8 * self.params()["experts"]

    def active_params(self) -> int:
        """Matmul parameters one token passes through in the text layers (its top-k experts; the
        embedding is a lookup, the output head left out: what a forward for hidden states
        computes)."""
        p, layers = self.params(), len(self.layer_types)
        return (p["attention"] + p["dense_mlp"] + p["router"]
                + layers * self.top_k * self.expert_params())

    def experts_read(self, batch: int) -> float:
        """Expected distinct experts per layer that a step of `batch` tokens reads (uniform
        routing)."""
        return self.experts * (1 - (1 - self.top_k / self.experts) ** batch)

    def weight_bytes(self, tokens: int) -> float:
        """Weights a step of `tokens` tokens reads: the always-read ones and the experts at least
        one of the tokens was routed to."""
        experts = FP8 * len(self.layer_types) * self.experts_read(tokens) * self.expert_params()
        return self.always_read_bytes() + experts

    def kv_bytes_per_token(self, context: int) -> int:
        """fp8 KV cache that one sequence's step reads at `context` tokens; sliding layers read
        their window at most."""
        total = 0
        for t in self.layer_types:
            tensors, width = self.kv_shape(t)
            tokens = context if t == "full_attention" else min(context, self.sliding_window)
            total += tensors * width * tokens
        return total * FP8

    def step_bytes(self, batch: int, context: int) -> float:
        """Bytes one decoding step of `batch` sequences at `context` tokens each reads, FP8 body."""
        return self.weight_bytes(batch) + batch * self.kv_bytes_per_token(context)

    def verify_bytes(self, tokens: int, context: int) -> float:
        """Bytes one step of a single sequence that scores `tokens` tokens at `context` reads:
        the experts of all of them, the sequence's KV cache once."""
        return self.weight_bytes(tokens) + self.kv_bytes_per_token(context)

    def bound_tok_s(self, batch: int, context: int, bandwidth: float) -> float:
        """Tokens per second that `bandwidth` (bytes/s) allows at most."""
        return batch * bandwidth / self.step_bytes(batch, context)


@dataclass(frozen=True)
class Eagle3Drafter:
    """An EAGLE-3 drafter in speculators' layout, bf16: one decoder layer whose attention reads
    the token embedding and the hidden state side by side (2 x hidden wide), the fc that merges
    three verifier taps, its own token embedding and an output head over `draft_vocab` tokens."""

    hidden: int
    vocab: int
    draft_vocab: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int

    @classmethod
    def for_body(cls, body: MoeTextBody, draft_vocab: int | None = None) -> Eagle3Drafter:
        """The drafter speculators builds for `body` (None: the full vocabulary)."""
        return cls(hidden=body.hidden, vocab=body.vocab, draft_vocab=draft_vocab or body.vocab,
                   heads=body.heads, kv_heads=body.kv_heads, head_dim=body.head_dim,
                   intermediate=body.dense_width)

    def params(self) -> dict[str, int]:
        h, q, kv = self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim
        return {
            "layer": 2 * h * (q + 2 * kv) + q * h + 3 * h * self.intermediate,
            "fc": 3 * h * h,
            "embedding": self.vocab * h,
            "head": self.draft_vocab * h,
        }

    def checkpoint_bytes(self) -> int:
        """Its safetensors, bf16 (norms and the vocabulary maps left out: < 0.1 %)."""
        return BF16 * sum(self.params().values())

    def round_bytes(self, n: int) -> int:
        """Bytes n draft steps read: the fc once, then the layer and the head each step."""
        p = self.params()
        return BF16 * (p["fc"] + n * (p["layer"] + p["head"]))


def speculative_step_bytes(body: MoeTextBody, drafter: Eagle3Drafter, n: int,
                           context: int) -> float:
    """Bytes one speculative step of a single sequence reads: n draft steps, then the body
    verifying n + 1 tokens."""
    return drafter.round_bytes(n) + body.verify_bytes(n + 1, context)

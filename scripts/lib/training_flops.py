"""Floating-point work per training token of EAGLE-3 online training: the scaling behind the
training row of "what to expect on a GB10" (docs/gpu.md).

Unlike decoding, training is compute-bound: every token of a packed sequence passes the body's
forward in the extraction server (2 FLOPs per active parameter: the layers and its top-k
experts) and the drafter's forward and backward in the trainer (6 per parameter, the layer and
the head once per test-time-training step, the fc once), plus the verifier's head over the
draft vocabulary for the targets (forward only). Attention over the sequence and the optimizer
are left out: small beside these at 4,096 tokens and a 2,816-wide layer.

Our own arithmetic (speculators reports tokens per second, not FLOPs); the parameter counts are
lib/weight_traffic.py's.
"""

from __future__ import annotations

from lib.weight_traffic import Eagle3Drafter, MoeTextBody


def flops_per_token(body: MoeTextBody, drafter: Eagle3Drafter, ttt_steps: int) -> float:
    p = drafter.params()
    server = 2 * body.active_params()
    trainer = 6 * p["fc"] + 6 * ttt_steps * (p["layer"] + p["head"]) + 2 * p["head"]
    return server + trainer

"""`python muon_float32.py ARGS` runs `python -m speculators ARGS` with Muon's Newton-Schulz
iterations in float32, for CPUs without native bf16.

speculators trains with torch's Muon by default, and torch's Newton-Schulz casts every gradient
to bf16 (`grad.bfloat16()` in torch/optim/_muon.py) whatever dtype the model trains in: on a
2-core AVX2 CPU 23-26 s of each 25-29 s step went there (issue #19). Neither speculators nor
torch has a setting for it, hence this launcher (ours, not a patch to either): it replaces that
one function with the same iteration in float32, then hands over to speculators' own CLI.
train_drafter.py uses it when cpu_dtype.native_bf16() is False.
"""

from __future__ import annotations

import runpy
import sys


def newton_schulz_float32(grad, ns_coefficients, ns_steps, eps):
    """torch.optim._muon._zeropower_via_newtonschulz (torch 2.13) in float32: the same
    quintic iteration and checks, without the cast to bf16."""
    import torch

    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    a, b, c = ns_coefficients
    x = grad.float()
    if grad.size(0) > grad.size(1):
        x = x.T
    x = x / x.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram = x @ x.T
        update = torch.addmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.addmm(x, update, x, beta=a)
    if grad.size(0) > grad.size(1):
        x = x.T
    return x


def install() -> None:
    import torch.optim._muon as muon

    muon._zeropower_via_newtonschulz = newton_schulz_float32


if __name__ == "__main__":
    install()
    sys.argv = ["speculators", *sys.argv[1:]]
    runpy.run_module("speculators", run_name="__main__", alter_sys=True)

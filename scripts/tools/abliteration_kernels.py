"""Does the refusal direction, or the weight edit given a direction, depend on the CPU's kernels?
(lib/abliteration.py's reason for making the direction a file of its own.)

Runs the direction's estimate and the edit twice on this machine, in two processes: with the
default kernels, and with those another CPU might run (ATen's AVX2 kernels, MKL's AVX2 code
path); the second also edits with the first's direction. Prints what differs, as JSON.

    python scripts/tools/abliteration_kernels.py results/qwen/models/vanilla --out /tmp/kernels

Run with the hf environment's Python (torch, transformers); one 1.5 B body in float64 takes
~12 GB and ~5 minutes a pass on two cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

# the kernels another CPU might run: ATen's dispatch and MKL's code path held to AVX2
OTHER_CPU = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"}


def one_pass(body: Path, out: Path, tag: str, harmful: Path, harmless: Path, n_direction: int,
             layer_fraction: float, edit_with: Path | None) -> dict:
    """In this process: the direction (saved as out/TAG.pt) and the bf16 digest of the edited
    residual writers, with this direction and, if given, with another's."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from lib.abliteration import estimate_direction, orthogonalize_, residual_writers

    tokenizer = AutoTokenizer.from_pretrained(body)
    model = AutoModelForCausalLM.from_pretrained(body, dtype=torch.float64).eval()
    direction, _ = estimate_direction(model, tokenizer, harmful, harmless, n_direction,
                                      layer_fraction)
    torch.save(direction, out / f"{tag}.pt")
    weights = {n: lin.weight.data.clone() for n, lin in residual_writers(model)}

    def edit_digest(r) -> str:
        for name, lin in residual_writers(model):
            lin.weight.data = weights[name].clone()
        orthogonalize_(model, r, 1.0)
        digest = hashlib.sha256()
        for _, lin in residual_writers(model):
            digest.update(lin.weight.data.to(torch.bfloat16).view(torch.int16).numpy().tobytes())
        return digest.hexdigest()

    result = {"direction_sha256": hashlib.sha256(direction.numpy().tobytes()).hexdigest(),
              "edit_own_direction": edit_digest(direction)}
    if edit_with is not None:
        result["edit_given_direction"] = edit_digest(torch.load(edit_with))
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("body", type=Path)
    p.add_argument("--out", type=Path, required=True, help="folder for the two directions")
    p.add_argument("--harmful", type=Path, default=ROOT / "config/prompts/harmful.txt")
    p.add_argument("--harmless", type=Path, default=ROOT / "config/prompts/harmless.txt")
    p.add_argument("--n-direction", type=int, default=16)
    p.add_argument("--direction-layer-fraction", type=float, default=0.6)
    p.add_argument("--pass", dest="one", choices=["default", "other"], help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    settings = (a.harmful, a.harmless, a.n_direction, a.direction_layer_fraction)
    if a.one:  # a pass in its own process, with its kernels chosen by its environment
        given = a.out / "default.pt" if a.one == "other" else None
        print(json.dumps(one_pass(a.body, a.out, a.one, *settings, given)))
        return
    results = {}
    for tag, env in (("default", {}), ("other", OTHER_CPU)):
        proc = subprocess.run([sys.executable, __file__, str(a.body), "--out", str(a.out),
                               "--harmful", str(a.harmful), "--harmless", str(a.harmless),
                               "--n-direction", str(a.n_direction), "--direction-layer-fraction",
                               str(a.direction_layer_fraction), "--pass", tag],
                              env=os.environ | env, capture_output=True, text=True, check=True)
        results[tag] = json.loads(proc.stdout.strip().splitlines()[-1])
    import torch

    d, o = torch.load(a.out / "default.pt"), torch.load(a.out / "other.pt")
    results["other_cpu_env"] = OTHER_CPU
    results["direction_elements_differing"] = int((d != o).sum())
    results["direction_elements"] = d.numel()
    results["direction_max_abs_difference"] = float((d - o).abs().max())
    results["direction_cosine"] = float(d.double() @ o.double())
    results["edit_same_given_one_direction"] = (
        results["default"]["edit_own_direction"] == results["other"]["edit_given_direction"])
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

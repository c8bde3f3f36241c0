"""A drafter with random weights for a verifier, in the layout vLLM serves for its method.

EAGLE-3 (and speculators' other methods): `speculators train --dry-run` builds the drafter from
the verifier's config and saves a vLLM-loadable checkpoint without training: the smoke
profile's drafter, the gb10 rehearsal's stand-in for RedHatAI's published one, and the proof
that a body can be drafted for before any data exists.

MTP on a Gemma 4 verifier: vLLM's gemma4_mtp.py serves Google's assistant checkpoint
(`gemma4_assistant`), not speculators' MTP format, so the stand-in for Google's assistant is
built in that layout from transformers' own classes (scripts/tiny_gemma4.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path

from lib import atomic_io


# Google's Gemma 4 assistants are a few layers deep; two exercise the per-layer KV sharing.
MTP_ASSISTANT_LAYERS = 2


def verifier_model_type(verifier: Path) -> str:
    return json.loads((verifier / "config.json").read_text()).get("model_type", "")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--verifier", required=True, type=Path)
    p.add_argument("--speculator-type", default="eagle3")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if a.speculator_type == "mtp" and verifier_model_type(a.verifier) == "gemma4":
        from lib import tiny_gemma4

        hidden = json.loads((a.verifier / "config.json").read_text())["text_config"]["hidden_size"]
        tiny_gemma4.make_mtp_assistant(a.out, a.verifier, hidden_size=hidden,
                                            layers=MTP_ASSISTANT_LAYERS, seed=a.seed)
        return
    with atomic_io.staged_dir(a.out) as work:
        staged = work / "drafter"
        cmd = [
            sys.executable, "-m", "speculators", "train", "--dry-run",
            "--speculator-type", a.speculator_type,
            "--verifier-name-or-path", str(a.verifier.resolve()),
            "--seed", str(a.seed), "--save-path", str(staged),
        ]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        if not (staged / "config.json").is_file():
            sys.exit(f"speculators wrote no config.json to {staged}")
        atomic_io.publish_dir(staged, a.out)


if __name__ == "__main__":
    main()

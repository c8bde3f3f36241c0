"""An EAGLE-3 drafter with random weights for a verifier, made by speculators' own CLI.

`speculators train --dry-run` builds the drafter from the verifier's config and saves a
vLLM-loadable checkpoint without training: the smoke profile's drafter, and the proof that a
body can be drafted for before any data exists.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import atomic_io


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--verifier", required=True, type=Path)
    p.add_argument("--speculator-type", default="eagle3")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path)
    a = p.parse_args(argv)
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

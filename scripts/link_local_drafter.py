"""Use a drafter checkpoint that already lies on disk (a speculators EAGLE-3 drafter, an MTP
assistant): checked to have a config and weights, then linked into results/. Whether it fits
the bodies it is benched on (vocabulary, hidden size, layers) is checked when the workflow
starts (lib/body_contract.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lib import atomic_io


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--path", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    a = p.parse_args(argv)
    source = a.path.expanduser().resolve()
    if not (source / "config.json").is_file() or not any(source.glob("*.safetensors")):
        sys.exit(f"{source} is not a drafter checkpoint: no config.json + safetensors weights")
    with atomic_io.staged_file(a.out) as link:
        link.symlink_to(source, target_is_directory=True)


if __name__ == "__main__":
    main()

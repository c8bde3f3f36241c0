"""weight_digest: the sha256 of each served model's weight files, once; every bench job reads it
(lib/weight_digests.py says why).

    python scripts/weight_digest.py --model DIR --out FILE.json
"""

import argparse
import json
from pathlib import Path

from lib import atomic_io
from lib.weight_digests import weight_hashes


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    digests = weight_hashes(args.model)
    if not digests:
        raise SystemExit(f"{args.model} has no *.safetensors to hash")
    atomic_io.write_text_atomically(
        args.out, json.dumps({"model": str(args.model), "sha256": digests}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()

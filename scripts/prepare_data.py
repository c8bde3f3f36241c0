"""Arrow training dataset + token frequencies: `speculators prepare-data`, staged then published.

The regenerated rows already carry `input_ids` and `loss_mask`, so prepare-data runs offline
(no render endpoint). This wrapper stages its output beside the target, says how many rows it
kept (samples with too few trainable tokens are dropped), and publishes by rename.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from pathlib import Path

from lib import atomic_io

log = logging.getLogger("prepare_data")


def prepare_command(
    python: str, body: Path, responses: Path, out: Path, seq_length: int,
    minimum_valid_tokens: int, workers: int,
) -> list[str]:
    return [
        python, "-m", "speculators", "prepare-data",
        "--model", str(body), "--data", str(responses), "--output", str(out),
        "--seq-length", str(seq_length), "--minimum-valid-tokens", str(minimum_valid_tokens),
        "--token-freq-path", str(out / "token_freq.pt"), "--no-skip-token-freq",
        "--num-preprocessing-workers", str(workers),
    ]


def prepare(args: argparse.Namespace) -> None:
    from datasets import load_from_disk

    with atomic_io.staged_dir(args.out) as staged:
        target = staged / "dataset"
        cmd = prepare_command(
            sys.executable, args.body, args.responses, target, args.seq_length,
            args.minimum_valid_tokens, args.workers,
        )
        log.info("running: %s", " ".join(cmd))
        subprocess.run(cmd, check=True)
        if not (target / "token_freq.pt").exists():
            raise SystemExit("prepare-data wrote no token_freq.pt")
        rows = len(load_from_disk(str(target)))
        given = sum(1 for line in args.responses.read_text().splitlines() if line.strip())
        log.info("%d of %d regenerated rows kept", rows, given)
        atomic_io.publish_dir(target, args.out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--body", type=Path, required=True, help="tokenizer and chat template")
    p.add_argument("--responses", type=Path, required=True)
    p.add_argument("--seq-length", type=int, required=True)
    p.add_argument("--minimum-valid-tokens", type=int, default=1)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    prepare(parse_args(argv))


if __name__ == "__main__":
    main()

"""The on-disk layout of offline EAGLE-3 training data that every hidden-state engine writes.

One `hs_{i}.safetensors` per row of prepare-data's dataset, holding the verifier's hidden states
at the layers EAGLE-3 taps. Layer id k is the residual stream after k decoder layers; the
default ids are speculators' `scripts/launch_vllm.py` choice. No torch here, so the driver
environment's tests and the workflow can import it.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from lib import atomic_io
from lib import resume_key

FILE_PATTERN = re.compile(r"hs_(\d+)\.safetensors$")


def default_layer_ids(num_layers: int) -> list[int]:
    """speculators' default EAGLE-3 taps plus the final (pre-norm) layer."""
    return [2, num_layers // 2, num_layers - 3, num_layers]


def check_layer_ids(layer_ids: list[int], num_layers: int) -> None:
    if len(set(layer_ids)) != len(layer_ids):
        raise ValueError(f"layer ids {layer_ids} repeat; the body has {num_layers} layers")
    bad = [k for k in layer_ids if not 1 <= k <= num_layers]
    if bad:
        raise ValueError(f"layer ids {bad} outside 1..{num_layers} (the body's layer count)")


def sample_file(out_dir: Path, index: int) -> Path:
    return out_dir / f"hs_{index}.safetensors"


def row_indices(folder: Path) -> list[int]:
    """The row numbers of the files in a folder."""
    return sorted(int(m.group(1)) for p in folder.iterdir() if (m := FILE_PATTERN.match(p.name)))


def missing_rows(folder: Path, rows: int) -> list[int]:
    """Rows 0..rows-1 without a file."""
    return [i for i in range(rows) if not sample_file(folder, i).exists()]


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    """The options every engine takes: which body, which rows, which layers, where to."""
    p.add_argument("--body", type=Path, required=True)
    p.add_argument("--dataset", type=Path, required=True, help="prepare-data's Arrow dataset")
    p.add_argument("--layer-ids", type=int, nargs="*", default=None)
    p.add_argument("--out", type=Path, required=True, help="directory of hs_{i}.safetensors")


def publish(partial: Path, out: Path, summary: dict) -> None:
    """Write summary.json beside the finished files and move the folder into place."""
    (partial / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    atomic_io.publish_dir(partial, out)


def partial_key(args: argparse.Namespace, layer_ids: list[int], stored_dtype: str) -> dict:
    """What a hidden-state writer's rows depend on: the body's and the dataset's content, the
    taps and the stored dtype (resume_key.py); its partial rows resume only under this key."""
    return resume_key.run_key({"layer_ids": layer_ids, "stored_dtype": stored_dtype},
                              {"body": args.body, "dataset": args.dataset})

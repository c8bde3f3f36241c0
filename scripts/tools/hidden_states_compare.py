"""Compare two folders of `hs_{i}.safetensors` (e.g. vLLM's extraction against scripts/extract_hidden_states.py).

Both engines must agree on the token ids exactly and on the hidden states up to floating-point
rounding: the relative error of each tapped layer, ||a - b|| / ||b|| over a row's tokens, is
reported per layer (max and mean over rows) together with the cosine similarity of each token's
vector (min over tokens). The CLI writes that as JSON and fails when a layer's maximum relative
error exceeds --max-relative-error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from lib.hidden_state_layout import row_indices, sample_file


def compare_rows(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> dict:
    """Per-layer relative error and the minimum per-token cosine similarity of one row."""
    if not torch.equal(a["token_ids"].long(), b["token_ids"].long()):
        return {"token_ids_equal": False}
    ha, hb = a["hidden_states"].float(), b["hidden_states"].float()
    if ha.shape != hb.shape:
        return {"token_ids_equal": True, "shape_a": list(ha.shape), "shape_b": list(hb.shape)}
    # [seq, layers, hidden] -> per layer over the sequence
    diff = (ha - hb).transpose(0, 1).reshape(ha.shape[1], -1).norm(dim=1)
    ref = hb.transpose(0, 1).reshape(hb.shape[1], -1).norm(dim=1).clamp_min(1e-12)
    cosine = torch.nn.functional.cosine_similarity(ha, hb, dim=-1)  # [seq, layers]
    return {
        "token_ids_equal": True,
        "relative_error": (diff / ref).tolist(),
        "min_cosine": cosine.min(dim=0).values.tolist(),
    }


def compare_dirs(a: Path, b: Path) -> dict:
    from safetensors.torch import load_file

    rows_a, rows_b = row_indices(a), row_indices(b)
    common = sorted(set(rows_a) & set(rows_b))
    summary: dict = {
        "rows_a": len(rows_a), "rows_b": len(rows_b), "rows_compared": len(common),
        "token_ids_equal": True, "shapes_equal": True,
    }
    per_row = []
    for i in common:
        fa, fb = load_file(sample_file(a, i)), load_file(sample_file(b, i))
        summary.setdefault("dtype_a", str(fa["hidden_states"].dtype))
        summary.setdefault("dtype_b", str(fb["hidden_states"].dtype))
        summary.setdefault("shape_a_row0", list(fa["hidden_states"].shape))
        result = compare_rows(fa, fb)
        if not result["token_ids_equal"]:
            summary["token_ids_equal"] = False
        elif "relative_error" not in result:
            summary["shapes_equal"] = False
        else:
            per_row.append(result)
    if per_row:
        errors = torch.tensor([r["relative_error"] for r in per_row])  # [rows, layers]
        cosines = torch.tensor([r["min_cosine"] for r in per_row])
        summary["max_relative_error_by_layer"] = errors.max(dim=0).values.tolist()
        summary["mean_relative_error_by_layer"] = errors.mean(dim=0).tolist()
        summary["min_cosine_by_layer"] = cosines.min(dim=0).values.tolist()
    return summary


def problems(summary: dict, max_relative_error: float) -> list[str]:
    found = []
    if summary["rows_compared"] == 0:
        found.append("no row is in both folders")
    if summary["rows_a"] != summary["rows_b"]:
        found.append(f"row counts differ: {summary['rows_a']} vs {summary['rows_b']}")
    if not summary["token_ids_equal"]:
        found.append("token ids differ")
    if not summary["shapes_equal"]:
        found.append("hidden-state shapes differ")
    worst = max(summary.get("max_relative_error_by_layer", [0.0]))
    if worst > max_relative_error:
        found.append(f"relative error {worst:.4g} above {max_relative_error}")
    return found


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--a", type=Path, required=True, help="folder under test")
    p.add_argument("--b", type=Path, required=True, help="reference folder")
    p.add_argument("--max-relative-error", type=float, default=0.02)
    p.add_argument("--out", type=Path, help="JSON summary (default: stdout only)")
    args = p.parse_args(argv)
    summary = compare_dirs(args.a, args.b)
    summary["problems"] = problems(summary, args.max_relative_error)
    text = json.dumps(summary | {"a": str(args.a), "b": str(args.b)}, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    if summary["problems"]:
        sys.exit(1)


if __name__ == "__main__":
    main()

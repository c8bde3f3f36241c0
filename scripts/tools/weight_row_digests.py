"""Where two machines' copies of a body differ, without moving either: per tensor its sha256, and
per row of the residual writers (the matrices an abliteration edits) an 8-byte digest.

    python scripts/tools/weight_row_digests.py write \
        results/qwen/models/abliterated/model.safetensors rows.json.gz
    python scripts/tools/weight_row_digests.py compare here.json.gz there.json.gz

`compare` prints the tensors that differ and how many of the writers' rows do (JSON). Needs
safetensors and torch (the hf environment, or a GPU machine's own Python).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
from pathlib import Path

WRITERS = ("o_proj", "down_proj")


def row_digests(path: Path) -> dict[str, dict]:
    import torch
    from safetensors import safe_open

    out = {}
    with safe_open(str(path), "pt") as f:
        for name in f.keys():
            t = f.get_tensor(name).contiguous()
            raw = t.reshape(-1).view(torch.uint8).numpy()
            rows = []
            if any(w in name for w in WRITERS) and t.dim() == 2:
                rows = [hashlib.blake2b(r.tobytes(), digest_size=8).hexdigest()
                        for r in t.view(torch.uint8).numpy()]
            out[name] = {"sha256": hashlib.sha256(raw.tobytes()).hexdigest(), "rows": rows}
    return out


def compare(a: dict, b: dict) -> dict:
    tensors = sorted(k for k in a.keys() | b.keys() if a.get(k, {}).get("sha256")
                     != b.get(k, {}).get("sha256"))
    rows = {k: sum(x != y for x, y in zip(a[k]["rows"], b[k]["rows"]))
            for k in a.keys() & b.keys() if a[k]["rows"]}
    return {"tensors": len(a), "tensors_differing": len(tensors),
            "writer_rows": sum(len(a[k]["rows"]) for k in rows),
            "writer_rows_differing": sum(rows.values()),
            "most_rows_differing": sorted(rows.items(), key=lambda kv: -kv[1])[:5],
            "differing": tensors}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="verb", required=True)
    w = sub.add_parser("write")
    w.add_argument("safetensors", type=Path)
    w.add_argument("out", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    a = p.parse_args(argv)
    if a.verb == "write":
        with gzip.open(a.out, "wt") as f:
            json.dump(row_digests(a.safetensors), f)
    else:
        print(json.dumps(compare(*(json.load(gzip.open(x, "rt")) for x in (a.a, a.b))),
                         indent=2))


if __name__ == "__main__":
    main()

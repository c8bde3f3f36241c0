"""sha256 of a model's weight files, computed once per model and read by every bench job.

Every bench cell records the digests of the body and drafter it served (provenance); hashing
them inside each job cost a full read of the weights per job (gb10's body: ~27 GB).
"""

import hashlib
import json
from pathlib import Path



def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weight_hashes(model_dir: Path | None) -> dict[str, str]:
    """{file name: sha256} of the model's *.safetensors."""
    if model_dir is None:
        return {}
    return {p.name: sha256_file(p) for p in sorted(Path(model_dir).glob("*.safetensors"))}


def read_digest(path: Path | None, model_dir: Path | None) -> dict[str, str]:
    """The digest file written for `model_dir`, or the weights hashed here when none is given."""
    if path is None:
        return weight_hashes(model_dir)
    return json.loads(Path(path).read_text())["sha256"]
